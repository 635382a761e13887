"""Each formula of cost-model.md on accounts computed by hand (numbers worked out in the comments)."""
from __future__ import annotations

import math

import numpy_financial as npf
import pytest

from account_rows import accounts_frame
from gpengine.assumptions import load_assumptions
from gpengine.model import compute
from gpengine.reference import load_reference

REF = load_reference()
WRI = load_assumptions("wri-2023")


def one(row: dict, assumptions=WRI):
    out = compute(accounts_frame(row), REF, assumptions, run_id="t")
    return out.results.row(0, named=True), {s["pv_mode"]: s for s in out.scenarios.to_dicts()}


def test_current_mode_with_bill():
    r, _ = one(dict(annual_kwh=1.0e7, existing_pv_kwh=2.0e6, annual_bill_yuan=5.2e6))
    assert r["grid_kwh"] == 8.0e6                                  # G = E − P0
    assert r["avg_price_yuan_per_kwh"] == pytest.approx(0.65)      # 5.2e6 / 8e6
    assert r["current_co2_t"] == pytest.approx(0.6829 * 8.0e6 / 1000)   # 江苏 EF 0.6829 t/MWh
    assert r["bill_source"] == "input"


def test_estimated_bill_uses_reference_tou_tariff_and_penalty():
    # 江苏 coal 0.391 + large-industrial adder 0.20 = flat 0.591; shares 0.1/0.3/0.4/0.2 of multipliers
    # 1.92/1.6/1.0/0.4 -> 0.192+0.48+0.4+0.08 = 1.152 × 0.591 = 0.680832; high-energy penalty +0.10
    r, _ = one(dict(annual_bill_yuan=None, high_energy=True, annual_kwh=1.0e6,
                    share_sharp=0.1, share_peak=0.3, share_flat=0.4, share_valley=0.2))
    assert r["bill_source"] == "estimated"
    assert r["bill_yuan"] == pytest.approx(1.0e6 * (0.591 * 1.152 + 0.10), rel=1e-12)
    assert "bill_estimated" in r["flags"]


def test_zero_grid_uses_flat_tariff():
    r, _ = one(dict(annual_kwh=5.0e5, existing_pv_kwh=5.0e5, annual_bill_yuan=None))
    assert r["grid_kwh"] == 0
    assert r["avg_price_yuan_per_kwh"] == pytest.approx(0.591)
    assert r["bill_yuan"] == 0


def test_pv_self_investment_annuity_loan():
    # roof 20,000 m² -> 2,000 kW; 江苏 H 1165: gen1 = 2000 × 1165 × 0.98 = 2,283,400 kWh
    row = dict(roof_area_m2=20000.0, loan_ratio=0.6, loan_rate=0.048, loan_years=10, repayment="annuity")
    r, s = one(row)
    assert r["pv_capacity_kw"] == 2000
    assert r["pv_kwh_y1"] == pytest.approx(2_283_400)
    assert r["pv_capex_yuan"] == pytest.approx(7_480_000)          # 2000 × 1000 × 3.74
    assert r["pv_loan_yuan"] == pytest.approx(4_488_000)
    assert r["pv_equity_yuan"] == pytest.approx(2_992_000)
    monthly = npf.pmt(0.048 / 12, 120, -4_488_000)
    assert r["pv_debt_service_y1_yuan"] == pytest.approx(12 * monthly, rel=1e-12)
    p = 0.65
    cf = [-2_992_000] + [2000 * 1165 * (0.98 - 0.005 * k) * p - (12 * monthly if k < 10 else 0) for k in range(25)]
    assert r["pv_irr"] == pytest.approx(npf.irr(cf), abs=1e-9)
    assert r["pv_npv_yuan"] == pytest.approx(npf.npv(0.08, cf), rel=1e-9)
    assert r["pv_payback_years"] == pytest.approx((2_992_000 + 120 * monthly) / (2_283_400 * p), rel=1e-12)
    # recommendation: NPV ≥ 0 -> self
    assert r["pv_mode"] == "self"
    # year-1 PV cost: DS1 + equity / 25
    assert s["self"]["pv_cost_y1_yuan"] == pytest.approx(12 * monthly + 2_992_000 / 25, rel=1e-12)
    assert s["third_party"]["pv_cost_y1_yuan"] == pytest.approx(2_283_400 * p * 0.85, rel=1e-12)
    assert r["pv_third_party_cost_y1_yuan"] == pytest.approx(2_283_400 * p * 0.85, rel=1e-12)


def test_interest_only_counts_principal_and_flags_multiple_roots():
    row = dict(roof_area_m2=20000.0, loan_ratio=0.7, loan_rate=0.04, loan_years=10, repayment="interest_only")
    r, _ = one(row)
    loan = 7_480_000 * 0.7
    assert r["pv_debt_service_y1_yuan"] == pytest.approx(loan * 0.04)
    total_ds = loan * 0.04 * 10 + loan
    assert r["pv_payback_years"] == pytest.approx((7_480_000 * 0.3 + total_ds) / (2_283_400 * 0.65), rel=1e-12)
    assert "irr_multiple_roots" in r["flags"]


def test_interest_only_one_year_term():
    row = dict(roof_area_m2=1000.0, loan_ratio=0.5, loan_rate=0.05, loan_years=1, repayment="interest_only")
    r, _ = one(row)
    loan = 100 * 1000 * 3.74 * 0.5
    assert r["pv_debt_service_y1_yuan"] == pytest.approx(loan * 0.05 + loan)


def test_full_loan_has_no_irr():
    r, _ = one(dict(roof_area_m2=1000.0, loan_ratio=1.0, loan_rate=0.04, loan_years=5))
    assert r["pv_equity_yuan"] == 0
    assert r["pv_irr"] is None
    assert "irr_undefined" in r["flags"]


def test_zero_rate_loan_repays_straight_line():
    r, _ = one(dict(roof_area_m2=1000.0, loan_ratio=0.5, loan_rate=0.0, loan_years=5))
    assert r["pv_debt_service_y1_yuan"] == pytest.approx(374_000 * 0.5 / 5)


def test_pv_capped_at_grid_purchases():
    # 100 kW in 江苏: gen1 = 114,170 kWh > G = 50,000 -> q = 50,000 every year
    r, _ = one(dict(annual_kwh=5.0e4, annual_bill_yuan=3.0e4, roof_area_m2=1000.0))
    assert r["pv_kwh_y1"] == 5.0e4
    assert "pv_capped" in r["flags"]


def test_certificates_market_and_green_cost_consistent_and_wri():
    # E 1e7, no PV, target 0.3 -> T = R = 3e6; market share 0.4 -> M 1.2e6, C 1.8e6 -> 1800 certificates
    r, s = one(dict(renewable_target=0.3, market_share=0.4))
    assert r["remaining_green_kwh"] == pytest.approx(3.0e6)
    assert r["market_kwh"] == pytest.approx(1.2e6)
    assert r["gec_kwh"] == pytest.approx(1.8e6)
    assert r["gec_count"] == 1800
    assert r["gec_cost_yuan"] == pytest.approx(90_000)
    assert r["market_premium_low_yuan"] == pytest.approx(1.2e6 * 0.06)   # 江苏 0.06–0.07
    assert r["market_premium_high_yuan"] == pytest.approx(1.2e6 * 0.07)
    assert r["green_cost_low_yuan"] == pytest.approx(1.0e7 * 0.65 + 1.2e6 * 0.06 + 90_000)
    assert r["green_cost_wri_low_yuan"] == pytest.approx(6.5e6 * 0.7 + 1800 * 50 + 1.2e6 * (0.391 + 0.06))
    assert r["green_co2_t"] == pytest.approx(0.6829 * 7.0e6 / 1000)
    assert r["co2_reduction_t"] == pytest.approx(0.6829 * 3.0e6 / 1000)
    assert r["green_share_achieved"] == pytest.approx(0.3)
    assert list(s) == ["none"]


def test_certificates_are_whole_with_float_tolerance():
    r, _ = one(dict(annual_kwh=1000.0, annual_bill_yuan=600.0, renewable_target=0.3, market_share=0.0))
    assert r["gec_count"] == 1                                       # 300 kWh -> one certificate
    r, _ = one(dict(annual_kwh=10_000.0, annual_bill_yuan=6000.0, renewable_target=0.3, market_share=0.0))
    assert r["gec_count"] == 3                                       # 3000.0000000000005 kWh is 3, not 4


def test_existing_pv_above_target_needs_nothing():
    r, _ = one(dict(existing_pv_kwh=5.0e6, renewable_target=0.3))
    assert r["remaining_green_kwh"] == 0
    assert r["gec_count"] == 0
    assert r["green_share_achieved"] == pytest.approx(0.5)


def test_tibet_has_no_co2_and_a_flag():
    r, _ = one(dict(province="西藏自治区"))
    assert r["current_co2_t"] is None and r["green_co2_t"] is None and r["co2_reduction_t"] is None
    assert "no_emission_factor" in r["flags"]


def test_requested_mode_and_infeasible_request():
    r, s = one(dict(roof_area_m2=20000.0, pv_mode="third_party"))
    assert r["pv_mode"] == "third_party" and set(s) == {"none", "self", "third_party"}
    assert r["green_cost_low_yuan"] == s["third_party"]["green_cost_low_yuan"]
    r, s = one(dict(roof_area_m2=20000.0, roof_owned=False, pv_mode="self"))
    assert r["pv_mode"] == "none" and "pv_mode_infeasible" in r["flags"] and set(s) == {"none"}
    assert r["pv_capacity_kw"] == 0 and r["pv_irr"] is None and r["pv_npv_yuan"] is None


def test_negative_npv_recommends_third_party():
    # Chongqing H 655 and a cheap bill make self-investment lose money at an 8% hurdle
    r, _ = one(dict(province="重庆市", annual_bill_yuan=3.0e6, roof_area_m2=20000.0))
    assert r["pv_npv_yuan"] < 0
    assert r["pv_mode"] == "third_party"


def test_cheaper_channel_default_for_compliance():
    frame = accounts_frame(dict(province="浙江省"), dict(province="广东省")).with_columns(
        default_target_share=0.3, default_market_share=None, default_market_share_cheaper=True)
    out = compute(frame, REF, WRI).results
    # wri-2023: g/1000 = 0.05; 浙江 π_low 0.03 < 0.05 -> market; 广东 0.06 > 0.05 -> certificates
    assert out["market_share"].to_list() == [1.0, 0.0]
    cn = compute(frame, REF, load_assumptions("cn-2025")).results        # 5 元 -> certificates everywhere
    assert cn["market_share"].to_list() == [0.0, 0.0]


def test_result_columns_are_the_spec_columns():
    spec = ("account_id, run_id, province, customer_type, emission_factor_t_per_mwh, pv_full_load_hours, "
            "coal_benchmark_yuan_per_kwh, premium_low_yuan_per_kwh, premium_high_yuan_per_kwh, bill_yuan, "
            "bill_source, grid_kwh, avg_price_yuan_per_kwh, current_co2_t, target_share, target_kwh, "
            "pv_capacity_kw, pv_kwh_y1, pv_capex_yuan, pv_loan_yuan, pv_equity_yuan, pv_debt_service_y1_yuan, "
            "pv_irr, pv_npv_yuan, pv_payback_years, pv_third_party_cost_y1_yuan, pv_mode, pv_roof_capacity_kw, "
            "pv_third_party_npv_yuan, pv_best_mode, pv_breakeven_year, remaining_green_kwh, "
            "market_kwh, gec_kwh, gec_count, gec_cost_yuan, market_premium_low_yuan, market_premium_high_yuan, "
            "green_cost_low_yuan, green_cost_high_yuan, green_cost_wri_low_yuan, green_cost_wri_high_yuan, "
            "green_co2_t, co2_reduction_t, green_share_achieved, flags").split(", ")
    scen = ("account_id, run_id, pv_mode, pv_kwh_y1, pv_cost_y1_yuan, remaining_green_kwh, market_kwh, gec_kwh, "
            "gec_count, gec_cost_yuan, market_premium_low_yuan, market_premium_high_yuan, green_cost_low_yuan, "
            "green_cost_high_yuan, green_cost_wri_low_yuan, green_cost_wri_high_yuan, green_co2_t, "
            "co2_reduction_t").split(", ")
    out = compute(accounts_frame({}), REF, WRI)
    assert out.results.columns[:len(spec)] == spec
    assert out.scenarios.columns[:len(scen)] == scen


def test_default_set_is_newest_and_differs_from_wri():
    assert load_assumptions().name == "cn-2025"
    assert math.isclose(load_assumptions().values.gec_price_yuan_per_certificate, 5.0)


def test_vanishing_revenue_irr_far_from_the_grid_and_no_infinite_payback():
    # Found by Hypothesis: a price of 1e-32 元/kWh puts the IRR root near x = 23.8 (rate −95.8 %),
    # far outside the solver's grid; a price of 1e-308 makes the payback overflow.
    import numpy as np
    from gpengine.finance import irr_rows
    cf = [-300.0] + [min(0.1 * 861 * (0.98 - 0.005 * k), 1.0) * 1.1408268646885398e-32 for k in range(25)]
    assert irr_rows(np.array([cf]))[0] == pytest.approx(npf.irr(cf), abs=1e-6)
    r, _ = one(dict(province="上海市", annual_kwh=1.0, annual_bill_yuan=1.1e-308, roof_area_m2=1.0))
    assert r["pv_payback_years"] is None
