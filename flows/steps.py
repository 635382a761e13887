"""The pipeline's coarse steps, as Prefect tasks over whole frames (never one task per account).

load → validate → segment → compute → persist → render → publish. Each step is a thin wrapper over a
plain function of ``intake``, ``segmentation``, ``gpengine``, ``warehouse`` or ``offers``, which are
tested without Prefect. No task caches its result: inputs are whole frames and open run writers, which
make no stable cache key, and every run must recompute from its own input.
"""
from __future__ import annotations

import datetime as _dt
import errno
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from gpengine.assumptions import AssumptionSet, load_assumptions
from gpengine.model import ModelOutput, compute
from gpengine.reference import Reference, load_reference
from intake.validate import Validated, load_accounts
from loop.config import LoopConfig, load_loop_config
from loop.leads.config import LeadsConfig, load_leads_config
from offers.branding import Branding, load_branding_file
from segmentation import load_segmentation_config, segment_accounts
from segmentation.config import SegmentationConfig




@dataclass(frozen=True)
class Configuration:
    reference: Reference
    assumptions: AssumptionSet
    segmentation: SegmentationConfig
    branding: Branding
    branding_sha256: str
    loop: LoopConfig | None = None      # offer editions and experiments (data/loop/editions.yaml)
    leads: LeadsConfig | None = None    # lead scores: threshold, retraining, rule, reasons (data/loop/leads.yaml)

    def record(self, input_files: dict[str, str] | None = None) -> dict:
        """What ``runs.assumptions`` stores: every value used, with the hash of every data file.

        ``input_files``: the data files the customer list was read with (the column aliases,
        ``Validated.data_files``); ``data_files`` then lists every data file that shaped the run
        that the other entries do not (the assumption set's hash is ``sha256``, the reference and
        segmentation files are under their own keys, the reps and offer settings under ``offer_files``, the
        loop's files under ``loop_files``)."""
        from offers.reps import offer_files_record
        extra = {"loop_files": self.loop.record()} if self.loop is not None else {}
        if self.leads is not None:
            extra["leads_file"] = self.leads.record()
        return {**self.assumptions.record(), "reference": self.reference.describe(),
                "segmentation_files": self.segmentation.files, "offer_files": offer_files_record(),
                "data_files": {"branding.yaml": self.branding_sha256, **(input_files or {})}, **extra}


# OSErrors that another attempt five seconds later cannot cure: retrying only delays the clear message.
_PERMANENT_OS_ERRORS = (PermissionError, FileNotFoundError, NotADirectoryError, IsADirectoryError)
_PERMANENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG}


def is_transient(error: BaseException) -> bool:
    """An I/O hiccup worth one more attempt (a network share, a lost Dask connection), not a user error."""
    return (isinstance(error, OSError) and not isinstance(error, _PERMANENT_OS_ERRORS)
            and error.errno not in _PERMANENT_ERRNOS)


def _retry_if_transient(task, task_run, state) -> bool:
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the failed task's own error, re-raised by result()
        return is_transient(exc)
    return False


@task(name="load configuration", cache_policy=NO_CACHE)
def load_configuration(assumptions: str | None, overrides: dict | None = None) -> Configuration:
    """Reference data, the assumption set (with campaign overrides) and the segmentation files, validated."""
    chosen = load_assumptions(assumptions).with_overrides(**(overrides or {}))
    return Configuration(load_reference(), chosen, load_segmentation_config(), *load_branding_file(),
                         load_loop_config(), load_leads_config())


@task(name="load and validate customers", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=_retry_if_transient)
def load_customers(path: Path, sheet: str | None = None) -> Validated:
    """Read the customer list (any supported format) and split it into accounts and rejects."""
    checked = load_accounts(path, sheet)
    get_run_logger().info("%s: %d rows read, %d accepted, %d rejected", path, checked.rows_read,
                          checked.accounts.height, checked.rejects.height)
    return checked


@task(name="segment", cache_policy=NO_CACHE)
def segment(accounts: pl.DataFrame, config: Configuration) -> pl.DataFrame:
    """Primary and secondary segments, reasons and playbook defaults for every account."""
    return segment_accounts(accounts, config.segmentation)


@task(name="compute costs", cache_policy=NO_CACHE)
def compute_costs(accounts: pl.DataFrame, config: Configuration, run_id: str) -> ModelOutput:
    """The green-power cost model over all accounts at once."""
    out = compute(accounts, config.reference, config.assumptions, run_id=run_id)
    get_run_logger().info("cost model: %d accounts, %d scenarios", out.results.height, out.scenarios.height)
    return out


@task(name="persist", cache_policy=NO_CACHE)
def persist(run, tables: dict[str, pl.DataFrame]) -> None:
    """Bulk-write whole frames into the run's private staging database (invisible until published)."""
    for name, frame in tables.items():
        run.write(name, frame)
    get_run_logger().info("stored %s", ", ".join(f"{n} {f.height}" for n, f in tables.items()))


@task(name="load, validate, segment, compute and persist in chunks", cache_policy=NO_CACHE)
def persist_chunks(run, chunks, config: Configuration, control=None):
    """The customer list chunk by chunk in this process (``flows/chunks.py``), each chunk's rows stored as
    it goes. (On a Dask cluster the run calls ``flows.scaleout.persist_on_dask`` instead: its partitions
    are the tasks there.)"""
    from flows.chunks import persist_in_chunks
    done = persist_in_chunks(run, chunks, config, chunks.colmap, between=chunk_logger(chunks, control))
    log_chunks(chunks, done)
    return done


def chunk_logger(chunks, control=None):
    """``between(done)`` for the chunk loops: a log line per chunk and the cancellation check."""
    log = get_run_logger()

    def between(done: int) -> None:
        log.info("chunk %d stored (%s rows read so far)", done, f"{chunks.rows_read:,}")
        if control is not None:
            control.check()
    return between


def log_chunks(chunks, done) -> None:
    get_run_logger().info("%s: %d rows read, %d accepted, %d rejected, in %d chunks of at most %s rows (%s); %s",
                          chunks.path, done.rows_read, done.rows_accepted, done.rows_rejected, done.chunks,
                          f"{chunks.chunk_rows:,}", "streamed" if chunks.streamed else "read whole, then cut",
                          done.clock.describe())


@task(name="render offers", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5,
      retry_condition_fn=_retry_if_transient)
def render(accounts: pl.DataFrame, model: ModelOutput, segments: pl.DataFrame, config: Configuration, run_id: str,
           folder: Path, previous: pl.DataFrame, settings, on_progress=None) -> pl.DataFrame:
    """Render every account's PDF offer into ``folder`` (unchanged ones are linked, not rendered), in a pool
    of worker processes, and write the folder's ``manifest.csv``. A failed offer is a row, not a failure.

    ``previous``: each account's last successful offer (``Warehouse.previous_offers``), with the folder of
    the run that made it — whatever run that was (a nightly, a campaign, a custom run id). Accounts in an
    experiment get their edition (``loop.assign.plan_editions``); a control account a ``held_out`` row."""
    from loop.assign import plan_editions
    from offers import iter_plan, render_offers, write_manifest
    from offers.render import TIMEZONE

    issue_date = _dt.datetime.now(TIMEZONE).date()
    editions = plan_editions(segments, config.loop, issue_date) if config.loop is not None else None
    inputs = (accounts, model.results, model.scenarios, segments, config.segmentation.playbooks,
              config.assumptions.record(), run_id, config.segmentation.rules_version, folder)
    if settings.dask_address:
        from flows.scaleout import render_with_dask
        offers = render_with_dask(iter_plan(*inputs, previous, branding=config.branding, issue_date=issue_date,
                                            editions=editions), folder, settings.dask_address)
    else:
        offers = render_offers(*inputs, previous=previous, branding=config.branding, workers=settings.workers,
                               progress=settings.progress, on_progress=on_progress, issue_date=issue_date,
                               editions=editions)
    write_manifest(offers, accounts, segments, folder)
    counts = dict(offers.group_by("status").len().iter_rows())
    get_run_logger().info("offers in %s: %s", folder, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return offers


@task(name="lead scores", cache_policy=NO_CACHE)
def lead_scores(db: Path, config: Configuration, *, refresh_views: bool, lock_timeout_s: float) -> str:
    """After a nightly run published: the loop's views (when it made offers), a retrain when enough new
    outcomes arrived, and every account of the run scored (``loop.leads.store.after_run``)."""
    from loop.leads.store import after_run

    report = after_run(db, config.loop, config.leads, refresh_views=refresh_views, lock_timeout_s=lock_timeout_s)
    text = report.describe()
    get_run_logger().info("lead scores: %s", text)
    return text

