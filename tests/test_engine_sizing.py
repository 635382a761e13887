"""cost-model.md §2 (changed): PV sizing, the best PV mode, break-even — on accounts worked out by hand."""
from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest

from account_rows import accounts_frame
from gpengine import formulas as f
from gpengine.assumptions import load_assumption_file, load_assumptions
from gpengine.datafiles import DataFileError
from gpengine.model import compute
from gpengine.reference import load_reference

REF = load_reference()
WRI = load_assumptions("wri-2023")
CN = load_assumptions("cn-2025")
H_JS = 1165.0     # 江苏 full-load hours


def one(row: dict, assumptions):
    out = compute(accounts_frame(row), REF, assumptions, run_id="t")
    return out.results.row(0, named=True), {s["pv_mode"]: s for s in out.scenarios.to_dicts()}


# The shop of the issue: 12,475 kWh a year, a 9,404 元 bill and 2,950 m² of roof (295 kW by roof area).
SHOP = dict(customer_type="general_commercial", annual_kwh=12_475.0, annual_bill_yuan=9_404.0, roof_area_m2=2_950.0)


def test_the_sets_name_their_sizing():
    assert WRI.values.pv_sizing == "roof"
    assert CN.values.pv_sizing == "self_consumption"
    assert CN.record()["values"]["pv_sizing"] == "self_consumption"      # recorded on the run


def test_self_consumption_sizes_the_shop_to_what_it_uses():
    r, s = one(SHOP, CN)
    # min(2950 / 10, 12475 / (1165 × 0.98)) = min(295, 10.9267…) kW
    assert r["pv_roof_capacity_kw"] == pytest.approx(295.0)
    assert r["pv_capacity_kw"] == pytest.approx(12_475 / (H_JS * 0.98), rel=1e-12)
    assert r["pv_capacity_kw"] == pytest.approx(10.9267, abs=1e-4)
    assert r["pv_kwh_y1"] == pytest.approx(12_475.0, rel=1e-12)         # all of it used on site
    assert "pv_capped" not in r["flags"]                                 # gen_1 = G up to rounding: not capped
    assert r["pv_capex_yuan"] == pytest.approx(10.92669 * 3000, rel=1e-6)   # 3.00 元/W → ≈ 32,780 元
    # cumulative cash flow: −32,780 + 9,404 × (0.98, 0.975, 0.97, 0.965)/0.98 → 18,760 after 2 years,
    # 28,068 after 3, 37,328 after 4: break-even in year 4
    assert r["pv_breakeven_year"] == 4
    assert r["pv_payback_years"] == pytest.approx(r["pv_capex_yuan"] / 9_404.0)
    # self-investment is worth more than the third-party model's 15 % saving: both NPVs at 8 %
    p = 9_404.0 / 12_475.0
    q = [12_475.0 * (0.98 - 0.005 * k) / 0.98 for k in range(25)]
    tp = npf.npv(0.08, [0.0] + [x * p * 0.15 for x in q])
    assert r["pv_third_party_npv_yuan"] == pytest.approx(tp, rel=1e-9)
    assert r["pv_npv_yuan"] == pytest.approx(npf.npv(0.08, [-r["pv_capex_yuan"]] + [x * p for x in q]), rel=1e-9)
    assert r["pv_best_mode"] == "self" and r["pv_mode"] == "self"
    assert s["self"]["pv_kwh_y1"] == pytest.approx(12_475.0)


def test_roof_sizing_of_the_note_is_kept_in_wri_2023():
    r, _ = one(SHOP, WRI)
    assert r["pv_capacity_kw"] == pytest.approx(295.0)                   # A / 10, the note
    assert r["pv_roof_capacity_kw"] == pytest.approx(295.0)
    assert "pv_capped" in r["flags"]                                     # 295 × 1165 × 0.98 ≫ 12,475
    assert r["pv_breakeven_year"] is None                                # never within 25 years
    assert r["pv_npv_yuan"] < 0 < r["pv_third_party_npv_yuan"]
    assert r["pv_best_mode"] == "third_party"


def test_best_mode_is_the_one_worth_more_not_self_whenever_its_npv_is_positive():
    # p = 0.35 元/kWh with 3.74 元/W: self-investment just pays (NPV ≥ 0) but the third-party model's
    # 15 % saving without capex is worth more over 25 years at 8 %; the old rule said "self"
    row = dict(annual_kwh=1.0e7, annual_bill_yuan=0.35e7, roof_area_m2=20_000.0)
    r, _ = one(row, WRI)
    assert 0 <= r["pv_npv_yuan"] < r["pv_third_party_npv_yuan"]
    assert r["pv_best_mode"] == "third_party" and r["pv_mode"] == "third_party"
    assert r["pv_modes_npv_gap_yuan"] == pytest.approx(r["pv_third_party_npv_yuan"] - r["pv_npv_yuan"])
    assert r["pv_best_mode_gain_yuan"] == 0.0


def test_the_list_decides_and_the_gain_of_the_better_mode_is_stored():
    row = dict(annual_kwh=1.0e7, annual_bill_yuan=0.35e7, roof_area_m2=20_000.0, pv_mode="self")
    r, _ = one(row, WRI)
    assert r["pv_mode"] == "self" and r["pv_best_mode"] == "third_party"
    assert r["pv_best_mode_gain_yuan"] == pytest.approx(r["pv_third_party_npv_yuan"] - r["pv_npv_yuan"])
    r, _ = one(dict(row, pv_mode="none"), WRI)
    assert r["pv_mode"] == "none"
    assert r["pv_best_mode_gain_yuan"] == pytest.approx(r["pv_third_party_npv_yuan"])


def test_no_grid_purchases_no_pv_under_self_consumption():
    # all consumption already from existing PV: G = 0, nothing to displace
    row = dict(annual_kwh=50_000.0, existing_pv_kwh=50_000.0, annual_bill_yuan=0.0, roof_area_m2=500.0,
               pv_mode="self")
    r, s = one(row, CN)
    assert r["pv_roof_capacity_kw"] == pytest.approx(50.0)               # the roof's potential is still shown
    assert r["pv_capacity_kw"] == 0.0 and r["pv_mode"] == "none" and r["pv_best_mode"] == "none"
    assert "pv_mode_infeasible" in r["flags"]
    assert set(s) == {"none"}
    # PV option columns of a not-eligible account: 0, and IRR, NPV, payback NULL (cost-model.md §2)
    assert r["pv_third_party_npv_yuan"] == 0.0 and r["pv_breakeven_year"] == 0
    assert r["pv_irr"] is None and r["pv_npv_yuan"] is None and r["pv_payback_years"] is None
    r, s = one(row, WRI)                                                 # the note: eligible, output unused
    assert r["pv_capacity_kw"] == pytest.approx(50.0) and r["pv_mode"] == "self"


def test_breakeven_counts_the_loan_as_it_falls():
    # 1,000 元 equity, flows 600, 600, −900 (an interest-only balloon), 900 … → cumulative −400, 200: year 2
    cf = np.array([[-1000.0], [600.0], [600.0], [-900.0], [900.0]])
    assert f.breakeven_year(cf)[0] == 2.0
    assert np.isnan(f.breakeven_year(np.array([[-1000.0], [100.0], [100.0]]))[0])
    assert f.breakeven_year(np.array([[0.0], [0.0]]))[0] == 1.0


def test_capped_tolerance():
    G = np.array([1000.0, 1000.0, 1000.0])
    gen = np.array([1000.0 * (1 + 5e-10), 1000.0 * (1 + 2e-9), 999.0])
    assert f.pv_capped(np.array([True, True, True]), gen, G).tolist() == [False, True, False]


def test_an_unknown_sizing_is_refused_naming_the_key(tmp_path):
    text = (load_assumptions.__globals__["available_sets"]()["wri-2023"]).read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("pv_sizing: {value: roof", "pv_sizing: {value: rooftop"), encoding="utf-8")
    with pytest.raises(DataFileError, match="pv_sizing"):
        load_assumption_file(bad)


def test_small_formulas_on_their_own():
    assert f.green_share_achieved(np.array([100.0]), np.array([200.0]), np.array([300.0]), np.array([400.0]),
                                  np.array([2000.0]))[0] == 0.5
    assert f.extra_cost_yuan(np.array([90.0]), np.array([100.0]))[0] == -10.0
    per = f.premium_per_green_kwh_yuan(np.array([-10.0, 5.0]), np.array([20.0, 0.0]))
    assert per[0] == -0.5 and np.isnan(per[1])
    assert f.pv_saving_y1_yuan(np.array([1000.0]), np.array([0.6]), np.array([90.0]))[0] == pytest.approx(510.0)
    assert f.mode_npv_yuan(np.array([0, 1, 2]), np.array([5.0, 5.0, 5.0]), np.array([7.0, 7.0, 7.0])).tolist() == [0, 5, 7]
    share = f.co2_reduction_share(np.array([3.0, 1.0, 1.0]), np.array([6.0, 0.0, np.nan]))
    assert share[0] == 0.5 and np.isnan(share[1]) and np.isnan(share[2])
    assert f.best_pv_mode(np.array([False, True, True]), np.array([1.0, 2.0, 1.0]),
                          np.array([0.0, 2.0, 3.0])).tolist() == [0, 1, 2]        # a tie goes to self
    assert f.recommended_pv_mode(np.array([False, True, True]), np.array([1, -1, 0]),
                                 np.array([0, 2, 1])).tolist() == [0, 2, 0]


def test_one_accounts_cash_flows_match_the_stored_columns():
    # the offer's 25-year chart is drawn from pv_account_cash_flows_yuan: it must end where the model's columns do
    row = dict(annual_kwh=2.0e6, annual_bill_yuan=1.3e6, roof_area_m2=9_000.0, loan_ratio=0.5, loan_rate=0.04,
               loan_years=12, repayment="interest_only", third_party_discount=0.9)
    for aset in (WRI, CN):
        r, _ = one(row, aset)
        v = aset.values
        flows = f.pv_account_cash_flows_yuan(r["pv_capacity_kw"], r["pv_full_load_hours"], r["grid_kwh"],
                                             r["avg_price_yuan_per_kwh"], v.pv_first_year_factor,
                                             v.pv_degradation_per_year, v.pv_lifetime_years, v.pv_capex_yuan_per_w,
                                             r["loan_ratio"], r["loan_rate"], r["loan_years"],
                                             r["repayment"] == "interest_only", r["third_party_discount"])
        assert flows["self"].sum() == pytest.approx(r["pv_self_net_lifetime_yuan"], rel=1e-12)
        assert flows["third_party"].sum() == pytest.approx(r["pv_third_party_saving_lifetime_yuan"], rel=1e-12)
        assert npf.npv(v.hurdle_rate, flows["self"]) == pytest.approx(r["pv_npv_yuan"], rel=1e-9)
        assert npf.npv(v.hurdle_rate, flows["third_party"]) == pytest.approx(r["pv_third_party_npv_yuan"], rel=1e-9)
        assert f.breakeven_year(flows["self"][:, None])[0] == r["pv_breakeven_year"]
        assert r["loan_ratio"] == 0.5 and r["loan_years"] == 12 and r["third_party_discount"] == 0.9
