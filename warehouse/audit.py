"""The audit log: who exported what, when, and how many rows — never the rows themselves.

    greenpower.duckdb.audit.duckdb    table ``audit_log``, beside the published warehouse

The log is its own small DuckDB file, not a table of the published file: the published file is only
ever replaced whole by a run holding the writer lock, and the dashboard (read-only on it) must never
take that lock, so an export there could not be recorded. Each entry opens the audit file, appends one
row and closes it (a few milliseconds); two processes exporting at the same moment wait for each other
(DuckDB lets one process write a file at a time), never for a run. Read it with
``gp query --audit "SELECT * FROM audit_log ORDER BY logged_at DESC"`` (or any DuckDB client, read-only).

:func:`record_export` is the one function every export calls (``gp query --csv/--xlsx``, the dashboard's
downloads, call lists); ``gp forget`` records itself with :func:`record`. ``what`` is a description (the
command or page, the SQL or the filters) and ``target`` a file name — callers never pass customer data.
"""
from __future__ import annotations

import datetime as dt
import getpass
import os
import threading
import time
from pathlib import Path

import duckdb

from core.filemodes import make_dirs, secure_file

AUDIT_SUFFIX = ".audit.duckdb"
COLUMNS = ("logged_at", "who", "via", "action", "what", "target", "rows", "host", "pid")
_DDL = """CREATE TABLE IF NOT EXISTS audit_log (
    logged_at TIMESTAMPTZ NOT NULL, who VARCHAR NOT NULL, via VARCHAR NOT NULL, action VARCHAR NOT NULL,
    what VARCHAR, target VARCHAR, rows BIGINT, host VARCHAR, pid INTEGER)"""
_WRITE = threading.Lock()
WAIT_S = 30.0


def audit_path(db_path: str | os.PathLike) -> Path:
    """The audit file of the warehouse ``db_path``."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + AUDIT_SUFFIX)


def os_user() -> str:
    """Who runs this command (the operating-system account)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _connect(path: Path, wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = duckdb.connect(str(path))
            secure_file(path)
            return con
        except duckdb.IOException as e:   # another process is writing its entry: wait for it
            if "lock" not in str(e).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def record(db_path: str | os.PathLike, *, action: str, what: str | None, rows: int | None,
           via: str = "cli", who: str | None = None, target: str | None = None, wait_s: float = WAIT_S) -> None:
    """Append one entry to the audit log of ``db_path`` (created on first use)."""
    path = audit_path(db_path)
    make_dirs(path.parent)
    row = [dt.datetime.now(dt.timezone.utc), who or os_user(), via, action, what,
           None if target is None else Path(target).name, rows, os.uname().nodename, os.getpid()]
    with _WRITE:
        con = _connect(path, wait_s)
        try:
            con.execute(_DDL)
            con.execute(f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", row)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        secure_file(path)


def record_export(db_path: str | os.PathLike, *, what: str, rows: int, via: str, who: str | None = None,
                  target: str | None = None, action: str = "export") -> None:
    """The entry every export writes: ``what`` was exported (the command or page and the query or filters),
    by ``who`` (default: the OS user) ``via`` ``cli`` / ``dashboard`` / a call list, ``rows`` rows, into the
    file named ``target`` (its name only)."""
    record(db_path, action=action, what=what, rows=int(rows), via=via, who=who, target=target)


def scrub(db_path: str | os.PathLike, words: list[str], replacement: str = "[forgotten]") -> int:
    """Replace ``words`` (a forgotten customer's id and name) wherever an entry's description holds them, and
    rewrite the file so that no old block keeps them; returns how many entries changed. Call holding the
    warehouse's writer lock (``gp forget``)."""
    path = audit_path(db_path)
    words = [w for w in words if w]
    if not path.exists() or not words:
        return 0
    fresh = path.with_name(path.name + ".scrub")
    for p in (fresh, fresh.with_name(fresh.name + ".wal")):
        p.unlink(missing_ok=True)
    with _WRITE:
        con = _connect(path, WAIT_S)
        try:
            changed = 0
            for w in words:
                changed += con.execute("UPDATE audit_log SET what = replace(what, ?, ?) WHERE contains(what, ?)",
                                       [w, replacement, w]).fetchone()[0]
                changed += con.execute("UPDATE audit_log SET target = replace(target, ?, ?) WHERE contains(target, ?)",
                                       [w, replacement, w]).fetchone()[0]
            con.execute("ATTACH ? AS fresh", [str(fresh)])
            secure_file(fresh)
            con.execute("COPY FROM DATABASE " + _catalog(con) + " TO fresh")
            con.execute("DETACH fresh")
        finally:
            con.close()
        os.replace(fresh, path)
    return changed


def _catalog(con: duckdb.DuckDBPyConnection) -> str:
    name = con.execute("SELECT current_database()").fetchone()[0]
    return '"' + name.replace('"', '""') + '"'
