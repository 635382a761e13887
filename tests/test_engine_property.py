"""The vectorised engine against a plain per-account implementation of cost-model.md (a different
code path: Python loops, numpy_financial per account), over thousands of generated accounts."""
from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from account_rows import accounts_frame
from gpengine.assumptions import load_assumptions
from gpengine.model import compute
from gpengine.reference import load_reference

REF = load_reference()
PROV = {r["province"]: r for r in REF.provinces.to_dicts()}
SETS = {name: load_assumptions(name) for name in ("wri-2023", "cn-2025")}


def plain(acc: dict, a) -> dict:
    """cost-model.md, one account at a time, written straight from the spec's text."""
    v = a.values
    prov = PROV[acc["province"]]
    ef = prov["emission_factor_t_per_mwh"]
    low, high = v.premium_by_province_yuan_per_kwh.get(acc["province"], v.premium_default_yuan_per_kwh)
    E, P0 = acc["annual_kwh"], acc["existing_pv_kwh"]
    G = E - P0
    flat = prov["coal_benchmark_yuan_per_kwh"] + REF.network_adder_yuan_per_kwh[acc["customer_type"]]
    pen = prov["punitive_surcharge_yuan_per_kwh"] if acc["high_energy"] else 0.0
    B = acc["annual_bill_yuan"]
    if B is None:
        B = G * sum(acc[f"share_{k}"] * (flat * REF.tou_multipliers[k] + pen) for k in ("sharp", "peak", "flat", "valley"))
    p = B / G if G > 0 else flat + pen
    t = acc["renewable_target"] if acc["renewable_target"] is not None else 0.30
    m = acc["market_share"] if acc["market_share"] is not None else 0.0
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
    for k in range(1, L + 1):
        if rep == "annuity":
            pay = npf.pmt(r / 12, 12 * N, -loan) if 1 + r / 12 != 1 else loan / (12 * N)
            ds.append(12 * pay if k <= N else 0.0)
        else:
            ds.append((loan * r if k <= N else 0.0) + (loan if k == N else 0.0))
    rev = [qk * p for qk in q]
    cf = [-equity] + [rev[k] - ds[k] for k in range(L)]
    irr = npf.irr(cf) if eligible and equity > 0 else float("nan")
    npv = npf.npv(v.hurdle_rate, cf) if eligible else float("nan")
    payback = (equity + sum(ds)) / rev[0] if eligible and rev[0] > 0 else float("nan")
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
             "no_emission_factor": ef is None}
    return res, scen, {k for k, on in flags.items() if on}


def _sign_changes(cf):
    signs = [math.copysign(1, x) for x in cf if x != 0]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)


def close(a, b, key):
    if a is None or b is None:
        return a is None and b is None
    if key == "pv_irr":
        return abs(a - b) <= 1e-6
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


provinces = st.sampled_from(sorted(PROV))
fraction = st.floats(0, 1)
money_kwh = st.floats(1, 1e9)


@st.composite
def account(draw):
    E = draw(st.one_of(st.floats(1e-3, 10), money_kwh, st.just(1e11)))
    p0_kind = draw(st.sampled_from(["zero", "part", "all"]))
    P0 = {"zero": 0.0, "part": E * draw(fraction), "all": E}[p0_kind]
    shares = draw(st.one_of(st.just((0.0, 0.0, 1.0, 0.0)), st.tuples(fraction, fraction, fraction, fraction)
                            .filter(lambda s: sum(s) > 0.1).map(lambda s: tuple(x / sum(s) for x in s))))
    return dict(
        province=draw(provinces),
        customer_type=draw(st.sampled_from(["large_industrial", "general_commercial", "residential"])),
        annual_kwh=E, existing_pv_kwh=P0,
        annual_bill_yuan=draw(st.one_of(st.none(), st.floats(0, 2).map(lambda x: x * (E - P0)))),
        share_sharp=shares[0], share_peak=shares[1], share_flat=shares[2], share_valley=shares[3],
        high_energy=draw(st.booleans()), roof_owned=draw(st.booleans()),
        roof_area_m2=draw(st.one_of(st.just(0.0), st.floats(1, 2e5))),
        renewable_target=draw(st.one_of(st.none(), fraction, st.just(1.0))),
        market_share=draw(st.one_of(st.none(), fraction, st.just(1.0))),
        pv_mode=draw(st.sampled_from([None, None, "self", "third_party", "none"])),
        loan_ratio=draw(st.one_of(st.none(), fraction, st.just(1.0))),
        loan_rate=draw(st.one_of(st.none(), st.just(0.0), st.floats(0, 0.5))),
        loan_years=draw(st.one_of(st.none(), st.sampled_from([1, 25]), st.integers(1, 25))),
        repayment=draw(st.sampled_from([None, "annuity", "interest_only"])),
        third_party_discount=draw(st.one_of(st.none(), st.floats(0.01, 1))),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(account(), min_size=1, max_size=120), set_name=st.sampled_from(sorted(SETS)))
def test_vectorised_engine_matches_plain_implementation(rows, set_name):
    a = SETS[set_name]
    out = compute(accounts_frame(*rows), REF, a, run_id="p", chunk_size=37)   # odd chunk size: chunk seams too
    results = out.results.to_dicts()
    scenarios = out.scenarios.to_dicts()
    by_acc: dict[str, dict] = {}
    for s in scenarios:
        by_acc.setdefault(s["account_id"], {})[s["pv_mode"]] = s
    for i, row in enumerate(rows):
        acc = accounts_frame(*rows).row(i, named=True)
        want, want_scen, want_flags = plain(acc, a)
        got = results[i]
        for key, value in want.items():
            if key == "pv_mode":
                assert got[key] == value, (key, acc)
            else:
                assert close(got[key], value, key), (key, got[key], value, acc)
        assert set(by_acc[got["account_id"]]) == set(want_scen)
        for mode, cols in want_scen.items():
            for key, value in cols.items():
                if key != "green_share_achieved":
                    assert close(by_acc[got["account_id"]][mode][key], value, key), (mode, key, acc)
        assert want_flags <= set(got["flags"]), (want_flags, got["flags"], acc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(account(), min_size=1, max_size=80))
def test_no_nan_or_inf_in_stored_columns(rows):
    out = compute(accounts_frame(*rows), REF, SETS["cn-2025"])
    for frame in (out.results, out.scenarios):
        floats = [c for c, t in frame.schema.items() if t == pl.Float64]
        bad = frame.select(pl.any_horizontal([pl.col(c).is_nan() | pl.col(c).is_infinite() for c in floats]).any())
        assert not bad.item()


def test_irr_agrees_with_numpy_financial_on_many_shapes():
    from gpengine.finance import irr_rows
    rng = np.random.default_rng(7)
    n = 3000
    conventional = np.concatenate([-rng.uniform(1e2, 1e8, (n, 1)), rng.uniform(0, 1e7, (n, 25))], axis=1)
    messy = np.concatenate([-rng.uniform(1e2, 1e8, (n, 1)), rng.uniform(-1e6, 1e7, (n, 25))], axis=1)
    messy[rng.random((n, 26)) < 0.1] = 0.0
    for cf in (conventional, messy):
        got = irr_rows(cf)
        want = np.array([npf.irr(row) for row in cf])
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert np.nanmax(np.abs(got - want)) < 1e-6
