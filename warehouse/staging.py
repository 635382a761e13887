"""The staging connection of a run: the DuckDB settings it is opened with (``STAGING_SETTINGS``),
opening it (``_open_staging``) and the one-transaction-per-step helper (``_transaction``) that the
writer and the recording of a failed run both use.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from core.filemodes import secure_file

from . import storage

# DuckDB settings of the staging connection (see _open_staging)
STAGING_SETTINGS = {"preserve_insertion_order": False, "memory_limit": "1GB", "write_buffer_row_group_count": 1}


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
    secure_file(path)                                 # before any row is written (a new file is made by connect)
    con.execute("SET enable_progress_bar = false")  # a long insert would draw one into the run's log
    return con
