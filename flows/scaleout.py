"""A run on a Dask cluster: the render step spread over the cluster's workers, or (runs without PDFs) the
chain load → validate → segment → model partition by partition (:func:`persist_on_dask`, at the end).

The driver plans the offers (content hashes, unchanged ones linked) exactly as a local run does; the jobs
to render are sent in batches as Prefect tasks through ``prefect_dask.DaskTaskRunner`` to an existing
cluster given by its scheduler address. Every worker needs the project installed (same version, same
``data/``) and the output folder mounted at the same path (a shared file system): PDFs are written by
the workers, the ``offers`` rows come back to the driver.

The jobs travel through that shared folder too: the plan is streamed into one JSON-lines file,
``<run folder>/.jobs.jsonl`` (removed when the step ends), and each task gets only the file's path and
its batch's byte range. Prefect stores a flow run's parameters on its server and refuses more than
512 KB, and one offer's content is ≈ 9 KB, so passing the jobs themselves would fail beyond a few dozen
offers; streaming keeps the driver's memory flat however many offers are rendered.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from core.filemodes import make_dirs, open_private, secure_file
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


JOBS_FILE = ".jobs.jsonl"


def write_jobs(items: Iterable, path: Path) -> tuple[dict[int, dict], list[tuple[int, int]]]:
    """Stream a plan (``RenderJob`` or final ``(seq, row)`` items) to a JSON-lines file of jobs.

    Returns the final rows by position and each job's byte span in the file, so that batches can be cut
    after counting without holding every offer's content in memory (≈ 9 KB each).
    """
    from offers.plan import RenderJob
    rows, spans = {}, []
    with os.fdopen(open_private(path), "wb") as fh:
        for item in items:
            if isinstance(item, RenderJob):
                start = fh.tell()
                fh.write(json.dumps(dataclasses.asdict(item), ensure_ascii=False, default=str).encode("utf-8") + b"\n")
                spans.append((start, fh.tell()))
            else:
                seq, row = item
                rows[seq] = row
    return rows, spans


def read_jobs(path: str, start: int, end: int) -> list:
    """The jobs stored between byte offsets ``start`` and ``end`` of a :func:`write_jobs` file."""
    from offers.plan import RenderJob
    with open(path, "rb") as fh:
        fh.seek(start)
        lines = fh.read(end - start).decode("utf-8").splitlines()
    return [RenderJob(**json.loads(line)) for line in lines]


@task(name="render batch", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def render_batch(batch: tuple[str, int, int], out_dir: str) -> list[tuple[int, dict]]:
    """Render one batch (file, first byte, end byte) on a worker; a failed document is a failed row."""
    from offers import render_jobs
    jobs = read_jobs(*batch)
    return list(zip([job.seq for job in jobs], render_jobs(jobs, out_dir)))


@flow(name="render on cluster")
def render_on_cluster(batches: list[tuple[str, int, int]], out_dir: str) -> list[tuple[int, dict]]:
    futures = render_batch.map(batches, out_dir=unmapped(out_dir))
    return [row for future in futures for row in future.result()]


def render_with_dask(plan: Iterable, folder: Path, address: str, batch_size: int | None = None) -> pl.DataFrame:
    """Render a plan (``offers.iter_plan`` items, or an ``OfferPlan``) on the cluster at ``address``;
    returns the ``offers`` frame in account order.

    ``batch_size`` defaults to :func:`batch_size_for` the cluster's current number of workers.
    """
    from prefect_dask import DaskTaskRunner

    from offers.rows import offers_frame

    folder = Path(folder).resolve()
    make_dirs(folder)
    items = [*plan.rows, *plan.jobs] if hasattr(plan, "jobs") else plan
    jobs_file = folder / JOBS_FILE
    try:
        rows, spans = write_jobs(items, jobs_file)
        if spans:
            size = batch_size or batch_size_for(len(spans), cluster_workers(address))
            batches = [(str(jobs_file), spans[i][0], spans[min(i + size, len(spans)) - 1][1])
                       for i in range(0, len(spans), size)]
            runner = DaskTaskRunner(address=address)
            rows.update(render_on_cluster.with_options(task_runner=runner)(batches, str(folder)))
    finally:
        jobs_file.unlink(missing_ok=True)
    return offers_frame(rows[i] for i in sorted(rows))


# --- the run's chain on the cluster, partition by partition (no PDFs) -----------------------------------

PARTS_SUFFIX = ".parts"
_CONFIG_FILE = "configuration.pickle"


def parts_folder(db: Path, run_id: str) -> Path:
    """The run's partitions beside its staging file (``<db>.staging-<run_id>.parts``): a stale one goes
    with the stale staging files (``warehouse.publish.remove_stale_staging``)."""
    from warehouse.publish import staging_path
    return staging_path(Path(db).resolve(), run_id, PARTS_SUFFIX)


@task(name="process partition", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def process_partition(raw_path: str, table: dict, run_id: str) -> dict:
    """One partition on a worker: the chunk function (``flows.chunks.process_chunk``) over the raw rows in
    ``raw_path``, its tables written beside it as ``<stem>.<table>.parquet``; returns its counts and totals."""
    import pickle

    from flows.chunks import process_chunk
    from intake.load import RawTable

    raw = Path(raw_path)
    with open(raw.parent / _CONFIG_FILE, "rb") as fh:
        config = pickle.load(fh)
    frame = pl.read_parquet(raw)
    part = process_chunk(RawTable(frame=frame, **table), config, run_id)
    stem = str(raw).removesuffix(".raw.parquet")
    for name, rows in part.tables.items():      # customer data: never readable by others (reliability.md)
        rows.write_parquet(f"{stem}.{name}.parquet")
        secure_file(f"{stem}.{name}.parquet")
    return {"rows_read": part.rows_read, "rows_accepted": part.rows_accepted, "rows_rejected": part.rows_rejected,
            "totals": part.totals}


@flow(name="process partitions on cluster")
def partitions_on_cluster(parts: list[str], table: dict, run_id: str) -> list[dict]:
    futures = process_partition.map(parts, table=unmapped(table), run_id=unmapped(run_id))
    return [future.result() for future in futures]


def persist_on_dask(run, chunks, config, address: str, *, between=None, clock=None):
    """The list's chunks processed on the Dask cluster at ``address`` (``flows.chunks`` semantics).

    The driver reads the list chunk by chunk, marks duplicate ids against every earlier chunk (the one
    step that needs the whole list's ids) and writes each chunk as a Parquet partition into the run's
    staging area (:func:`parts_folder`, with the run's configuration pickled beside them); the workers
    run the chunk function on their partitions and write the tables as Parquet; the driver then loads
    them into the run's staging database partition by partition, in list order, and removes the folder.
    Workers need the project installed and the warehouse's folder mounted at the same path.
    """
    import pickle
    import shutil

    from prefect_dask import DaskTaskRunner

    from flows.chunks import TABLE_ORDER, ChunkResult, StreamTotals, marked
    from intake.validate import AccountIds

    from flows.chunks import StageClock

    folder = parts_folder(run.warehouse.db_path, run.run_id)
    make_dirs(folder)
    done = StreamTotals(clock=clock or StageClock())
    try:
        with os.fdopen(open_private(folder / _CONFIG_FILE), "wb") as fh:
            pickle.dump(config, fh)
        parts, table = [], None
        for i, raw in enumerate(done.clock.timed("read", marked(chunks, AccountIds(chunks.colmap)))):
            with done.clock.stage("partition"):
                path = folder / f"{i:06d}.raw.parquet"
                raw.frame.write_parquet(path)
                secure_file(path)
            parts.append(str(path))
            table = table or {"source": raw.source, "format": raw.format, "headers": raw.headers,
                              "encoding": raw.encoding, "sheet": raw.sheet}
        if not parts:
            return done
        with done.clock.stage("cluster"):
            results = partitions_on_cluster.with_options(task_runner=DaskTaskRunner(address=address))(
                parts, table, run.run_id)
        for path, result in zip(parts, results):
            stem = path.removesuffix(".raw.parquet")
            with done.clock.stage("gather"):
                run.write_many({name: pl.read_parquet(f"{stem}.{name}.parquet") for name in TABLE_ORDER},
                               new_keys=True)
            done.add(ChunkResult({}, result["totals"], result["rows_read"], result["rows_accepted"],
                                 result["rows_rejected"]))
            if between is not None:
                between(done.chunks)
        return done
    finally:
        shutil.rmtree(folder, ignore_errors=True)
