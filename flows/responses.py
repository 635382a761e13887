"""The ``responses`` flow: import a CRM export of offer outcomes (loop.md "Responses from the field"),
and the loop's part of a run (views and A/B statistics refreshed, the funnel in the run summary).

Serve it on a schedule after the CRM export lands, like the nightly flow (``responses.serve(...)``),
or run it once with ``gp responses import FILE``.
"""
from __future__ import annotations

import flows.environment  # noqa: F401  (Prefect settings before Prefect loads)

from pathlib import Path

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.parameters import default_db

FUNNEL_SQL = ("SELECT dimension, value, sent, responded, meeting, accepted, conversion, conversion_low, "
              "conversion_high FROM offer_funnel WHERE dimension IN ('all', 'segment', 'edition')")
RESULTS_SQL = ("SELECT experiment, segment, arm, reference_arm, offers, accepted, conversion, difference, "
               "difference_low, difference_high, p_value, winner, more_offers_needed FROM edition_results")


class ResponsesParameters(BaseModel):
    file: Path = Field(description="CRM export: CSV (UTF-8/GBK), .xlsx or Parquet; Chinese or English headers")
    db: Path = Field(default_factory=default_db, description="DuckDB warehouse file (published copy)")
    lock_timeout_s: float = Field(default=600, ge=0, description="Wait this long for a run to finish")


def import_file(file: Path, db: Path, lock_timeout_s: float = 600) -> dict:
    """Import one file (plain function: the flow and the command line both call it)."""
    from loop.responses import import_responses
    return import_responses(db, file, lock_timeout_s=lock_timeout_s).as_dict()


def funnel_rows(db: Path) -> list[dict]:
    """The funnel overall, by segment and by edition (empty before the loop's views exist)."""
    from warehouse import run_query
    from warehouse.errors import QueryError
    try:
        return run_query(db, FUNNEL_SQL).to_dicts()
    except QueryError:
        return []


def edition_rows(db: Path) -> list[dict]:
    from warehouse import run_query
    from warehouse.errors import QueryError
    try:
        return run_query(db, RESULTS_SQL).to_dicts()
    except QueryError:
        return []


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def funnel_markdown(rows: list[dict]) -> str:
    """The funnel as a Markdown table (run summary artifact)."""
    if not rows:
        return "_no offers with numbers yet_"
    lines = ["| by | value | sent | responded | meeting | accepted | conversion (95 % CI) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['dimension']} | {r['value']} | {r['sent']:,} | {r['responded']:,} | {r['meeting']:,} | "
                     f"{r['accepted']:,} | {_pct(r['conversion'])} ({_pct(r['conversion_low'])}–"
                     f"{_pct(r['conversion_high'])}) |")
    return "\n".join(lines)


@flow(name="responses", description="Import a CRM export of offer outcomes into the warehouse.")
def responses(params: ResponsesParameters) -> dict:
    from prefect.artifacts import create_markdown_artifact

    result = import_file(params.file, params.db, params.lock_timeout_s)
    log = get_run_logger()
    if result["already_imported"]:
        log.info("%s was already imported (%s); nothing added", params.file, result["already_imported"])
    else:
        log.info("%s: %d rows read, %d stored, %d duplicates, %d rejected", params.file, result["rows_read"],
                 result["accepted"], result["duplicates"], result["rejected"])
    create_markdown_artifact(
        key="responses-import", description=f"responses import {result['import_id'] or '(nothing new)'}",
        markdown=(f"## responses from `{params.file.name}`\n\n- rows read {result['rows_read']:,}: stored "
                  f"{result['accepted']:,}, duplicates {result['duplicates']:,}, rejected {result['rejected']:,}\n\n"
                  + funnel_markdown(funnel_rows(params.db))))
    return result
