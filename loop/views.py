"""The loop's views (``loop/sql/*.sql``, applied in name order) and the ``edition_stats`` table
that ``edition_results`` reads.

``create_loop_views`` is the one entry point: it needs the warehouse's own views (``latest_run``,
``latest_results``, ``segment_changes``) to exist, i.e. at least one published run.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import polars as pl

from loop.config import CONTROL, LoopConfig
from loop.stats import compare_arms
from warehouse.schema import table_columns

SQL_DIR = Path(__file__).resolve().parent / "sql"

EDITION_STATS_DDL = """CREATE TABLE IF NOT EXISTS edition_stats (
    experiment VARCHAR, segment VARCHAR, arm VARCHAR, arm_order INTEGER, reference_arm VARCHAR,
    offers BIGINT, accepted BIGINT, conversion DOUBLE, conversion_low DOUBLE, conversion_high DOUBLE,
    difference DOUBLE, difference_low DOUBLE, difference_high DOUBLE, p_value DOUBLE, significant BOOLEAN,
    winner VARCHAR, offers_needed_per_arm BIGINT, more_offers_needed BIGINT, computed_at TIMESTAMPTZ)"""

# the experiment's unit is the account: an account counts once per experiment (its arm never changes),
# as accepted when any of its offers in the experiment stands accepted
ARM_COUNTS = """
WITH per_account AS (
    SELECT o.experiment, any_value(o.segment) AS segment, o.account_id,
           CASE WHEN bool_or(o.held_out) THEN 'control' ELSE any_value(o.edition) END AS arm,
           bool_or(coalesce(c.outcome = 'accepted', false)) AS accepted
    FROM loop_offers o LEFT JOIN responses_current c ON c.offer_no = o.offer_no
    WHERE o.experiment IS NOT NULL
    GROUP BY o.experiment, o.account_id)
SELECT experiment, segment, arm, count(*) AS offers, count(*) FILTER (WHERE accepted) AS accepted
FROM per_account GROUP BY experiment, segment, arm ORDER BY experiment, segment, arm"""


def sql_files() -> list[Path]:
    return sorted(SQL_DIR.glob("*.sql"))


def create_loop_views(con: duckdb.DuckDBPyConnection, config: LoopConfig) -> None:
    """(Re)create ``loop_offers``, ``responses_current``, ``offer_funnel``, ``edition_results`` and
    ``crm_triggers`` (the loop's tables must exist: ``loop.store.ensure_loop_tables``)."""
    con.execute(EDITION_STATS_DDL)
    t = config.triggers
    values = {"expiring_within_days": int(t.expiring_within_days), "renewal_after_days": int(t.renewal_after_days),
              "premium_change_share": repr(float(t.premium_change_share))}
    for path in sql_files():
        text = path.read_text(encoding="utf-8")
        for key, value in values.items():       # numbers validated on load; never text from a user
            text = text.replace("{" + key + "}", str(value))
        if not {"green_cost_low_yuan", "bill_yuan"} <= set(table_columns(con, "results")):
            # a warehouse whose runs stored no cost model results yet: no premium trigger
            text = re.sub(r"-- premium:begin.*?-- premium:end\n", "", text, flags=re.S)
        con.execute(text)


def arm_order(config: LoopConfig | None, experiment: str, arms: list[str]) -> list[str]:
    """The file's order when the experiment is still configured; else control first, then by name."""
    exp = config.experiments.get(experiment) if config is not None else None
    known = [a for a, _ in exp.arms] if exp is not None else []
    rest = sorted(a for a in arms if a not in known)
    if CONTROL in rest:
        rest.remove(CONTROL)
        rest.insert(0, CONTROL)
    return [a for a in known if a in arms] + rest


def edition_stats_frame(counts: pl.DataFrame, config: LoopConfig | None, computed_at: dt.datetime) -> pl.DataFrame:
    """``counts`` (experiment, segment, arm, offers, accepted) -> the ``edition_stats`` rows."""
    rows = []
    for (experiment, segment), group in counts.group_by(["experiment", "segment"], maintain_order=True):
        by_arm = {r["arm"]: (int(r["offers"]), int(r["accepted"])) for r in group.iter_rows(named=True)}
        order = arm_order(config, experiment, list(by_arm))
        reference = CONTROL if CONTROL in by_arm else order[0]
        results = compare_arms([(a, *by_arm[a]) for a in order], reference)
        for i, res in enumerate(results):
            rows.append({"experiment": experiment, "segment": segment, "arm_order": i, **res.__dict__,
                         "computed_at": computed_at})
    schema = {"experiment": pl.String, "segment": pl.String, "arm": pl.String, "arm_order": pl.Int32,
              "reference_arm": pl.String, "offers": pl.Int64, "accepted": pl.Int64, "conversion": pl.Float64,
              "conversion_low": pl.Float64, "conversion_high": pl.Float64, "difference": pl.Float64,
              "difference_low": pl.Float64, "difference_high": pl.Float64, "p_value": pl.Float64,
              "significant": pl.Boolean, "winner": pl.String, "offers_needed_per_arm": pl.Int64,
              "more_offers_needed": pl.Int64, "computed_at": pl.Datetime("us", "UTC")}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def refresh_edition_stats(con: duckdb.DuckDBPyConnection, config: LoopConfig | None) -> pl.DataFrame:
    """Recompute ``edition_stats`` from the offers and the standing responses (inside the caller's
    transaction); returns the new rows."""
    counts = con.sql(ARM_COUNTS).pl()
    frame = edition_stats_frame(counts, config, dt.datetime.now(dt.timezone.utc))
    con.execute(EDITION_STATS_DDL)
    con.execute("DELETE FROM edition_stats")
    if frame.height:
        con.register("_loop_stats", frame.to_arrow())
        try:
            con.execute("INSERT INTO edition_stats BY NAME SELECT * FROM _loop_stats")
        finally:
            con.unregister("_loop_stats")
    return frame


def refresh(con: duckdb.DuckDBPyConnection, config: LoopConfig) -> None:
    """Views and statistics, in that order (the statistics read the views)."""
    create_loop_views(con, config)
    refresh_edition_stats(con, config)
