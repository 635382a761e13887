"""The pipeline both flows share: segment → compute → persist → render → publish, inside one run.

``nightly`` and ``campaign`` differ only in where their accounts come from and how the run is named;
everything after that is :func:`process`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from prefect import get_run_logger

from flows import diskspace, steps
from flows.housekeeping import remove_pruned_folders
from flows.frames import RunTotals, stored_accounts, stored_segments, with_segment_columns
from flows.parameters import RunSettings
from flows.runcontrol import RunControl
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
    funnel: list[dict] = field(default_factory=list)        # offer_funnel: all, by segment and edition

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def process(accounts: pl.DataFrame, rejects: pl.DataFrame, rows_read: int, config: steps.Configuration,
            settings: RunSettings, *, kind: str, campaign: str | None, input_path: str | None,
            input_sha256: str | None, rows_accepted: int | None = None,
            input_files: dict[str, str] | None = None) -> RunSummary:
    """One run over the given accounts; the run is published only if every step succeeds.

    ``rows_read``/``rows_accepted`` describe the input (read = accepted + rejected); a campaign passes the
    whole file's counts while ``accounts`` holds only its selection. ``input_sha256``: the hash of the
    bytes the accounts were read from; ``input_files``: the data files that reading used (recorded).
    """
    rows_accepted = accounts.height if rows_accepted is None else rows_accepted
    log = get_run_logger()
    warehouse = Warehouse(settings.db, retention_days=settings.retention_days, lock_timeout_s=settings.lock_timeout_s,
                          keep_runs=settings.keep_runs, generations=settings.generations)
    out_root = Path(settings.out)
    control = RunControl.for_current_run(log)
    control.check(force=True)
    diskspace.refuse_if_no_room(warehouse, settings, accounts, config, out_root, code_version())
    with warehouse.start_run(kind=kind, campaign=campaign, input_path=input_path, input_sha256=input_sha256,
                             assumptions=config.record(input_files), rules_version=config.segmentation.rules_version,
                             code_version=code_version(), run_id=settings.run_id,
                             output_folder=out_root if settings.render_pdf else None) as run, \
            control.guard(run) as output, \
            diskspace.stop_on_disk_full(run, settings.db, out_root / (campaign or run.run_id) if settings.render_pdf
                                        else None):
        log.info("run %s (%s%s) started", run.run_id, kind, f" {campaign}" if campaign else "")
        segments = steps.segment(accounts, config)
        enriched = with_segment_columns(accounts, segments)
        model = steps.compute_costs(enriched, config, run.run_id)
        run.update_counts(rows_read=rows_read, rows_accepted=rows_accepted, rows_rejected=rejects.height)
        control.check(force=True)
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
            run.set_output_folder(folder)      # where later runs find these files (previous_offers)
            output.writing_to(folder)          # a cancelled run takes back what it wrote there
            control.check(force=True)
            offers = steps.render(enriched, model, segments, config, run.run_id, folder,
                                  warehouse.previous_offers(out_root), settings,
                                  on_progress=control.progress("rendering offers", enriched.height))
            steps.persist(run, {"offers": offers})
            offer_counts = {s: int(n) for s, n in offers.group_by("status").len().iter_rows()}
            run.update_counts(offers_rendered=offer_counts.get("rendered", 0),
                              offers_skipped=offer_counts.get("unchanged", 0),
                              offers_failed=offer_counts.get("failed", 0))
            offers_folder = str(folder)
        control.check(force=True)
        run_id = run.run_id
    log.info("run %s published to %s", run_id, settings.db)
    remove_pruned_folders(run.pruned, out_root, warehouse)
    funnel = _loop_after_run(settings, config, kind)
    totals = RunTotals.of(segments, model.results, rejects)
    summary = RunSummary(run_id=run_id, kind=kind, campaign=campaign, db=str(settings.db), offers_folder=offers_folder,
                      rows_read=rows_read, rows_accepted=rows_accepted, rows_rejected=rejects.height,
                      segments=totals.segment_table(), offers=offer_counts, funnel=funnel)
    publish_summary_artifact(summary, manager_receipt(summary, totals, config))
    return summary


# Bytes per row assumed when sizing a streamed list's staging file before reading it: below any real
# export's (the synthetic lists have ≈ 195), so the number of accounts is overestimated, never under.
_BYTES_PER_ROW_AT_LEAST = 100


def process_stream(customers: Path, sheet: str | None, config: steps.Configuration, settings: RunSettings, *,
                   kind: str) -> RunSummary:
    """A run without PDFs over a customer list read, validated, segmented, computed and stored in chunks
    (``flows/chunks.py``), so that memory does not grow with the list; published whole as :func:`process`.

    The tables stored are those :func:`process` stores for the same list. The input's SHA-256 is recorded
    once the last chunk has been read; the disk check before the run sizes the staging file from the
    file's size (``_BYTES_PER_ROW_AT_LEAST``), as the accounts are not counted before they are read.
    """
    from intake.columns import load_column_map
    from intake.stream import read_in_chunks

    log = get_run_logger()
    colmap = load_column_map()
    chunks = read_in_chunks(customers, sheet, chunk_rows=settings.chunk_rows, colmap=colmap).open()  # unreadable: no run
    warehouse = Warehouse(settings.db, retention_days=settings.retention_days, lock_timeout_s=settings.lock_timeout_s,
                          keep_runs=settings.keep_runs, generations=settings.generations)
    control = RunControl.for_current_run(log)
    control.check(force=True)
    diskspace.refuse_if_no_room(warehouse, settings, max(1, Path(customers).stat().st_size // _BYTES_PER_ROW_AT_LEAST),
                                config, Path(settings.out), code_version())
    input_files = {"input/columns.yaml": colmap.sha256} if colmap.sha256 else {}
    with warehouse.start_run(kind=kind, campaign=None, input_path=str(customers), input_sha256=None,
                             assumptions=config.record(input_files), rules_version=config.segmentation.rules_version,
                             code_version=code_version(), run_id=settings.run_id, output_folder=None) as run, \
            control.guard(run), diskspace.stop_on_disk_full(run, settings.db, None):
        log.info("run %s (%s, in chunks of %s rows) started", run.run_id, kind, f"{settings.chunk_rows:,}")
        if settings.dask_address:     # partition by partition on the cluster (its tasks are the partitions)
            from flows.scaleout import persist_on_dask
            done = persist_on_dask(run, chunks, config, settings.dask_address,
                                   between=steps.chunk_logger(chunks, control))
            steps.log_chunks(chunks, done)
        else:
            done = steps.persist_chunks(run, chunks, config, control)
        run.update_counts(rows_read=done.rows_read, rows_accepted=done.rows_accepted,
                          rows_rejected=done.rows_rejected)
        run.set_input_sha256(chunks.sha256)
        control.check(force=True)
        run_id = run.run_id
    log.info("run %s published to %s", run_id, settings.db)
    remove_pruned_folders(run.pruned, Path(settings.out), warehouse)
    totals = done.run_totals()
    summary = RunSummary(run_id=run_id, kind=kind, campaign=None, db=str(settings.db), offers_folder=None,
                         rows_read=done.rows_read, rows_accepted=done.rows_accepted, rows_rejected=done.rows_rejected,
                         segments=totals.segment_table())
    publish_summary_artifact(summary, manager_receipt(summary, totals, config))
    return summary


def _loop_after_run(settings: RunSettings, config: steps.Configuration, kind: str) -> list[dict]:
    """The loop's views and A/B statistics over the new offers (loop.md) and, after a nightly run, the
    lead scores of its accounts (one more publish for both); the funnel to show.

    Only after a run that made offers: a lead score is the chance that an account takes its offer, and a
    run without PDFs (``--no-pdf``, streamed in chunks) stays one publish — ``gp leads train`` scores the
    latest nightly run on demand."""
    from flows.responses import funnel_rows
    from loop.store import refresh_after_run
    if config.loop is None or not settings.render_pdf:
        return []
    timeout = max(settings.lock_timeout_s, 60)
    try:
        if kind != "campaign" and config.leads is not None:
            steps.lead_scores(settings.db, config, refresh_views=True, lock_timeout_s=timeout)
        else:
            refresh_after_run(settings.db, config.loop, lock_timeout_s=timeout)
    except Exception as exc:  # noqa: BLE001 - the run is published; the next run or import refreshes the loop
        get_run_logger().warning("the loop's views, A/B statistics or lead scores were not refreshed: %s", exc)
    return funnel_rows(settings.db)


def manager_receipt(summary: RunSummary, totals: RunTotals, config: steps.Configuration) -> str | None:
    """The run summary artifact in a manager's terms (``flows/receipt.py``); None if it cannot be built."""
    from flows.receipt import facts_from_totals, receipt_markdown
    from warehouse import run_query
    try:
        changes = run_query(Path(summary.db), "SELECT previous_segment, segment FROM segment_changes") \
            if summary.kind == "nightly" else None
        facts = facts_from_totals(totals, config.segmentation.playbooks, changes)
        markdown = receipt_markdown(summary, facts)
    except Exception as exc:  # noqa: BLE001 - the run is published; a missing receipt must not fail it
        get_run_logger().warning("run summary for managers not built: %s", exc)
        return None
    if summary.funnel:
        from flows.responses import funnel_markdown
        markdown += ("\n\n### 报价转化漏斗（历次已发报价，按发送时的细分与版本）\n\n" + funnel_markdown(summary.funnel))
    return markdown


def summary_markdown(summary: RunSummary) -> str:
    """The run summary as Markdown: counts, the segment table and where the offers are."""
    lines = [f"## {summary.kind} run `{summary.run_id}`" + (f" — campaign **{summary.campaign}**" if summary.campaign else ""),
             "", f"- rows read {summary.rows_read:,}: accepted {summary.rows_accepted:,}, "
                 f"rejected {summary.rows_rejected:,}",
             f"- database: `{summary.db}`"]
    if summary.offers_folder:
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.offers.items())) or "none"
        lines.append(f"- offers: {counts} in `{summary.offers_folder}` (manifest.csv lists them)")
    lines += ["", "| segment | accounts | grid kWh | bill 元 | green cost low 元 | green cost high 元 | CO2 avoided t |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for row in summary.segments:
        lines.append(f"| {row['segment']} | {row['accounts']:,} | {row['grid_kwh']:,.0f} | {row['bill_yuan']:,.0f} | "
                     f"{row['green_cost_low_yuan']:,.0f} | {row['green_cost_high_yuan']:,.0f} | "
                     f"{(row['co2_reduction_t'] or 0):,.1f} |")
    if summary.funnel:
        from flows.responses import funnel_markdown
        lines += ["", "### Offer funnel (all offers sent so far, by the segment and edition they were sent in)", "",
                  funnel_markdown(summary.funnel)]
    return "\n".join(lines)


def publish_summary_artifact(summary: RunSummary, markdown: str | None = None) -> None:
    """The summary as a Prefect artifact on the flow run (shown in the UI)."""
    from prefect.artifacts import create_markdown_artifact
    key = "campaign-" + summary.campaign if summary.campaign else "nightly-summary"
    create_markdown_artifact(markdown=markdown or summary_markdown(summary), key=_artifact_key(key),
                             description=f"greenpower run {summary.run_id}")


def _artifact_key(text: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    import re
    key = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return key or "run-summary"
