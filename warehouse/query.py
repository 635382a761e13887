"""Managers' queries: one read-only statement, printed as a table or saved as CSV / Excel.

``run_query`` opens the published file read-only with file-system access disabled and locked,
so a query can neither change the warehouse nor read or write other files (``COPY ... TO``,
``ATTACH``, ``read_csv('/etc/...')``); values belong in ``params`` (``?`` placeholders), never
in the SQL text.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import unicodedata
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from core.filemodes import secure_file

from .errors import QueryError

READING = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN, duckdb.StatementType.PRAGMA}
XLSX_MAX_ROWS = 1_048_575  # one row for the header


def connect_read_only(db_path: Path) -> duckdb.DuckDBPyConnection:
    """The one way this package reads the published file. One configuration for every reader, because
    DuckDB refuses a second connection to the same file in one process with a different one."""
    try:
        return duckdb.connect(str(db_path), read_only=True,
                              config={"enable_external_access": False, "lock_configuration": True})
    except duckdb.Error as e:
        raise QueryError(f"{db_path}: cannot open read-only: {e}") from e


def run_query(db_path: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    """Run one reading statement (SELECT / WITH / FROM / SHOW / DESCRIBE / EXPLAIN / PRAGMA)."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise QueryError(f"{db_path}: no warehouse database here (run the nightly job first, or pass --db)")
    con = connect_read_only(db_path)
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as e:
            raise QueryError(f"SQL does not parse: {e}") from e
        if len(statements) != 1:
            raise QueryError(f"give exactly one SQL statement, got {len(statements)}")
        kind = statements[0].type
        if kind not in READING:
            raise QueryError(f"the warehouse is read-only here: {kind.name} statements are not allowed, "
                             "only SELECT (incl. WITH, FROM, SHOW, DESCRIBE), EXPLAIN and PRAGMA")
        try:
            rel = con.sql(sql, params=params or None)
            return pl.DataFrame() if rel is None else rel.pl()  # a PRAGMA may return nothing
        except duckdb.Error as e:
            raise QueryError(f"{db_path}: {type(e).__name__}: {e}") from e
    finally:
        con.close()


# ---------------------------------------------------------------- export

def _flatten(df: pl.DataFrame, *, for_excel: bool) -> pl.DataFrame:
    """Nested values become JSON text; time-zone-aware times lose the zone (Excel has none)."""
    out = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, (pl.List, pl.Array, pl.Struct)):
            out.append(col.map_elements(lambda v: json.dumps(_plain(v), ensure_ascii=False, default=str),
                                        return_dtype=pl.String, skip_nulls=True))
        elif for_excel and isinstance(dtype, pl.Datetime) and dtype.time_zone:
            out.append(col.dt.replace_time_zone(None))
        elif isinstance(dtype, (pl.Object, pl.Binary)):
            out.append(col.map_elements(str, return_dtype=pl.String, skip_nulls=True))
        else:
            out.append(col)
    return df.select(out)


def _plain(v: Any) -> Any:
    if isinstance(v, pl.Series):
        v = v.to_list()
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


# Excel number formats of the managers' exports (data/labels/columns.yaml names one per column)
EXCEL_FORMATS = {"percent": "0.0%", "integer": "#,##0", "decimal": "#,##0.00"}
XLSX_MAX_WIDTH = 60   # characters; longer texts stay whole in the cell, the column just stops growing


def _excel_text(v: Any, fmt: str | None) -> str:
    """About what Excel shows for ``v`` in ``fmt`` (to size the column)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None and math.isfinite(v):
        if fmt == "percent":
            return f"{v * 100:,.1f}%"
        if fmt == "integer":
            return f"{v:,.0f}"
        if fmt == "decimal" or isinstance(v, float):
            return f"{v:,.{2 if fmt == 'decimal' else 3}f}"
    return _cell(v)


def excel_widths(df: pl.DataFrame, headers: list[str], formats: dict[str, str], sample: int = 2000) -> list[float]:
    """Column widths in Excel's unit (the width of one digit) that fit Chinese: wide characters count two,
    plus room for the header's filter button."""
    widths = []
    for name, header in zip(df.columns, headers):
        cells = [display_width(_excel_text(v, formats.get(name))) for v in df[name].head(sample).to_list()]
        widths.append(float(min(XLSX_MAX_WIDTH, max([display_width(header) + 4] + [c + 2 for c in cells]))))
    return widths


def write_query_result(df: pl.DataFrame, *, csv: Path | None = None, xlsx: Path | None = None,
                       headers: dict[str, str] | None = None, formats: dict[str, str] | None = None) -> None:
    """CSV is UTF-8 with a byte-order mark so Excel shows Chinese correctly; xlsx is one sheet with a filter
    on the header row, the header frozen, and columns as wide as their (Chinese) text.

    ``headers``: column -> header to show instead of its name (e.g. Chinese); ``formats``: column ->
    ``percent`` / ``integer`` / ``decimal`` (``EXCEL_FORMATS``), applied in the Excel file."""
    headers = headers or {}
    formats = {c: f for c, f in (formats or {}).items() if c in df.columns}
    unknown = sorted({f for f in formats.values()} - set(EXCEL_FORMATS))
    if unknown:
        raise QueryError(f"unknown Excel format(s) {', '.join(unknown)}; use {', '.join(EXCEL_FORMATS)}")
    shown = unique_headers([headers.get(c, c) for c in df.columns])
    if csv is not None:
        csv = Path(csv)
        try:
            _flatten(df, for_excel=False).rename(dict(zip(df.columns, shown))).write_csv(csv, include_bom=True)
            secure_file(csv)
        except OSError as e:
            raise QueryError(f"{csv}: cannot write CSV: {e}") from e
    if xlsx is not None:
        xlsx = Path(xlsx)
        if df.height > XLSX_MAX_ROWS:
            raise QueryError(f"{xlsx}: {df.height} rows do not fit an Excel sheet ({XLSX_MAX_ROWS}); use --csv")
        widths = excel_widths(df, shown, formats)
        sheet = _flatten(df, for_excel=True).rename(dict(zip(df.columns, shown)))
        numeric = {h for c, h in zip(df.columns, shown) if df.schema[c].is_numeric()}
        try:
            sheet.write_excel(
                xlsx, worksheet="result", autofit=False, autofilter=True, freeze_panes=(1, 0),
                header_format={"bold": True, "text_wrap": False},
                column_formats={h: EXCEL_FORMATS[formats[c]] for c, h in zip(df.columns, shown)
                                if c in formats and h in numeric},
                column_widths={h: round(w * 7 + 5) for h, w in zip(shown, widths)})  # polars wants pixels
            secure_file(xlsx)
        except OSError as e:
            raise QueryError(f"{xlsx}: cannot write Excel file: {e}") from e


def unique_headers(names: list[str]) -> list[str]:
    """Two columns given the same header keep apart: the later ones get " (2)", " (3)" …"""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


# ---------------------------------------------------------------- terminal table

def display_width(text: str) -> int:
    """Terminal columns, as the table printer counts them: East Asian wide/full-width characters take two,
    combining marks none."""
    return cell_len(text)


def _cell(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v == 0:
            return "0"
        return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, dt.datetime):
        return v.isoformat(" ", "seconds")
    if isinstance(v, (list, dict, pl.Series)):
        return json.dumps(_plain(v), ensure_ascii=False, default=str)
    return _printable(str(v))


def _printable(text: str) -> str:
    """Line breaks (also Unicode's line and paragraph separators) and tabs become spaces; other control and
    format characters (terminal escape sequences, bidi overrides — possible in customer names) become U+FFFD."""
    text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return "".join(" " if unicodedata.category(ch) in ("Zl", "Zp") else
                   "\ufffd" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def format_table(df: pl.DataFrame, *, max_rows: int = 50, max_col_width: int = 40) -> str:
    """A boxed text table (Rich); numbers right-aligned with thousands separators, Chinese counted as two
    columns, one line per row (long cells end in "…"). Cells are plain text: markup or escape sequences in
    the data print as they are, never as formatting."""
    if df.width == 0:
        return "(no columns)"
    shown = df.head(max_rows)
    table = Table(box=box.SQUARE, header_style="", highlight=False, pad_edge=True)
    for name, dtype in df.schema.items():
        table.add_column(Text(_printable(name)), justify="right" if dtype.is_numeric() else "left",
                         no_wrap=True, overflow="ellipsis", max_width=max_col_width)
    for row in shown.rows():
        table.add_row(*(Text(_cell(v)) for v in row))
    # as wide as the table needs: never squeezed to a terminal's width, never cut at 80 or 120 columns
    width = sum(min(max_col_width, max([cell_len(_printable(c))] + [cell_len(_cell(v)) for v in shown[c]])) + 3
                for c in df.columns) + 1
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False, markup=False, emoji=False,
            highlight=False, legacy_windows=False).print(table)
    n = df.height
    footer = f"({n:,} row{'s' if n != 1 else ''}" + (f", first {max_rows} shown)" if n > max_rows else ")")
    return buffer.getvalue().rstrip("\n") + "\n" + footer
