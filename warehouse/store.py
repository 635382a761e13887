"""The warehouse: start a run (``Warehouse.start_run``), write its frames (``RunWriter``), publish it.

A run never writes the published file. It takes the writer lock, records itself in the journal,
copies the published file to its own staging file, writes there, and at commit checkpoints,
closes, fsyncs and ``os.replace``-s the staging file over the published one. Readers therefore
see either the previous run or the new one, never a part of it, and a read-only session left
open during a run neither blocks it nor is blocked. See README.md for operations.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import socket
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl

from . import generations
from . import publish as files
from . import storage
from .errors import FrameError, QueryError, RunCancelled, WarehouseError
from .lock import RunLock, is_locked
from .query import connect_read_only
from .integrity import DamagedWarehouse, check_whole, forget_verified, is_verified, looks_damaged, mark_verified
from .retention import DEFAULT_GENERATIONS, DEFAULT_KEEP_RUNS, RetentionPolicy, prune_runs
from .schema import (COUNT_COLUMNS, RUN_KINDS, RUNS_COLUMNS, TABLES, add_missing_columns, all_columns,
                     check_schema_version, ensure_schema, prepare_frame, q, spec_for, table_columns)
from .views import VIEW_NAMES, create_views

log = logging.getLogger("warehouse")

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# rewrite the file at publish when at least this share of a file of at least this size is free blocks
COMPACT_FREE_SHARE = 0.5
COMPACT_MIN_BYTES = 64 * 2**20

# DuckDB settings of the staging connection (see _open_staging)
STAGING_SETTINGS = {"preserve_insertion_order": False, "memory_limit": "1GB", "write_buffer_row_group_count": 1}

OFFER_COLUMNS = {"account_id": pl.String, "path": pl.String, "folder": pl.String, "sha256": pl.String,
                 "content_hash": pl.String, "bytes": pl.Int64, "pages": pl.Int64, "status": pl.String,
                 "run_id": pl.String}


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction per step: the step is all-or-nothing, and one WAL sync instead of one per statement."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # keep the original error
            pass
        raise
    con.execute("COMMIT")


def _open_staging(path: Path, storage_version: str) -> duckdb.DuckDBPyConnection:
    """A staging file needs no sync per commit: a crash discards it, and publish() fsyncs the
    finished file before the rename that makes it visible.

    ``preserve_insertion_order = false``: an order-preserving parallel insert of a chunked frame
    writes its row groups twice (merged and rewritten at CHECKPOINT), which made a run of 1M
    accounts twice as slow and its file twice as big, half of it free blocks every later run copies.
    Rows carry their keys; no reader may rely on storage order (SQL gives none without ORDER BY).
    The memory settings keep what DuckDB holds during a run's bulk insert to a few hundred MB (it
    otherwise caches every block it writes): 1M accounts peaked ≈ 250 MB lower at the same speed.
    A new file is created in ``storage_version`` (``storage.py``); a copy keeps its own until commit."""
    con = duckdb.connect(str(path), config={"fsync_mode": "NONE", **STAGING_SETTINGS,
                                            **storage.connect_config(storage_version)})
    con.execute("SET enable_progress_bar = false")  # a long insert would draw one into the run's log
    return con


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


class Warehouse:
    """One DuckDB warehouse file and the files beside it (lock, journal, staging)."""

    def __init__(self, db_path: Path, *, retention_days: int | None = None, lock_timeout_s: float = 0,
                 keep_runs: int = DEFAULT_KEEP_RUNS, generations: int = DEFAULT_GENERATIONS,
                 storage_version: str | None = None):
        if retention_days is not None and (not isinstance(retention_days, int) or retention_days < 0):
            raise ValueError(f"retention_days must be a whole number of days >= 0 or None, got {retention_days!r}")
        if lock_timeout_s < 0:
            raise ValueError(f"lock_timeout_s must be >= 0, got {lock_timeout_s!r}")
        self.db_path = Path(db_path)
        self.retention = RetentionPolicy(retention_days, keep_runs, generations)
        self.retention_days = retention_days
        self.lock_timeout_s = float(lock_timeout_s)
        # the DuckDB storage version of every file written for readers (storage.py; default readable by 1.x)
        self.storage_version = storage.configured_storage_version(storage_version)

    def __repr__(self) -> str:
        return f"Warehouse({str(self.db_path)!r})"

    @property
    def lock_path(self) -> Path:
        return files.lock_path(self.db_path)

    # ------------------------------------------------------------ runs

    def start_run(self, *, kind: str, campaign: str | None, input_path: str | None, input_sha256: str | None,
                  assumptions: dict, rules_version: str | None, code_version: str, run_id: str | None = None,
                  output_folder: str | os.PathLike | None = None) -> "RunWriter":
        """Take the writer lock and open a private staging copy for a new run.

        Waits up to ``lock_timeout_s`` for a run in progress, then raises ``WarehouseBusy``.
        ``output_folder``: where this run's offers go (``previous_offers`` matches on it).
        """
        if kind not in RUN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
        if kind == "campaign" and not campaign:
            raise ValueError("a campaign run needs a campaign name")
        if not isinstance(assumptions, dict):
            raise TypeError(f"assumptions must be a dict, got {type(assumptions).__name__}")
        if not code_version:
            raise ValueError("code_version is required (it is recorded on the run)")
        started = _utcnow()
        if run_id is None:
            run_id = new_run_id(started)
        elif not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise ValueError(f"run_id {run_id!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a "
                             "letter or digit (it becomes a folder name)")
        row = {
            "run_id": run_id, "kind": kind, "campaign": campaign, "started_at": started, "status": "running",
            "input_path": None if input_path is None else str(input_path), "input_sha256": input_sha256,
            "assumptions": _assumptions_json(assumptions),
            "rules_version": rules_version, "code_version": code_version,
            "output_folder": None if output_folder is None else os.path.abspath(os.fspath(output_folder)),
            "host": socket.gethostname(), "pid": os.getpid(), "storage_version": self.storage_version,
        }
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        lock = RunLock(self.lock_path)
        lock.acquire(self.lock_timeout_s, {"run_id": run_id, "pid": row["pid"], "host": row["host"],
                                           "started_at": started.isoformat(timespec="seconds")})
        staging = files.staging_path(self.db_path, run_id)
        journal = False
        writer = None
        try:
            self._recover_locked(found_by=run_id)
            files.write_journal(self.db_path, {**row, "started_at": started.isoformat(), "staging": staging.name})
            journal = True
            looked = self._check_published(run_id)
            # the copy of the published file runs while the pipeline computes; the first write waits for it
            writer = RunWriter(self, lock, files.BackgroundCopy(self.db_path, staging), staging, row)
            if not looked:  # check on the copy instead, so that a refusal still comes from here
                writer._require_open()
        except BaseException:
            if writer is not None:
                writer._close()
            files.remove_db_files(staging)
            if journal:  # this attempt never started: nothing to record (an older journal stays)
                files.remove_journal(self.db_path)
            lock.release()
            raise
        log.info("run %s started (%s) in %s", run_id, kind, staging)
        return writer

    def _check_published(self, run_id: str) -> bool:
        """Refuse at the start what the copy would meet later: a published file open read-write, a schema
        newer than this code, a run id already taken. False when this process cannot open the file to
        look (it holds a connection to it with another configuration)."""
        if not self.db_path.exists():
            return True
        files.check_published_quiet(self.db_path)
        try:
            with self._read() as con:
                have = all_columns(con)
                if "warehouse_meta" in have:
                    check_schema_version(con)
                old = con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone() \
                    if "runs" in have else None
        except QueryError as e:
            if looks_damaged(e.__cause__ or e):
                raise DamagedWarehouse(self.db_path, str(e.__cause__ or e)) from None
            return False
        except duckdb.Error as e:
            if looks_damaged(e):
                raise DamagedWarehouse(self.db_path, str(e).strip()) from None
            raise
        if not is_verified(self.db_path):   # changed since this code checked it: read it back whole first
            check_whole(self.db_path)
        if old:
            raise _run_id_taken(self.db_path, run_id, old[0])
        return True

    def recover(self) -> list[str]:
        """Mark an unfinished earlier attempt failed and remove stale staging files; returns the run_ids marked."""
        lock = RunLock(self.lock_path)
        lock.acquire(self.lock_timeout_s, {"run_id": "(recovery)", "pid": os.getpid(),
                                           "host": socket.gethostname(), "started_at": _utcnow().isoformat()})
        try:
            return self._recover_locked(found_by="recovery")
        finally:
            lock.release()

    def _recover_locked(self, found_by: str) -> list[str]:
        marked = []
        journal = files.read_journal(self.db_path)
        if journal is not None:
            rid = journal.get("run_id")
            status = self._published_status(rid) if rid else None
            if rid and status in (None, "running"):
                error = journal.get("error") or (
                    f"did not finish: process {journal.get('pid')} on {journal.get('host')} stopped "
                    f"(killed or crashed) before publishing; marked failed by {found_by}")
                row = {c: journal.get(c) for c in RUNS_COLUMNS if c in journal}
                _record_failed_run(self.db_path, row, error, self.storage_version)
                marked.append(rid)
                log.warning("%s: run %s did not finish; recorded as failed", self.db_path, rid)
            files.remove_journal(self.db_path)
        stale = [p.name for p in files.remove_stale_staging(self.db_path) if not p.name.endswith((".wal", ".tmp"))]
        if stale:
            log.warning("%s: removed stale staging file(s) %s", self.db_path, ", ".join(stale))
        return marked

    def _published_status(self, run_id: str) -> str | None:
        with self._read() as con:
            if con is None:
                return None
            row = con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()
            return row[0] if row else None

    def active_run(self) -> dict | None:
        """The run in progress or left unfinished (from the journal), with ``alive`` telling which."""
        journal = files.read_journal(self.db_path)
        if journal is None:
            return None
        return {**journal, "alive": is_locked(self.lock_path)}

    def compact(self) -> tuple[int, int]:
        """Rewrite the published file without free space (an operator's action); returns (bytes before, after)."""
        if not self.db_path.exists():
            return (0, 0)
        lock = RunLock(self.lock_path)
        lock.acquire(self.lock_timeout_s, {"run_id": "(compact)", "pid": os.getpid(),
                                           "host": socket.gethostname(), "started_at": _utcnow().isoformat()})
        src = files.staging_path(self.db_path, "compact-src")
        dst = files.staging_path(self.db_path, "compact")
        try:
            self._recover_locked(found_by="compact")
            before = self.db_path.stat().st_size
            files.copy_published(self.db_path, src)
            files.compact(src, dst, self.storage_version)
            files.publish(dst, self.db_path)
            return before, self.db_path.stat().st_size
        finally:
            files.remove_db_files(src)
            files.remove_db_files(dst)
            lock.release()

    # ------------------------------------------------------------ reads (published file, read-only)

    @contextmanager
    def _read(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        if not self.db_path.exists():
            yield None
            return
        con = connect_read_only(self.db_path)
        try:
            yield con
        finally:
            con.close()

    def runs(self) -> pl.DataFrame:
        """Every recorded run, newest first."""
        with self._read() as con:
            if con is None:
                return pl.DataFrame()
            return con.sql("SELECT * FROM runs ORDER BY started_at DESC, run_id DESC").pl()

    def latest_successful_run(self, *, campaign: str | None = None) -> dict | None:
        """The run the ``latest_*`` views show (latest successful nightly/adhoc run), or with
        ``campaign`` the latest successful run of that campaign. ``assumptions`` comes back as a dict."""
        with self._read() as con:
            return None if con is None else self._latest(con, campaign)

    @staticmethod
    def _latest(con: duckdb.DuckDBPyConnection, campaign: str | None = None) -> dict | None:
        where, params = ("kind <> 'campaign'", []) if campaign is None else ("kind = 'campaign' AND campaign = ?", [campaign])
        rows = con.sql(f"SELECT * FROM runs WHERE status = 'succeeded' AND {where} "
                       "ORDER BY started_at DESC, run_id DESC LIMIT 1", params=params).pl().to_dicts()
        if not rows:
            return None
        run = rows[0]
        if isinstance(run.get("assumptions"), str):
            run["assumptions"] = json.loads(run["assumptions"])
        return run

    def latest_accounts(self) -> pl.DataFrame:
        """Accounts of the latest successful full run (without run_id), in input order; empty when none."""
        empty = pl.DataFrame(schema=TABLES["accounts"].base)
        with self._read() as con:
            if con is None:
                return empty
            run = self._latest(con)
            if run is None:
                return con.sql("SELECT * EXCLUDE (run_id) FROM accounts LIMIT 0").pl()
            return con.sql("SELECT * EXCLUDE (run_id) FROM accounts WHERE run_id = ? ORDER BY row_number, account_id",
                           params=[run["run_id"]]).pl()

    def previous_offers(self, output_folder: str | os.PathLike) -> pl.DataFrame:
        """Per account, the newest offer with status rendered/unchanged from a successful run whose
        output folder is ``output_folder`` or lies inside it: pass a campaign's folder for that
        campaign, or the offers root (``out/``) to cover every nightly ``out/<run_id>``.

        Columns: every column of ``offers`` (account_id, path relative to ``folder``, sha256,
        content_hash, bytes, pages, status, run_id, and whatever later versions add), plus folder
        (that run's absolute output folder), so that an unchanged offer can keep its whole row."""
        base = os.path.abspath(os.fspath(output_folder))
        with self._read() as con:
            if con is None:
                return pl.DataFrame(schema=OFFER_COLUMNS)
            return con.sql(
                """SELECT o.*, r.output_folder AS folder
                   FROM offers o JOIN runs r ON r.run_id = o.run_id
                   WHERE r.status = 'succeeded' AND o.status IN ('rendered', 'unchanged')
                     AND (r.output_folder = $1 OR starts_with(r.output_folder, $2))
                   QUALIFY row_number() OVER (PARTITION BY o.account_id ORDER BY r.started_at DESC, r.run_id DESC) = 1
                   ORDER BY o.account_id""", params=[base, base.rstrip(os.sep) + os.sep]).pl()


class RunWriter:
    """One run's writes into its staging file. Use as a context manager: leaving the block normally
    commits (publishes) the run; an exception marks it failed and publishes nothing of it."""

    def __init__(self, warehouse: Warehouse, lock: RunLock, copy: files.BackgroundCopy, staging: Path, row: dict):
        self.warehouse = warehouse
        self.run_id: str = row["run_id"]
        self.started_at: dt.datetime = row["started_at"]
        self.staging_path = staging
        self.status = "running"
        self._lock = lock
        self._copy = copy
        self._con: duckdb.DuckDBPyConnection | None = None  # opened when the copy is needed
        self._row = row
        self._written: set[str] = set()
        self.pruned: list[tuple[str, str | None]] = []    # (run_id, output_folder) of runs retention removed

    def __repr__(self) -> str:
        return f"RunWriter({self.run_id!r}, {self.status})"

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.status == "running":
            if exc_type is None:
                self.commit()
            elif isinstance(exc, RunCancelled):
                self.cancel(str(exc))
            else:
                self.fail(f"{exc_type.__name__}: {exc}")
        return False

    def _check_running(self) -> None:
        if self.status != "running":
            raise WarehouseError(f"run {self.run_id} is {self.status}; it takes no more writes")

    def _require_open(self) -> duckdb.DuckDBPyConnection:
        self._check_running()
        if self._con is None:
            self._con = self._open_copy()
        return self._con

    def _open_copy(self) -> duckdb.DuckDBPyConnection:
        """Wait for the staging copy, open it and record the run there (status running, in the copy only)."""
        self._copy.wait()
        con = _open_staging(self.staging_path, self.warehouse.storage_version)
        try:
            with _transaction(con):
                ensure_schema(con)
                old = con.execute("SELECT status FROM runs WHERE run_id = ?", [self.run_id]).fetchone()
                if old:
                    raise _run_id_taken(self.warehouse.db_path, self.run_id, old[0])
                # cannot happen with this design, but a database from elsewhere may carry one
                con.execute("UPDATE runs SET status = 'failed', error = coalesce(error || '; ', '') || "
                            "'found running with no live process' WHERE status = 'running'")
                _insert_run_row(con, self._row)
        except BaseException:
            con.close()
            raise
        return con

    def _close(self) -> None:
        """Let the copy finish and close the staging file (its owner removes it)."""
        con, self._con = self._con, None
        self._copy.join()
        if con is not None:
            try:
                con.close()
            except duckdb.Error:
                pass

    def _set_run_columns(self, values: dict) -> None:
        """Before the copy is open the values go into the run's row (inserted when it opens), so that
        recording them does not wait for the copy."""
        if self._con is None:
            self._row.update(values)
        else:
            self._con.execute(f"UPDATE runs SET {', '.join(f'{q(k)} = ?' for k in values)} WHERE run_id = ?",
                              [*values.values(), self.run_id])

    def write(self, table: str, frame: pl.DataFrame) -> None:
        """Append ``frame`` to ``table`` for this run (bulk insert by column name). May be called
        several times per table (chunks); keys stay unique within the run."""
        self._check_running()
        spec = spec_for(table, VIEW_NAMES)
        frame = prepare_frame(table, frame, self.run_id, spec)
        con = self._require_open()
        # Arrow once (a registered polars frame is converted again by every statement that reads it),
        # with string views, which polars hands over without copying the strings
        con.register("_wh_in", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        try:
            with _transaction(con):  # the table's new columns and the rows: all or nothing
                self._insert(con, table, spec.key, frame)
        finally:
            con.unregister("_wh_in")
        self._written.add(table)

    def _insert(self, con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...], frame: pl.DataFrame) -> None:
        have = table_columns(con, table)
        if not have:
            if any(t == pl.Null for t in frame.schema.values()):
                raise FrameError(f"{table}: columns with dtype Null cannot create the table; cast them first")
            con.execute(f"CREATE TABLE {q(table)} AS SELECT * FROM _wh_in LIMIT 0")
        elif not {c.lower() for c in frame.columns} <= {c.lower() for c in have}:
            add_missing_columns(con, table, "_wh_in", have)
        if key and table in self._written and frame.height:
            on = " AND ".join(f"t.{q(k)} = i.{q(k)}" for k in key)
            dup = con.execute(f"SELECT {', '.join('i.' + q(k) for k in key)} FROM _wh_in i "
                              f"JOIN {q(table)} t ON t.run_id = ? AND {on} LIMIT 5", [self.run_id]).fetchall()
            if dup:
                raise FrameError(f"{table}: keys already written in run {self.run_id}: "
                                 + ", ".join(str(d[0] if len(d) == 1 else d) for d in dup))
        try:
            con.execute(f"INSERT INTO {q(table)} BY NAME SELECT * FROM _wh_in")
        except duckdb.Error as e:
            raise FrameError(f"{table}: cannot store the frame in {self.staging_path.name}: {e}") from e

    def update_counts(self, **counts: int | None) -> None:
        """Set run counters: rows_read, rows_accepted, rows_rejected, offers_rendered, offers_skipped, offers_failed."""
        self._check_running()
        unknown = sorted(set(counts) - set(COUNT_COLUMNS))
        if unknown:
            raise ValueError(f"update_counts: unknown count(s) {', '.join(unknown)}; known: {', '.join(COUNT_COLUMNS)}")
        for k, v in counts.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise ValueError(f"update_counts: {k} must be a whole number >= 0, got {v!r}")
        if counts:
            self._set_run_columns(counts)

    def set_output_folder(self, folder: str | os.PathLike) -> None:
        """Where this run's offers go (e.g. ``out/<run_id>`` once the run id is known)."""
        self._check_running()
        self._set_run_columns({"output_folder": os.path.abspath(os.fspath(folder))})

    def _fill_counts(self, con: duckdb.DuckDBPyConnection) -> None:
        """Counts the pipeline did not give are taken from what this run wrote."""
        sets = []
        if "accounts" in self._written:
            sets += ["rows_accepted = coalesce(rows_accepted, (SELECT count(*) FROM accounts WHERE run_id = $1))",
                     "rows_rejected = coalesce(rows_rejected, (SELECT count(DISTINCT row_number) FROM rejects "
                     "WHERE run_id = $1))"]
        if "offers" in self._written:
            sets += [f"offers_{c} = coalesce(offers_{c}, (SELECT count(*) FROM offers WHERE run_id = $1 "
                     f"AND status = '{s}'))" for c, s in (("rendered", "rendered"), ("skipped", "unchanged"),
                                                          ("failed", "failed"))]
        if sets:
            con.execute(f"UPDATE runs SET {', '.join(sets)} WHERE run_id = $1", [self.run_id])
            con.execute("UPDATE runs SET rows_read = coalesce(rows_read, rows_accepted + rows_rejected) "
                        "WHERE run_id = ?", [self.run_id])

    def commit(self) -> None:
        """Mark the run succeeded, apply retention, rebuild the views and publish atomically."""
        self._check_running()
        db = self.warehouse.db_path
        path = self.staging_path
        try:
            con = self._require_open()
            with _transaction(con):
                self._fill_counts(con)
                con.execute("UPDATE runs SET status = 'succeeded', finished_at = ? WHERE run_id = ?",
                            [_utcnow(), self.run_id])
                pruned = []
                policy = self.warehouse.retention
                if policy.days is not None:
                    pruned = prune_runs(con, policy.days, self.run_id, policy.keep_runs)
                create_views(con)
                storage.record(con, self.warehouse.storage_version)
            con.execute("CHECKPOINT")
            # a copy keeps the format of the file it was copied from: one a 1.x client cannot read is rewritten
            convert = not storage.readable_by(storage.file_storage_version(con), self.warehouse.storage_version)
            _, _, block, total, free = con.execute(
                "SELECT database_name, database_size, block_size, total_blocks, free_blocks "
                "FROM pragma_database_size() WHERE database_name = current_database()").fetchone()
            con.close()
            self._con = None
            if convert or total * block >= COMPACT_MIN_BYTES and free >= COMPACT_FREE_SHARE * total:
                compacted = files.staging_path(db, self.run_id, ".compact")
                files.compact(path, compacted, self.warehouse.storage_version)
                files.remove_db_files(path)
                path = compacted
                log.info("%s: compacted (%d of %d blocks were free)", db, free, total)
            try:   # the file must read back whole before it is published (and later counts as a generation)
                check_whole(path)
            except DamagedWarehouse as damaged:   # copied from a published file damaged since it was checked
                raise DamagedWarehouse(db, damaged.detail) from None
            keep = self.warehouse.retention.generations
            if keep and self._row.get("kind") != "campaign":
                generations.retire(db)
            forget_verified(db)
            files.publish(path, db)
            mark_verified(db)
        except BaseException as e:
            files.remove_db_files(path)
            self._abort(f"commit failed: {type(e).__name__}: {e}")
            raise
        self.status = "succeeded"
        self.pruned = pruned
        try:
            generations.prune(db, self.warehouse.retention.generations)
        except OSError as e:   # published already; the next run prunes again
            log.warning("%s: could not remove old generations: %s", db, e)
        files.remove_journal(db)
        self._lock.release()
        log.info("run %s published to %s%s", self.run_id, db,
                 f" (pruned {len(pruned)} old runs)" if pruned else "")

    def fail(self, error: str) -> None:
        """Mark the run failed: its rows are discarded, the previous run stays published."""
        if self.status != "running":
            return
        self._abort(str(error) or "failed")

    def cancel(self, reason: str) -> None:
        """Mark the run cancelled (``error`` holds the reason): its rows are discarded, the previous run stays
        published."""
        if self.status != "running":
            return
        self._abort(str(reason) or "cancelled", status="cancelled")

    def _abort(self, error: str, status: str = "failed") -> None:
        self.status = status
        row = dict(self._row)
        con, self._con = self._con, None
        self._copy.join()  # its file is removed below
        if con is not None:
            try:  # keep the counts the pipeline reported before failing
                got = con.sql("SELECT * FROM runs WHERE run_id = ?", params=[self.run_id]).pl().to_dicts()
                if got:
                    row.update({k: v for k, v in got[0].items() if k in COUNT_COLUMNS and v is not None})
            except duckdb.Error:
                pass
            try:
                con.close()
            except duckdb.Error:
                pass
        files.remove_db_files(self.staging_path)
        db = self.warehouse.db_path
        try:
            _record_failed_run(db, row, error, self.warehouse.storage_version, status)
            files.remove_journal(db)
        except Exception as e:  # the next run records it from the journal
            log.error("%s: could not record run %s as failed (%s); the next run will", db, self.run_id, e)
            try:
                journal = files.read_journal(db) or {}
                files.write_journal(db, {**journal, "error": error})
            except OSError:
                pass
        finally:
            self._lock.release()
        log.warning("run %s %s: %s", self.run_id, status, error)
