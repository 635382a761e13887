"""Each formula of ``gpengine/formulas.py`` on its own, on numbers worked out by hand (comments), two
accounts per call so that a formula mixing up accounts would show."""
from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest

from gpengine import formulas as f


def a(*values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_grid_kwh():
    assert f.grid_kwh(a(1e7, 5e5), a(2e6, 5e5)).tolist() == [8e6, 0.0]        # G = E − P0


def test_reference_tariffs_and_estimated_bill():
    # flat = 0.391 + 0.20 = 0.591 (江苏, large industrial); period tariff = flat × multiplier
    tariffs = f.reference_tariffs_yuan_per_kwh(a(0.391, 0.40), a(0.20, 0.10), {"peak": 1.6, "valley": 0.4})
    assert tariffs["peak"] == pytest.approx([0.591 * 1.6, 0.50 * 1.6])
    assert tariffs["valley"] == pytest.approx([0.591 * 0.4, 0.50 * 0.4])
    # B = G × Σ s_k (tariff_k + penalty): 1e6 × (0.5 × (0.9456 + 0.1) + 0.5 × (0.2364 + 0.1)) = 691,000
    bill = f.estimated_bill_yuan(a(1e6, 2e6), {"peak": a(0.5, 1.0), "valley": a(0.5, 0.0)}, tariffs, a(0.1, 0.0))
    assert bill == pytest.approx([1e6 * (0.5 * (0.591 * 1.6 + 0.1) + 0.5 * (0.591 * 0.4 + 0.1)), 2e6 * 0.8])


def test_average_price_falls_back_when_nothing_is_bought():
    assert f.average_price_yuan_per_kwh(a(5.2e6, 0.0), a(8e6, 0.0), a(0.591, 0.7)) == pytest.approx([0.65, 0.7])


def test_co2_t_is_nan_without_an_emission_factor():
    out = f.co2_t(a(0.6829, np.nan), a(8e6, 8e6))
    assert out[0] == pytest.approx(5463.2) and np.isnan(out[1])


def test_pv_capacity_needs_an_owned_roof():
    assert f.pv_capacity_kw(a(20000, 20000, 0), np.array([True, False, True]), 10.0).tolist() == [2000, 0, 0]


def test_module_factors_and_generation():
    factors = f.module_factors(0.98, 0.005, 3)
    assert factors == pytest.approx([0.98, 0.975, 0.97])
    gen = f.pv_generation_kwh(a(2000, 100), a(1165, 1000), factors)
    assert gen.shape == (3, 2)
    assert gen[:, 0] == pytest.approx([2000 * 1165 * 0.98, 2000 * 1165 * 0.975, 2000 * 1165 * 0.97])
    assert gen[0, 1] == pytest.approx(100 * 1000 * 0.98)


def test_self_consumption_is_capped_at_grid_purchases():
    gen = np.array([[3e6, 1e5], [2.9e6, 0.9e5]])
    assert f.self_consumed_kwh(gen, a(2.5e6, 1e6)).tolist() == [[2.5e6, 1e5], [2.5e6, 0.9e5]]


def test_capex():
    assert f.pv_capex_yuan(a(2000, 0), 3.74) == pytest.approx([7_480_000, 0])


def test_debt_service_annuity_interest_only_and_no_loan():
    ds = f.debt_service_yuan(a(4_488_000, 1_000_000, 0), a(0.048, 0.05, 0.05), a(10, 3, 10),
                             np.array([False, True, False]), 12)
    assert ds.shape == (12, 3)
    annual = 12 * npf.pmt(0.048 / 12, 120, -4_488_000)
    assert ds[:10, 0] == pytest.approx([annual] * 10) and not ds[10:, 0].any()
    assert ds[:, 1].tolist() == [50_000, 50_000, 1_050_000] + [0.0] * 9      # interest, principal in year N
    assert not ds[:, 2].any()
    zero_rate = f.debt_service_yuan(a(1_200_000), a(0.0), a(10), np.array([False]), 25)
    assert zero_rate[:10, 0] == pytest.approx([120_000] * 10)                  # loan / N


def test_cash_flows_and_payback():
    ds = np.array([[100.0, 0.0], [100.0, 0.0]])
    rev = np.array([[300.0, 50.0], [290.0, 50.0]])
    cf = f.pv_cash_flows_yuan(a(1000, 400), rev, ds)
    assert cf.tolist() == [[-1000, -400], [200, 50], [190, 50]]
    # (equity + Σ DS) / rev_1 ; NaN without revenue
    payback = f.pv_payback_years(a(1000, 400, 10), np.array([[100.0, 0, 0], [100.0, 0, 0]]), a(300, 50, 0))
    assert payback[:2] == pytest.approx([1200 / 300, 8.0]) and np.isnan(payback[2])


def test_year_one_pv_costs():
    assert f.self_pv_cost_y1_yuan(a(500_000, 0), a(2_500_000, 1_000_000), 25) == pytest.approx([600_000, 40_000])
    assert f.third_party_pv_cost_y1_yuan(a(2_283_400, 0), a(0.65, 0.65), a(0.85, 0.85)) == pytest.approx(
        [2_283_400 * 0.65 * 0.85, 0])


def test_remaining_green_kwh_and_certificates():
    assert f.remaining_green_kwh(a(3e6, 1e6), a(0.0, 5e5), a(1e6, 8e5)).tolist() == [2e6, 0.0]
    assert f.gec_count(a(0.0, 1.0, 1000.0, 1000.0000001, 2500.0)).tolist() == [0, 1, 1, 1, 3]
    assert str(f.gec_count(a(-0.0))[0]) == "0.0"                             # never −0.0


def test_green_cost_consistent_and_wri_readings():
    # (G − P1) p + pv_cost + M π + gec: (8e6 − 1e6) × 0.65 + 6e5 + 1e6 × 0.06 + 1,000 × 5
    low = f.green_cost_yuan(a(8e6), a(1e6), a(0.65), a(6e5), a(1e6), a(0.06), a(5000))
    assert low == pytest.approx([7e6 * 0.65 + 6e5 + 6e4 + 5000])
    # B (1 − t) + net PV + C/1000 × g + M (coal + π)
    wri = f.green_cost_wri_yuan(a(5.2e6), a(0.3), a(-1e5), a(1e6), 5.0, a(1e6), a(0.391), a(0.06))
    assert wri == pytest.approx([5.2e6 * 0.7 - 1e5 + 5000 + 1e6 * 0.451])


def test_green_co2_counts_pv_market_and_certificates():
    out = f.green_co2_t(a(0.6829, 0.5), a(8e6, 1e6), a(1e6, 5e5), a(1e6, 5e5), a(2e6, 5e5))
    assert out == pytest.approx([0.6829 * 4e6 / 1000, 0.0])
