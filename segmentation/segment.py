"""Segmenting accounts: primary and secondary segment, reasons, and the playbook defaults.

Paper 2.3 divides the market into 合规驱动型, 价值导向型 and 责任驱动型 customers; 4.2 tailors
a service package to each; 3.3 makes the segmentation dynamic (re-run every night, with
changes feeding CRM triggers). segmentation.md fixes the precedence: the first matching
rule gives the primary segment, the other matching segments are secondary, every counting
condition is a reason.

Everything is column-wise over the whole frame (Polars expressions), never a Python loop
per account: a million accounts segment in about a second.
"""
from __future__ import annotations

import polars as pl

from intake.schema import ACCOUNT_SCHEMA
from segmentation.config import SegmentationConfig
from segmentation.industry import classify_industry
from segmentation.playbooks import CHEAPER_CHANNEL, MANDATED_RATIO
from segmentation.rules import INPUT_COLUMNS_OF_FIELD, SEGMENTS, compile_rule, leaf_expr, placeholders_in, text_expr

REASON_DTYPE = pl.Struct({"code": pl.Utf8, "text": pl.Utf8})

OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Utf8,
    "industry_group": pl.Utf8,
    "industry_family": pl.Utf8,
    "high_energy": pl.Boolean,
    "segment": pl.Utf8,
    "secondary_segments": pl.List(pl.Utf8),
    "reasons": pl.List(REASON_DTYPE),
    "default_target_share": pl.Float64,
    "default_market_share": pl.Float64,
    "default_market_share_cheaper": pl.Boolean,
}

# Input columns always needed: the id, and what the industry group, the resolved
# high-energy flag and the mandated-ratio lookup are computed from.
_ALWAYS_NEEDED = ("account_id", "industry", "high_energy", "province")

# Input columns are cast to their contract types (an all-empty column built from Python
# rows arrives as dtype Null).
_INPUT_DTYPES: dict[str, pl.DataType] = {name: dtype for name, (dtype, _) in ACCOUNT_SCHEMA.items()}


def _required_columns(config: SegmentationConfig) -> list[str]:
    needed = list(_ALWAYS_NEEDED)
    for f in sorted(config.rule_set.fields_used()):
        for col in INPUT_COLUMNS_OF_FIELD.get(f, (f,)):
            if col not in needed:
                needed.append(col)
    return needed


def _prepare(accounts: pl.DataFrame, config: SegmentationConfig) -> pl.DataFrame:
    """The frame rules are evaluated on: input columns plus the derived industry/high-energy fields."""
    needed = _required_columns(config)
    missing = [c for c in needed if c not in accounts.columns]
    if missing:
        raise ValueError(f"segment_accounts: the account frame lacks column(s) {', '.join(missing)} "
                         "(see intake/schema.py ACCOUNT_SCHEMA)")
    base = accounts.select([pl.col(c).cast(_INPUT_DTYPES.get(c, pl.Utf8)) for c in needed])
    industry = classify_industry(base["industry"], config.industry_groups)
    frame = base.rename({"industry": "industry_raw", "high_energy": "high_energy_input"}).with_columns(
        industry.get_columns()
    ).rename({"industry_norm": "industry"}).with_columns(
        # The input flag wins over the industry, also when it says "no" (segmentation.md rule 2).
        high_energy=pl.coalesce(
            pl.col("high_energy_input"),
            (pl.col("industry_family") == "high_energy").fill_null(False),
        ),
    ).with_columns(
        high_energy_source=pl.when(pl.col("high_energy") & (pl.col("industry_family") == "high_energy").fill_null(False))
        .then(pl.lit("industry"))
        .when(pl.col("high_energy"))
        .then(pl.lit("input"))
        .otherwise(pl.lit(None, dtype=pl.Utf8)),
    )
    return frame


def _placeholder_columns(config: SegmentationConfig) -> list[str]:
    texts = [leaf.text for r in config.rules for leaf in r.leaves()] + [config.fallback.text]
    cols: set[str] = set()
    for t in texts:
        for name in placeholders_in(t):
            cols.add("industry_raw" if name == "industry" else name)
    return sorted(cols)


def _decide(frame: pl.DataFrame, config: SegmentationConfig, leaf_cols: dict[int, str]) -> pl.DataFrame:
    """Primary segment, secondary segments and reasons from the leaf columns (and placeholders)."""
    compiled = [compile_rule(r, leaf_cols) for r in config.rules]
    frame = frame.with_columns([c.matches.alias(f"__rule{i}") for i, c in enumerate(compiled)])
    rule_cols = [pl.col(f"__rule{i}") for i in range(len(compiled))]
    any_rule = pl.any_horizontal(rule_cols)

    # Primary: the first matching rule wins, else the fallback.
    primary = pl.when(rule_cols[0]).then(pl.lit(compiled[0].rule.segment))
    for col, c in zip(rule_cols[1:], compiled[1:]):
        primary = primary.when(col).then(pl.lit(c.rule.segment))
    primary = primary.otherwise(pl.lit(config.fallback.segment))

    # Secondary: segments in order of first appearance in the rules file.
    order: list[str] = []
    for c in compiled:
        if c.rule.segment not in order:
            order.append(c.rule.segment)
    secondary_items = []
    for seg in order:
        matched = pl.any_horizontal([col for col, c in zip(rule_cols, compiled) if c.rule.segment == seg])
        secondary_items.append(pl.when(matched & (pl.col("segment") != seg)).then(pl.lit(seg)))
    secondary = pl.concat_list(secondary_items).list.drop_nulls()

    # Reasons: a leaf's reason when the leaf counts and its rule matched; first of each code.
    reason_items = []
    earlier_by_code: dict[str, list[pl.Expr]] = {}
    for col, c in zip(rule_cols, compiled):
        for cl in c.leaves:
            counts = col & cl.counts
            earlier = earlier_by_code.setdefault(cl.leaf.code, [])
            shown = counts & ~pl.any_horizontal(earlier) if earlier else counts
            earlier.append(counts)
            reason_items.append(pl.when(shown).then(
                pl.struct(code=pl.lit(cl.leaf.code), text=text_expr(cl.leaf.text))))
    fb = config.fallback
    reason_items.append(pl.when(~any_rule).then(pl.struct(code=pl.lit(fb.code), text=text_expr(fb.text))))
    reasons = pl.concat_list(reason_items).list.drop_nulls()

    return frame.with_columns(segment=primary).with_columns(
        secondary_segments=secondary.cast(pl.List(pl.Utf8)),
        reasons=reasons.cast(pl.List(REASON_DTYPE)),
    )


def segment_accounts(accounts: pl.DataFrame, config: SegmentationConfig) -> pl.DataFrame:
    """Segment every account: one row per account, in input order (columns: :data:`OUTPUT_SCHEMA`).

    - ``segment``: the first matching rule's segment, else the fallback's (paper 2.3).
    - ``secondary_segments``: every other segment with a matching rule, in the order the
      segments first appear in the rules file; the fallback is never secondary.
    - ``reasons``: one ``{code, text}`` per counting condition of every matching rule (or
      the fallback's reason), in rule order, the first of each code kept.
    - ``default_target_share`` / ``default_market_share``: the primary segment's playbook
      defaults (paper 4.2; segmentation.md table); ``default_market_share`` is NULL and
      ``default_market_share_cheaper`` true where the playbook says ``cheaper_channel``.
    """
    frame = _prepare(accounts, config)

    # Stage 1: every leaf condition once, as its own Boolean column, packed into bit masks.
    leaf_cols: dict[int, str] = {}
    leaf_exprs = []
    for rule in config.rules:
        for leaf in rule.leaves():
            name = f"__leaf{len(leaf_cols)}"
            leaf_cols[id(leaf)] = name
            leaf_exprs.append(leaf_expr(leaf).alias(name))
    names = list(leaf_cols.values())
    masks = []
    for j in range(0, len(names), 63):
        masks.append(pl.sum_horizontal(
            [pl.col(c).cast(pl.UInt64) * pl.lit(1 << b, dtype=pl.UInt64) for b, c in enumerate(names[j:j + 63])]
        ).alias(f"__mask{j // 63}"))
    frame = frame.with_columns(leaf_exprs).with_columns(masks)

    # Stage 2: the decision depends only on the leaf values and the reason placeholders, and
    # customer lists repeat a few hundred such combinations over a million accounts. Building
    # list columns is costly per row, so decide once per distinct combination and join back
    # (a hash join that keeps the accounts' order).
    keys = [f"__mask{k}" for k in range(len(masks))] + _placeholder_columns(config)
    distinct = frame.select(keys + names).unique(subset=keys)
    decided = _decide(distinct, config, leaf_cols).select(keys + ["segment", "secondary_segments", "reasons"])
    frame = frame.join(decided, on=keys, how="left", nulls_equal=True, maintain_order="left")

    # Stage 3: playbook defaults of the primary segment (segmentation.md "Playbooks").
    mandated = config.mandated_ratios.expr(pl.col("industry_group"), pl.col("province"))
    target = pl.lit(None, dtype=pl.Float64)
    market = pl.lit(None, dtype=pl.Float64)
    cheaper = pl.lit(False)
    for seg in SEGMENTS:
        book = config.playbooks[seg]
        is_seg = pl.col("segment") == seg
        t = book["default_renewable_target"]
        t_expr = (mandated.fill_null(float(book["fallback_renewable_target"])) if t == MANDATED_RATIO
                  else pl.lit(float(t)))
        target = pl.when(is_seg).then(t_expr).otherwise(target)
        m = book["default_market_share"]
        if m == CHEAPER_CHANNEL:
            market = pl.when(is_seg).then(pl.lit(None, dtype=pl.Float64)).otherwise(market)
            cheaper = pl.when(is_seg).then(pl.lit(True)).otherwise(cheaper)
        else:
            market = pl.when(is_seg).then(pl.lit(float(m))).otherwise(market)

    return frame.select(
        pl.col("account_id"),
        pl.col("industry_group"),
        pl.col("industry_family"),
        pl.col("high_energy"),
        pl.col("segment"),
        pl.col("secondary_segments"),
        pl.col("reasons"),
        target.cast(pl.Float64).alias("default_target_share"),
        market.cast(pl.Float64).alias("default_market_share"),
        cheaper.cast(pl.Boolean).alias("default_market_share_cheaper"),
    )
