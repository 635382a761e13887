"""The green-power cost model over all accounts at once: ``compute(accounts, reference, assumptions)``.

Column-wise (NumPy, in chunks to bound memory); no I/O, no Prefect. Formulas live in
:mod:`gpengine.formulas`; this module resolves each account's inputs (defaults from the assumption set
and the segment playbook), evaluates every feasible PV mode as a scenario and picks the recommended one.
Output columns are cost-model.md §5, plus a few documented extras.
"""
from __future__ import annotations

from core.vocabulary import PV_MODE_CODES

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from gpengine import formulas as f
from gpengine.assumptions import AssumptionSet
from gpengine.finance import irr_many, npv_many
from gpengine.reference import TOU_PERIODS, Reference

PV_MODES = PV_MODE_CODES          # codes 0/1/2 in the model's arrays
PROVINCE_REFERENCE_COLUMNS = ("emission_factor_t_per_mwh", "pv_full_load_hours", "coal_benchmark_yuan_per_kwh",
                              "punitive_surcharge_yuan_per_kwh")

# Segment defaults used when the accounts carry no ``default_target_share`` / ``default_market_share``
# columns (i.e. the engine is called without segmentation): the responsibility-driven playbook's
# 0.30 target and 0.00 market share (segmentation.md). The nightly flow always supplies the
# segment's own defaults from ``data/segmentation/playbooks.yaml``.
FALLBACK_TARGET_SHARE = 0.30
FALLBACK_MARKET_SHARE = 0.0

FLAG_CODES = ("pv_capped", "irr_undefined", "irr_multiple_roots", "pv_mode_infeasible", "no_emission_factor",
              "bill_estimated", "loan_outlives_pv")

SCENARIO_COLUMNS = [
    "account_id", "run_id", "pv_mode", "pv_kwh_y1", "pv_cost_y1_yuan", "remaining_green_kwh", "market_kwh",
    "gec_kwh", "gec_count", "gec_cost_yuan", "market_premium_low_yuan", "market_premium_high_yuan",
    "green_cost_low_yuan", "green_cost_high_yuan", "green_cost_wri_low_yuan", "green_cost_wri_high_yuan",
    "green_co2_t", "co2_reduction_t",
    # extras
    "green_share_achieved", "extra_cost_low_yuan", "extra_cost_high_yuan",
    "premium_per_green_kwh_low_yuan", "premium_per_green_kwh_high_yuan",
]

RESULT_COLUMNS = [
    "account_id", "run_id", "province", "customer_type", "emission_factor_t_per_mwh", "pv_full_load_hours",
    "coal_benchmark_yuan_per_kwh", "premium_low_yuan_per_kwh", "premium_high_yuan_per_kwh", "bill_yuan",
    "bill_source", "grid_kwh", "avg_price_yuan_per_kwh", "current_co2_t", "target_share", "target_kwh",
    "pv_capacity_kw", "pv_kwh_y1", "pv_capex_yuan", "pv_loan_yuan", "pv_equity_yuan", "pv_debt_service_y1_yuan",
    "pv_irr", "pv_npv_yuan", "pv_payback_years", "pv_third_party_cost_y1_yuan", "pv_mode", "remaining_green_kwh",
    "market_kwh", "gec_kwh", "gec_count", "gec_cost_yuan", "market_premium_low_yuan", "market_premium_high_yuan",
    "green_cost_low_yuan", "green_cost_high_yuan", "green_cost_wri_low_yuan", "green_cost_wri_high_yuan",
    "green_co2_t", "co2_reduction_t", "green_share_achieved", "flags",
    # extras (documented in docs/methodology.md)
    "pv_eligible", "market_share", "pv_cost_y1_yuan", "extra_cost_low_yuan", "extra_cost_high_yuan",
    "premium_per_green_kwh_low_yuan", "premium_per_green_kwh_high_yuan",
]


@dataclass(frozen=True)
class ModelOutput:
    results: pl.DataFrame     # one row per account (RESULT_COLUMNS)
    scenarios: pl.DataFrame   # one row per account and feasible PV mode (SCENARIO_COLUMNS)


def resolve_inputs(accounts: pl.DataFrame, reference: Reference, assumptions: AssumptionSet) -> pl.DataFrame:
    """Join the province reference and fill every default, giving one fully specified row per account.

    Defaults: loan terms and the third-party discount from the assumption set; ``renewable_target`` and
    ``market_share`` from the segment playbook (columns ``default_target_share``, ``default_market_share``
    and ``default_market_share_cheaper`` supplied by segmentation), else the fallback above.
    """
    v = assumptions.values
    low, high = v.premium_default_yuan_per_kwh
    by_prov = v.premium_by_province_yuan_per_kwh
    prov = reference.provinces
    index = {name: i for i, name in enumerate(prov.get_column("province"))}
    prem_low = pl.Series([by_prov.get(p, (low, high))[0] for p in prov.get_column("province")], dtype=pl.Float64)
    prem_high = pl.Series([by_prov.get(p, (low, high))[1] for p in prov.get_column("province")], dtype=pl.Float64)
    # look-ups by position (a hash map from name to row), cheaper than joins on a million rows
    df = accounts.with_columns(
        pl.col("province").replace_strict(index, default=None, return_dtype=pl.Int64).alias("_prov"),
        pl.col("customer_type").replace_strict(reference.network_adder_yuan_per_kwh, default=None,
                                               return_dtype=pl.Float64).alias("network_adder_yuan_per_kwh"),
    )
    missing = df.filter(pl.col("_prov").is_null() | pl.col("network_adder_yuan_per_kwh").is_null())
    if missing.height:
        row = missing.row(0, named=True)
        raise ValueError(f"account {row['account_id']!r}: unknown province {row['province']!r} or customer type "
                         f"{row['customer_type']!r} (validation should have rejected it)")
    df = df.with_columns(
        *[pl.lit(prov.get_column(c)).gather(pl.col("_prov")).alias(c) for c in PROVINCE_REFERENCE_COLUMNS],
        pl.lit(prem_low).gather(pl.col("_prov")).alias("premium_low_yuan_per_kwh"),
        pl.lit(prem_high).gather(pl.col("_prov")).alias("premium_high_yuan_per_kwh"),
    ).drop("_prov")
    cols = set(df.columns)
    target_default = pl.col("default_target_share") if "default_target_share" in cols else pl.lit(FALLBACK_TARGET_SHARE)
    market_default = pl.col("default_market_share") if "default_market_share" in cols else pl.lit(FALLBACK_MARKET_SHARE)
    cheaper = (pl.col("default_market_share_cheaper").fill_null(False) if "default_market_share_cheaper" in cols
               else pl.lit(False))
    gec_per_kwh = v.gec_price_yuan_per_certificate / 1000.0
    premium_low = pl.col("premium_low_yuan_per_kwh")
    cheaper_share = pl.when(premium_low < gec_per_kwh).then(1.0).otherwise(0.0)
    return df.with_columns(
        pl.col("renewable_target").fill_null(target_default).cast(pl.Float64).alias("target_share"),
        pl.col("market_share").fill_null(pl.when(cheaper).then(cheaper_share).otherwise(market_default))
        .fill_null(FALLBACK_MARKET_SHARE).cast(pl.Float64).alias("market_share"),
        pl.col("loan_ratio").fill_null(v.loan_ratio),
        pl.col("loan_rate").fill_null(v.loan_rate),
        pl.col("loan_years").fill_null(v.loan_years),
        pl.col("repayment").fill_null(v.repayment),
        pl.col("third_party_discount").fill_null(v.third_party_discount),
        pl.col("high_energy").fill_null(False),
        pl.col("roof_owned").fill_null(True),
    )


def _col(df: pl.DataFrame, name: str) -> np.ndarray:
    return df.get_column(name).to_numpy().astype(np.float64, copy=False)


def _compute_chunk(df: pl.DataFrame, reference: Reference, assumptions: AssumptionSet) -> dict[str, np.ndarray]:
    """All figures of one chunk of resolved accounts, as NumPy columns keyed by name."""
    v = assumptions.values
    L = v.pv_lifetime_years
    n = df.height
    E = _col(df, "annual_kwh")
    P0 = _col(df, "existing_pv_kwh")
    ef = df.get_column("emission_factor_t_per_mwh").fill_null(np.nan).to_numpy().astype(np.float64)
    hours = _col(df, "pv_full_load_hours")
    coal = _col(df, "coal_benchmark_yuan_per_kwh")
    pi_low, pi_high = _col(df, "premium_low_yuan_per_kwh"), _col(df, "premium_high_yuan_per_kwh")
    high_energy = df.get_column("high_energy").to_numpy().astype(bool)
    penalty = np.where(high_energy, _col(df, "punitive_surcharge_yuan_per_kwh"), 0.0)
    t = _col(df, "target_share")
    m = _col(df, "market_share")
    delta = _col(df, "third_party_discount")
    g = v.gec_price_yuan_per_certificate

    # 2.2.1 current mode
    G = f.grid_kwh(E, P0)
    tariffs = f.reference_tariffs_yuan_per_kwh(coal, _col(df, "network_adder_yuan_per_kwh"), reference.tou_multipliers)
    shares = {p: _col(df, f"share_{p}") for p in TOU_PERIODS}
    bill_in = df.get_column("annual_bill_yuan").fill_null(np.nan).to_numpy().astype(np.float64)
    bill_missing = np.isnan(bill_in)
    B = np.where(bill_missing, f.estimated_bill_yuan(G, shares, tariffs, penalty), bill_in)
    p = f.average_price_yuan_per_kwh(B, G, tariffs["flat"] + penalty)
    current_co2 = f.co2_t(ef, G)

    # 2.2.2 PV
    roof_owned = df.get_column("roof_owned").to_numpy().astype(bool)
    capacity = f.pv_capacity_kw(_col(df, "roof_area_m2"), roof_owned, v.roof_m2_per_kw)
    eligible = capacity > 0
    gen = f.pv_generation_kwh(capacity, hours, f.module_factors(v.pv_first_year_factor, v.pv_degradation_per_year, L))
    q = f.self_consumed_kwh(gen, G)
    P1 = q[0]
    capped = eligible & (gen[0] > G)
    capex = f.pv_capex_yuan(capacity, v.pv_capex_yuan_per_w)
    loan = capex * _col(df, "loan_ratio")
    equity = capex - loan
    interest_only = (df.get_column("repayment") == "interest_only").to_numpy()
    ds = f.debt_service_yuan(loan, _col(df, "loan_rate"), _col(df, "loan_years"), interest_only, L)
    rev = q * p[None, :]
    cf = f.pv_cash_flows_yuan(equity, rev, ds)
    del gen, q
    irr, changes = irr_many(cf)
    irr = np.where(eligible & (equity > 0), irr, np.nan)
    npv = np.where(eligible, npv_many(v.hurdle_rate, cf), np.nan)
    payback = np.where(eligible, f.pv_payback_years(equity, ds, rev[0]), np.nan)
    ds1 = ds[0]
    del cf, rev, ds
    self_cost = f.self_pv_cost_y1_yuan(ds1, equity, L)
    third_cost = f.third_party_pv_cost_y1_yuan(P1, p, delta)

    # recommended PV mode (cost-model.md §2)
    # modes as codes 0/1/2 = PV_MODES; -1 = not requested
    requested = (df.get_column("pv_mode").replace_strict({m: i for i, m in enumerate(PV_MODES)}, default=-1,
                                                          return_dtype=pl.Int8).to_numpy())
    infeasible = ~eligible & (requested > 0)
    recommended = np.where(~eligible, 0, np.where(requested >= 0, requested, np.where(npv >= 0, 1, 2)))

    # 2.2.3–2.2.5 per scenario
    T = t * E
    zero = np.zeros(n)
    scen = {}
    for mode, pv_kwh, pv_cost, wri_net in (
        ("none", zero, zero, zero),
        ("self", P1, self_cost, ds1 - P1 * p),    # note's 净支出: repayment − PV revenue (rev_1 = q_1 × p)
        ("third_party", P1, third_cost, third_cost),
    ):
        R = f.remaining_green_kwh(T, P0, pv_kwh)
        M = R * m
        C = R - M
        count = f.gec_count(C)
        gec_cost = count * g
        low = f.green_cost_yuan(G, pv_kwh, p, pv_cost, M, pi_low, gec_cost)
        high = f.green_cost_yuan(G, pv_kwh, p, pv_cost, M, pi_high, gec_cost)
        green_kwh = pv_kwh + M + C
        with np.errstate(divide="ignore", invalid="ignore"):
            per_kwh_low = np.where(green_kwh > 0, (low - B) / np.where(green_kwh > 0, green_kwh, 1.0), np.nan)
            per_kwh_high = np.where(green_kwh > 0, (high - B) / np.where(green_kwh > 0, green_kwh, 1.0), np.nan)
        gco2 = f.green_co2_t(ef, G, pv_kwh, M, C)
        scen[mode] = {
            "pv_kwh_y1": pv_kwh, "pv_cost_y1_yuan": pv_cost, "remaining_green_kwh": R, "market_kwh": M,
            "gec_kwh": C, "gec_count": count, "gec_cost_yuan": gec_cost,
            "market_premium_low_yuan": M * pi_low, "market_premium_high_yuan": M * pi_high,
            "green_cost_low_yuan": low, "green_cost_high_yuan": high,
            "green_cost_wri_low_yuan": f.green_cost_wri_yuan(B, t, wri_net, C, g, M, coal, pi_low),
            "green_cost_wri_high_yuan": f.green_cost_wri_yuan(B, t, wri_net, C, g, M, coal, pi_high),
            "green_co2_t": gco2, "co2_reduction_t": current_co2 - gco2,
            "green_share_achieved": (P0 + green_kwh) / E,
            "extra_cost_low_yuan": low - B, "extra_cost_high_yuan": high - B,
            "premium_per_green_kwh_low_yuan": per_kwh_low, "premium_per_green_kwh_high_yuan": per_kwh_high,
        }

    out = {
        "bill_yuan": B, "bill_missing": bill_missing, "grid_kwh": G, "avg_price_yuan_per_kwh": p,
        "current_co2_t": current_co2, "target_share": t, "target_kwh": T,
        "pv_capacity_kw": capacity, "pv_capex_yuan": capex, "pv_loan_yuan": loan, "pv_equity_yuan": equity,
        "pv_debt_service_y1_yuan": ds1, "pv_irr": irr, "pv_npv_yuan": npv, "pv_payback_years": payback,
        "pv_third_party_cost_y1_yuan": np.where(eligible, third_cost, 0.0), "pv_mode": recommended,
        "pv_eligible": eligible, "market_share": m,
        "flag_pv_capped": capped, "flag_irr_undefined": eligible & np.isnan(irr),
        "flag_irr_multiple_roots": eligible & (changes > 1), "flag_pv_mode_infeasible": infeasible,
        "flag_no_emission_factor": np.isnan(ef), "flag_bill_estimated": bill_missing,
        "flag_loan_outlives_pv": eligible & (loan > 0) & (_col(df, "loan_years") > L),
    }
    for key in scen["none"]:
        out[key] = np.where(recommended == 1, scen["self"][key],
                            np.where(recommended == 2, scen["third_party"][key], scen["none"][key]))
    for mode in PV_MODES:
        for key, col in scen[mode].items():
            out[f"scenario_{mode}_{key}"] = col
    return out


def _float_series(name: str, arr: np.ndarray) -> pl.Series:
    s = pl.Series(name, arr)
    return s.fill_nan(None) if s.dtype == pl.Float64 else s


def _chunk_frames(resolved: pl.DataFrame, cols: dict[str, np.ndarray], run_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``results`` and ``scenarios`` rows of one chunk; NaN becomes NULL here, once."""
    n = resolved.height
    # flags: a bit mask per account, turned into lists through a lookup of the few masks that occur
    mask = np.zeros(n, dtype=np.int64)
    for bit, code in enumerate(FLAG_CODES):
        mask |= cols[f"flag_{code}"].astype(np.int64) << bit
    masks = np.unique(mask)
    lookup = pl.DataFrame({"_mask": masks, "flags": [[c for b, c in enumerate(FLAG_CODES) if m >> b & 1] for m in masks]},
                          schema={"_mask": pl.Int64, "flags": pl.List(pl.Utf8)})
    flags = pl.DataFrame({"_mask": mask}).join(lookup, on="_mask", how="left", maintain_order="left").select("flags")
    mode_names = {i: m for i, m in enumerate(PV_MODES)}
    headline = [k for k in RESULT_COLUMNS if k in cols and k != "pv_mode"]
    results = pl.concat([
        resolved.select("account_id", "province", "customer_type", "emission_factor_t_per_mwh", "pv_full_load_hours",
                        "coal_benchmark_yuan_per_kwh", "premium_low_yuan_per_kwh", "premium_high_yuan_per_kwh"),
        pl.DataFrame([_float_series(k, cols[k]) for k in headline]),
        pl.DataFrame({"pv_mode": cols["pv_mode"], "_bill_missing": cols["bill_missing"]}),
        flags,
    ], how="horizontal").with_columns(
        pl.lit(run_id, pl.Utf8).alias("run_id"),
        pl.when(pl.col("_bill_missing")).then(pl.lit("estimated")).otherwise(pl.lit("input")).alias("bill_source"),
        pl.col("pv_mode").replace_strict(mode_names, return_dtype=pl.Utf8),
        pl.col("gec_count").cast(pl.Int64),
    ).select(RESULT_COLUMNS)

    # scenarios: every account's `none` row, then `self` and `third_party` rows where PV is eligible
    eligible = cols["pv_eligible"]
    blocks = []
    for mode in PV_MODES:
        rows = slice(None) if mode == "none" else eligible
        data = [_float_series(k, cols[f"scenario_{mode}_{k}"][rows]) for k in SCENARIO_COLUMNS
                if f"scenario_{mode}_{k}" in cols]
        ids = resolved.get_column("account_id") if mode == "none" else resolved.get_column("account_id").filter(eligible)
        blocks.append(pl.DataFrame([ids, *data]).with_columns(pl.lit(mode).alias("pv_mode")))
    scenarios = pl.concat(blocks).with_columns(
        pl.lit(run_id, pl.Utf8).alias("run_id"), pl.col("gec_count").cast(pl.Int64),
    ).select(SCENARIO_COLUMNS)
    return results, scenarios


def _one_chunk(accounts: pl.DataFrame, reference: Reference, assumptions: AssumptionSet,
               run_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    resolved = resolve_inputs(accounts, reference, assumptions)
    return _chunk_frames(resolved, _compute_chunk(resolved, reference, assumptions), run_id)


def compute(accounts: pl.DataFrame, reference: Reference, assumptions: AssumptionSet, *,
            run_id: str = "", chunk_size: int = 125_000, threads: int | None = None) -> ModelOutput:
    """Run the cost model over every account; returns ``results`` and ``scenarios`` frames.

    ``accounts`` follows ``intake.schema.ACCOUNT_SCHEMA`` (``high_energy`` resolved by segmentation, or
    NULL = not high-energy) and may carry the segment defaults (see :func:`resolve_inputs`). Undefined
    values (IRR without a root, CO2 without an emission factor …) are NULL, never NaN, and flagged.

    Chunks bound the memory of the (years × accounts) matrices; they run on ``threads`` threads
    (default: the machine's cores, at most 4) because NumPy and Polars release the GIL in their kernels.
    The result does not depend on the chunking.
    """
    if accounts.height == 0:
        return ModelOutput(_empty_results(), _empty_scenarios())
    chunks = [accounts.slice(start, chunk_size) for start in range(0, accounts.height, chunk_size)]
    threads = threads or min(4, os.cpu_count() or 1)
    if threads > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gpengine") as pool:
            parts = list(pool.map(lambda chunk: _one_chunk(chunk, reference, assumptions, run_id), chunks))
    else:
        parts = [_one_chunk(chunk, reference, assumptions, run_id) for chunk in chunks]
    return ModelOutput(pl.concat([r for r, _ in parts], rechunk=False), pl.concat([s for _, s in parts], rechunk=False))


def _empty_results() -> pl.DataFrame:
    schema = {c: pl.Float64 for c in RESULT_COLUMNS}
    schema.update({"account_id": pl.Utf8, "run_id": pl.Utf8, "province": pl.Utf8, "customer_type": pl.Utf8,
                   "bill_source": pl.Utf8, "pv_mode": pl.Utf8, "gec_count": pl.Int64, "flags": pl.List(pl.Utf8),
                   "pv_eligible": pl.Boolean})
    return pl.DataFrame(schema=schema)


def _empty_scenarios() -> pl.DataFrame:
    schema = {c: pl.Float64 for c in SCENARIO_COLUMNS}
    schema.update({"account_id": pl.Utf8, "run_id": pl.Utf8, "pv_mode": pl.Utf8, "gec_count": pl.Int64})
    return pl.DataFrame(schema=schema)
