"""A loan longer than the PV lifetime (issue: its principal was lost, payback 2.9 years instead of 6.3).

Decision (docs/methodology.md, "Loans that outlive the plant"): the loan is a contract, repaid whatever
the modules produce, so debt service runs for the whole term and the cash flows are carried past the
lifetime with no revenue; the account is flagged ``loan_outlives_pv``.
"""
from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from account_rows import accounts_frame
from gpengine import formulas as f
from gpengine.assumptions import load_assumptions
from gpengine.model import compute
from gpengine.reference import load_reference

REF = load_reference()
SHORT_LIFE = load_assumptions("wri-2023").with_overrides(pv_lifetime_years=15)


def one(row: dict, assumptions=SHORT_LIFE) -> dict:
    return compute(accounts_frame(row), REF, assumptions, run_id="t").results.row(0, named=True)


def test_interest_only_loan_longer_than_the_lifetime_keeps_its_principal():
    # 江苏: 2,000 kW, gen_k = 2000 × 1165 × (0.98 − 0.005 k), p = 0.65; capex 7,480,000, loan 80 %
    r = one(dict(roof_area_m2=20000.0, loan_ratio=0.8, loan_rate=0.045, loan_years=20, repayment="interest_only"))
    loan, equity, p = 7_480_000 * 0.8, 7_480_000 * 0.2, 0.65
    interest = loan * 0.045
    revenue = [2000 * 1165 * (0.98 - 0.005 * k) * p for k in range(15)] + [0.0] * 5
    debt = [interest] * 19 + [interest + loan]
    cf = [-equity] + [rev - ds for rev, ds in zip(revenue, debt)]
    assert r["pv_payback_years"] == pytest.approx((equity + 20 * interest + loan) / revenue[0], rel=1e-12)
    assert r["pv_payback_years"] > 6.0
    assert r["pv_irr"] == pytest.approx(npf.irr(cf), abs=1e-9)
    assert r["pv_npv_yuan"] == pytest.approx(npf.npv(0.08, cf), rel=1e-9)
    assert "loan_outlives_pv" in r["flags"]


def test_a_loan_within_the_lifetime_is_not_flagged():
    r = one(dict(roof_area_m2=20000.0, loan_ratio=0.8, loan_rate=0.045, loan_years=15, repayment="interest_only"))
    assert "loan_outlives_pv" not in r["flags"]
    assert r["pv_payback_years"] == pytest.approx(
        (7_480_000 * 0.2 + 15 * 7_480_000 * 0.8 * 0.045 + 7_480_000 * 0.8) / (2000 * 1165 * 0.98 * 0.65), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(lifetime=st.integers(1, 30), years=st.integers(1, 25), interest_only=st.booleans(),
       rate=st.floats(0.0, 0.2), loan=st.floats(1.0, 1e9))
def test_total_debt_service_is_the_whole_loan_whatever_the_term(lifetime, years, interest_only, rate, loan):
    ds = f.debt_service_yuan(np.array([loan]), np.array([rate]), np.array([float(years)]), np.array([interest_only]),
                             lifetime)
    assert ds.shape[0] == max(lifetime, years)
    assert not ds[years:, 0].any()                                # nothing after the term
    # what is repaid covers the principal: at least the loan, exactly it at a zero rate
    assert ds[:, 0].sum() >= loan * (1 - 1e-6)                   # pmt at rates near 0: ~1e-7 relative noise
    if rate == 0:
        assert ds[:, 0].sum() == pytest.approx(loan, rel=1e-9)
    cf = f.pv_cash_flows_yuan(np.array([0.0]), np.ones((lifetime, 1)), ds)
    assert cf.shape[0] == max(lifetime, years) + 1
    assert np.all(cf[lifetime + 1:, 0] == -ds[lifetime:, 0])      # no revenue after the lifetime
