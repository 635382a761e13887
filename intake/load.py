"""Read a customer list (CSV, Excel .xlsx, Parquet) into a text-only table with contract names.

Decisions (spec ``input.md``):

* **Format by content, not by name.** ``PK\\x03\\x04`` (zip) is an Excel workbook, the OLE2
  signature a legacy ``.xls`` (calamine reads both), ``PAR1`` Parquet, anything else text (CSV).
  A file whose extension promises another format — an ``.xlsx`` that is really a CSV, a
  ``.csv`` that is really a workbook — is refused with a message saying what it really is:
  a mislabelled export is a sign that the wrong file was picked, and guessing would hide it.
  Unknown or missing extensions are read by content.
* **Everything is read as text**, so a bad value rejects its row (``validate.py``) instead of
  failing the file. Text encoding: ``encoding.py``. The CSV separator (comma, tab, semicolon,
  or |) is the one under which a header row is recognised.
* **Header row**: the first 20 rows are searched for the row naming the most contract columns
  (English names or the aliases of ``data/input/columns.yaml``), so a title line above the header
  ("2025年客户清单") is skipped. Rows above the header are not data and are not counted.
* **Row numbers** are spreadsheet rows: the header of a plain file is row 1, the first data row 2.
  Parquet has no header row but is numbered the same way (first record = 2).
* **Completely blank rows** (every cell empty or spaces) hold nothing and are dropped; the
  other rows keep their numbers. Every other row reaches validation.
* **Unknown columns** are kept, as text under their header, in ``RawTable.extras`` and ignored.
  In a CSV, cells to the right of the header's last column mean the row has too many fields
  (often an unquoted comma in a name, which shifts every later value); they are kept in the
  ``_surplus_fields`` column so validation rejects that row instead of reading shifted values.
* A CSV row with more than 16,384 fields (Excel's column limit) is not a customer list: the file is
  refused, naming the row (reading hundreds of thousands of columns would take minutes).
* A file that cannot be read as a table raises :class:`InputFileError` (one message, naming
  the file and the problem).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import polars as pl

from intake.columns import REQUIRED_COLUMNS, ColumnMap, load_column_map
from intake.encoding import decode_text
from intake.errors import InputFileError

SURPLUS_COLUMN = "_surplus_fields"
_HEADER_SEARCH_ROWS = 20
_SEPARATORS = (",", "\t", ";", "|")
_MAX_FIELDS = 16384
_SNIFF_CHARS = 1 << 20
_BLANK_FILE = re.compile(rb"(?:\xef\xbb\xbf)?\s*")

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PARQUET = b"PAR1"
_EXTENSION_KIND = {
    ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
}
_KIND_WORDS = {"excel": "an Excel workbook", "csv": "CSV/plain text", "parquet": "a Parquet file"}


@dataclass(frozen=True)
class RawTable:
    """A customer list as read: text cells under contract column names, not yet validated."""

    source: str                    # the file as named by the caller, for messages
    format: str                    # csv | excel | parquet | frame
    frame: pl.DataFrame            # row_number (Int64) + the contract columns found (Utf8) [+ _surplus_fields]
    headers: dict[str, str]        # contract column -> its header as written in the file
    extras: pl.DataFrame = field(default_factory=pl.DataFrame)  # unknown columns, text, kept and ignored
    encoding: str | None = None    # CSV only: utf-8, utf-8-sig, utf-16, gb18030
    sheet: str | None = None       # Excel only: the sheet read
    sha256: str = ""               # of the file's bytes, for the run record

    @property
    def rows(self) -> int:
        return self.frame.height


def _column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet names the column."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _unique_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    taken.add(candidate)
    return candidate


def _check_header(path, match, header_cells, colmap: ColumnMap) -> None:
    if match.problems:
        raise InputFileError(path, "; ".join(match.problems))
    missing = [c for c in REQUIRED_COLUMNS if c not in match.columns]
    if missing:
        found = ", ".join(f'"{str(c).strip()}"' for c in header_cells if c is not None and str(c).strip())
        wanted = "; ".join(colmap.describe_column(c) for c in missing)
        raise InputFileError(path, f"missing required column(s): {wanted}. Headers found: {found or '(none)'}")


def _assemble(path, fmt: str, cells: pl.DataFrame, header_index: int, first_row_number: int,
              colmap: ColumnMap, header_cells: list, surplus_is_error: bool, **meta) -> RawTable:
    """Build the RawTable from a text frame whose data rows follow ``header_index``."""
    match = colmap.match_headers(header_cells)
    _check_header(path, match, header_cells, colmap)
    last = max((i for i, c in enumerate(header_cells) if c is not None and str(c).strip()), default=-1)
    names = cells.columns
    data = cells.slice(header_index + 1).with_row_index("row_number", offset=first_row_number)
    data = data.with_columns(pl.col("row_number").cast(pl.Int64))
    data = _drop_blank_rows(data, names, names[match.columns["account_id"]])

    frame_cols = [pl.col("row_number")]
    frame_cols += [pl.col(names[i]).alias(column) for column, i in match.columns.items()]
    taken: set[str] = set()
    extra_cols = []
    for i in match.unknown:
        if i > last and surplus_is_error:
            continue
        header = header_cells[i] if i < len(header_cells) else None
        label = str(header).strip() if header is not None and str(header).strip() else f"column {_column_letter(i)}"
        if header is None or not str(header).strip():
            if data.select(pl.col(names[i]).is_not_null().any()).item() is False:
                continue     # an unnamed, empty column: spreadsheet padding
        extra_cols.append(pl.col(names[i]).alias(_unique_name(label, taken)))
    surplus = [names[i] for i in range(last + 1, len(names))] if surplus_is_error else []
    if surplus:
        frame_cols.append(pl.concat_str([pl.col(c) for c in surplus], separator=",", ignore_nulls=True)
                          .alias(SURPLUS_COLUMN))
    frame = data.select(frame_cols)
    if SURPLUS_COLUMN in frame.columns:
        frame = frame.with_columns(pl.when(pl.col(SURPLUS_COLUMN) != "").then(pl.col(SURPLUS_COLUMN)))
        if frame[SURPLUS_COLUMN].null_count() == frame.height:
            frame = frame.drop(SURPLUS_COLUMN)
    headers = {column: str(header_cells[i]).strip() for column, i in match.columns.items()}
    extras = data.select(extra_cols) if extra_cols else pl.DataFrame()
    return RawTable(source=str(path), format=fmt, frame=frame, headers=headers, extras=extras, **meta)


def _drop_blank_rows(data: pl.DataFrame, names: list[str], key: str) -> pl.DataFrame:
    """Drop rows whose every cell is empty or spaces.

    Only rows without an account_id can be blank, so the full check runs on those few rows
    instead of stripping every cell of a million-row file.
    """
    candidates = data.filter(pl.col(key).is_null() | (pl.col(key).str.strip_chars() == ""))
    if candidates.height == 0:
        return data
    blank = pl.all_horizontal([pl.col(c).str.strip_chars().fill_null("") == "" for c in names])
    blank_rows = candidates.filter(blank)["row_number"]
    return data.filter(~pl.col("row_number").is_in(blank_rows.implode())) if blank_rows.len() else data


def _find_header(rows: list[list], colmap: ColumnMap) -> tuple[int, int]:
    """(index of the row naming the most contract columns, how many it names)."""
    best, best_score = 0, 0
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        score = len(colmap.match_headers(row).columns)
        if score > best_score:
            best, best_score = i, score
    return best, best_score


def _no_header(path, rows: list[list]) -> InputFileError:
    first = next((r for r in rows if any(c is not None and str(c).strip() for c in r)), [])
    preview = ", ".join(str(c).strip() for c in first if c is not None and str(c).strip())[:200]
    return InputFileError(path, (
        f"no header row found: none of the first {_HEADER_SEARCH_ROWS} rows names the customer-list columns "
        f"(account_id/户号, name/企业名称, province/省份, customer_type/用电类别, annual_kwh/年用电量). "
        f"First row reads: {preview or '(empty)'}"))


# --- CSV ------------------------------------------------------------------------------------

def _sniff(text: str, colmap: ColumnMap) -> tuple[str, int, int, int, list[list]]:
    """(separator, header row index, its score, widest row, first rows) from the first records."""
    best: tuple[str, int, int, int, list[list]] = (",", 0, 0, 0, [])
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 28))   # a long cell must not hide the header
    for sep in _SEPARATORS:
        try:
            reader = csv.reader(io.StringIO(text), delimiter=sep)
            rows = [row for _, row in zip(range(_HEADER_SEARCH_ROWS + 1), reader)]
        except csv.Error:
            continue
        index, score = _find_header(rows, colmap)
        if score > best[2] or not best[4]:
            best = (sep, index, score, max((len(r) for r in rows), default=0), rows)
    return best


def _too_wide(path, row_number: int, fields: int) -> InputFileError:
    """Wider than any spreadsheet (Excel stops at 16,384 columns): not a customer list, and reading
    hundreds of thousands of columns would take minutes."""
    return InputFileError(path, (f"row {row_number} has more than {_MAX_FIELDS:,} fields ({fields:,} read), more "
                                 "columns than any spreadsheet has: a broken export, or not a customer table"))


# What a reader raises about the file it reads. Polars and calamine are Rust: on some damaged files they
# panic, and a Rust panic reaches Python as pyo3's ``PanicException`` — a BaseException, and a different
# class in each extension module, so it is recognised by name (:func:`_is_panic`). Nothing else is caught:
# an interrupt, a cancelled run (Prefect's TerminationSignal is a BaseException too) or a bug in this code
# is not the file's fault and must not be reported as "not a readable file".
_READER_ERRORS: tuple[type[BaseException], ...] = (pl.exceptions.PolarsError, fastexcel.FastExcelError, OSError)


def _is_panic(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException" and type(exc).__module__ == "pyo3_runtime"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def _reraise_unless_library_failure(exc: BaseException) -> None:
    """Re-raise ``exc`` unless it is a reader's own error or panic about the file (``_READER_ERRORS``)."""
    if not (_is_panic(exc) or isinstance(exc, _READER_ERRORS)):
        raise exc


def _read_csv_cells(path, data: bytes, text: str, separator: str, width: int) -> pl.DataFrame:
    """All records as text in ``width`` (or more) columns; never truncates a long row."""
    width = max(width, 1) + 16
    while True:
        try:
            return pl.read_csv(io.BytesIO(data), has_header=False, separator=separator,
                               schema={f"c{i}": pl.Utf8 for i in range(width)},
                               missing_columns="insert", raise_if_empty=False)
        except pl.exceptions.PolarsError as exc:
            if "more fields than defined" in str(exc) and width < _MAX_FIELDS:
                width *= 4
                continue
            return _read_csv_cells_slowly(path, text, separator)
        except BaseException as exc:
            _reraise_unless_library_failure(exc)
            return _read_csv_cells_slowly(path, text, separator)


def _read_csv_cells_slowly(path, text: str, separator: str) -> pl.DataFrame:
    """Python's csv module for what Polars' fast parser refuses, such as a quote mark inside
    an unquoted value (ab"c), which spreadsheets read literally. Strict, so an unterminated
    quote stops the load instead of swallowing the rest of the file into one value."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 28))
    reader = csv.reader(io.StringIO(text), delimiter=separator, strict=True)
    rows: list[list[str]] = []
    start = 1            # line where the record being read begins
    try:
        for row in reader:
            if len(row) > _MAX_FIELDS:
                raise _too_wide(path, len(rows) + 1, len(row))
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputFileError(path, (f"it is not well-formed CSV: the record starting at line {start} is broken "
                                    f"({exc}), probably by a quote mark inside a value")) from None
    width = max((len(r) for r in rows), default=0)
    return pl.DataFrame({f"c{i}": [r[i] if i < len(r) and r[i] != "" else None for r in rows] for i in range(width)},
                        schema={f"c{i}": pl.Utf8 for i in range(width)})


def _read_csv(path, raw: bytes, colmap: ColumnMap, sha: str) -> RawTable:
    decoded = decode_text(raw, path)
    if not decoded.text or decoded.text.isspace():
        raise InputFileError(path, "the file is empty")
    # The header is within the first records: sniff a prefix, not the whole (large) text.
    separator, header_index, score, width, first_rows = _sniff(decoded.text[:_SNIFF_CHARS], colmap)
    if score == 0:
        raise _no_header(path, first_rows or [[decoded.text[:200]]])
    if width > _MAX_FIELDS:
        index, row = max(enumerate(first_rows), key=lambda r: len(r[1]))
        raise _too_wide(path, index + 1, len(row))
    if decoded.encoding == "utf-8":
        data = raw
    else:   # hand Polars UTF-8 bytes without a BOM
        data = decoded.text.encode("utf-8")
    cells = _read_csv_cells(path, data, decoded.text, separator, width)
    header_cells = list(cells.row(header_index)) if cells.height > header_index else []
    return _assemble(path, "csv", cells, header_index, header_index + 2, colmap, header_cells,
                     surplus_is_error=True, encoding=decoded.encoding, sha256=sha)


# --- Excel ----------------------------------------------------------------------------------

def _read_excel(path, raw: bytes, sheet: str | int | None, colmap: ColumnMap, sha: str) -> RawTable:
    try:
        names = fastexcel.read_excel(raw).sheet_names
    except BaseException as exc:   # calamine's errors and panics only (_reraise_unless_library_failure)
        _reraise_unless_library_failure(exc)
        raise InputFileError(path, (
            "it is not a readable Excel workbook (damaged, password-protected, or another zip file): "
            f"{_first_line(exc)}")) from None
    if not names:
        raise InputFileError(path, "the workbook has no sheets")
    if sheet is None:
        sheet_name = names[0]
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            raise InputFileError(path, f"sheet number {sheet} does not exist; sheets: {', '.join(names)}")
        sheet_name = names[sheet]
    elif str(sheet) in names:
        sheet_name = str(sheet)
    else:
        raise InputFileError(path, f'there is no sheet named "{sheet}"; sheets: {", ".join(names)}')
    try:
        # Every cell as text, and no rows skipped, so index + 1 is the spreadsheet row.
        cells = pl.read_excel(io.BytesIO(raw), sheet_name=sheet_name, engine="calamine", has_header=False,
                              drop_empty_rows=False, drop_empty_cols=False, raise_if_empty=False,
                              read_options={"skip_rows": 0, "dtypes": "string"})
    except BaseException as exc:
        _reraise_unless_library_failure(exc)
        raise InputFileError(path, f'sheet "{sheet_name}" cannot be read: {_first_line(exc)}') from None
    if cells.height == 0 or cells.width == 0:
        others = f"; sheets in the file: {', '.join(names)}" if len(names) > 1 else ""
        raise InputFileError(path, f'sheet "{sheet_name}" is empty{others}')
    cells = cells.select(pl.all().cast(pl.Utf8))
    rows = cells.head(_HEADER_SEARCH_ROWS).rows()
    header_index, score = _find_header([list(r) for r in rows], colmap)
    if score == 0:
        raise InputFileError(path, f'sheet "{sheet_name}": ' + _no_header(path, [list(r) for r in rows]).problem)
    return _assemble(path, "excel", cells, header_index, header_index + 2, colmap, list(rows[header_index]),
                     surplus_is_error=False, sheet=sheet_name, sha256=sha)


# --- Parquet and in-memory frames -------------------------------------------------------------

def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text. Whole floats print without ".0" (as a spreadsheet shows them);
    types Polars cannot cast to text (durations, nested, ...) go through ``str()``."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Utf8:
            exprs.append(col)
        elif dtype.is_float():
            whole = col.is_finite() & (col == col.round(0)) & (col.abs() < 1e15)
            exprs.append(pl.when(whole).then(col.cast(pl.Int64, strict=False).cast(pl.Utf8))
                         .otherwise(col.cast(pl.Utf8)).alias(name))
        else:
            exprs.append(col.cast(pl.Utf8).alias(name))
    try:
        return frame.select(exprs)
    except pl.exceptions.PolarsError:
        pass
    columns = []
    for name, expr in zip(frame.columns, exprs):
        try:
            columns.append(frame.select(expr).to_series())
        except pl.exceptions.PolarsError:
            values = frame[name].to_list()     # rare column types only: a Python loop is fine
            columns.append(pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.Utf8))
    return pl.DataFrame(columns)


def table_from_frame(frame: pl.DataFrame, source: str = "(data frame)", *, fmt: str = "frame",
                     sha256: str = "", colmap: ColumnMap | None = None, first_row_number: int = 2) -> RawTable:
    """A RawTable from a frame whose column names are headers (English or aliases).

    Used for Parquet files and for frames built in code; values of any type are turned into
    text first, so they go through exactly the same validation as a CSV. ``first_row_number``: the
    number of the frame's first record (2 for a whole file; a later chunk's own, ``intake.stream``).
    """
    colmap = colmap or load_column_map()
    header_cells = list(frame.columns)
    if not header_cells:
        raise InputFileError(source, "it has no columns")
    match = colmap.match_headers(header_cells)
    if not match.columns:
        raise _no_header(source, [header_cells])
    names = [f"c{i}" for i in range(len(header_cells))]
    cells = _as_text(frame.rename(dict(zip(header_cells, names))))
    # header_index -1: the names are the header, the first record is row 2
    return _assemble(source, fmt, cells, -1, first_row_number, colmap, header_cells, surplus_is_error=False,
                     sha256=sha256)


def _read_parquet(path, raw: bytes, colmap: ColumnMap, sha: str) -> RawTable:
    if not raw.endswith(_PARQUET):
        raise InputFileError(path, "it is an incomplete Parquet file (cut off while copying?)")
    try:
        frame = pl.read_parquet(io.BytesIO(raw))
    except BaseException as exc:
        _reraise_unless_library_failure(exc)
        raise InputFileError(path, f"it is not a readable Parquet file: {_first_line(exc)}") from None
    return table_from_frame(frame, str(path), fmt="parquet", sha256=sha, colmap=colmap)


# --- entry point ------------------------------------------------------------------------------

def _kind(raw: bytes) -> str:
    if raw.startswith(_ZIP) or raw.startswith(_OLE2):
        return "excel"
    if raw.startswith(_PARQUET):
        return "parquet"
    return "csv"


def read_input_bytes(path: str | Path) -> bytes:
    """The bytes of an input file (a customer list, a CRM export); one clear error naming the file when it
    is missing, a folder, unreadable or empty."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise InputFileError(path, "it is a folder, not a file") from None
    except OSError as exc:
        raise InputFileError(path, f"it cannot be opened ({exc.strerror or exc})") from None
    if _BLANK_FILE.fullmatch(raw):
        raise InputFileError(path, "the file is empty")
    return raw


def read_customer_file(path: str | Path, sheet: str | int | None = None, *,
                       colmap: ColumnMap | None = None) -> RawTable:
    """Read a customer list as text with contract column names; see the module docstring.

    ``sheet``: Excel only — a sheet name (or 0-based number); default the first sheet.
    Raises :class:`InputFileError` when the file cannot be read as a customer table.
    """
    path = Path(path)
    raw = read_input_bytes(path)
    colmap = colmap or load_column_map()
    kind = _kind(raw)
    named = _EXTENSION_KIND.get(path.suffix.lower())
    if named and named != kind:
        advice = {"csv": "rename it to .csv", "excel": "rename it to .xlsx", "parquet": "rename it to .parquet"}[kind]
        raise InputFileError(path, (
            f"it is named {path.suffix} but its content is {_KIND_WORDS[kind]}, not {_KIND_WORDS[named]}; "
            f"{advice} if that is the right file, or export it again"))
    if sheet is not None and kind != "excel":
        raise InputFileError(path, f'a sheet ("{sheet}") was given but the file is {_KIND_WORDS[kind]}')
    sha = hashlib.sha256(raw).hexdigest()
    if kind == "excel":
        return _read_excel(path, raw, sheet, colmap, sha)
    if kind == "parquet":
        return _read_parquet(path, raw, colmap, sha)
    return _read_csv(path, raw, colmap, sha)
