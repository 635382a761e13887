"""The writer lock: at most one run per warehouse file, across processes.

``fcntl.flock`` on ``<db>.lock`` beside the database. The kernel drops the lock when the
holder exits for any reason (even SIGKILL), so a dead run never blocks the next one. The
holder writes who it is into the lock file so that a refused run can say whom it waited for.
Needs a local file system (flock over NFS is not reliable).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
import weakref
from pathlib import Path

from core.filemodes import open_private

from .errors import WarehouseBusy

POLL_S = 0.1


def read_holder(lock_path: Path) -> dict:
    try:
        text = lock_path.read_text(encoding="utf-8").strip()
    except OSError:
        return {}
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:  # caught mid-write
        return {"raw": text}


def describe_holder(holder: dict) -> str:
    if not holder:
        return "an unknown process"
    if "raw" in holder:
        return repr(holder["raw"])
    return "run {run_id} (pid {pid} on {host}, started {started_at})".format(
        run_id=holder.get("run_id", "?"), pid=holder.get("pid", "?"),
        host=holder.get("host", "?"), started_at=holder.get("started_at", "?"))


_HELD: "weakref.WeakSet[RunLock]" = weakref.WeakSet()


def _forget_in_child() -> None:
    # A forked worker (e.g. a render process pool) must not keep the lock alive after the run's
    # process dies. Closing the child's copy of the descriptor does not unlock the parent's.
    for lock in list(_HELD):
        if lock._fd is not None:
            try:
                os.close(lock._fd)
            except OSError:
                pass
            lock._fd = None


os.register_at_fork(after_in_child=_forget_in_child)


class RunLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout_s: float, holder: dict) -> None:
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        deadline = time.monotonic() + max(0.0, float(timeout_s))
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    other = read_holder(self.path)
                    os.close(fd)
                    raise WarehouseBusy(
                        f"{self.path.with_suffix('')}: another run is writing this warehouse: "
                        f"{describe_holder(other)} holds {self.path.name}; waited {timeout_s:g} s. "
                        "Try again when it has finished, or give a longer lock timeout.",
                        other) from None
                time.sleep(min(POLL_S, left))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder, ensure_ascii=False).encode("utf-8"), 0)
        self._fd = fd
        _HELD.add(self)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        _HELD.discard(self)
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # no stale holder info for the next reader
        except OSError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def is_locked(lock_path: Path) -> bool:
    """True while some run (any process, this one included) holds the lock."""
    if not lock_path.exists():
        return False
    fd = os.open(lock_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
