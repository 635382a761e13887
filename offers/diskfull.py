"""A full (or read-only) disk under the offers folder: the one render error that stops the whole run.

Every other error fails one offer and the run goes on; after ``ENOSPC``/``EDQUOT``/``EROFS`` every
further offer would fail the same way (and fill what little room is left), so rendering stops at once.
"""
from __future__ import annotations

import errno
import os

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


class DiskFull(OSError):
    """Writing an offer found its file system full, over quota or read-only. ``folder``: where."""

    def __init__(self, code: int, folder: str):
        super().__init__(code, os.strerror(code), folder)
        self.folder = folder

    def __reduce__(self):   # crosses the process boundary from a render worker
        return (DiskFull, (self.errno, self.folder))

    def __str__(self) -> str:
        return f"disk full: {self.folder}: {self.strerror}"


def as_disk_full(exc: BaseException, folder) -> DiskFull | None:
    if isinstance(exc, DiskFull):
        return exc
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return DiskFull(exc.errno, str(folder))
    return None
