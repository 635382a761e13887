"""The run's chain over a customer list in chunks of bounded size (province scale): load → validate →
segment → model → persist, one chunk at a time, so that memory does not grow with the list.

:func:`process_chunk` is the one chunk function: a chunk of the raw list (with ``_first_row`` set by
:class:`~intake.validate.AccountIds` over every earlier chunk, so duplicates are caught across chunk
borders) becomes the rows of the run's tables and the chunk's :class:`~flows.frames.RunTotals`. It runs
here, in the driver (:func:`persist_in_chunks`), or on a Dask cluster partition by partition
(``flows/scaleout.py``). No Prefect here: benchmarks and tests call it directly.

Each chunk's rows are appended to the run's staging file as it goes (``RunWriter.write``); the run is
published whole at the end, so readers never see a part of it. The tables stored are those of a whole
run of the same list (``tests/test_chunked.py``); only their physical row order differs.
"""
from __future__ import annotations

import dataclasses
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl

from flows.frames import RunTotals, stored_accounts, stored_segments, with_segment_columns
from gpengine.model import compute
from intake.load import RawTable
from intake.stream import DEFAULT_CHUNK_ROWS
from intake.validate import AccountIds, validate_accounts
from segmentation import segment_accounts

CHUNK_ROWS_ENV = "GP_CHUNK_ROWS"
TABLE_ORDER = ("accounts", "rejects", "segments", "results", "scenarios")


def default_chunk_rows() -> int:
    """Rows per chunk: ``GP_CHUNK_ROWS`` if set, else 250,000 (≈ 0.5 GB of working memory)."""
    value = os.environ.get(CHUNK_ROWS_ENV, "").strip()
    return int(value) if value else DEFAULT_CHUNK_ROWS


@dataclass
class ChunkResult:
    tables: dict[str, pl.DataFrame]     # TABLE_ORDER -> this chunk's rows
    totals: RunTotals
    rows_read: int
    rows_accepted: int
    rows_rejected: int


class StageClock:
    """Wall time and peak memory per stage, added up over the chunks (the run's log and ``gp bench scale``).

    ``grew_mb[stage]``: how much the process's peak resident memory rose while that stage ran, so the
    stage that holds the peak is the one that raised it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}     # this process's user + system time, every thread
        self.grew_mb: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        before, start, cpu = _peak_mb(), time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + time.process_time() - cpu
            self.grew_mb[name] = self.grew_mb.get(name, 0.0) + _peak_mb() - before

    def timed(self, name: str, items: Iterable):
        """``items`` with the time spent producing each one counted under ``name``."""
        iterator = iter(items)
        while True:
            with self.stage(name):
                item = next(iterator, _END)
            if item is _END:
                return
            yield item

    def describe(self) -> str:
        return ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())


_END = object()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def process_chunk(raw: RawTable, config, run_id: str, colmap=None, clock: StageClock | None = None) -> ChunkResult:
    """Validate, segment and compute one chunk; ``config`` is the run's ``steps.Configuration``."""
    clock = clock or StageClock()
    with clock.stage("validate"):
        checked = validate_accounts(raw, colmap=colmap)
    with clock.stage("segment"):
        segments = segment_accounts(checked.accounts, config.segmentation)
    with clock.stage("cost model"):
        enriched = with_segment_columns(checked.accounts, segments)
        model = compute(enriched, config.reference, config.assumptions, run_id=run_id)
    tables = {"accounts": stored_accounts(enriched), "rejects": checked.rejects,
              "segments": stored_segments(segments, config.segmentation.rules_version),
              "results": model.results, "scenarios": model.scenarios}
    return ChunkResult(tables, RunTotals.of(segments, model.results, checked.rejects), checked.rows_read,
                       checked.accounts.height, checked.rejects.height)


def marked(chunks: Iterable[RawTable], ids: AccountIds) -> Iterable[RawTable]:
    """The chunks with ``_first_row`` set against every earlier chunk (duplicates across borders)."""
    for raw in chunks:
        yield dataclasses.replace(raw, frame=ids.mark(raw.frame))


@dataclass
class StreamTotals:
    totals: RunTotals | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    chunks: int = 0
    clock: StageClock = dataclasses.field(default_factory=StageClock)

    def add(self, part: ChunkResult) -> None:
        self.totals = part.totals if self.totals is None else self.totals.plus(part.totals)
        self.rows_read += part.rows_read
        self.rows_accepted += part.rows_accepted
        self.rows_rejected += part.rows_rejected
        self.chunks += 1

    def run_totals(self) -> RunTotals:
        return self.totals if self.totals is not None else RunTotals.of(
            pl.DataFrame(schema={"account_id": pl.Utf8, "segment": pl.Utf8}),
            pl.DataFrame(schema={"account_id": pl.Utf8}), None)


def persist_in_chunks(run, chunks, config, colmap=None, *, between: Callable[[int], None] | None = None,
                      clock: StageClock | None = None) -> StreamTotals:
    """Every chunk of ``chunks`` (``intake.stream.CustomerChunks``) through :func:`process_chunk` in this
    process, its rows appended to ``run`` as it goes. ``between(chunks_done)`` runs after each chunk (a
    cancellation check); ``clock`` adds up the stages' times (read = reading the file and marking ids)."""
    ids = AccountIds(colmap)
    done = StreamTotals(clock=clock or StageClock())
    clock = done.clock
    for raw in clock.timed("read", marked(chunks, ids)):
        part = process_chunk(raw, config, run.run_id, colmap, clock)
        with clock.stage("persist"):
            # one commit per chunk; ids are unique across chunks (AccountIds): no lookup of earlier rows
            run.write_many({name: part.tables[name] for name in TABLE_ORDER}, new_keys=True)
        done.add(part)
        if between is not None:
            between(done.chunks)
    return done
