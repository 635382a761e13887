"""Rendering on a Dask cluster: the render step of a run, spread over the cluster's workers.

The driver plans the offers (content hashes, unchanged ones linked) exactly as a local run does; the jobs
to render are sent in batches as Prefect tasks through ``prefect_dask.DaskTaskRunner`` to an existing
cluster given by its scheduler address. Every worker needs the project installed (same version, same
``data/``) and the output folder mounted at the same path (a shared file system): PDFs are written by
the workers, the ``offers`` rows come back to the driver.

The jobs travel through that shared folder too: each batch is written as a JSON file into
``<run folder>/.jobs/`` (removed when the step ends) and only its path goes to the task. Prefect
stores a flow run's parameters on its server and refuses more than 512 KB, and one offer's content is
≈ 9 KB, so passing the jobs themselves would fail beyond a few dozen offers.
"""
from __future__ import annotations

import dataclasses
import json
import math
import shutil
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


JOBS_FOLDER = ".jobs"


def write_batch(jobs: list, path: Path) -> str:
    """One batch of render jobs as a JSON file (the offer contents are plain JSON data)."""
    path.write_text(json.dumps([dataclasses.asdict(job) for job in jobs], ensure_ascii=False), encoding="utf-8")
    return str(path)


def read_batch(path: str) -> list:
    from offers.render import RenderJob
    return [RenderJob(**job) for job in json.loads(Path(path).read_text(encoding="utf-8"))]


@task(name="render batch", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def render_batch(batch_file: str, out_dir: str) -> list[tuple[int, dict]]:
    """Render one batch on a worker; a failed document is a failed row, not a failed task."""
    from offers import render_jobs
    jobs = read_batch(batch_file)
    return list(zip([job.seq for job in jobs], render_jobs(jobs, out_dir)))


@flow(name="render on cluster")
def render_on_cluster(batch_files: list[str], out_dir: str) -> list[tuple[int, dict]]:
    futures = render_batch.map(batch_files, out_dir=unmapped(out_dir))
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
    if plan.jobs:
        jobs_dir = Path(folder).resolve() / JOBS_FOLDER
        jobs_dir.mkdir(exist_ok=True)
        try:
            files = [write_batch(plan.jobs[i:i + batch_size], jobs_dir / f"batch-{i // batch_size:06d}.json")
                     for i in range(0, len(plan.jobs), batch_size)]
            runner = DaskTaskRunner(address=address)
            rows.update(render_on_cluster.with_options(task_runner=runner)(files, str(Path(folder).resolve())))
        finally:
            shutil.rmtree(jobs_dir, ignore_errors=True)
    return pl.DataFrame([rows[i] for i in sorted(rows)], schema=OFFERS_SCHEMA) if rows \
        else pl.DataFrame(schema=OFFERS_SCHEMA)
