"""Forgetting one customer (PIPL's right to deletion): ``gp forget ACCOUNT_ID --reason TEXT``.

Published like a run, so readers stay consistent: under the writer lock, a private copy of the published
file loses every row of the account — in every table with an ``account_id`` column, found in the
catalog, so tables added later (lead scores, responses, rejects …) are covered without a change here —
and the account's id and name wherever a free-text column repeats them (an error message, a reject's
raw value). The copy is then rewritten whole (``COPY FROM DATABASE``: deleted rows stay in a DuckDB
file's free blocks until it is rewritten), read back whole and renamed over the published file. A
reader already connected keeps its snapshot until it reconnects; a new connection never sees the account.

The caller's ``remove_files`` (the offers' PDFs, hard links included, and manifest lines) runs under the
same lock before the rename: if it fails nothing is published and ``gp forget`` can simply be run again.

Earlier published files hold the account too: every generation (``*.gen-*``) and every file a restore
replaced (``*.replaced-*``) is deleted once the forgotten file is published — the file just published
was read back whole, and the next nightly run starts a new generation. Portable backups (``gp backup``)
elsewhere cannot be reached from here: a restore from a backup older than the deletion brings the
customer back, and ``gp forget`` must be run again after it (the audit log lists the deletions).
"""
from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from . import overview
from . import publish as files
from .errors import WarehouseError
from .generations import generation_paths
from .integrity import check_whole, forget_verified, mark_verified
from .lock import RunLock
from .schema import q
from .staging import _open_staging, _transaction
from . import storage

REPLACEMENT = "[forgotten]"
# columns that identify rows (ids, paths, hashes) rather than describe them: never rewritten
IDENTITY_COLUMNS = {"account_id", "run_id", "offer_no", "path", "sha256", "content_hash", "campaign", "status",
                    "kind", "segment", "previous_segment", "experiment", "edition"}


@dataclass
class Forgotten:
    """What forgetting one account found and removed."""
    account_id: str
    names: list[str] = field(default_factory=list)           # its names in the accounts table (for scrubbing)
    rows: dict[str, int] = field(default_factory=dict)       # table -> rows deleted
    cells: int = 0                                           # free-text cells that repeated its id or name
    offer_files: list[Path] = field(default_factory=list)    # the PDFs the offers table recorded for it
    folders: list[Path] = field(default_factory=list)        # every run's output folder
    old_files_removed: list[str] = field(default_factory=list)   # generations and replaced files deleted

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def account_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every base table of the file with an ``account_id`` column (from the catalog)."""
    return [r[0] for r in con.execute(
        "SELECT c.table_name FROM duckdb_columns() c JOIN duckdb_tables() t "
        "ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name "
        "WHERE c.database_name = current_database() AND c.schema_name = 'main' AND c.column_name = 'account_id' "
        "ORDER BY 1").fetchall()]


def text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(table, column) of every free-text column of every base table."""
    return [(t, c) for t, c in con.execute(
        "SELECT c.table_name, c.column_name FROM duckdb_columns() c JOIN duckdb_tables() t "
        "ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name "
        "WHERE c.database_name = current_database() AND c.schema_name = 'main' AND c.data_type = 'VARCHAR' "
        "ORDER BY 1, 2").fetchall() if c not in IDENTITY_COLUMNS]


def _has(con: duckdb.DuckDBPyConnection, table: str, *columns: str) -> bool:
    have = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = "
                                      "current_database() AND schema_name = 'main' AND table_name = ?",
                                      [table]).fetchall()}
    return all(c in have for c in columns)


def _find(con: duckdb.DuckDBPyConnection, found: Forgotten) -> None:
    if _has(con, "accounts", "account_id", "name"):
        found.names = [r[0] for r in con.execute(
            "SELECT DISTINCT name FROM accounts WHERE account_id = ? AND name IS NOT NULL AND name <> ''",
            [found.account_id]).fetchall()]
    if _has(con, "runs", "run_id", "output_folder"):
        found.folders = [Path(r[0]) for r in con.execute(
            "SELECT DISTINCT output_folder FROM runs WHERE output_folder IS NOT NULL ORDER BY 1").fetchall()]
        if _has(con, "offers", "account_id", "path", "run_id"):
            found.offer_files = [Path(folder) / path for folder, path in con.execute(
                "SELECT DISTINCT r.output_folder, o.path FROM offers o JOIN runs r USING (run_id) "
                "WHERE o.account_id = ? AND o.path IS NOT NULL AND r.output_folder IS NOT NULL",
                [found.account_id]).fetchall()]


def _token(word: str) -> str:
    """A regular expression matching ``word`` not inside a longer id (``JS-1`` is not in ``JS-10``)."""
    import re
    return r"(^|[^0-9A-Za-z_-])" + re.escape(word) + r"($|[^0-9A-Za-z_-])"


def _delete(con: duckdb.DuckDBPyConnection, found: Forgotten) -> None:
    runs = [r[0] for r in con.execute("SELECT DISTINCT run_id FROM accounts WHERE account_id = ?",
                                      [found.account_id]).fetchall()] if _has(con, "accounts", "run_id") else []
    for table in account_tables(con):
        n = con.execute(f"DELETE FROM {q(table)} WHERE account_id = ?", [found.account_id]).fetchone()[0]
        if n:
            found.rows[table] = int(n)
    for table, column in text_columns(con):
        col = q(column)
        n = con.execute(f"UPDATE {q(table)} SET {col} = regexp_replace({col}, ?, ?, 'g') "
                        f"WHERE regexp_matches({col}, ?)",
                        [_token(found.account_id), r"\1" + REPLACEMENT + r"\2", _token(found.account_id)]
                        ).fetchone()[0]
        found.cells += int(n)
        for name in found.names:
            n = con.execute(f"UPDATE {q(table)} SET {col} = replace({col}, ?, ?) WHERE contains({col}, ?)",
                            [name, REPLACEMENT, name]).fetchone()[0]
            found.cells += int(n)
    _resum(con, runs)


def _resum(con: duckdb.DuckDBPyConnection, runs: list[str]) -> None:
    """Sum the account's runs into ``overview_cube`` again without it: a cell of one account would otherwise
    keep its kWh and bill, and every total would still count it."""
    if not _has(con, overview.TABLE, "run_id"):
        return
    for run_id in runs:
        if con.execute(f"SELECT count(*) > 0 FROM {overview.TABLE} WHERE run_id = ?", [run_id]).fetchone()[0]:
            overview.record_overview(con, run_id)


def forget_account(db_path: str | os.PathLike, account_id: str, *,
                   remove_files: Callable[[Forgotten], None] | None = None, lock_timeout_s: float = 0,
                   storage_version: str | None = None) -> Forgotten:
    """Remove ``account_id`` from every run of the warehouse ``db_path`` and publish the result atomically;
    ``remove_files(found)`` runs under the writer lock before the publish. Returns what was removed."""
    from .store import Warehouse        # recovery of a killed run's journal first, like any run
    db = Path(db_path)
    if not isinstance(account_id, str) or not account_id.strip():
        raise WarehouseError("give the account id to forget (a non-empty 户号)")
    if not db.is_file():
        raise WarehouseError(f"{db}: no warehouse database here (pass --db)")
    version = storage.configured_storage_version(storage_version)
    lock = RunLock(files.lock_path(db))
    lock.acquire(lock_timeout_s, {"run_id": "(forget)", "pid": os.getpid(), "host": socket.gethostname(),
                                  "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    staging = files.staging_path(db, "forget")
    rewritten = files.staging_path(db, "forget", ".compact")
    found = Forgotten(account_id)
    try:
        Warehouse(db, storage_version=version)._recover_locked(found_by="forget")
        files.copy_published(db, staging)
        con = _open_staging(staging, version)
        try:
            _find(con, found)
            with _transaction(con):
                _delete(con, found)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        files.compact(staging, rewritten, version)     # no free block keeps a deleted row
        files.remove_db_files(staging)
        check_whole(rewritten)
        if remove_files is not None:
            remove_files(found)
        forget_verified(db)
        files.publish(rewritten, db)
        mark_verified(db)
        for old in [*generation_paths(db), *sorted(db.parent.glob(f"{db.name}.replaced-*"))]:
            files.remove_db_files(old)
            found.old_files_removed.append(old.name)
    finally:
        files.remove_db_files(staging)
        files.remove_db_files(rewritten)
        lock.release()
    return found
