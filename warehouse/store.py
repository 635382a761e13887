"""The warehouse: start a run (``Warehouse.start_run``), write its frames (``RunWriter``), publish it.

A run never writes the published file. It takes the writer lock, records itself in the journal,
copies the published file to its own staging file, writes there, and at commit checkpoints,
closes, fsyncs and ``os.replace``-s the staging file over the published one. Readers therefore
see either the previous run or the new one, never a part of it, and a read-only session left
open during a run neither blocks it nor is blocked. See README.md for operations.

This module keeps the entry point, ``Warehouse`` (its constructor, ``start_run`` and the checks
at the start of a run). The other concerns live beside it, and their names stay importable from
here: ``runs.py`` (run ids, the runs row, recording a failed run), ``staging.py`` (the staging
connection), ``recovery.py`` (a killed run's journal), ``compaction.py``, ``reads.py`` (reads of
the published file) and ``writer.py`` (``RunWriter``).
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import duckdb

from core.filemodes import make_dirs

from . import publish as files
from . import storage
from .compaction import COMPACT_FREE_SHARE, COMPACT_MIN_BYTES, WarehouseCompaction  # noqa: F401
from .errors import QueryError
from .integrity import DamagedWarehouse, check_whole, is_verified, looks_damaged
from .lock import RunLock
from .reads import OFFER_COLUMNS, WarehouseReads  # noqa: F401
from .recovery import WarehouseRecovery
from .retention import DEFAULT_GENERATIONS, DEFAULT_KEEP_RUNS, RetentionPolicy
from .runs import (RUN_ID, _assumptions_json, _insert_run_row, _json_default,  # noqa: F401
                   _record_failed_run, _run_id_taken, _utcnow, new_run_id)
from .schema import RUN_KINDS, all_columns, check_schema_version
from .staging import STAGING_SETTINGS, _open_staging, _transaction  # noqa: F401
from .writer import RunWriter

# names this module imported before it was split, still importable from here
from . import generations  # noqa: F401
from .errors import FrameError, RunCancelled, WarehouseError  # noqa: F401
from .integrity import forget_verified, mark_verified  # noqa: F401
from .lock import is_locked  # noqa: F401
from .query import connect_read_only  # noqa: F401
from .retention import prune_runs  # noqa: F401
from .schema import (COUNT_COLUMNS, RUNS_COLUMNS, TABLES, add_missing_columns, ensure_schema,  # noqa: F401
                     prepare_frame, q, spec_for, table_columns)
from .views import VIEW_NAMES, create_views  # noqa: F401

log = logging.getLogger("warehouse")


class Warehouse(WarehouseReads, WarehouseRecovery, WarehouseCompaction):
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
        make_dirs(self.db_path.parent)
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
