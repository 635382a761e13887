"""Recovery of a killed run: the journal an unfinished run left is recorded as a failed run
(``recover``, and at the start of every run), stale staging files are removed, and
``active_run`` shows the run in progress or left unfinished. ``WarehouseRecovery`` is a part of
``Warehouse`` (``store.py``).
"""
from __future__ import annotations

import logging
import os
import socket

from . import publish as files
from .lock import RunLock, is_locked
from .runs import _record_failed_run, _utcnow
from .schema import RUNS_COLUMNS

log = logging.getLogger("warehouse")


class WarehouseRecovery:
    """The recovery methods of ``Warehouse``; it gives ``db_path``, ``lock_path``, ``lock_timeout_s``,
    ``storage_version`` and ``_read`` (``reads.py``)."""

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
