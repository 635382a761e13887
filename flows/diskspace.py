"""Disk space: refuse a run that will not fit, and stop cleanly when the disk fills anyway.

Before a run writes anything it estimates what it will write — the staging copy (the published file plus
this run's rows) beside the database, and the offers it will render — and refuses at once, naming the
folder, the space needed and the space free, when that does not fit on each file system.

If the disk fills anyway (another program wrote too), the first ``ENOSPC``/``EDQUOT``/``EROFS`` stops the
run: rendering stops (``offers.diskfull``), the run's partial offer folder and its staging file are removed,
the run is recorded ``failed`` with the reason ``disk full: <folder>``, and the user gets one message.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from offers.diskfull import DISK_FULL_ERRNOS, DiskFull
from warehouse.dbfile import open_database
from warehouse.errors import QueryError
from warehouse.integrity import DamagedWarehouse, looks_damaged
from warehouse.publish import journal_path

log = logging.getLogger(__name__)

# Used while the warehouse has no history to measure (measured on the bundled sample: see the README,
# "When the disk fills"); afterwards the run's own warehouse gives the figures.
DEFAULT_DB_BYTES_PER_ACCOUNT = 7_000
DEFAULT_BYTES_PER_OFFER = 100_000
MEASURE_FROM_ACCOUNTS = 1_000
MARGIN = 1.2                                  # what an estimate leaves for the unexpected
MIN_FREE_BYTES = 2 * 2**20                    # never plan to fill a disk to the last block

DUCKDB_DISK_FULL = ("no space left on device", "disk quota exceeded", "read-only file system")


class DiskFullError(OSError):
    """A run that does not fit, or that found its disk full. The message says where and how much."""

    def __init__(self, message: str, folder: Path, code: int = 28):
        super().__init__(code, message)
        self.folder = Path(folder)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_disk_full(exc: BaseException) -> bool:
    """``ENOSPC``/``EDQUOT``/``EROFS`` anywhere in the exception's chain (DuckDB reports it in its text)."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS:
            return True
        if isinstance(e, duckdb.Error) and any(w in str(e).lower() for w in DUCKDB_DISK_FULL):
            return True
    return False


def full_folder(exc: BaseException, db_folder: Path, offers_folder: Path | None) -> Path:
    """The folder whose file system filled: named by the error where it can be, else the emptier one."""
    for e in _chain(exc):
        if isinstance(e, DiskFull):
            return Path(e.folder)
        if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS and e.filename:
            return Path(os.fspath(e.filename)).parent
        if isinstance(e, duckdb.Error):
            return db_folder
    candidates = [p for p in (db_folder, offers_folder) if p is not None and _existing(p).exists()]
    return min(candidates, key=lambda p: shutil.disk_usage(_existing(p)).free) if candidates else db_folder


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


# ------------------------------------------------------------------ the estimate

@dataclass
class Need:
    folder: Path
    bytes: int
    what: list[str]


def _measured(db: Path) -> tuple[int, float | None, float | None, dict | None]:
    """Published size, bytes per stored account, bytes per offer and the latest run (from the warehouse)."""
    if not db.exists():
        return 0, None, None, None
    size = db.stat().st_size
    try:
        con = open_database(db, read_only=True)
    except duckdb.Error:
        return size, None, None, None
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        accounts = con.execute("SELECT count(*) FROM accounts").fetchone()[0] if "accounts" in tables else 0
        per_offer = con.execute("SELECT avg(bytes) FROM offers WHERE status = 'rendered'").fetchone()[0] \
            if "offers" in tables else None
        latest = None
        if "runs" in tables:
            row = con.execute("SELECT run_id, assumptions, code_version FROM runs WHERE status = 'succeeded' "
                              "ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchone()
            latest = None if row is None else {"run_id": row[0], "assumptions": row[1], "code_version": row[2]}
    except duckdb.Error:
        return size, None, None, None
    finally:
        con.close()
    # a small warehouse is mostly fixed overhead (catalog, views): measure per account only from a real history
    return size, (size / accounts if accounts >= MEASURE_FROM_ACCOUNTS else None), per_offer, latest


def estimate(db: Path, accounts: int, offers_folder: Path | None, *, to_render: int | None = None) -> list[Need]:
    """What a run of ``accounts`` accounts will write, per folder (one entry per file system)."""
    size, per_account, per_offer, _ = _measured(db)
    staging = int((size + accounts * (per_account or DEFAULT_DB_BYTES_PER_ACCOUNT)) * MARGIN)
    needs = [Need(Path(db).parent, staging, [f"staging copy ≈ {_mb(staging)}"])]
    if offers_folder is not None:
        n = accounts if to_render is None else to_render
        pdfs = int(n * (per_offer or DEFAULT_BYTES_PER_OFFER) * MARGIN)
        needs.append(Need(Path(offers_folder), pdfs, [f"{n:,} offers ≈ {_mb(pdfs)}"]))
    merged: dict[int, Need] = {}
    for need in needs:
        dev = os.stat(_existing(need.folder)).st_dev
        if dev in merged:
            merged[dev].bytes += need.bytes
            merged[dev].what += need.what
        else:
            merged[dev] = need
    return list(merged.values())


def offers_to_render(db: Path, accounts: list[str], previous: set[str], assumptions: dict, code_version: str) -> int:
    """Offers a run will render rather than link: every one when the assumptions or the code changed since
    the latest successful run, else the accounts without an earlier offer (changed inputs aside)."""
    _, _, _, latest = _measured(db)
    if latest is None:
        return len(accounts)
    try:
        same = (json.loads(latest["assumptions"]) == json.loads(json.dumps(assumptions, default=str))
                and latest["code_version"] == code_version)
    except (TypeError, ValueError):
        same = False
    return sum(1 for a in accounts if a not in previous) if same else len(accounts)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def check_room(needs: list[Need]) -> None:
    """Refuse (``DiskFullError``) when a file system has less free space than the run needs."""
    for need in needs:
        free = shutil.disk_usage(_existing(need.folder)).free
        if free < need.bytes + MIN_FREE_BYTES:
            raise DiskFullError(
                f"not enough disk space for this run in {need.folder}: it needs about "
                f"{_mb(need.bytes + MIN_FREE_BYTES)} ({', '.join(need.what)}, {_mb(MIN_FREE_BYTES)} kept free), "
                f"{_mb(free)} is free. Nothing was written. Free some space (older runs: --retention-days; "
                "old offer folders; generations: --generations) or move the database or the offers to a "
                "bigger disk, then run again.", need.folder)


# ------------------------------------------------------------------ the disk fills anyway

@contextmanager
def stop_on_disk_full(run, db: Path, offers_folder: Path | None) -> Iterator[None]:
    """Inside ``with warehouse.start_run(...) as run, stop_on_disk_full(run, ...)``: a disk-full error
    removes the run's new offer files, records the run ``failed`` ("disk full: <folder>") and becomes
    one ``DiskFullError`` for the user; the run's staging file is removed as the run fails."""
    existed = None
    if offers_folder is not None and offers_folder.is_dir():
        existed = {p.name for p in offers_folder.iterdir()}
    try:
        yield
    except BaseException as exc:
        if not is_disk_full(exc) or isinstance(exc, DiskFullError):
            raise
        folder = full_folder(exc, Path(db).parent, offers_folder)
        log.debug("disk full during run %s", run.run_id, exc_info=exc)
        removed = _remove_partial(offers_folder, existed)
        run.fail(f"disk full: {folder}")
        recorded = ("is recorded as failed" if not journal_path(Path(db)).exists() else
                    "will be recorded as failed by the next run (no room to record it now)")
        raise DiskFullError(
            f"disk full: {folder}: {_strerror(exc)}. Run {run.run_id} stopped and {recorded}; its partial "
            f"output ({removed}) and staging copy were removed, the published warehouse is unchanged. Free "
            "some space and run again.", folder) from exc


def _strerror(exc: BaseException) -> str:
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS:
            return os.strerror(e.errno)
    return os.strerror(28)


def _remove_partial(folder: Path | None, existed: set[str] | None) -> str:
    """The run's own offer files: its whole folder when the run created it, else the files it added."""
    if folder is None or not folder.exists():
        return "no offer files"
    if existed is None:
        n = sum(1 for _ in folder.rglob("*"))
        shutil.rmtree(folder, ignore_errors=True)
        return f"{n} offer files"
    added = [p for p in folder.iterdir() if p.name not in existed]
    for p in added:
        try:
            p.unlink()
        except OSError:
            pass
    return f"{len(added)} new offer files"


def refuse_if_no_room(warehouse, settings, accounts, config, out_root: Path, code_version: str) -> None:
    """The up-front check of a run (``pipeline.process``), before anything is written. ``accounts``: the
    accounts frame, or (a list streamed in chunks, no PDFs) an estimate of their number."""
    to_render = None
    if isinstance(accounts, int):
        check_room(estimate(warehouse.db_path, accounts, None))
        return
    if settings.render_pdf:
        try:
            previous = set(warehouse.previous_offers(out_root).get_column("account_id").to_list())
        except (duckdb.Error, QueryError) as e:   # a damaged published file: the refusal names `gp restore`
            cause = e.__cause__ if isinstance(e, QueryError) and e.__cause__ is not None else e
            if looks_damaged(cause):
                raise DamagedWarehouse(warehouse.db_path, str(cause).strip()) from None
            raise
        to_render = offers_to_render(warehouse.db_path, accounts.get_column("account_id").to_list(), previous,
                                     config.record(), code_version)
    check_room(estimate(warehouse.db_path, accounts.height, out_root if settings.render_pdf else None,
                        to_render=to_render))
