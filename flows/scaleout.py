"""Rendering on a Dask cluster: the render step of a run, spread over the cluster's workers.

The driver plans the offers (content hashes, unchanged ones linked) exactly as a local run does; the jobs
to render are sent in batches as Prefect tasks through ``prefect_dask.DaskTaskRunner`` to an existing
cluster given by its scheduler address. Every worker needs the project installed (same version, same
``data/``) and the output folder mounted at the same path (a shared file system): PDFs are written by
the workers, the ``offers`` rows come back to the driver.
"""
from __future__ import annotations

import math
from pathlib import Path

import polars as pl
from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE

MAX_BATCH = 200         # documents per task: ~1 minute of one worker; keeps task runs in the thousands at most
BATCHES_PER_WORKER = 4  # enough batches that no worker idles at the end while another finishes a big one


def batch_size_for(jobs: int, workers: int) -> int:
    """Documents per task: at most ``MAX_BATCH``, and small enough that every worker gets several."""
    return max(1, min(MAX_BATCH, math.ceil(jobs / (BATCHES_PER_WORKER * max(1, workers)))))


def cluster_workers(address: str) -> int:
    """Number of workers the scheduler at ``address`` knows now."""
    from distributed import Client
    with Client(address, timeout=30) as client:
        return len(client.scheduler_info()["workers"])


@task(name="render batch", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def render_batch(jobs: list, out_dir: str) -> list[tuple[int, dict]]:
    """Render one batch on a worker; a failed document is a failed row, not a failed task."""
    from offers import render_jobs
    return list(zip([job.seq for job in jobs], render_jobs(jobs, out_dir)))


@flow(name="render on cluster")
def render_on_cluster(batches: list[list], out_dir: str) -> list[tuple[int, dict]]:
    futures = render_batch.map(batches, out_dir=unmapped(out_dir))
    return [row for future in futures for row in future.result()]


def render_with_dask(plan, folder: Path, address: str, batch_size: int | None = None) -> pl.DataFrame:
    """Render ``plan.jobs`` on the cluster at ``address``; returns the ``offers`` frame in account order.

    ``batch_size`` defaults to :func:`batch_size_for` the cluster's current number of workers.
    """
    from prefect_dask import DaskTaskRunner

    from offers.render import OFFERS_SCHEMA

    Path(folder).mkdir(parents=True, exist_ok=True)
    rows = dict(plan.rows)
    if batch_size is None and plan.jobs:
        batch_size = batch_size_for(len(plan.jobs), cluster_workers(address))
    batches = [plan.jobs[i:i + batch_size] for i in range(0, len(plan.jobs), batch_size)]
    if batches:
        runner = DaskTaskRunner(address=address)
        rows.update(render_on_cluster.with_options(task_runner=runner)(batches, str(Path(folder).resolve())))
    return pl.DataFrame([rows[i] for i in sorted(rows)], schema=OFFERS_SCHEMA) if rows \
        else pl.DataFrame(schema=OFFERS_SCHEMA)
