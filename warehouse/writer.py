"""The writer of one run, ``RunWriter``: it waits for the staging copy and records the run there,
writes the run's frames and counts, and at the end commits (fills counts, applies retention,
rebuilds the views, compacts or converts when needed, checks and publishes atomically) or aborts
(failed or cancelled: the staging copy is discarded and the run recorded as such).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from . import generations
from . import publish as files
from . import storage
from .compaction import COMPACT_FREE_SHARE, COMPACT_MIN_BYTES
from .errors import FrameError, RunCancelled, WarehouseError
from .integrity import DamagedWarehouse, check_whole, forget_verified, mark_verified
from .lock import RunLock
from .overview import record_overview
from .retention import prune_runs
from .runs import _insert_run_row, _record_failed_run, _run_id_taken, _utcnow
from .schema import COUNT_COLUMNS, add_missing_columns, ensure_schema, prepare_frame, q, spec_for, table_columns
from .staging import _open_staging, _transaction
from .views import VIEW_NAMES, create_views

if TYPE_CHECKING:
    from .store import Warehouse

log = logging.getLogger("warehouse")


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

    def write(self, table: str, frame: pl.DataFrame, *, new_keys: bool = False) -> None:
        """Append ``frame`` to ``table`` for this run (bulk insert by column name). May be called
        several times per table (chunks); keys stay unique within the run: a later chunk's keys are
        looked up among the rows already written, unless the caller vouches that they are new
        (``new_keys``: a chunked run, whose account ids are unique across chunks by construction —
        that lookup scans the table, so for every chunk it grows with the list)."""
        self.write_many({table: frame}, new_keys=new_keys)

    def write_many(self, frames: dict[str, pl.DataFrame], *, new_keys: bool = False) -> None:
        """:meth:`write` of several tables in one transaction (one commit: a chunk of a chunked run)."""
        self._check_running()
        prepared = []
        for table, frame in frames.items():
            spec = spec_for(table, VIEW_NAMES)
            prepared.append((table, spec, prepare_frame(table, frame, self.run_id, spec)))
        con = self._require_open()
        with _transaction(con):  # the tables' new columns and the rows: all or nothing
            for table, spec, frame in prepared:
                # Arrow once (a registered polars frame is converted again by every statement that reads it),
                # with string views, which polars hands over without copying the strings
                con.register("_wh_in", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
                try:
                    self._insert(con, table, () if new_keys else spec.key, frame)
                finally:
                    con.unregister("_wh_in")
        self._written.update(frames)

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

    def set_input_sha256(self, sha256: str) -> None:
        """The hash of the input's bytes, when it is known only after reading them all (a streamed list)."""
        self._check_running()
        self._set_run_columns({"input_sha256": sha256})

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
        """Sum the run for the dashboard's overview, mark it succeeded, apply retention, rebuild the views and
        publish atomically."""
        self._check_running()
        db = self.warehouse.db_path
        path = self.staging_path
        try:
            con = self._require_open()
            with _transaction(con):
                self._fill_counts(con)
                record_overview(con, self.run_id)
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
