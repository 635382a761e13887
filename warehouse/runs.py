"""Runs: run ids (``RUN_ID``, ``new_run_id``), the ``runs`` row of a run (its assumptions as JSON,
inserting it, refusing a run id already taken) and recording a failed or cancelled run
(``_record_failed_run``: the previous state published again plus that one ``runs`` row).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from . import publish as files
from . import storage
from .errors import WarehouseError
from .schema import RUNS_COLUMNS, ensure_schema, q
from .staging import _open_staging, _transaction
from .views import create_views

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_run_id(at: dt.datetime | None = None) -> str:
    """Sortable and unique: UTC start time to the millisecond plus 6 random hex digits,
    e.g. 20261122T020000.123Z-ab12cd."""
    at = (at or _utcnow()).astimezone(dt.timezone.utc)
    return f"{at:%Y%m%dT%H%M%S}.{at.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def _json_default(o: Any) -> Any:
    if isinstance(o, (Path, Decimal)):
        return str(o)
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    raise TypeError(f"assumptions: value {o!r} of type {type(o).__name__} is not JSON-serialisable")


def _assumptions_json(assumptions: dict) -> str:
    try:
        return json.dumps(assumptions, ensure_ascii=False, sort_keys=True, allow_nan=False, default=_json_default)
    except ValueError as e:
        raise ValueError(f"assumptions: {e} (NaN/inf are not valid values)") from e


def _insert_run_row(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    cols = [c for c in RUNS_COLUMNS if c in row]
    con.execute(f"INSERT INTO runs ({', '.join(q(c) for c in cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [row[c] for c in cols])


def _run_id_taken(db_path: Path, run_id: str, status: str) -> WarehouseError:
    return WarehouseError(f"{db_path}: run_id {run_id} already exists (status {status}); give a new run id")


def _record_failed_run(db_path: Path, row: dict, error: str, storage_version: str,
                       status: str = "failed") -> None:
    """Publish the previous state plus one runs row saying this run failed or was cancelled (nothing else
    of it)."""
    staging = files.staging_path(db_path, row.get("run_id") or "unknown", ".failed")
    converted = files.staging_path(db_path, row.get("run_id") or "unknown", ".failed-compact")
    try:
        files.copy_published(db_path, staging)
        con = _open_staging(staging, storage_version)
        try:
            with _transaction(con):
                ensure_schema(con)
                con.execute("DELETE FROM runs WHERE run_id = ?", [row["run_id"]])
                _insert_run_row(con, {**row, "status": status, "finished_at": _utcnow(), "error": error[:4000]})
                create_views(con)
            con.execute("CHECKPOINT")
            convert = not storage.readable_by(storage.file_storage_version(con), storage_version)
        finally:
            con.close()
        if convert:  # a file in a format the setting's clients cannot read (see commit)
            files.compact(staging, converted, storage_version)
        files.publish(converted if convert else staging, db_path)
    finally:
        files.remove_db_files(staging)
        files.remove_db_files(converted)
