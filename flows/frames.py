"""Plain frame plumbing between the pipeline's steps (no Prefect here, so benchmarks and tests use it too)."""
from __future__ import annotations

from dataclasses import dataclass

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
    return RunTotals.of(segments, results, None).segment_table()


_SUMMED = ("grid_kwh", "bill_yuan", "green_cost_low_yuan", "green_cost_high_yuan", "co2_reduction_t",
           "extra_cost_low_yuan", "extra_cost_high_yuan")
_PROSPECT_COLUMNS = ("account_id", "segment", "province", "grid_kwh", "bill_yuan", "extra_cost_low_yuan",
                     "extra_cost_high_yuan", "co2_reduction_t")
TOP_PROSPECTS = 10


@dataclass(frozen=True)
class RunTotals:
    """What a run's summary and its managers' receipt add up: sums per segment, the best prospects and the
    rejects per reason. Built from whole frames (:meth:`of`) or chunk by chunk (:meth:`plus`), with the
    same result: sums add up, and the best prospects of all chunks are among each chunk's best."""

    per_segment: pl.DataFrame       # segment, accounts, the _SUMMED columns
    prospects: pl.DataFrame         # the TOP_PROSPECTS lowest extra_cost_low_yuan (ties: account_id)
    reject_reasons: pl.DataFrame    # reason, rows

    @classmethod
    def of(cls, segments: pl.DataFrame, results: pl.DataFrame, rejects: pl.DataFrame | None) -> "RunTotals":
        cols = [c for c in ("account_id", "province", *_SUMMED) if c in results.columns]
        joined = segments.select("account_id", "segment").join(results.select(cols), on="account_id", how="left")
        joined = joined.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in _SUMMED
                                     if c not in joined.columns)
        per_segment = joined.group_by("segment").agg(pl.len().alias("accounts"), *[pl.col(c).sum() for c in _SUMMED])
        best = (joined.filter(pl.col("extra_cost_low_yuan").is_not_null())
                .sort(["extra_cost_low_yuan", "account_id"]).head(TOP_PROSPECTS)
                .select([c for c in _PROSPECT_COLUMNS if c in joined.columns]))
        if rejects is not None and rejects.height and "reason" in rejects.columns:
            reasons = rejects.group_by("reason").agg(pl.col("row_number").n_unique().cast(pl.Int64).alias("rows"))
        else:
            reasons = pl.DataFrame(schema={"reason": pl.Utf8, "rows": pl.Int64})
        return cls(per_segment.sort("segment"), best, reasons)

    def plus(self, other: "RunTotals") -> "RunTotals":
        per_segment = (pl.concat([self.per_segment, other.per_segment], how="vertical_relaxed").group_by("segment")
                       .agg(pl.col("accounts").sum(), *[pl.col(c).sum() for c in _SUMMED]).sort("segment"))
        best = (pl.concat([self.prospects, other.prospects], how="vertical_relaxed")
                .sort(["extra_cost_low_yuan", "account_id"]).head(TOP_PROSPECTS))
        reasons = (pl.concat([self.reject_reasons, other.reject_reasons]).group_by("reason")
                   .agg(pl.col("rows").sum()))
        return RunTotals(per_segment, best, reasons)

    def segment_table(self) -> list[dict]:
        return self.per_segment.select("segment", "accounts", "grid_kwh", "bill_yuan", "green_cost_low_yuan",
                                       "green_cost_high_yuan", "co2_reduction_t").to_dicts()
