"""The vectorised engine against the plain per-account implementation of cost-model.md in
``tests/naive_model.py`` (a different code path: Python loops, numpy_financial per account),
over thousands of generated accounts."""
from __future__ import annotations

import math
import warnings

import numpy as np
import numpy_financial as npf
import pytest
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from account_rows import accounts_frame
from naive_model import plain
from gpengine.assumptions import load_assumptions
from gpengine.model import compute
from gpengine.reference import load_reference

REF = load_reference()
PROV = {r["province"]: r for r in REF.provinces.to_dicts()}
SETS = {name: load_assumptions(name) for name in ("wri-2023", "cn-2025")}
# a custom set whose lifetime is shorter than many loans (their cash flows run past the lifetime)
SETS["short-life"] = SETS["wri-2023"].with_overrides(pv_lifetime_years=12)


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
        want, want_scen, want_flags = plain(acc, a, REF)
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
        assert set(got["flags"]) == want_flags, (want_flags, got["flags"], acc)


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


def _sign_blocks(rng, n: int, k: int) -> np.ndarray:
    """Random series whose signs form k + 1 blocks (k changes), some zeros, magnitudes 1e-3..1e8."""
    cf = rng.uniform(0, 1, (n, 26)) * 10 ** rng.uniform(-3, 8, (n, 1))
    cuts = np.sort(rng.integers(1, 26, (n, k)), axis=1)
    sign = np.ones((n, 26))
    for c in range(k):
        sign[np.arange(26)[None, :] >= cuts[:, c:c + 1]] *= -1
    cf *= sign * np.where(rng.random((n, 1)) < 0.5, 1, -1)
    cf[rng.random((n, 26)) < 0.2] = 0
    cf[:, 0] = np.where(cf[:, 0] == 0, -1.0, cf[:, 0])
    return cf


def test_irr_with_several_sign_changes_agrees_with_numpy_financial():
    """Interest-only balloons (− + … − + …) and random 2–4 sign changes take the root-isolation path;
    near-double roots (where eigenvalues decide real or complex) take numpy-financial's own."""
    from gpengine.finance import irr_rows
    rng = np.random.default_rng(11)
    n = 600
    years = np.arange(26)[None, :]
    loan_years = rng.integers(1, 26, (n, 1))
    balloon = (-np.where(years == 0, rng.uniform(1e3, 1e7, (n, 1)), 0)
               + np.where(years > 0, rng.uniform(0, 2e6, (n, 1)) * (1 - 0.005 * years), 0)
               - np.where((years > 0) & (years <= loan_years), rng.uniform(0, 2e6, (n, 1)), 0)
               - np.where(years == loan_years, rng.uniform(1e3, 3e7, (n, 1)), 0))
    double = np.array([np.pad(np.polynomial.polynomial.polyfromroots([a, a * (1 + eps), 2.0]), (0, 22))
                       for a in rng.uniform(0.5, 1.5, 40) for eps in (0.0, 1e-9, 1e-4)])
    for cf in (balloon, *(_sign_blocks(rng, n, k) for k in (2, 3, 4)), double):
        got = irr_rows(cf)
        want = np.array([npf.irr(row) for row in cf])
        assert np.array_equal(np.isnan(got), np.isnan(want))
        finite = ~np.isnan(want)
        assert np.allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)


def test_irr_of_denormal_amounts_is_undefined_not_an_error():
    """A last cash flow vanishingly small beside the others puts a root beyond float range:
    numpy-financial raises (np.roots on an infinite companion matrix); we return NaN (flagged)."""
    from gpengine.finance import irr_rows
    tiny = 2.2e-309
    several_changes = np.array([[-1.0, 1.0, -1.0, 1.0, tiny], [-1.0, 2.0, -1.2, tiny, tiny]])
    with pytest.raises(np.linalg.LinAlgError), np.errstate(over="ignore", divide="ignore"):
        npf.irr(several_changes[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = irr_rows(several_changes)
    assert np.isnan(got).all()
    # a root far above 2^53 but inside float range: numpy-financial says exactly −100 %, and so do we
    vanishing = np.array([[-1.0] * 10 + [1e-300], [-5.0, 1.0, -1.0] + [0.0] * 7 + [1e-200]])
    want = [npf.irr(row) for row in vanishing]
    assert want[0] == -1.0
    assert irr_rows(vanishing).tolist() == pytest.approx(want, abs=1e-9)
    ordinary = np.array([[-100.0, 30.0, -5.0, 60.0, 50.0]])
    assert irr_rows(ordinary)[0] == pytest.approx(npf.irr(ordinary[0]), abs=1e-9)
