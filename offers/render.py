"""Render the offers of one run: incremental, in parallel processes, one failure never stops the rest.

:func:`render_offers` is the entry point for the flow. It

1. joins the run's frames per account and builds each offer's content (:mod:`offers.context`)
   and ``content_hash`` in this process — cheap, and it needs every frame;
2. skips an offer whose ``content_hash`` equals the previous run's and whose file is still there
   with the recorded SHA-256 (status ``unchanged``, nothing rewritten);
3. sends the others in chunks to a process pool (forkserver/spawn) whose workers each build the
   Jinja environment, one ``FontConfiguration`` and the compiled CSS once (:func:`_init_worker`),
   write each PDF atomically and run ``gc.collect()`` between documents; a worker that dies is
   replaced and only the offer that killed it is lost (:func:`_run_pool`);
4. returns the ``offers`` frame (outputs.md) in the order of ``accounts``.

An offer whose data cannot be rendered is ``failed`` with its error, and its file from an earlier
run is removed (it would show other figures than the database).

Work is streamed: contexts are built lazily and at most a few chunks per worker are in flight,
so memory does not grow with the number of accounts.

For a distributed executor (Dask / Ray via Prefect) call :func:`plan_offers` on the driver and
:func:`render_jobs` inside each task with a slice of the jobs; :func:`render_offers` is both
glued together on one machine.
"""
from __future__ import annotations

import concurrent.futures as cf
import concurrent.futures.process  # noqa: F401  (BrokenProcessPool)
import datetime as _dt
import gc
import hashlib
import itertools
import multiprocessing
import os
import re
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from offers.atomic import atomic_write_bytes, remove_stale_temps, temp_name
from offers.branding import Branding, load_branding
from offers.context import assumption_values, build_offer, offer_meta
from offers.filenames import offer_filename
from offers.hashing import content_hasher, template_version
from offers.offer_number import make_offer_no

OFFERS_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Utf8,
    "path": pl.Utf8,          # relative to the output folder; NULL when failed
    "sha256": pl.Utf8,
    "bytes": pl.Int64,
    "pages": pl.Int64,
    "content_hash": pl.Utf8,
    "status": pl.Utf8,        # rendered / unchanged / failed
    "error": pl.Utf8,
    # the closed loop (loop.md): which edition of which experiment, and the document's number and dates
    "experiment": pl.Utf8,
    "edition": pl.Utf8,
    "offer_no": pl.Utf8,
    "issued_on": pl.Utf8,     # ISO dates here (rows travel as JSON to Dask workers); DATE in the warehouse
    "valid_until": pl.Utf8,
}
VALID_DAYS = 30               # an offer is valid this many days from its issue date (offers.md)
TIMEZONE = ZoneInfo("Asia/Shanghai")
_ERROR_MAX = 500


@dataclass
class RenderJob:
    seq: int                  # position of the account in ``accounts`` (ids may repeat in bad input)
    account_id: str
    path: str                 # file name inside the output folder
    content_hash: str
    context: dict             # {"offer": ..., "meta": ...}
    extra: dict = field(default_factory=dict)   # experiment, edition, offer_no, issued_on, valid_until


@dataclass
class OfferPlan:
    """What :func:`plan_offers` decided: jobs to render, and rows already final (unchanged/failed)."""
    jobs: list[RenderJob] = field(default_factory=list)
    rows: list[tuple[int, dict]] = field(default_factory=list)   # (seq, offers row)


# ------------------------------------------------------------------------------------------------
# rows
# ------------------------------------------------------------------------------------------------

def _row(account_id: str, status: str, *, path: str | None = None, sha256: str | None = None,
         size: int | None = None, pages: int | None = None, chash: str | None = None,
         error: str | None = None) -> dict:
    return {"account_id": account_id, "path": path, "sha256": sha256, "bytes": size, "pages": pages,
            "content_hash": chash, "status": status, "error": error}


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _ERROR_MAX else text[:_ERROR_MAX - 1] + "…"


def _file_sha256(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def count_pdf_pages(data: bytes) -> int | None:
    """Page count of a PDF written by WeasyPrint (its page tree root may sit in a compressed object stream)."""
    found = re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", data)
    if not found:
        for m in re.finditer(rb"/Type\s*/ObjStm.*?stream\r?\n", data, re.S):
            end = data.find(b"endstream", m.end())
            try:
                found += re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", zlib.decompress(data[m.end():end]))
            except zlib.error:
                continue
    return max(int(n) for n in found) if found else None


def _reuse(source: Path, final: Path, sha256: str) -> bool:
    """Make ``final`` the verified previous file: nothing to do in the same folder, else a hard link
    (same file system) or a copy, both put in place atomically."""
    if source == final or _file_sha256(final) == sha256:
        return True
    tmp = temp_name(final)
    try:
        try:
            os.link(source, tmp)
        except OSError:
            atomic_write_bytes(final, source.read_bytes())
            return True
        os.replace(tmp, final)
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False


def _remove_stale(out_dir: Path, name: str) -> None:
    """A failed offer must not leave last run's PDF (other figures) under its name."""
    try:
        (out_dir / name).unlink(missing_ok=True)
    except OSError:
        pass


# ------------------------------------------------------------------------------------------------
# planning (driver side)
# ------------------------------------------------------------------------------------------------

def _joined(accounts: pl.DataFrame, results: pl.DataFrame, scenarios: pl.DataFrame,
            segments: pl.DataFrame) -> pl.DataFrame:
    """One row per account with its rows of the other frames as structs (scenarios as a list)."""
    acc = accounts.select(pl.col("account_id"), pl.struct(pl.all()).alias("account"))
    res = (results.unique("account_id", keep="first", maintain_order=True)
           .select(pl.col("account_id"), pl.struct(pl.all()).alias("result")))
    seg = (segments.unique("account_id", keep="first", maintain_order=True)
           .select(pl.col("account_id"), pl.struct(pl.all()).alias("segment")))
    scen = (scenarios.group_by("account_id", maintain_order=True)
            .agg(pl.struct(pl.all().exclude("account_id")).alias("scenarios")))
    return (acc.join(res, on="account_id", how="left", maintain_order="left")
            .join(scen, on="account_id", how="left", maintain_order="left")
            .join(seg, on="account_id", how="left", maintain_order="left"))


def _previous_index(previous: pl.DataFrame | None) -> dict[str, dict]:
    if previous is None or previous.height == 0:
        return {}
    prev = previous
    if "status" in prev.columns:
        prev = prev.filter(pl.col("status").is_in(["rendered", "unchanged"]))
    cols = [c for c in ("account_id", "content_hash", "path", "sha256", "bytes", "pages", "offer_no", "issued_on",
                        "valid_until") if c in prev.columns]
    return {r["account_id"]: r for r in prev.select(cols).iter_rows(named=True)}


def iter_plan(accounts: pl.DataFrame, results: pl.DataFrame, scenarios: pl.DataFrame, segments: pl.DataFrame,
              playbooks: Mapping[str, Mapping], assumptions: Mapping[str, Any], run_id: str, rules_version: str,
              out_dir: Path, previous: pl.DataFrame | None = None, *, previous_dir: Path | None = None,
              branding: Branding | None = None, issue_date: _dt.date | None = None,
              batch: int = 2_000, editions: Mapping[str, Mapping] | None = None
              ) -> Iterator[RenderJob | tuple[int, dict]]:
    """Per account, in order: a :class:`RenderJob`, or ``(seq, row)`` for a final row (unchanged / failed /
    held_out).

    ``editions`` (from ``loop.assign.plan_editions``): per account in an experiment, its
    ``experiment``, ``edition``, ``held_out`` and the edition's template ``context`` (part of the
    content hash, so an edition change re-renders exactly the offers it touches); a held-out account
    gets a ``held_out`` row with its ``held_out_no`` and no PDF.

    ``previous_dir``: where ``previous``'s files are, when not ``out_dir`` (one folder per run):
    an unchanged offer is then hard-linked (or copied) into ``out_dir`` instead of rendered.
    """
    out_dir = Path(out_dir)
    prev_dir = Path(previous_dir) if previous_dir is not None else out_dir
    branding = branding or load_branding()
    tversion = template_version(branding.fingerprint())
    offer_hash = content_hasher(assumptions, rules_version, tversion)
    set_name = assumption_values(assumptions)[0]
    sha = assumptions.get("sha256") if isinstance(assumptions.get("sha256"), str) else ""
    set_label = f"{set_name}@{sha[:8]}" if sha else set_name
    issue_date = issue_date or _dt.datetime.now(TIMEZONE).date()
    prev = _previous_index(previous)
    seen_ids: set[str] = set()
    seen_names: dict[str, str] = {}
    joined = _joined(accounts, results, scenarios, segments)
    seq = -1
    for frame in joined.iter_slices(batch):
        for row in frame.iter_rows(named=True):
            seq += 1
            account_id = row["account_id"]
            if account_id is None or account_id in seen_ids:
                yield seq, _row(account_id, "failed", error="duplicate or missing account_id in this run")
                continue
            seen_ids.add(account_id)
            assigned = (editions or {}).get(account_id) or {}
            arm = {"experiment": assigned.get("experiment"), "edition": assigned.get("edition")}
            if assigned.get("held_out"):
                yield seq, {**_row(account_id, "held_out"), **arm, "offer_no": assigned.get("held_out_no"),
                            "issued_on": issue_date.isoformat(), "valid_until": None}
                continue
            try:
                name = offer_filename(account_id)
            except ValueError as exc:
                yield seq, _row(account_id, "failed", error=_error_text(exc))
                continue
            if seen_names.setdefault(name.casefold(), account_id) != account_id:   # 64-bit hash collision
                yield seq, _row(account_id, "failed",
                                error=f"file name {name} collides with account {seen_names[name.casefold()]!r}")
                continue
            try:
                offer = build_offer(row["account"], row["result"], row["scenarios"] or [], row["segment"],
                                    playbooks, assumptions)
                if assigned.get("context"):
                    offer = _with_edition(offer, assigned["context"])
                chash = offer_hash(offer)
            except Exception as exc:   # one account's bad data must not stop the run
                _remove_stale(out_dir, name)
                yield seq, _row(account_id, "failed", error=_error_text(exc))
                continue
            old = prev.get(account_id)
            if old and old.get("content_hash") == chash and old.get("path") == name and old.get("sha256"):
                final = out_dir / name
                if _file_sha256(prev_dir / name) == old["sha256"] and _reuse(prev_dir / name, final, old["sha256"]):
                    size = final.stat().st_size
                    pages = old.get("pages")
                    if pages is None:
                        pages = count_pdf_pages(final.read_bytes())
                    yield seq, {**_row(account_id, "unchanged", path=name, sha256=old["sha256"], size=size,
                                       pages=pages, chash=chash), **arm,
                                # the number printed on the PDF the customer holds (a file rendered before
                                # offer numbers were stored carries the one offer_meta derived from its hash)
                                "offer_no": old.get("offer_no") or offer_meta(run_id, rules_version, set_label, chash,
                                                                              issue_date)["offer_no"],
                                "issued_on": _iso(old.get("issued_on")), "valid_until": _iso(old.get("valid_until"))}
                    continue
            meta = offer_meta(run_id, rules_version, set_label, chash, issue_date)
            offer_no = make_offer_no(account_id, chash, issue_date)
            valid_until = issue_date + _dt.timedelta(days=VALID_DAYS)
            meta.update(offer_no=offer_no, valid_until=valid_until.isoformat())
            yield RenderJob(seq, account_id, name, chash, {"offer": offer, "meta": meta},
                            {**arm, "offer_no": offer_no, "issued_on": issue_date.isoformat(),
                             "valid_until": valid_until.isoformat()})


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)


def _with_edition(offer: dict, edition: Mapping) -> dict:
    """The offer with its edition's emphasis: ``offer.edition`` for the templates (headline, section
    order) and the edition's promotion among the offer's promotions."""
    offer = {**offer, "edition": dict(edition)}
    if edition.get("promotion") and isinstance(offer.get("green"), dict):
        green = dict(offer["green"])
        green["promotions"] = [*(green.get("promotions") or []), edition["promotion"]]
        offer["green"] = green
    return offer


def plan_offers(*args, **kwargs) -> OfferPlan:
    """:func:`iter_plan` collected into lists (for distributing the jobs yourself)."""
    plan = OfferPlan()
    for item in iter_plan(*args, **kwargs):
        (plan.jobs if isinstance(item, RenderJob) else plan.rows).append(item)
    return plan


# ------------------------------------------------------------------------------------------------
# rendering (worker side)
# ------------------------------------------------------------------------------------------------

_WORKER = None
_FROZEN = False


def _init_worker(branding: Branding | None) -> None:
    """Build the expensive, reusable parts once per process."""
    global _WORKER, _FROZEN
    from offers.engine import OfferRenderer
    _WORKER = OfferRenderer(branding)
    _FROZEN = False


def _collect() -> None:
    """``gc.collect()`` between documents keeps RSS flat (WeasyPrint's box trees are cyclic).

    After the first document, everything still alive is long-lived (modules, fonts, compiled CSS,
    caches): ``gc.freeze()`` moves it out of the collector's sight, so each later collection only
    walks the last document's objects — about 7 ms instead of about 50 ms per document.
    """
    global _FROZEN
    gc.collect()
    # only in a child process (pool or cluster worker): never freeze a caller's own interpreter
    if not _FROZEN and multiprocessing.parent_process() is not None:
        gc.freeze()
        _FROZEN = True


def render_jobs(jobs: Iterable[RenderJob], out_dir: str | os.PathLike, branding: Branding | None = None) -> list[dict]:
    """Render and write a batch of jobs in this process; returns one ``offers`` row per job."""
    global _WORKER
    if _WORKER is None or (branding is not None and _WORKER.branding != branding):
        _init_worker(branding)
    out_dir = Path(out_dir)
    rows = []
    for job in jobs:
        try:
            html = _WORKER.html(job.context)
            data, pages = _WORKER.pdf(html)
            atomic_write_bytes(out_dir / job.path, data)
            rows.append({**_row(job.account_id, "rendered", path=job.path, sha256=hashlib.sha256(data).hexdigest(),
                                size=len(data), pages=pages, chash=job.content_hash), **job.extra})
        except Exception as exc:
            _remove_stale(out_dir, job.path)
            rows.append({**_row(job.account_id, "failed", chash=job.content_hash, error=_error_text(exc)),
                         **{k: v for k, v in job.extra.items() if k in ("experiment", "edition")}})
        finally:
            _collect()
    return rows


# ------------------------------------------------------------------------------------------------
# the pool
# ------------------------------------------------------------------------------------------------

def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


RECYCLE_AFTER = 2_000   # documents per worker before the pool's processes are replaced


class OfferPool:
    """A process pool of initialised render workers; reuse one across calls (tests, campaigns).

    Workers are replaced by fresh processes after ``recycle_after`` documents each (on average), so
    that whatever a long run leaves behind in them (font and glyph caches grow with every new
    character a customer's name brings: ≈ +20 MiB over 1,000 documents) cannot add up over a million.
    The standard library's ``max_tasks_per_child`` would do this, but deadlocks on Python 3.11
    (CPython issue 115634), so the feeder drains the pool and starts a new one instead (≈ 2 s).
    """

    def __init__(self, workers: int = 1, branding: Branding | None = None, recycle_after: int = RECYCLE_AFTER):
        self.workers = max(1, int(workers))
        self.branding = branding or load_branding()
        self.recycle_after = max(1, int(recycle_after))
        self.starts = 0
        self.executor = self._start()

    def _start(self) -> cf.ProcessPoolExecutor:
        self.starts += 1
        self.submitted = 0               # documents sent to this executor's processes
        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=_mp_context(),
                                      initializer=_init_worker, initargs=(self.branding,))

    @property
    def worn_out(self) -> bool:
        return self.submitted >= self.recycle_after * self.workers

    def restart(self) -> None:
        """Replace a broken executor (a worker was killed, e.g. by the OOM killer)."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._start()

    def recycle(self) -> None:
        """Replace an idle executor's processes by fresh ones (nothing may be in flight)."""
        self.executor.shutdown(wait=True)
        self.executor = self._start()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "OfferPool":
        return self

    def __exit__(self, *exc) -> None:
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


def render_offers(accounts: pl.DataFrame, results: pl.DataFrame, scenarios: pl.DataFrame, segments: pl.DataFrame,
                  playbooks: Mapping[str, Mapping], assumptions: Mapping[str, Any], run_id: str, rules_version: str,
                  out_dir: Path, previous: pl.DataFrame | None = None, workers: int = 2, progress: bool = False, *,
                  previous_dir: Path | None = None, branding: Branding | None = None,
                  issue_date: _dt.date | None = None, chunk_size: int = 8, pool: OfferPool | None = None,
                  editions: Mapping[str, Mapping] | None = None) -> pl.DataFrame:
    """Render every account's offer PDF into ``out_dir``; returns the ``offers`` frame (outputs.md).

    ``previous``: the last run's ``offers`` rows (account_id, content_hash, path, sha256; optional
    bytes, pages, status) — offers whose content is unchanged and whose file is intact are not
    rendered again. Their files are in ``out_dir`` or, with one folder per run, in ``previous_dir``
    (then hard-linked into ``out_dir``). ``workers``: render processes (ignored when ``pool`` is given).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)
    if pool is not None:
        branding = pool.branding
    branding = branding or load_branding()
    rows: dict[int, dict] = {}
    planned = iter_plan(accounts, results, scenarios, segments, playbooks, assumptions, run_id, rules_version,
                        out_dir, previous, previous_dir=previous_dir, branding=branding, issue_date=issue_date,
                        editions=editions)

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
        pool = pool or OfferPool(workers, branding)
        bar = _progress(progress, accounts.height)
        try:
            _run_pool(pool, itertools.chain([first], jobs), rows, out_dir, branding, chunk_size, accounts.height, bar)
        finally:
            if bar:
                bar.close()
            if own_pool:
                pool.close()
    return pl.DataFrame([rows[i] for i in sorted(rows)], schema=OFFERS_SCHEMA) if rows \
        else pl.DataFrame(schema=OFFERS_SCHEMA)


MAX_RESTARTS = 10


def _run_pool(pool: OfferPool, jobs: Iterator[RenderJob], rows: dict[int, dict], out_dir: Path,
              branding: Branding, chunk_size: int, total: int, bar) -> None:
    """Feed chunks to the pool (a bounded number in flight) and collect their rows into ``rows``.

    A worker that dies takes every in-flight chunk of its executor with it: the executor is
    restarted and the jobs of those chunks are retried one per chunk; a job that kills a worker
    again on its own is recorded as failed, so one poisonous offer costs only itself.
    """
    limit = pool.workers * 4
    # small runs: spread the work over every worker; large runs: chunks of ``chunk_size``
    size = max(1, min(chunk_size, -(-total // (pool.workers * 2))))
    chunks = _chunks(jobs, size)
    retry: deque[list[RenderJob]] = deque()
    suspects: set[int] = set()
    in_flight: dict[cf.Future, list[RenderJob]] = {}
    restarts = 0

    def restart() -> None:
        nonlocal restarts
        restarts += 1
        if restarts > MAX_RESTARTS:
            raise RuntimeError(f"offer render workers keep dying ({MAX_RESTARTS} restarts); see the worker logs")
        pool.restart()

    def record(chunk: list[RenderJob], result: list[dict]) -> None:
        for job, row in zip(chunk, result, strict=True):
            rows[job.seq] = row

    while True:
        if pool.worn_out and not in_flight:
            pool.recycle()
        while len(in_flight) < limit and not pool.worn_out:    # a worn-out pool drains, then is recycled
            chunk = retry.popleft() if retry else next(chunks, None)
            if chunk is None:
                break
            try:
                in_flight[pool.executor.submit(render_jobs, chunk, str(out_dir), branding)] = chunk
                pool.submitted += len(chunk)
            except cf.process.BrokenProcessPool:   # a worker died while idle
                retry.appendleft(chunk)
                if in_flight:
                    break          # their futures fail too; the restart happens below
                restart()
        if bar:
            bar.update(len(rows))
        if not in_flight:
            break
        done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
        lost: list[list[RenderJob]] = []
        for future in done:
            chunk = in_flight.pop(future)
            try:
                record(chunk, future.result())
            except cf.process.BrokenProcessPool:
                lost.append(chunk)
            except Exception as exc:   # e.g. a result that cannot be sent back: the chunk fails, the run goes on
                record(chunk, [_row(j.account_id, "failed", chash=j.content_hash, error=_error_text(exc))
                               for j in chunk])
        if lost:
            # the whole executor is gone: settle every other in-flight chunk, then start a new one
            finished, _ = cf.wait(in_flight)
            for future in finished:
                chunk = in_flight.pop(future)
                if not future.cancelled() and future.exception() is None:
                    record(chunk, future.result())
                else:
                    lost.append(chunk)
            for chunk in lost:
                for job in chunk:
                    if len(chunk) == 1 and job.seq in suspects:
                        rows[job.seq] = _row(job.account_id, "failed", chash=job.content_hash,
                                             error="the render process died while rendering this offer")
                        _remove_stale(out_dir, job.path)
                    else:
                        suspects.add(job.seq)
                        retry.append([job])
            restart()
    if bar:
        bar.update(len(rows))


class _Bar:
    def __init__(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        self.progress = Progress(TextColumn("offers"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        self.task = self.progress.add_task("offers", total=total)
        self.progress.start()

    def update(self, completed: int) -> None:
        self.progress.update(self.task, completed=completed)

    def close(self) -> None:
        self.progress.stop()


def _progress(enabled: bool, total: int) -> _Bar | None:
    return _Bar(total) if enabled else None
