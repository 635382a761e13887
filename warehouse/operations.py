"""An operator's whole-file actions on a warehouse: restore a generation, back up, restore a backup.
Each that writes holds the writer lock, so it never races a run."""
from __future__ import annotations

import datetime as dt
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.filemodes import make_dirs

from . import backup as _backup
from . import generations
from . import publish as files
from .lock import RunLock


@contextmanager
def writer_lock(db_path: Path, what: str, timeout_s: float = 0) -> Iterator[None]:
    make_dirs(db_path.parent)
    lock = RunLock(files.lock_path(db_path))
    lock.acquire(timeout_s, {"run_id": f"({what})", "pid": os.getpid(), "host": socket.gethostname(),
                             "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    try:
        yield
    finally:
        lock.release()


def restore_generation(db_path: Path, *, force: bool = False, timeout_s: float = 0) -> generations.Restored:
    """``gp restore --db PATH``: the newest generation that reads back whole becomes the published file."""
    db_path = Path(db_path)
    with writer_lock(db_path, "restore", timeout_s):
        return generations.restore_newest(db_path, force=force)


def restore_backup(db_path: Path, folder: Path, *, timeout_s: float = 0) -> _backup.Loaded:
    """``gp restore --db PATH --from DIR``: rebuild the published file from a backup folder."""
    db_path = Path(db_path)
    with writer_lock(db_path, "restore", timeout_s):
        return _backup.restore_backup(db_path, Path(folder))


def backup(db_path: Path, folder: Path) -> dict:
    """``gp backup --db PATH DIR``: the published file as it is now (a read-only snapshot; no lock needed)."""
    return _backup.backup(Path(db_path), Path(folder))
