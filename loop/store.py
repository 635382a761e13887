"""Writing the loop's tables into the published warehouse the way a run does: writer lock, private
staging copy, one transaction, ``CHECKPOINT``, atomic ``os.replace`` (``warehouse/README.md``).

Readers therefore never see half an import, a manager's read-only session neither blocks an
import nor is blocked by it, and an import and a nightly run never write at the same time (the
second waits for the lock, then refuses naming the holder). A killed import leaves only a stale
staging file, which the next run or import removes; the published file is never touched.

The loop's tables (``responses``, ``response_rejects``, ``response_imports``, ``edition_stats``)
have no ``run_id``: they outlive runs, and retention (which prunes run-keyed tables) leaves them alone.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from core.filemodes import secure_file
from loop.leads.tables import ensure_lead_tables
from warehouse import publish as files
from warehouse import storage
from warehouse.errors import WarehouseError
from warehouse.integrity import check_whole, forget_verified, mark_verified
from warehouse.lock import RunLock
from warehouse.schema import ensure_schema

LOOP_TABLES = {
    "response_imports": """CREATE TABLE IF NOT EXISTS response_imports (
        import_id VARCHAR, file VARCHAR, sha256 VARCHAR, imported_at TIMESTAMPTZ, rows_read BIGINT,
        rows_accepted BIGINT, rows_duplicate BIGINT, rows_rejected BIGINT)""",
    "responses": """CREATE TABLE IF NOT EXISTS responses (
        import_id VARCHAR, row_number BIGINT, offer_no VARCHAR, account_id VARCHAR, outcome VARCHAR,
        responded_on DATE, contracted_kwh DOUBLE, package VARCHAR, note VARCHAR, content_key VARCHAR,
        imported_at TIMESTAMPTZ)""",
    "response_rejects": """CREATE TABLE IF NOT EXISTS response_rejects (
        import_id VARCHAR, file VARCHAR, row_number BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR)""",
}


def new_import_id(at: dt.datetime | None = None) -> str:
    at = (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return f"import-{at:%Y%m%dT%H%M%S}.{at.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def ensure_loop_tables(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schema(con)   # offers needs its loop columns even in a warehouse no new run has written yet
    for ddl in LOOP_TABLES.values():
        con.execute(ddl)
    ensure_lead_tables(con)


@contextmanager
def loop_transaction(db_path: str | os.PathLike, *, what: str, lock_timeout_s: float = 600) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a staging copy of the published warehouse; leaving the block
    normally commits and publishes it atomically, an exception discards it (nothing published).

    Published as a run's commit publishes: in the configured storage version (a file 1.x clients
    cannot read is rewritten), read back whole first (``warehouse.integrity``)."""
    db = Path(db_path)
    if not db.exists():
        raise WarehouseError(f"{db}: no warehouse yet; run `gp run CUSTOMERS` first")
    lock = RunLock(files.lock_path(db))
    lock.acquire(lock_timeout_s, {"run_id": f"({what})", "pid": os.getpid(), "host": socket.gethostname(),
                                  "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    name = f"{what.replace(' ', '-')}-{secrets.token_hex(3)}"
    staging = files.staging_path(db, name)
    converted = files.staging_path(db, name, ".compact")
    version = storage.configured_storage_version()
    try:
        files.copy_published(db, staging)
        con = duckdb.connect(str(staging), config={"fsync_mode": "NONE", "preserve_insertion_order": False,
                                                   **storage.connect_config(version)})
        secure_file(staging)
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute("BEGIN TRANSACTION")
            try:
                ensure_loop_tables(con)
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            convert = not storage.readable_by(storage.file_storage_version(con), version)
        finally:
            con.close()
        path = staging
        if convert:
            files.compact(staging, converted, version)
            path = converted
        check_whole(path)
        forget_verified(db)
        files.publish(path, db)
        mark_verified(db)
    finally:
        files.remove_db_files(staging)
        files.remove_db_files(converted)
        lock.release()


def refresh_after_run(db_path: str | os.PathLike, config, *, lock_timeout_s: float = 600) -> None:
    """After a run published: the loop's views over its offers and ``edition_stats`` recomputed
    (one more staging copy and publish; a run's own commit knows nothing of the loop)."""
    from loop.views import refresh

    with loop_transaction(db_path, what="loop refresh", lock_timeout_s=lock_timeout_s) as con:
        refresh(con, config)
