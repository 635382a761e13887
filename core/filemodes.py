"""Modes of every file and folder the system writes: customer data is never world-readable.

Files are ``0640`` (owner reads and writes, the group reads), folders ``0750``, whatever the caller's
umask: every writer of the project (offers, manifests, databases and their staging copies, job files,
exports, backups, the audit log) calls :func:`secure_file` / :func:`make_dirs` on what it created, before
it holds customer data where possible. Files DuckDB creates by itself while it works (a write-ahead log,
a spill folder) follow the process umask, which :func:`restrict_umask` tightens at the command line's
entry; they live in folders made here, which others cannot enter anyway.

An optional group (e.g. the sales managers' group that may read offers and the warehouse) is the
setting ``GREENPOWER_GROUP`` (a group name or number): every file and folder made is given it. Without
it the files keep the creating user's group. A name that is not a group is refused with one message.
"""
from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from core.errors import UserError

FILE_MODE = 0o640
DIR_MODE = 0o750
UMASK = 0o027            # what restrict_umask() adds to the process umask: nothing for "other", no group write
GROUP_ENV = "GREENPOWER_GROUP"


def configured_group() -> int | None:
    """The group id of ``GREENPOWER_GROUP`` (a name or a number), or None when unset."""
    value = os.environ.get(GROUP_ENV, "").strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        return grp.getgrnam(value).gr_gid
    except KeyError:
        raise UserError(f"{GROUP_ENV}={value!r}: no such group on this machine (give a group name or number, "
                        "or unset it)") from None


def restrict_umask() -> int:
    """Add ``UMASK`` to the process umask (files DuckDB creates itself get at most 0640); returns the old one."""
    old = os.umask(0)
    os.umask(old | UMASK)
    return old


def _apply(path: Path, mode: int) -> None:
    os.chmod(path, mode)
    gid = configured_group()
    if gid is not None and os.stat(path).st_gid != gid:
        os.chown(path, -1, gid)


def secure_file(path: str | os.PathLike) -> Path:
    """Give an existing file (not a symbolic link) mode 0640 and the configured group; returns the path.
    A hard link shares its inode: securing one name secures every link to it."""
    path = Path(path)
    _apply(path, FILE_MODE)
    return path


def secure_fd(fd: int) -> None:
    """:func:`secure_file` on an open descriptor (before any data is written through it)."""
    os.fchmod(fd, FILE_MODE)
    gid = configured_group()
    if gid is not None:
        os.fchown(fd, -1, gid)


def make_dirs(path: str | os.PathLike) -> Path:
    """``mkdir -p`` whose new folders (and ``path`` itself) are 0750 with the configured group."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    for p in [*reversed(missing), *([] if missing else [path])]:
        _apply(p, DIR_MODE)
    return path


def secure_tree(path: str | os.PathLike) -> Path:
    """Secure a folder, everything in it, or a single file (symbolic links are left alone)."""
    path = Path(path)
    if path.is_symlink():
        return path
    if path.is_dir():
        _apply(path, DIR_MODE)
        for root, dirs, files in os.walk(path):
            for name in dirs:
                if not os.path.islink(os.path.join(root, name)):
                    _apply(Path(root, name), DIR_MODE)
            for name in files:
                full = Path(root, name)
                if stat.S_ISREG(os.lstat(full).st_mode):
                    _apply(full, FILE_MODE)
    elif path.exists():
        _apply(path, FILE_MODE)
    return path


def open_private(path: str | os.PathLike, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """``os.open`` of a file that is 0640 (with the configured group) before anything is written to it."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        secure_fd(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd
