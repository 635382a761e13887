"""Compaction: rewriting a warehouse file without its free blocks. The thresholds at which a
commit rewrites the file before publishing (``COMPACT_FREE_SHARE``, ``COMPACT_MIN_BYTES``; used by
``writer.py``) and the operator's ``Warehouse.compact()`` (``WarehouseCompaction``, a part of
``Warehouse`` in ``store.py``).
"""
from __future__ import annotations

import os
import socket

from . import publish as files
from .lock import RunLock
from .runs import _utcnow

# rewrite the file at publish when at least this share of a file of at least this size is free blocks
COMPACT_FREE_SHARE = 0.5
COMPACT_MIN_BYTES = 64 * 2**20


class WarehouseCompaction:
    """The compaction method of ``Warehouse``; it gives ``db_path``, ``lock_path``, ``lock_timeout_s``,
    ``storage_version`` and ``_recover_locked`` (``recovery.py``)."""

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
