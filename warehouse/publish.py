"""Files beside the published database, and the atomic swap that publishes a run.

    greenpower.duckdb                 the published warehouse; only ever replaced whole, never written in place
    greenpower.duckdb.lock            writer lock (see lock.py)
    greenpower.duckdb.journal         the run in progress: written before it touches anything, removed when it has
                                      published (or recorded its failure); found by the next run => that run died
    greenpower.duckdb.staging-<id>    the run's private copy, where it writes; renamed over the published file
    greenpower.duckdb.gen-<time>      an earlier published file, kept for `gp restore` (generations.py)
    greenpower.duckdb.verified        inode, size and mtime of the published file when it was read back whole
    greenpower.duckdb.replaced-<time> the file a restore replaced (kept until the operator deletes it)
    greenpower.duckdb.audit.duckdb    the audit log of exports and deletions (audit.py)

Readers that have the published file open keep reading the old inode (a consistent snapshot) after
``os.replace``; new connections open the new file. Linux/POSIX only (Windows cannot replace an open file).
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import struct
import threading
from pathlib import Path

import duckdb

from core.filemodes import configured_group, open_private, secure_file

from .errors import WarehouseError

log = logging.getLogger(__name__)


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def journal_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".journal")


def staging_path(db_path: Path, run_id: str, suffix: str = "") -> Path:
    return db_path.with_name(f"{db_path.name}.staging-{run_id}{suffix}")


def stale_staging(db_path: Path) -> list[Path]:
    return sorted(db_path.parent.glob(f"{db_path.name}.staging-*"))


def remove_db_files(path: Path) -> None:
    """A DuckDB file and what DuckDB may leave beside it (WAL, spill directory)."""
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
    spill = path.with_name(path.name + ".tmp")
    if spill.is_dir():
        shutil.rmtree(spill, ignore_errors=True)


def remove_stale_staging(db_path: Path) -> list[Path]:
    """Call only while holding the writer lock: then no staging file can be in use."""
    found = stale_staging(db_path)
    for p in found:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            remove_db_files(p)
    return found


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# One read-only descriptor per published inode, kept open while this process lives (see _published_fd).
_HELD_FDS: dict[Path, tuple[tuple[int, int], int]] = {}
_HELD_LOCK = threading.Lock()
_FLOCK = "hhqqi4x"     # struct flock on Linux x86-64/arm64: type, whence, start, len, pid (+ padding)


def _published_fd(db_path: Path) -> int:
    """A descriptor on the file now at ``db_path``, never closed while that file is published.

    POSIX record locks belong to the process: closing *any* descriptor of a file drops every such lock
    the process holds on it, DuckDB's own included (a read-only session in this process would stop
    protecting itself from writers). So this process opens the published file once per inode and
    closes a descriptor only once its file has been replaced (its locks no longer guard anything)."""
    key = Path(os.path.abspath(db_path))
    with _HELD_LOCK:
        _forget_replaced()
        st = os.stat(key)
        ident = (st.st_dev, st.st_ino)
        held = _HELD_FDS.get(key)
        if held is not None and held[0] == ident:
            return held[1]
        fd = os.open(key, os.O_RDONLY | os.O_CLOEXEC)
        if (os.fstat(fd).st_dev, os.fstat(fd).st_ino) != ident:   # replaced between stat and open: use what we got
            ident = (os.fstat(fd).st_dev, os.fstat(fd).st_ino)
        if held is not None:
            os.close(held[1])   # the inode it held is no longer the published file
        _HELD_FDS[key] = (ident, fd)
        return fd


def _forget_replaced() -> None:
    """Close the descriptors of files no longer published (replaced or removed): they would keep a
    removed file's blocks allocated."""
    for key, (ident, fd) in list(_HELD_FDS.items()):
        try:
            st = os.stat(key)
            if (st.st_dev, st.st_ino) == ident:
                continue
        except OSError:
            pass
        del _HELD_FDS[key]
        os.close(fd)


def _ofd_lock(fd: int, kind: int, *, query: bool = False) -> int:
    """An open-file-description lock over the whole file (``F_OFD_*``): owned by the descriptor, not
    the process, so it conflicts with DuckDB's POSIX locks — this process's too — and releasing it
    leaves them alone. With ``query``: the type of a lock that would block ``kind`` (F_UNLCK: none)."""
    arg = struct.pack(_FLOCK, kind, os.SEEK_SET, 0, 0, 0)
    got = fcntl.fcntl(fd, fcntl.F_OFD_GETLK if query else fcntl.F_OFD_SETLK, arg)
    return struct.unpack(_FLOCK, got)[0]


_HOW = ("Managers must open it read-only (duckdb -readonly FILE, read_only=True, `gp query`); "
        "close that session and run again.")


def _opened_read_write(db_path: Path) -> WarehouseError:
    return WarehouseError(f"{db_path}: another program has the published warehouse open read-write. {_HOW}")


def check_published_quiet(db_path: Path) -> None:
    """Refuse to copy a published file that someone has open read-write: the copy could be torn.

    DuckDB holds a POSIX write lock on a file it opened read-write; read-only sessions hold a
    shared lock, which does not conflict with this probe. The probe only asks (``F_OFD_GETLK``):
    it takes no lock and closes no descriptor. A leftover WAL means a read-write session wrote
    to the published file and did not close cleanly.
    """
    wal = db_path.with_name(db_path.name + ".wal")
    if wal.exists():
        raise WarehouseError(f"{db_path}: found {wal.name}: the published warehouse was opened "
                             f"read-write and not closed cleanly. {_HOW}")
    if _ofd_lock(_published_fd(db_path), fcntl.F_RDLCK, query=True) != fcntl.F_UNLCK:
        raise _opened_read_write(db_path)


def _copy_fd(src_fd: int, dest: Path) -> None:
    size = os.fstat(src_fd).st_size
    with os.fdopen(open_private(dest), "wb") as out:
        offset = 0
        while offset < size:
            try:
                n = os.copy_file_range(src_fd, out.fileno(), size - offset, offset)
            except OSError as e:
                if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                n = out.write(os.pread(src_fd, min(1 << 24, size - offset), offset))
            if n == 0:
                break
            offset += n
        if offset != size:
            raise WarehouseError(f"copy of {size} bytes stopped at {offset}")


def copy_published(db_path: Path, dest: Path) -> bool:
    """Copy the published file to ``dest`` (kernel-side copy). False when nothing is published yet.

    The copy holds a shared lock on the published file from before its last check until it is done:
    a read-write session can neither be open while it copies nor open the file before it finishes."""
    remove_db_files(dest)
    if not db_path.exists():
        return False
    check_published_quiet(db_path)
    fd = _published_fd(db_path)
    try:
        _ofd_lock(fd, fcntl.F_RDLCK)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            raise _opened_read_write(db_path) from None
        raise
    try:
        _copy_fd(fd, dest)
    except BaseException:
        remove_db_files(dest)
        raise
    finally:
        _ofd_lock(fd, fcntl.F_UNLCK)
    return True


class BackgroundCopy:
    """``copy_published`` plus an fsync of the copy, in a thread: a run starts it and computes while the
    kernel copies (the copy is disk-bound once the history has left the page cache, ≈ 250 MB/s here), and
    publish() then only has to sync the run's own blocks. ``wait()`` re-raises the copy's error."""

    def __init__(self, db_path: Path, dest: Path):
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._copy, args=(db_path, dest), daemon=True,
                                        name=f"copy {db_path.name}")
        self._thread.start()

    def _copy(self, db_path: Path, dest: Path) -> None:
        try:
            if copy_published(db_path, dest):
                fsync_path(dest)
        except BaseException as e:  # handed to the run's thread by wait()
            self.error = e

    def join(self) -> None:
        self._thread.join()

    def wait(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error


def publish(staging: Path, db_path: Path) -> None:
    """Make ``staging`` the published file in one atomic step. ``staging`` must be closed and checkpointed."""
    wal = staging.with_name(staging.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise WarehouseError(f"{staging}: still has a write-ahead log after CHECKPOINT; not publishing")
    remove_db_files(wal)
    keep_access(db_path, staging)
    fsync_path(staging)
    os.replace(staging, db_path)
    try:  # make the rename itself durable; the swap has happened either way
        fsync_path(db_path.parent)
    except OSError as e:
        log.warning("%s: could not fsync the folder after publishing: %s", db_path.parent, e)


def keep_access(published: Path, staging: Path) -> None:
    """The new file is 0640 (``core.filemodes``) and keeps the old one's group unless a group is
    configured, so managers who could read the warehouse still can after the swap."""
    secure_file(staging)
    try:
        st = published.stat()
    except FileNotFoundError:
        return
    if configured_group() is not None:
        return
    try:
        os.chown(staging, -1, st.st_gid)
    except OSError as e:  # not a member of that group: readers keep what umask gives
        log.warning("%s: could not give the new file group %s: %s", published, st.st_gid, e)


def compact(src: Path, dest: Path, storage_version: str) -> None:
    """Rewrite ``src`` into a fresh file without the free blocks left by pruned runs, in ``storage_version``."""
    remove_db_files(dest)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("ATTACH ? AS src (READ_ONLY)", [str(src)])
        con.execute("ATTACH ? AS dst (STORAGE_VERSION ?)", [str(dest), storage_version])  # publish() fsyncs it
        secure_file(dest)
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("DETACH src")
        con.execute("CHECKPOINT dst")
        con.execute("DETACH dst")
    finally:
        con.close()


def write_journal(db_path: Path, data: dict) -> None:
    path = journal_path(db_path)
    tmp = path.with_name(path.name + ".tmp")
    with os.fdopen(open_private(tmp), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, default=str, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fsync_path(path.parent)
    except OSError:
        pass


def read_journal(db_path: Path) -> dict | None:
    path = journal_path(db_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or "run_id" not in data:
            raise ValueError("no run_id")
        return data
    except ValueError as e:
        log.warning("%s: unreadable journal (%s); treating its run as unknown", path, e)
        return {"run_id": None, "unreadable": text[:500]}


def remove_journal(db_path: Path) -> None:
    for p in (journal_path(db_path), journal_path(db_path).with_name(journal_path(db_path).name + ".tmp")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
