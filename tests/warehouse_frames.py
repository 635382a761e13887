"""Frames with the contract's columns for the warehouse's tests and benchmark (``warehouse.synthetic`` before).

Plausible shapes and types only; the numbers are not the cost model's.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from intake.schema import ACCOUNT_SCHEMA

PROVINCES = ("江苏省", "广东省", "浙江省", "山东省", "西藏自治区")
TYPES = ("large_industrial", "general_commercial", "residential")
SEGMENTS = ("compliance_driven", "value_oriented", "responsibility_driven")
MODES = ("none", "self", "third_party")

SCENARIO_FLOATS = ("pv_kwh_y1", "pv_cost_y1_yuan", "remaining_green_kwh", "market_kwh", "gec_kwh",
                   "gec_cost_yuan", "market_premium_low_yuan", "market_premium_high_yuan", "green_cost_low_yuan",
                   "green_cost_high_yuan", "green_cost_wri_low_yuan", "green_cost_wri_high_yuan", "green_co2_t",
                   "co2_reduction_t")


def accounts(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ids = [f"A{i:07d}" for i in range(n)]
    kwh = rng.uniform(1e4, 5e7, n).round(0)
    cols = {
        "row_number": np.arange(2, n + 2, dtype=np.int64),
        "account_id": ids,
        "name": [f"客户{i}有限公司" for i in range(n)],
        "province": [PROVINCES[i % len(PROVINCES)] for i in range(n)],
        "customer_type": [TYPES[i % 3] for i in range(n)],
        "industry": ["钢铁冶炼" if i % 7 == 0 else "计算机制造" if i % 7 == 1 else None for i in range(n)],
        "annual_kwh": kwh,
        "annual_bill_yuan": np.where(np.arange(n) % 4 == 0, np.nan, kwh * 0.65),
        "existing_pv_kwh": np.zeros(n),
        "share_sharp": np.full(n, 0.1), "share_peak": np.full(n, 0.3),
        "share_flat": np.full(n, 0.4), "share_valley": np.full(n, 0.2),
        "high_energy": np.arange(n) % 7 == 0,
        "is_exporter": np.arange(n) % 4 == 0, "is_listed": np.arange(n) % 11 == 0,
        "has_esg_report": np.zeros(n, bool), "re100_member": np.zeros(n, bool),
        "buys_green_power": np.zeros(n, bool), "roof_owned": np.arange(n) % 3 != 2,
        "renewable_target": np.where(np.arange(n) % 2 == 0, np.nan, 0.5),
        "roof_area_m2": rng.uniform(0, 20000, n).round(1),
        "pv_mode": [None] * n,
        "loan_ratio": [None] * n, "loan_rate": [None] * n, "loan_years": [None] * n, "repayment": [None] * n,
        "third_party_discount": [None] * n, "market_share": [None] * n,
        "sales_rep": [f"rep{i % 13}" for i in range(n)],
    }
    df = pl.DataFrame(cols).with_columns(
        pl.col("annual_bill_yuan").fill_nan(None), pl.col("renewable_target").fill_nan(None))
    df = df.cast({k: v[0] for k, v in ACCOUNT_SCHEMA.items()})
    return df.with_columns(
        industry_group=pl.when(pl.col("industry") == "钢铁冶炼").then(pl.lit("steel"))
        .when(pl.col("industry") == "计算机制造").then(pl.lit("electronics")).otherwise(None),
        industry_family=pl.lit(None, dtype=pl.String))


def results(acc: pl.DataFrame, variant: float = 0.0) -> pl.DataFrame:
    """One row per account; ``variant`` shifts the money columns (a 'different' run)."""
    kwh = pl.col("annual_kwh")
    no_ef = pl.col("province") == "西藏自治区"
    bill = kwh * 0.65
    return acc.select(
        "account_id", "province", "customer_type",
        pl.when(no_ef).then(None).otherwise(0.5810).alias("emission_factor_t_per_mwh"),
        pl.lit(1100.0).alias("pv_full_load_hours"), pl.lit(0.391).alias("coal_benchmark_yuan_per_kwh"),
        pl.lit(0.03).alias("premium_low_yuan_per_kwh"), pl.lit(0.07).alias("premium_high_yuan_per_kwh"),
        bill.alias("bill_yuan"),
        pl.when(pl.col("annual_bill_yuan").is_null()).then(pl.lit("estimated")).otherwise(pl.lit("input")).alias("bill_source"),
        kwh.alias("grid_kwh"), pl.lit(0.65).alias("avg_price_yuan_per_kwh"),
        pl.when(no_ef).then(None).otherwise(kwh * 0.000581).alias("current_co2_t"),
        pl.lit(0.3).alias("target_share"), (kwh * 0.3).alias("target_kwh"),
        (pl.col("roof_area_m2") / 10).alias("pv_capacity_kw"),
        (pl.col("roof_area_m2") * 107.8).alias("pv_kwh_y1"),
        (pl.col("roof_area_m2") * 374.0).alias("pv_capex_yuan"), pl.lit(0.0).alias("pv_loan_yuan"),
        (pl.col("roof_area_m2") * 374.0).alias("pv_equity_yuan"), pl.lit(0.0).alias("pv_debt_service_y1_yuan"),
        pl.when(pl.col("roof_owned")).then(0.08 + variant).otherwise(None).alias("pv_irr"),
        pl.when(pl.col("roof_owned")).then(pl.col("roof_area_m2") * 12.0 - 5e4).otherwise(None).alias("pv_npv_yuan"),
        pl.when(pl.col("roof_owned")).then(7.5).otherwise(None).alias("pv_payback_years"),
        (pl.col("roof_area_m2") * 59.6).alias("pv_third_party_cost_y1_yuan"),
        pl.when(pl.col("roof_owned")).then(pl.lit("self")).otherwise(pl.lit("none")).alias("pv_mode"),
        (kwh * 0.2).alias("remaining_green_kwh"), (kwh * 0.1).alias("market_kwh"), (kwh * 0.1).alias("gec_kwh"),
        (kwh * 0.1 / 1000).ceil().cast(pl.Int64).alias("gec_count"),
        ((kwh * 0.1 / 1000).ceil() * 50).alias("gec_cost_yuan"),
        (kwh * 0.003).alias("market_premium_low_yuan"), (kwh * 0.007).alias("market_premium_high_yuan"),
        (bill * (1.01 + variant) - pl.col("roof_area_m2") * 30).alias("green_cost_low_yuan"),
        (bill * (1.03 + variant) - pl.col("roof_area_m2") * 30).alias("green_cost_high_yuan"),
        (bill * 1.02).alias("green_cost_wri_low_yuan"), (bill * 1.04).alias("green_cost_wri_high_yuan"),
        pl.when(no_ef).then(None).otherwise(kwh * 0.000581 * 0.7).alias("green_co2_t"),
        pl.when(no_ef).then(None).otherwise(kwh * 0.000581 * 0.3).alias("co2_reduction_t"),
        pl.lit(0.3).alias("green_share_achieved"),
        pl.when(no_ef).then(pl.lit(["no_emission_factor"])).otherwise(pl.lit([], dtype=pl.List(pl.String))).alias("flags"),
    )


def scenarios(res: pl.DataFrame) -> pl.DataFrame:
    """Three PV modes for accounts that can have PV, ``none`` only for the others."""
    base = res.select("account_id", "pv_mode", *[c for c in SCENARIO_FLOATS if c in res.columns and c != "pv_cost_y1_yuan"],
                      "gec_count", pl.col("pv_third_party_cost_y1_yuan").alias("pv_cost_y1_yuan"))
    eligible = base.filter(pl.col("pv_mode") != "none")
    parts = [base.with_columns(pv_mode=pl.lit("none"), pv_kwh_y1=pl.lit(0.0), pv_cost_y1_yuan=pl.lit(0.0)),
             eligible.with_columns(pv_mode=pl.lit("self")),
             eligible.with_columns(pv_mode=pl.lit("third_party"), green_cost_low_yuan=pl.col("green_cost_low_yuan") * 1.01)]
    return pl.concat(parts).sort("account_id", "pv_mode")


def segments(acc: pl.DataFrame, rules_version: str = "rules-test-1", shift: int = 0) -> pl.DataFrame:
    idx = pl.int_range(0, pl.len())
    seg = pl.when(pl.col("customer_type") == "residential").then(pl.lit(SEGMENTS[2])) \
        .when(pl.col("high_energy")).then(pl.lit(SEGMENTS[0])) \
        .when(pl.col("is_exporter") | pl.col("is_listed")).then(pl.lit(SEGMENTS[1])) \
        .otherwise(pl.lit(SEGMENTS[2]))
    if shift:  # every shift-th account moves to the next segment (a 'changed' run)
        seg = pl.when(idx % shift == 0).then(pl.lit(SEGMENTS[1])).otherwise(seg)
    return acc.select(
        "account_id", seg.alias("segment"),
        pl.when(pl.col("high_energy") & pl.col("is_exporter")).then(pl.lit([SEGMENTS[1]]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))).alias("secondary_segments"),
        pl.lit([{"code": "type", "text": "按客户类型"}],
               dtype=pl.List(pl.Struct({"code": pl.String, "text": pl.String}))).alias("reasons"),
        pl.lit(rules_version).alias("rules_version"))


def offers(acc: pl.DataFrame, status: str = "rendered") -> pl.DataFrame:
    return acc.select(
        "account_id", (pl.col("account_id") + ".pdf").alias("path"),
        (pl.lit("sha-") + pl.col("account_id")).alias("sha256"), pl.lit(120_000, dtype=pl.Int64).alias("bytes"),
        pl.lit(2, dtype=pl.Int64).alias("pages"), (pl.lit("c-") + pl.col("account_id")).alias("content_hash"),
        pl.lit(status).alias("status"), pl.lit(None, dtype=pl.String).alias("error"))


def rejects(n: int) -> pl.DataFrame:
    reasons = ("annual_kwh must be > 0", "unknown province", "duplicate account_id")
    return pl.DataFrame({
        "row_number": list(range(10_000, 10_000 + n)),
        "account_id": [f"R{i}" for i in range(n)],
        "column": ["annual_kwh", "province", "account_id"] * (n // 3) + ["annual_kwh"] * (n % 3),
        "value": ["-5", "火星", "R1"] * (n // 3) + ["-5"] * (n % 3),
        "reason": [reasons[i % 3] for i in range(n)],
    }, schema={"row_number": pl.Int64, "account_id": pl.String, "column": pl.String, "value": pl.String,
               "reason": pl.String})


def run_frames(n: int, *, seed: int = 0, variant: float = 0.0, shift: int = 0, n_rejects: int = 3) -> dict[str, pl.DataFrame]:
    """All frames of one run, in the order a pipeline writes them."""
    acc = accounts(n, seed)
    res = results(acc, variant)
    return {"accounts": acc, "rejects": rejects(n_rejects), "results": res, "scenarios": scenarios(res),
            "segments": segments(acc, shift=shift), "offers": offers(acc)}
