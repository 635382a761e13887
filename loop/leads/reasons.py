"""Scores and their reasons: the model's (largest positive contributions whose fact holds) or the rule's.

A reason is stored as data — ``{code, value, label}``: the code (``data/loop/leads.yaml`` ``reasons``),
its figure in base units (元, kWh) or a name (edition, segment) — and turned into Chinese text only
where it is shown (``core.reasons.reason_text``, used by the call list and the dashboard): "节省 63 万元/年".

The rule (``model_version = 'rule'``, used below ``min_outcomes``): the offer's value to the customer,
``score = clip(0.5 + s / (2 × saving_share_span), 0, 1)`` with ``s = (bill − green cost low) / bill``;
its reasons are the facts that hold, in the order of :data:`RULE_ORDER`.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from loop.leads.config import LeadsConfig

RULE = "rule"

# reason group -> (the features whose contributions it sums, the fact that must hold, value, label)
GROUPS: dict[str, tuple[tuple[str, ...], pl.Expr, pl.Expr | None, pl.Expr | None]] = {
    "saving": (("saving_share", "saving_log"), pl.col("saving_yuan") > 0, pl.col("saving_yuan"), None),
    "pv_npv": (("pv_npv_log", "pv_irr", "pv_irr_undefined", "pv_breakeven_year", "pv_breakeven_undefined"),
               pl.col("pv_npv_yuan") > 0, pl.col("pv_npv_yuan"), None),
    "exporter_re100": (("is_exporter", "re100_member"), (pl.col("is_exporter") > 0) | (pl.col("re100_member") > 0),
                       None, None),
    "listed": (("is_listed",), pl.col("is_listed") > 0, None, None),
    "esg": (("has_esg_report",), pl.col("has_esg_report") > 0, None, None),
    "meeting_before": (("meetings_before",), pl.col("meetings_before") > 0, pl.col("meetings_before"), None),
    "accepted_before": (("accepted_before",), pl.col("accepted_before") > 0, pl.col("accepted_before"), None),
    "edition": (("edition",), pl.col("edition") != "standard", None, pl.col("edition")),
    "segment": (("segment", "secondary_compliance_driven", "secondary_value_oriented",
                 "secondary_responsibility_driven"), pl.lit(True), None, pl.col("segment")),
    "large_account": (("log_kwh",), pl.col("annual_kwh") > 0, pl.col("annual_kwh"), None),
}
RULE_ORDER = ("saving", "pv_npv", "exporter_re100", "accepted_before", "meeting_before", "listed", "esg")
REASON = pl.Struct({"code": pl.String, "value": pl.Float64, "label": pl.String})


def rule_scores(features: pl.DataFrame, config: LeadsConfig) -> np.ndarray:
    s = features["saving_share"].to_numpy()
    return np.clip(0.5 + s / (2 * config.saving_share_span), 0.0, 1.0)


def rule_contributions(features: pl.DataFrame) -> dict[str, np.ndarray]:
    """The rule's reasons ranked by :data:`RULE_ORDER` (a constant per group: earlier ranks higher)."""
    n = features.height
    return {g: np.full(n, float(len(RULE_ORDER) - i)) for i, g in enumerate(RULE_ORDER)}


def top_reasons(features: pl.DataFrame, contributions: dict[str, np.ndarray], k: int) -> pl.Series:
    """Per row, up to ``k`` reasons (largest positive contribution first) whose fact holds."""
    n = features.height
    names = list(GROUPS)
    facts = features.select([GROUPS[g][1].fill_null(False).alias(g) for g in names]).to_numpy()
    score = np.full((n, len(names)), -np.inf, dtype=np.float64)
    for j, g in enumerate(names):
        # the model's contributions are per feature, the rule's per group (each counted once)
        parts = [contributions[f] for f in GROUPS[g][0] if f in contributions] or \
            ([contributions[g]] if g in contributions else [])
        if parts:
            total = np.sum(parts, axis=0)
            score[:, j] = np.where(facts[:, j] & (total > 0), total, -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")[:, :k]
    valid = np.take_along_axis(score, order, axis=1) > -np.inf
    exporter = features["is_exporter"].to_numpy() > 0
    re100 = features["re100_member"].to_numpy() > 0
    values = features.select([(GROUPS[g][2] if GROUPS[g][2] is not None else pl.lit(None, pl.Float64))
                              .cast(pl.Float64).alias(g) for g in names]).to_numpy().astype(np.float64)
    rows, slots = np.nonzero(valid)
    group_idx = order[rows, slots]
    # exporter_re100 names the one that holds when only one does (an index past the groups: see CODES)
    both = group_idx == names.index("exporter_re100")
    code_idx = group_idx.copy()
    code_idx[both & exporter[rows] & ~re100[rows]] = len(names)
    code_idx[both & ~exporter[rows] & re100[rows]] = len(names) + 1
    codes = pl.Series([*names, "exporter", "re100"], dtype=pl.String).gather(pl.Series(code_idx, dtype=pl.UInt32))
    take = pl.Series(rows, dtype=pl.UInt32)
    label = pl.lit(None, pl.String)
    for g in names:
        if GROUPS[g][3] is not None:
            column = features.select(GROUPS[g][3].cast(pl.String).alias("x"))["x"].gather(take)
            label = pl.when(pl.col("_g") == names.index(g)).then(column).otherwise(label)
    long = pl.DataFrame({"_row": rows.astype(np.int64), "_slot": slots.astype(np.int64), "code": codes,
                         "_g": group_idx.astype(np.int64),
                         "value": values[rows, group_idx]}).with_columns(pl.col("value").fill_nan(None),
                                                                         label.alias("label"))
    packed = (long.sort("_row", "_slot")
              .group_by("_row", maintain_order=True)
              .agg(pl.struct("code", "value", "label").alias("reasons")))
    full = pl.DataFrame({"_row": np.arange(n, dtype=np.int64)}).join(packed, on="_row", how="left").sort("_row")
    return full["reasons"].fill_null(pl.lit([], dtype=pl.List(REASON))).cast(pl.List(REASON)).alias("reasons")
