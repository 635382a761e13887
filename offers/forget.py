"""Forgetting one customer's offers on disk (``gp forget``): its PDFs in every run folder and its
lines in every ``manifest.csv``.

A nightly run keeps an unchanged offer as a hard link to the file of the run that made it, so one PDF
may have several names in several folders: every regular file under the folders searched whose inode
is one of the account's recorded PDFs, or whose name is the account's offer file name, is removed.
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from offers.atomic import atomic_write_bytes
from offers.filenames import offer_filename
from offers.manifest import MANIFEST_NAME, _cell


@dataclass
class FilesForgotten:
    pdfs: list[Path] = field(default_factory=list)        # every name removed (hard links counted each)
    manifests: list[Path] = field(default_factory=list)   # manifests rewritten without the account's lines


def _walk(folders: Iterable[Path]) -> Iterable[Path]:
    seen: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir() or folder.resolve() in seen:
            continue
        seen.add(folder.resolve())
        for root, _dirs, names in os.walk(folder):
            for name in names:
                yield Path(root, name)


def _without_account(path: Path, account_id: str) -> bytes | None:
    """The manifest's bytes without the account's lines; None when it has none."""
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    ids = {account_id, _cell(account_id)}
    kept = [r for i, r in enumerate(rows) if i == 0 or not r or r[0] not in ids]
    if len(kept) == len(rows):
        return None
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(kept)
    return buf.getvalue().encode("utf-8-sig")


def forget_offer_files(account_id: str, recorded: Iterable[Path], folders: Iterable[Path]) -> FilesForgotten:
    """Remove the account's PDFs (``recorded`` paths and every other name of their inodes, or its file name)
    and its manifest lines under ``folders`` (searched recursively)."""
    folders = list(folders)
    inodes = set()
    for p in recorded:
        try:
            st = os.stat(p)
            inodes.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    name = offer_filename(account_id)
    done = FilesForgotten()
    for path in list(_walk(folders)):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if path.name == MANIFEST_NAME:
            data = _without_account(path, account_id)
            if data is not None:
                atomic_write_bytes(path, data)
                done.manifests.append(path)
        elif path.name == name or (st.st_dev, st.st_ino) in inodes:
            path.unlink()
            done.pdfs.append(path)
    return done
