"""Managers' queries: one read-only statement, printed as a table or saved as CSV / Excel.

``run_query`` opens the published file read-only with file-system access disabled and locked,
so a query can neither change the warehouse nor read or write other files (``COPY ... TO``,
``ATTACH``, ``read_csv('/etc/...')``); values belong in ``params`` (``?`` placeholders), never
in the SQL text.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

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


def write_query_result(df: pl.DataFrame, *, csv: Path | None = None, xlsx: Path | None = None) -> None:
    """CSV is UTF-8 with a byte-order mark so Excel shows Chinese correctly; xlsx is one sheet."""
    if csv is not None:
        csv = Path(csv)
        try:
            _flatten(df, for_excel=False).write_csv(csv, include_bom=True)
        except OSError as e:
            raise QueryError(f"{csv}: cannot write CSV: {e}") from e
    if xlsx is not None:
        xlsx = Path(xlsx)
        if df.height > XLSX_MAX_ROWS:
            raise QueryError(f"{xlsx}: {df.height} rows do not fit an Excel sheet ({XLSX_MAX_ROWS}); use --csv")
        try:
            _flatten(df, for_excel=True).write_excel(xlsx, worksheet="result", autofit=True,
                                                     freeze_panes=(1, 0))
        except OSError as e:
            raise QueryError(f"{xlsx}: cannot write Excel file: {e}") from e


# ---------------------------------------------------------------- terminal table

def display_width(text: str) -> int:
    """Terminal columns: East Asian wide/full-width characters take two, combining marks none."""
    w = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def _truncate(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out, w = [], 0
    for ch in text:
        cw = display_width(ch)
        if w + cw > width - 1:
            break
        out.append(ch)
        w += cw
    return "".join(out) + "…"


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap


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
    """Line breaks and tabs become spaces; other control and format characters (terminal escape
    sequences, bidi overrides — possible in customer names) become U+FFFD."""
    text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return "".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def format_table(df: pl.DataFrame, *, max_rows: int = 50, max_col_width: int = 40) -> str:
    """A boxed text table; numbers right-aligned with thousands separators, Chinese counted as two columns."""
    if df.width == 0:
        return "(no columns)"
    shown = df.head(max_rows)
    numeric = [dtype.is_numeric() for dtype in df.schema.values()]
    header = [_truncate(_printable(c), max_col_width) for c in df.columns]
    body = [[_truncate(_cell(v), max_col_width) for v in row] for row in shown.rows()]
    widths = [max([display_width(h)] + [display_width(r[i]) for r in body]) for i, h in enumerate(header)]
    line = lambda l, m, r: l + m.join("─" * (w + 2) for w in widths) + r  # noqa: E731
    out = [line("┌", "┬", "┐"),
           "│" + "│".join(f" {_pad(h, w, False)} " for h, w in zip(header, widths)) + "│",
           line("├", "┼", "┤")]
    for r in body:
        out.append("│" + "│".join(f" {_pad(c, w, num)} " for c, w, num in zip(r, widths, numeric)) + "│")
    out.append(line("└", "┴", "┘"))
    n = df.height
    out.append(f"({n:,} row{'s' if n != 1 else ''}" + (f", first {max_rows} shown)" if n > max_rows else ")"))
    return "\n".join(out)
