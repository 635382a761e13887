"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

The bytes go to a hidden temporary file in the same folder (same file system, so the rename is
atomic), are flushed to disk, and ``os.replace`` gives them the final name. A process killed
mid-write leaves only a ``.*.tmp`` file, which :func:`remove_stale_temps` clears on the next run.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from core.filemodes import open_private

TEMP_SUFFIX = ".tmp"


def temp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def atomic_write_bytes(final: Path, data: bytes) -> None:
    final = Path(final)
    tmp = temp_name(final)
    try:
        with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: Path, older_than_s: float = 3600.0) -> int:
    """Delete our temporary files left by killed writers; recent ones may belong to a live writer."""
    removed = 0
    cutoff = time.time() - older_than_s
    for path in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            pass
    return removed
