"""Plain frame plumbing between the pipeline's steps (no Prefect here, so benchmarks and tests use it too)."""
from __future__ import annotations

import polars as pl

from segmentation.enrich import SEGMENT_DEFAULT_COLUMNS, with_segment_columns  # noqa: F401  (moved there)


def stored_accounts(accounts: pl.DataFrame) -> pl.DataFrame:
    """The ``accounts`` table: input columns normalised plus the derived industry group and resolved
    ``high_energy``; ``high_energy_input`` keeps what the list said (NULL: not given), so a campaign
    re-running stored accounts segments them exactly as the nightly run did."""
    return accounts.drop(*SEGMENT_DEFAULT_COLUMNS)


def accounts_for_rerun(stored: pl.DataFrame) -> pl.DataFrame:
    """Stored accounts back in the validated-input shape (``intake.schema.ACCOUNT_SCHEMA``)."""
    from intake.schema import ACCOUNT_COLUMNS
    if "high_energy_input" in stored.columns:
        stored = stored.drop("high_energy").rename({"high_energy_input": "high_energy"})
    return stored.select(ACCOUNT_COLUMNS)


def stored_segments(segments: pl.DataFrame, rules_version: str) -> pl.DataFrame:
    return segments.select("account_id", "segment", "secondary_segments", "reasons").with_columns(
        pl.lit(rules_version).alias("rules_version"))


def segment_table(segments: pl.DataFrame, results: pl.DataFrame) -> list[dict]:
    """Per segment: accounts, annual kWh, today's bill and the green cost range (for the summary)."""
    joined = segments.select("account_id", "segment").join(
        results.select("account_id", "grid_kwh", "bill_yuan", "green_cost_low_yuan", "green_cost_high_yuan",
                       "co2_reduction_t"), on="account_id", how="left")
    return (joined.group_by("segment").agg(
        pl.len().alias("accounts"), pl.col("grid_kwh").sum(), pl.col("bill_yuan").sum(),
        pl.col("green_cost_low_yuan").sum(), pl.col("green_cost_high_yuan").sum(), pl.col("co2_reduction_t").sum())
        .sort("segment").to_dicts())
