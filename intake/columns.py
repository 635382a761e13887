"""Header aliases and coded-value words, read from ``data/input/columns.yaml`` and validated.

The alias table is data (spec ``input.md``): a CRM export may call ``account_id`` 户号,
账户编号 or 用户编号, and ``customer_type`` may say 大工业 instead of ``large_industrial``.
This module turns that file into lookup dictionaries and matches a header row against it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from core.datafiles import DataFileError, data_dir, read_yaml
from intake.schema import ACCOUNT_COLUMNS, CUSTOMER_TYPES, PV_MODES, REPAYMENTS

COLUMN_MAP_FILE = Path("input") / "columns.yaml"

# Input columns in contract order (row_number is ours, not the file's).
INPUT_COLUMNS: tuple[str, ...] = tuple(c for c in ACCOUNT_COLUMNS if c != "row_number")
REQUIRED_COLUMNS: tuple[str, ...] = ("account_id", "name", "province", "customer_type", "annual_kwh")

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, as half-width. Values go
# through the same table in Polars (``str.replace_many``) and here, so both sides agree.
FULLWIDTH = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]
HALFWIDTH = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]
_HALFWIDTH_TABLE = str.maketrans(dict(zip(FULLWIDTH, HALFWIDTH)))

_HEADER_DROP = re.compile(r"[\s_\-]+")
_HEADER_SUFFIX = re.compile(r"(.+?)[(\[](.*)[)\]]")
VALUE_DROP_PATTERN = r"[\s_\-]+"   # also used by the Polars expressions in validate.py
_VALUE_DROP = re.compile(VALUE_DROP_PATTERN)


def header_key(text: str) -> str:
    """Normalise a header: NFKC, 【】 as [], lower case, no "*" marker, no spaces/_/-."""
    text = unicodedata.normalize("NFKC", str(text)).replace("【", "[").replace("】", "]")
    return _HEADER_DROP.sub("", text.strip().strip("*").strip().lower())


def fold_value(text: str) -> str:
    """Half-width, trimmed, lower case: how cell values are compared with missing_values."""
    return str(text).translate(_HALFWIDTH_TABLE).strip().lower()


def value_key(text: str) -> str:
    """``fold_value`` without spaces, "_" and "-": how coded values are compared."""
    return _VALUE_DROP.sub("", fold_value(text))


@dataclass(frozen=True)
class HeaderMatch:
    """How one row of header cells maps onto the contract's columns."""

    columns: dict[str, int]                       # column -> index of its cell
    unknown: list[int]                            # indices of cells that name no column
    problems: list[str] = field(default_factory=list)  # unit and duplicate problems, analyst wording


@dataclass(frozen=True)
class ColumnMap:
    path: Path
    sha256: str
    headers: dict[str, str]                 # header_key -> column
    units: dict[str, frozenset[str]]        # column -> accepted unit suffixes (header_key form)
    aliases: dict[str, tuple[str, ...]]     # column -> aliases as written (for messages)
    customer_types: dict[str, str]          # value_key -> code
    booleans: dict[str, bool]               # value_key -> bool
    pv_modes: dict[str, str]
    repayments: dict[str, str]
    missing_values: frozenset[str]          # fold_value form

    def header_column(self, cell: str) -> tuple[str | None, str | None]:
        """(column, problem) for one header cell; both None when the header is unknown."""
        key = header_key(cell)
        if key in self.headers:
            return self.headers[key], None
        m = _HEADER_SUFFIX.fullmatch(key)
        if not m or m.group(1) not in self.headers:
            return None, None
        column, unit = self.headers[m.group(1)], m.group(2)
        accepted = self.units.get(column)
        if accepted is not None and unit not in accepted:
            return None, (f'column "{cell.strip()}" is {column} in unit "{unit}", which is not accepted; '
                          f"give the values in {' / '.join(sorted(accepted))} or rename the column")
        return column, None

    def match_headers(self, cells: Sequence[str | None]) -> HeaderMatch:
        columns: dict[str, int] = {}
        unknown: list[int] = []
        problems: list[str] = []
        for i, cell in enumerate(cells):
            if cell is None or not str(cell).strip():
                unknown.append(i)
                continue
            column, problem = self.header_column(str(cell))
            if problem:
                problems.append(problem)
            if column is None:
                unknown.append(i)
            elif column in columns:
                first = str(cells[columns[column]]).strip()
                problems.append(f'columns "{first}" and "{str(cell).strip()}" both mean {column}; keep only one')
            else:
                columns[column] = i
        return HeaderMatch(columns, unknown, problems)

    def describe_column(self, column: str, limit: int = 3) -> str:
        """``annual_kwh (e.g. 年用电量, 年度用电量)`` for messages about a missing column."""
        examples = ", ".join(self.aliases.get(column, ())[:limit])
        return f"{column} (e.g. {examples})" if examples else column


def _fail(path: Path, key: str, problem: str) -> DataFileError:
    return DataFileError(f"{path}: {key}: {problem}")


def _text_list(path: Path, key: str, value) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _fail(path, key, "must be a non-empty list of words")
    for i, word in enumerate(value):
        if not isinstance(word, str) or not word.strip():
            raise _fail(path, f"{key}[{i}]", f"must be non-empty text, got {word!r} (quote it in YAML)")
    return value


def _word_table(path: Path, key: str, content: dict, codes: Sequence[str]) -> dict[str, str]:
    """``{code: [words]}`` -> ``{value_key(word): code}``; the code itself always matches."""
    section = content.get(key)
    if not isinstance(section, dict):
        raise _fail(path, key, f"missing (a mapping of {', '.join(codes)} to lists of words)")
    unknown = sorted(set(map(str, section)) - set(codes))
    if unknown:
        raise _fail(path, key, f"unknown code(s) {', '.join(unknown)}; allowed: {', '.join(codes)}")
    table: dict[str, str] = {}
    for code in codes:
        words = _text_list(path, f"{key}.{code}", section.get(code)) if code in section else []
        for word in [code, *words]:
            k = value_key(word)
            if table.get(k, code) != code:
                raise _fail(path, f"{key}.{code}", f'"{word}" already means {table[k]}')
            table[k] = code
    return table


def parse_column_map(path: Path, content, sha256: str = "") -> ColumnMap:
    """Validate the parsed YAML of columns.yaml; errors name the file and the key."""
    if not isinstance(content, dict):
        raise DataFileError(f"{path}: must be a mapping with 'columns', 'customer_types', 'booleans', ...")
    columns = content.get("columns")
    if not isinstance(columns, dict):
        raise _fail(path, "columns", "missing (a mapping of column name to its aliases)")
    missing = [c for c in INPUT_COLUMNS if c not in columns]
    if missing:
        raise _fail(path, "columns", f"missing column(s) {', '.join(missing)}")
    extra = sorted(set(map(str, columns)) - set(INPUT_COLUMNS))
    if extra:
        raise _fail(path, "columns", f"unknown column(s) {', '.join(extra)} (not in the account schema)")

    headers: dict[str, str] = {}
    units: dict[str, frozenset[str]] = {}
    aliases: dict[str, tuple[str, ...]] = {}
    for column in INPUT_COLUMNS:
        entry = columns[column]
        if not isinstance(entry, dict):
            raise _fail(path, f"columns.{column}", "must be a mapping with 'aliases'")
        words = _text_list(path, f"columns.{column}.aliases", entry.get("aliases"))
        aliases[column] = tuple(words)
        for word in [column, *words]:
            k = header_key(word)
            if headers.get(k, column) != column:
                raise _fail(path, f"columns.{column}.aliases", f'"{word}" already names {headers[k]}')
            headers[k] = column
        if "units" in entry:
            units[column] = frozenset(header_key(u) for u in
                                      _text_list(path, f"columns.{column}.units", entry["units"]))

    booleans_section = content.get("booleans")
    if not isinstance(booleans_section, dict):
        raise _fail(path, "booleans", "missing (true_words and false_words)")
    booleans: dict[str, bool] = {}
    for key, truth in (("true_words", True), ("false_words", False)):
        for word in _text_list(path, f"booleans.{key}", booleans_section.get(key)):
            k = value_key(word)
            if booleans.get(k, truth) != truth:
                raise _fail(path, f"booleans.{key}", f'"{word}" is both a true and a false word')
            booleans[k] = truth

    missing_values = content.get("missing_values", [])
    if missing_values:
        _text_list(path, "missing_values", missing_values)
    return ColumnMap(
        path=path,
        sha256=sha256,
        headers=headers,
        units=units,
        aliases=aliases,
        customer_types=_word_table(path, "customer_types", content, CUSTOMER_TYPES),
        booleans=booleans,
        pv_modes=_word_table(path, "pv_modes", content, PV_MODES),
        repayments=_word_table(path, "repayments", content, REPAYMENTS),
        missing_values=frozenset(fold_value(w) for w in missing_values),
    )


_CACHE: dict[tuple, ColumnMap] = {}


def load_column_map(path: str | Path | None = None) -> ColumnMap:
    """Read and validate columns.yaml (default ``data/input/columns.yaml``).

    Cached per file version (path, size, mtime), so validating many small frames in a loop
    does not re-read it; an edited file is picked up.
    """
    path = Path(path) if path else data_dir() / COLUMN_MAP_FILE
    try:
        st = path.stat()
        token = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if token not in _CACHE:
        doc = read_yaml(path)
        _CACHE[token] = parse_column_map(path, doc.content, doc.sha256)
    return _CACHE[token]
