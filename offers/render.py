"""Render the offers of one run: incremental, in parallel processes, one failure never stops the rest.

:func:`render_offers` is the entry point for the flow. The work is split by concern:

* :mod:`offers.plan` — per account, its content and ``content_hash`` (driver side), and whether the
  account's last successful offer can be kept (status ``unchanged``, its file linked, its row kept);
* :mod:`offers.linking` — verifying and linking a previous file, removing a stale one;
* :mod:`offers.worker` — a worker process: Jinja environment, fonts and compiled CSS built once, one
  PDF per job written atomically, WeasyPrint's own page count, ``gc.collect()`` between documents;
* :mod:`offers.pool` — pebble's process pool (per-worker task limit, crash isolation) and the retries
  of offers whose worker died;
* :mod:`offers.rows` — the ``offers`` rows and frame (outputs.md); :mod:`offers.progress` — the bar.

An offer whose data cannot be rendered is ``failed`` with its error, and its file from an earlier
run is removed (it would show other figures than the database). Work is streamed: contexts are built
lazily and at most a few chunks per worker are in flight, so memory does not grow with the accounts.

For a distributed executor (Dask via Prefect, ``flows/scaleout.py``) call :func:`iter_plan` /
:func:`plan_offers` on the driver and :func:`render_jobs` inside each task with a slice of the jobs.
"""
from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from core.filemodes import make_dirs
from offers.atomic import remove_stale_temps
from offers.branding import Branding, load_branding
from offers.plan import TIMEZONE, OfferPlan, RenderJob, iter_plan, plan_offers
from offers.pool import RECYCLE_AFTER, OfferPool, run_pool
from offers.progress import Notify, progress_bar
from offers.rows import OFFERS_SCHEMA, offers_frame
from offers.worker import render_jobs

__all__ = ["OFFERS_SCHEMA", "RECYCLE_AFTER", "TIMEZONE", "OfferPlan", "OfferPool", "RenderJob", "iter_plan",
           "offers_frame", "plan_offers", "render_jobs", "render_offers"]


def render_offers(accounts: pl.DataFrame, results: pl.DataFrame, scenarios: pl.DataFrame, segments: pl.DataFrame,
                  playbooks: Mapping[str, Mapping], assumptions: Mapping[str, Any], run_id: str, rules_version: str,
                  out_dir: Path, previous: pl.DataFrame | None = None, workers: int = 2, progress: bool = False, *,
                  previous_dir: Path | None = None, branding: Branding | None = None,
                  issue_date: _dt.date | None = None, chunk_size: int = 8, pool: OfferPool | None = None,
                  on_progress: Callable[[int, int], None] | None = None,
                  editions: Mapping[str, Mapping] | None = None, stats: dict | None = None) -> pl.DataFrame:
    """Render every account's offer PDF into ``out_dir``; returns the ``offers`` frame (outputs.md).

    ``previous``: each account's last successful offer (``Warehouse.previous_offers``: its row and the
    ``folder`` of the run that made it) — offers whose content is unchanged and whose file is intact are
    not rendered again but linked from that folder (or from ``previous_dir``, else ``out_dir``, for rows
    without one). ``workers``: render processes (ignored when ``pool`` is given).
    ``on_progress(done, total)``: called as offers complete; an exception it raises (the run was cancelled)
    stops the workers at once and propagates, as does a full disk (``DiskFull``).
    ``editions``: per account in an experiment, its edition (``loop.assign.plan_editions``; see :func:`iter_plan`).
    ``stats``: a dict that receives the planner's times and counts (:func:`iter_plan`).
    """
    out_dir = Path(out_dir)
    make_dirs(out_dir)
    remove_stale_temps(out_dir)
    if pool is not None:
        branding = pool.branding
    branding = branding or load_branding()
    rows: dict[int, dict] = {}
    planned = iter_plan(accounts, results, scenarios, segments, playbooks, assumptions, run_id, rules_version,
                        out_dir, previous, previous_dir=previous_dir, branding=branding, issue_date=issue_date,
                        editions=editions, stats=stats)

    def jobs_only() -> Iterator[RenderJob]:
        for item in planned:
            if isinstance(item, RenderJob):
                yield item
            else:
                rows[item[0]] = item[1]

    jobs = jobs_only()
    first = next(jobs, None)             # nothing to render (all unchanged): no pool to start
    if first is not None:
        own_pool = pool is None
        pool = pool or OfferPool(workers, branding, chunk_size=chunk_size)
        bar = progress_bar(progress, accounts.height)
        if on_progress is not None:
            bar = Notify(bar, on_progress, accounts.height)
        stopped = True
        try:
            run_pool(pool, itertools.chain([first], jobs), rows, out_dir, accounts.height, bar)
            stopped = False
        finally:
            if bar:
                bar.close()
            if own_pool:
                pool.abort() if stopped else pool.close()
    return offers_frame(rows[i] for i in sorted(rows))
