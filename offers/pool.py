"""The render process pool: pebble's ``ProcessPool`` of initialised workers, fed a bounded number of chunks.

What pebble gives, and the pool relies on:

* **per-worker task limit** (``max_tasks``): a worker is replaced by a fresh process after its share of
  chunks, so what a long run leaves behind in a worker (font and glyph caches grow with every new
  character a customer's name brings: ≈ +20 MiB over 1,000 documents) cannot add up over a million;
* **crash isolation**: a worker that dies (the OOM killer, a segfault in a native library) fails only
  the chunk it was rendering (``ProcessExpired``) and is replaced; the other workers go on.

One gap is closed here: pebble declares the whole pool broken when a worker dies while *no* task is
running (an idle worker killed from outside); :meth:`OfferPool.submit` then starts a new pool, and the
chunks the broken pool aborted are retried like those of a dead worker.

What :func:`run_pool` adds: a chunk lost with its worker is retried one offer per chunk, and an offer
that kills a worker again on its own is recorded as failed — one poisonous offer costs only itself.
"""
from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from concurrent.futures.process import BrokenProcessPool

from pebble import ProcessExpired, ProcessPool

from offers.branding import Branding, load_branding
from offers.diskfull import DiskFull
from offers.linking import _remove_stale
from offers.plan import RenderJob
from offers.rows import _arm, _error_text, _row
from offers.worker import init_worker, render_jobs

RECYCLE_AFTER = 2_000   # documents per worker before it is replaced by a fresh process
CHUNK_SIZE = 8          # documents per task
MAX_DEATHS = 10         # workers dying in a row, with no chunk finishing in between: give up


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _pid() -> int:
    time.sleep(0.2)       # long enough that each worker takes one of the pids() tasks
    return os.getpid()


class OfferPool:
    """A pool of initialised render workers; reuse one across calls (tests, campaigns, benchmarks).

    Each worker is replaced after about ``recycle_after`` documents (``max_tasks`` chunks of
    ``chunk_size``)."""

    def __init__(self, workers: int = 1, branding: Branding | None = None, recycle_after: int = RECYCLE_AFTER,
                 chunk_size: int = CHUNK_SIZE):
        self.workers = max(1, int(workers))
        self.branding = branding or load_branding()
        self.chunk_size = max(1, int(chunk_size))
        self.max_tasks = max(1, math.ceil(max(1, int(recycle_after)) / self.chunk_size))
        self.starts = 0
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPool:
        self.starts += 1
        return ProcessPool(max_workers=self.workers, max_tasks=self.max_tasks, initializer=init_worker,
                           initargs=(self.branding,), context=_mp_context())

    def _schedule(self, function, args=()) -> cf.Future:
        try:
            return self.pool.schedule(function, args=args)
        except RuntimeError:          # pebble: "Unexpected error within the Pool" (see the module docstring)
            self.pool.stop()
            self.pool = self._new_pool()
            return self.pool.schedule(function, args=args)

    def submit(self, chunk: list[RenderJob], out_dir: Path) -> cf.Future:
        return self._schedule(render_jobs, (chunk, str(out_dir), self.branding))

    def pids(self) -> set[int]:
        """Start the workers (each builds Jinja, fonts and CSS once) and return their process ids."""
        futures = [self._schedule(_pid) for _ in range(self.workers * 2)]
        return {f.result() for f in futures}

    def close(self) -> None:
        self.pool.close()
        self.pool.join()

    def abort(self) -> None:
        """Stop now (the run was cancelled, or the disk is full): drop queued work and end the worker
        processes mid-document (pebble's ``stop``)."""
        self.pool.stop()
        try:
            self.pool.join(timeout=10)
        except TimeoutError:           # a worker stuck in native code: it is killed with the pool's parent
            pass

    def __enter__(self) -> "OfferPool":
        return self

    def __exit__(self, *exc) -> None:
        if exc and exc[0] is not None:
            self.pool.stop()
        self.close()


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_pool(pool: OfferPool, jobs: Iterator[RenderJob], rows: dict[int, dict], out_dir: Path, total: int,
             bar=None) -> None:
    """Feed chunks to the pool (a bounded number in flight) and collect their rows into ``rows``."""
    limit = pool.workers * 4
    # small runs: spread the work over every worker; large runs: chunks of ``chunk_size``
    size = max(1, min(pool.chunk_size, -(-total // (pool.workers * 2))))
    chunks = _chunks(jobs, size)
    retry: deque[list[RenderJob]] = deque()
    suspects: set[int] = set()
    in_flight: dict[cf.Future, list[RenderJob]] = {}
    deaths = 0

    def record(chunk: list[RenderJob], result: list[dict]) -> None:
        for job, row in zip(chunk, result, strict=True):
            rows[job.seq] = row

    while True:
        while len(in_flight) < limit:
            chunk = retry.popleft() if retry else next(chunks, None)
            if chunk is None:
                break
            in_flight[pool.submit(chunk, out_dir)] = chunk
        if bar:
            bar.update(len(rows))
        if not in_flight:
            break
        done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
        for future in done:
            chunk = in_flight.pop(future)
            try:
                record(chunk, future.result())
                deaths = 0
            except (ProcessExpired, BrokenProcessPool):   # the worker died with this chunk (or the pool broke)
                deaths += 1
                if deaths > MAX_DEATHS:
                    raise RuntimeError(f"offer render workers keep dying ({MAX_DEATHS} in a row); "
                                       "see the worker logs") from None
                for job in chunk:
                    if len(chunk) == 1 and job.seq in suspects:
                        rows[job.seq] = {**_row(job.account_id, "failed", chash=job.content_hash,
                                                error="the render process died while rendering this offer"),
                                         **_arm(job.extra)}
                        _remove_stale(out_dir, job.path)
                    else:
                        suspects.add(job.seq)
                        retry.append([job])
            except DiskFull:
                raise                      # render_offers stops the pool, cancelling what is queued
            except Exception as exc:   # e.g. a result that cannot be sent back: the chunk fails, the run goes on
                record(chunk, [{**_row(j.account_id, "failed", chash=j.content_hash, error=_error_text(exc)),
                                **_arm(j.extra)} for j in chunk])
    if bar:
        bar.update(len(rows))
