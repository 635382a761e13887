"""``gp query``: one read-only SQL statement from the command line, a file or standard input, printed as a
table or written to CSV / Excel — with Chinese headers and number formats from ``data/labels/columns.yaml``.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gpengine.datafiles import DataFileError, data_dir, read_yaml
from warehouse.errors import QueryError

LABELS_FILE = Path("labels") / "columns.yaml"


class ColumnLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str = Field(min_length=1)
    format: Optional[Literal["percent", "integer", "decimal"]] = None


class ColumnLabels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    columns: dict[str, ColumnLabel]

    def headers(self) -> dict[str, str]:
        return {name: label.zh for name, label in self.columns.items()}

    def formats(self) -> dict[str, str]:
        return {name: label.format for name, label in self.columns.items() if label.format}


def load_column_labels(path: Path | None = None) -> ColumnLabels:
    """The labels file, validated; a problem names the file and the key."""
    doc = read_yaml(path or data_dir() / LABELS_FILE)
    try:
        return ColumnLabels.model_validate(doc.content)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DataFileError(f"{doc.path}: {key}: {first['msg']}") from None


class QueryInputError(QueryError):
    """The SQL could not be read (no such file, empty, not text): a user's error, one line."""


def read_sql(sql: str | None, file: str | None) -> str:
    """The statement to run: the argument, or the file (``-``: standard input)."""
    if (sql is None) == (file is None):
        raise QueryInputError("give the SQL as an argument or with --file FILE (--file - reads standard input), "
                              "not both" if sql is not None else
                              "give the SQL as an argument or with --file FILE (--file - reads standard input)")
    if sql is not None:
        return sql
    where = "standard input" if file == "-" else file
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except FileNotFoundError:
        raise QueryInputError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise QueryInputError(f"{file}: is a folder, not an SQL file") from None
    except OSError as exc:
        raise QueryInputError(f"{file}: cannot read ({exc.strerror or exc})") from None
    for encoding in ("utf-8-sig", "gb18030"):  # editors on Chinese Windows save GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise QueryInputError(f"{where}: not text (neither UTF-8 nor GBK)")
    if not text.strip():
        raise QueryInputError(f"{where}: is empty; it should hold one SQL statement")
    return text


def query(sql: str | None, file: str | None, db: Path, csv: Path | None, xlsx: Path | None, max_rows: int,
          chinese_headers: bool, echo, audit: bool = False) -> None:
    """Run the statement read-only on ``db`` (``audit``: on its audit log) and print it (``echo``) or write
    the files; a written file is recorded in the audit log (who, when, the statement, how many rows)."""
    from warehouse import format_table, run_query, write_query_result
    from warehouse.audit import audit_path, record_export
    from warehouse.query import unique_headers

    text = read_sql(sql, file)
    labels = load_column_labels()
    frame = run_query(audit_path(db) if audit else db, text)
    headers = labels.headers() if chinese_headers else {}
    if csv or xlsx:
        write_query_result(frame, csv=csv, xlsx=xlsx, headers=headers, formats=labels.formats())
        for target in (p for p in (csv, xlsx) if p):
            record_export(db, what=("gp query --audit: " if audit else "gp query: ") + " ".join(text.split()),
                          rows=frame.height, via="cli", target=str(target))
        echo(f"{frame.height:,} rows written to {', '.join(str(p) for p in (csv, xlsx) if p)}")
    else:
        if headers:
            frame = frame.rename(dict(zip(frame.columns, unique_headers([headers.get(c, c) for c in frame.columns]))))
        print(format_table(frame, max_rows=max_rows))

