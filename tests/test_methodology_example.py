"""The worked example of docs/methodology.md §5, number by number."""
import pytest

from account_rows import accounts_frame
from gpengine.assumptions import load_assumptions
from gpengine.model import compute
from gpengine.reference import load_reference


def test_worked_example_matches_methodology_document():
    row = dict(annual_kwh=1e7, existing_pv_kwh=5e5, annual_bill_yuan=6_175_000.0, roof_area_m2=10_000.0,
               renewable_target=0.3, market_share=0.4)
    r = compute(accounts_frame(row), load_reference(), load_assumptions("wri-2023")).results.row(0, named=True)
    expected = {
        "grid_kwh": 9_500_000, "avg_price_yuan_per_kwh": 0.65, "current_co2_t": 6_487.55,
        "pv_capacity_kw": 1_000, "pv_kwh_y1": 1_141_700, "pv_equity_yuan": 3_740_000,
        "pv_payback_years": 3_740_000 / 742_105, "target_kwh": 3_000_000, "remaining_green_kwh": 1_358_300,
        "market_kwh": 543_320, "gec_kwh": 814_980, "gec_count": 815, "gec_cost_yuan": 40_750,
        "market_premium_low_yuan": 32_599.20, "market_premium_high_yuan": 38_032.40,
        "green_cost_low_yuan": 5_655_844.20, "green_cost_high_yuan": 5_661_277.40,
        "green_cost_wri_low_yuan": 3_866_181.32, "green_cost_wri_high_yuan": 3_871_614.52,
        "green_co2_t": 4_780.30, "co2_reduction_t": 1_707.25, "pv_cost_y1_yuan": 149_600,
        "extra_cost_low_yuan": -519_155.80,
    }
    for key, value in expected.items():
        assert r[key] == pytest.approx(value, rel=1e-12), key
    assert r["pv_mode"] == "self"
    assert r["pv_roof_capacity_kw"] == 1_000
    assert r["pv_third_party_npv_yuan"] == pytest.approx(1_138_403.47, abs=0.005)
    assert r["pv_best_mode"] == "self"
    assert r["pv_breakeven_year"] == 6
    assert r["pv_irr"] == pytest.approx(0.191, abs=5e-4)
    assert r["pv_npv_yuan"] == pytest.approx(3_849_356.48, rel=1e-9)
    # the reconciliation identity of §5
    gap = r["green_cost_low_yuan"] - r["green_cost_wri_low_yuan"]
    assert gap == pytest.approx(0.3 * 6_175_000 - 543_320 * 0.391 + 3_740_000 / 25 + 1.0, rel=1e-12)
