"""Keeping an unchanged offer: verify the previous file and link (or copy) it into this run's folder;
remove a stale file when an offer fails (it would show other figures than the database)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from core.filemodes import secure_file
from offers.atomic import atomic_write_bytes, temp_name


def _file_sha256(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _reuse(source: Path, final: Path, sha256: str) -> bool:
    """Make ``final`` the verified previous file: nothing to do in the same folder, else a hard link
    (same file system) or a copy, both put in place atomically."""
    if source == final or _file_sha256(final) == sha256:
        secure_file(final)
        return True
    tmp = temp_name(final)
    try:
        try:
            os.link(source, tmp)
            secure_file(tmp)     # the same inode as the earlier run's file: that one is secured too
        except OSError:
            atomic_write_bytes(final, source.read_bytes())
            return True
        os.replace(tmp, final)
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False


def _link_unread(source: Path, final: Path, old: dict) -> os.stat_result | None:
    """Link the previous document ``source`` (row ``old``) as ``final`` without reading it: its size and
    mtime must be the recorded ones (``bytes``, ``file_mtime_ns``); nothing to do when ``final`` is that
    very file (same inode). Returns the stat of ``final``, or None when the file is not as recorded or
    cannot be linked (the caller then verifies it in full)."""
    try:
        st = os.stat(source)
    except OSError:
        return None
    if st.st_size != old.get("bytes") or st.st_mtime_ns != old.get("file_mtime_ns"):
        return None
    try:                     # a new run's folder: the name is free, and a link appears whole
        os.link(source, final)
        return st
    except FileExistsError:
        pass
    except OSError:          # another file system: a copy reads the file, which the full check does anyway
        return None
    try:
        there = os.stat(final)
        if (there.st_dev, there.st_ino) == (st.st_dev, st.st_ino):
            return there
    except OSError:
        pass
    tmp = temp_name(final)
    try:
        os.link(source, tmp)
        os.replace(tmp, final)
    except OSError:          # another file system: a copy reads the file, which the full check does anyway
        tmp.unlink(missing_ok=True)
        return None
    return st


def _remove_stale(out_dir: Path, name: str) -> None:
    """A failed offer must not leave last run's PDF (other figures) under its name."""
    try:
        (out_dir / name).unlink(missing_ok=True)
    except OSError:
        pass


