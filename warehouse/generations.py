"""Generations: earlier published files kept beside the published one, for ``gp restore``.

    greenpower.duckdb.gen-<UTC time it was replaced>    a published file as it was before a later
                                                         nightly run replaced it

When a nightly (or ad hoc) run publishes, the file it replaces is kept under a generation name by a
hard link made before the atomic rename: no copy, and the kept file is exactly the inode readers saw.
A published file is checked to read back whole before it is published (``integrity.check_whole``), so
every generation was good when it was made; ``restore_newest`` checks again before putting one back.
How many are kept is part of the retention policy (``retention.RetentionPolicy.generations``).
Campaign runs do not make generations (they add to the state of the nightly run before them).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.filemodes import secure_file

from . import publish as files
from .dbfile import open_database
from .errors import WarehouseError
from .integrity import DamagedWarehouse, check_whole, forget_verified, mark_verified

log = logging.getLogger(__name__)

TAG = ".gen-"


def generation_paths(db_path: Path) -> list[Path]:
    """Newest first."""
    found = [p for p in db_path.parent.glob(f"{db_path.name}{TAG}*")
             if p.is_file() and not p.name.endswith((".wal", ".tmp"))]
    return sorted(found, key=lambda p: p.name, reverse=True)


def retire(db_path: Path) -> Path | None:
    """Keep the file now published under a generation name (a hard link; call before replacing it)."""
    if not db_path.exists():
        return None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    gen = db_path.with_name(f"{db_path.name}{TAG}{stamp}")
    try:
        os.link(db_path, gen)
    except OSError as e:   # a file system without hard links: the run still publishes
        log.warning("%s: could not keep the previous file as a generation: %s", db_path, e)
        return None
    return gen


def prune(db_path: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest generations; returns those removed."""
    removed = []
    for p in generation_paths(db_path)[max(0, keep):]:
        files.remove_db_files(p)
        removed.append(p)
    return removed


@dataclass
class Held:
    """What a warehouse file holds: its newest successful run and every run id in it."""
    latest_run: dict | None
    run_ids: list[str]


def holds(path: Path) -> Held:
    con = open_database(path, read_only=True)
    try:
        have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "runs" not in have:
            return Held(None, [])
        rows = con.execute("SELECT run_id, kind, campaign, status, started_at FROM runs "
                           "ORDER BY started_at DESC, run_id DESC").fetchall()
    finally:
        con.close()
    latest = next(({"run_id": r[0], "kind": r[1], "campaign": r[2], "started_at": r[4]}
                   for r in rows if r[3] == "succeeded"), None)
    return Held(latest, [r[0] for r in rows])


@dataclass
class Restored:
    source: Path
    latest_run: dict | None
    lost_runs: list[str] | None       # runs of the replaced file the restored one lacks; None: unreadable
    skipped: list[tuple[Path, str]]   # newer generations that did not read back whole, and why
    damaged_kept: Path | None         # where the replaced file was kept (None: there was none)


def _now_stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def install(source_copy: Path, db_path: Path) -> Path | None:
    """Publish ``source_copy`` (a private, checked, closed file) as ``db_path``; the replaced file, if any,
    is kept as ``<db>.replaced-<time>`` beside it. Call holding the writer lock."""
    kept = None
    if db_path.exists():
        kept = db_path.with_name(f"{db_path.name}.replaced-{_now_stamp()}")
        os.link(db_path, kept)
    files.publish(source_copy, db_path)
    mark_verified(db_path)
    return kept


def restore_newest(db_path: Path, *, force: bool = False) -> Restored:
    """Put back the newest generation that reads back whole. Call holding the writer lock.

    Refuses when the published file reads back whole, unless ``force``."""
    if db_path.exists() and not force:
        try:
            check_whole(db_path)
        except DamagedWarehouse:
            pass
        else:
            raise WarehouseError(f"{db_path}: the published file reads back whole; nothing to restore "
                                 "(give --force to put back the newest generation anyway)")
    try:
        current = holds(db_path).run_ids if db_path.exists() else []
    except duckdb.Error:
        current = None
    skipped = []
    for gen in generation_paths(db_path):
        staging = files.staging_path(db_path, "restore")
        try:
            files.remove_db_files(staging)
            shutil.copyfile(gen, staging)   # a new inode: the generation stays as it is
            secure_file(staging)
            check_whole(staging)
        except (DamagedWarehouse, OSError) as e:
            files.remove_db_files(staging)
            skipped.append((gen, str(e)))
            log.warning("%s: generation %s does not read back whole: %s", db_path, gen.name, e)
            continue
        held = holds(staging)
        try:
            forget_verified(db_path)
            kept = install(staging, db_path)
        finally:
            files.remove_db_files(staging)
        lost = None if current is None else [r for r in current if r not in set(held.run_ids)]
        return Restored(gen, held.latest_run, lost, skipped, kept)
    raise WarehouseError(f"{db_path}: no generation reads back whole (" + (
        "; ".join(f"{p.name}: {why}" for p, why in skipped) if skipped else "none kept") +
        "); restore a backup with `gp restore --db PATH --from DIR`")

