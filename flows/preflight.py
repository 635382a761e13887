"""Checks a run makes before it reads anything: is another run writing the warehouse?

A run that will be refused should be refused at once — not after loading, validating and computing a
million accounts. ``start_run`` still takes the lock itself (this is only the early, cheap answer).
"""
from __future__ import annotations

import time
from pathlib import Path

from warehouse import WarehouseBusy
from warehouse.lock import describe_holder, is_locked, read_holder
from warehouse.publish import lock_path

POLL_S = 0.5


def wait_for_writer_lock(db: Path, wait_s: float, log=None) -> None:
    """Return when no run holds ``db``'s writer lock, waiting up to ``wait_s`` seconds; else raise
    :class:`WarehouseBusy` naming the holder and how to wait longer."""
    lock = lock_path(Path(db))
    deadline = time.monotonic() + max(0.0, wait_s)
    said = False
    while is_locked(lock):
        holder = describe_holder(read_holder(lock))
        if time.monotonic() >= deadline:
            waited = f"; waited {wait_s:g} s" if wait_s else ""
            raise WarehouseBusy(f"{db}: another run is writing this warehouse: {holder}, holding {lock}{waited}. "
                                "Try again when it "
                                "has finished, or let this run wait for it: gp run/campaign --wait SECONDS "
                                "(a served run: the lock_timeout_s parameter)", read_holder(lock))
        if log is not None and not said:
            log.info("%s: waiting up to %g s for %s to finish", db, wait_s, holder)
            said = True
        time.sleep(POLL_S)
