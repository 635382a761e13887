"""The pipeline both flows share: segment → compute → persist → render → publish, inside one run.

``nightly`` and ``campaign`` differ only in where their accounts come from and how the run is named;
everything after that is :func:`process`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from prefect import get_run_logger

from flows import steps
from flows.frames import segment_table, stored_accounts, stored_segments, with_segment_columns
from flows.parameters import RunSettings
from flows.version import code_version
from warehouse import Warehouse


@dataclass
class RunSummary:
    run_id: str
    kind: str
    campaign: str | None
    db: str
    offers_folder: str | None
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    segments: list[dict] = field(default_factory=list)      # segment, accounts, kWh, green cost low/high
    offers: dict[str, int] = field(default_factory=dict)    # status -> count

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def process(accounts: pl.DataFrame, rejects: pl.DataFrame, rows_read: int, config: steps.Configuration,
            settings: RunSettings, *, kind: str, campaign: str | None, input_path: str | None,
            input_sha256: str | None, rows_accepted: int | None = None) -> RunSummary:
    """One run over the given accounts; the run is published only if every step succeeds.

    ``rows_read``/``rows_accepted`` describe the input (read = accepted + rejected); a campaign passes the
    whole file's counts while ``accounts`` holds only its selection.
    """
    rows_accepted = accounts.height if rows_accepted is None else rows_accepted
    log = get_run_logger()
    warehouse = Warehouse(settings.db, retention_days=settings.retention_days, lock_timeout_s=settings.lock_timeout_s)
    out_root = Path(settings.out)
    with warehouse.start_run(kind=kind, campaign=campaign, input_path=input_path, input_sha256=input_sha256,
                             assumptions=config.record(), rules_version=config.segmentation.rules_version,
                             code_version=code_version(), run_id=settings.run_id,
                             output_folder=out_root if settings.render_pdf else None) as run:
        log.info("run %s (%s%s) started", run.run_id, kind, f" {campaign}" if campaign else "")
        segments = steps.segment(accounts, config)
        enriched = with_segment_columns(accounts, segments)
        model = steps.compute_costs(enriched, config, run.run_id)
        run.update_counts(rows_read=rows_read, rows_accepted=rows_accepted, rows_rejected=rejects.height)
        steps.persist(run, {
            "accounts": stored_accounts(enriched),
            "rejects": rejects,
            "segments": stored_segments(segments, config.segmentation.rules_version),
            "results": model.results,
            "scenarios": model.scenarios,
        })
        offers_folder, offer_counts = None, {}
        if settings.render_pdf:
            folder = out_root / (campaign or run.run_id)
            offers = steps.render(enriched, model, segments, config, run.run_id, folder,
                                  warehouse.previous_offers(out_root), settings)
            steps.persist(run, {"offers": offers})
            offer_counts = {s: int(n) for s, n in offers.group_by("status").len().iter_rows()}
            run.update_counts(offers_rendered=offer_counts.get("rendered", 0),
                              offers_skipped=offer_counts.get("unchanged", 0),
                              offers_failed=offer_counts.get("failed", 0))
            offers_folder = str(folder)
        run_id = run.run_id
    log.info("run %s published to %s", run_id, settings.db)
    return RunSummary(run_id=run_id, kind=kind, campaign=campaign, db=str(settings.db), offers_folder=offers_folder,
                      rows_read=rows_read, rows_accepted=rows_accepted, rows_rejected=rejects.height,
                      segments=segment_table(segments, model.results), offers=offer_counts)
