"""A plain per-account implementation of cost-model.md: Python loops, numpy-financial per account.

Written straight from the spec's text, independently of ``gpengine``. Two uses: the oracle the
property tests compare the vectorised engine with (its home is ``tests/``), and the naive baseline
``gp bench`` measures (the way a spreadsheet-minded implementation would compute a million accounts).
"""
from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf

from gpengine.assumptions import AssumptionSet
from gpengine.reference import Reference

# The responsibility-driven playbook defaults, used when an account has no target / market share
# (the engine's fallback when no segment defaults are given).
DEFAULT_TARGET = 0.30
DEFAULT_MARKET_SHARE = 0.0


def plain(acc: dict, a: AssumptionSet, ref: Reference) -> tuple[dict, dict, set]:
    """cost-model.md, one account at a time, written straight from the spec's text."""
    v = a.values
    prov = next(r for r in ref.provinces.iter_rows(named=True) if r["province"] == acc["province"])
    ef = prov["emission_factor_t_per_mwh"]
    low, high = v.premium_by_province_yuan_per_kwh.get(acc["province"], v.premium_default_yuan_per_kwh)
    E, P0 = acc["annual_kwh"], acc["existing_pv_kwh"]
    G = E - P0
    flat = prov["coal_benchmark_yuan_per_kwh"] + ref.network_adder_yuan_per_kwh[acc["customer_type"]]
    pen = prov["punitive_surcharge_yuan_per_kwh"] if acc["high_energy"] else 0.0
    B = acc["annual_bill_yuan"]
    bill_estimated = B is None
    if B is None:
        B = G * sum(acc[f"share_{k}"] * (flat * ref.tou_multipliers[k] + pen) for k in ("sharp", "peak", "flat", "valley"))
    p = B / G if G > 0 else flat + pen
    t = acc["renewable_target"] if acc["renewable_target"] is not None else DEFAULT_TARGET
    m = acc["market_share"] if acc["market_share"] is not None else DEFAULT_MARKET_SHARE
    lam = acc["loan_ratio"] if acc["loan_ratio"] is not None else v.loan_ratio
    r = acc["loan_rate"] if acc["loan_rate"] is not None else v.loan_rate
    N = acc["loan_years"] if acc["loan_years"] is not None else v.loan_years
    rep = acc["repayment"] or v.repayment
    delta = acc["third_party_discount"] if acc["third_party_discount"] is not None else v.third_party_discount
    L = v.pv_lifetime_years
    eligible = acc["roof_owned"] and acc["roof_area_m2"] > 0
    cap = acc["roof_area_m2"] / v.roof_m2_per_kw if eligible else 0.0
    q = [min(cap * prov["pv_full_load_hours"] * (v.pv_first_year_factor - v.pv_degradation_per_year * (k - 1)), G)
         for k in range(1, L + 1)]
    P1 = q[0]
    capex = cap * 1000 * v.pv_capex_yuan_per_w
    loan = capex * lam
    equity = capex - loan
    ds = []
    # a loan longer than the lifetime is repaid in full: its years after L have no revenue
    years = max(L, N) if loan > 0 else L
    for k in range(1, years + 1):
        if rep == "annuity":
            pay = npf.pmt(r / 12, 12 * N, -loan) if 1 + r / 12 != 1 else loan / (12 * N)
            ds.append(12 * pay if k <= N else 0.0)
        else:
            ds.append((loan * r if k <= N else 0.0) + (loan if k == N else 0.0))
    rev = [qk * p for qk in q] + [0.0] * (years - L)
    cf = [-equity] + [rev[k] - ds[k] for k in range(years)]
    irr = _irr(cf) if eligible and equity > 0 else float("nan")
    npv = npf.npv(v.hurdle_rate, cf) if eligible else float("nan")
    payback = (equity + sum(ds)) / rev[0] if eligible and rev[0] > 0 else float("nan")
    payback = payback if math.isfinite(payback) else float("nan")
    costs = {"none": (0.0, 0.0, 0.0), "self": (P1, ds[0] + equity / L, ds[0] - rev[0]),
             "third_party": (P1, P1 * p * delta, P1 * p * delta)}
    if not eligible:
        mode = "none"
    elif acc["pv_mode"]:
        mode = acc["pv_mode"]
    else:
        mode = "self" if npv >= 0 else "third_party"
    scen = {}
    for name, (pv, pv_cost, wri_net) in costs.items():
        if name != "none" and not eligible:
            continue
        R = max(0.0, t * E - P0 - pv)
        M = R * m
        C = R - M
        count = max(0, math.ceil(C / 1000 - 1e-9))
        gec = count * v.gec_price_yuan_per_certificate
        gco2 = ef * max(0.0, G - pv - M - C) / 1000 if ef is not None else None
        scen[name] = dict(
            pv_kwh_y1=pv, pv_cost_y1_yuan=pv_cost, remaining_green_kwh=R, market_kwh=M, gec_kwh=C, gec_count=count,
            gec_cost_yuan=gec, market_premium_low_yuan=M * low, market_premium_high_yuan=M * high,
            green_cost_low_yuan=(G - pv) * p + pv_cost + M * low + gec,
            green_cost_high_yuan=(G - pv) * p + pv_cost + M * high + gec,
            green_cost_wri_low_yuan=B * (1 - t) + wri_net + C / 1000 * v.gec_price_yuan_per_certificate
            + M * (prov["coal_benchmark_yuan_per_kwh"] + low),
            green_cost_wri_high_yuan=B * (1 - t) + wri_net + C / 1000 * v.gec_price_yuan_per_certificate
            + M * (prov["coal_benchmark_yuan_per_kwh"] + high),
            green_co2_t=gco2, co2_reduction_t=(ef * G / 1000 - gco2) if ef is not None else None,
            green_share_achieved=(P0 + pv + M + C) / E,
        )
    res = dict(scen[mode], bill_yuan=B, grid_kwh=G, avg_price_yuan_per_kwh=p, target_kwh=t * E,
               current_co2_t=ef * G / 1000 if ef is not None else None, pv_mode=mode,
               pv_capacity_kw=cap, pv_capex_yuan=capex if eligible else 0.0, pv_loan_yuan=loan if eligible else 0.0,
               pv_equity_yuan=equity if eligible else 0.0, pv_debt_service_y1_yuan=ds[0] if eligible else 0.0,
               pv_irr=None if math.isnan(irr) else irr, pv_npv_yuan=None if math.isnan(npv) else npv,
               pv_payback_years=None if math.isnan(payback) else payback,
               pv_third_party_cost_y1_yuan=P1 * p * delta if eligible else 0.0)
    flags = {"pv_capped": eligible and cap * prov["pv_full_load_hours"] * v.pv_first_year_factor > G,
             "irr_undefined": eligible and math.isnan(irr),
             "irr_multiple_roots": eligible and _sign_changes(cf) > 1,
             "pv_mode_infeasible": (not eligible) and acc["pv_mode"] in ("self", "third_party"),
             "no_emission_factor": ef is None, "bill_estimated": bill_estimated,
             "loan_outlives_pv": eligible and loan > 0 and N > L}
    return res, scen, {k for k, on in flags.items() if on}


def _irr(cf) -> float:
    """numpy_financial.irr; NaN where it cannot even build its polynomial (denormal cash flows)."""
    try:
        return npf.irr(cf)
    except np.linalg.LinAlgError:
        return float("nan")


def _sign_changes(cf):
    signs = [math.copysign(1, x) for x in cf if x != 0]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)
