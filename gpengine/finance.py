"""Vectorised financial functions over many cash-flow series at once.

``numpy_financial`` 1.0.0 is the reference (cost-model.md §2): :func:`irr_many` returns, for every
row of a cash-flow matrix, what ``numpy_financial.irr`` returns for that row — the real root
``x > 0`` of ``Σ CF_k x^k`` (``x = 1/(1+rate)``) whose rate is closest to zero, NaN when there is none.

Design (fast path + exact fallback):

* rows whose cash flows change sign exactly once (conventional: invest, then earn) have exactly one
  positive root (Descartes' rule of signs); it is found by a safeguarded Newton/bisection iteration
  on all such rows together, bracketed by Cauchy's root bounds;
* rows with no sign change have no positive root: NaN;
* rows with two to four sign changes (interest-only balloons: invest, earn, repay, earn) may have
  several roots; all of them are isolated by Rolle's theorem (the critical points of
  ``x^−s f(x)`` are the roots of a polynomial with one sign change fewer, found recursively) and
  refined by the same bracketed iteration, then numpy-financial's selection rule is applied (the
  rate closest to zero). This is ≈ 25× faster than eigenvalues and agrees with them to ~1e-14;
* rows where that cannot decide in floating point (a near double root, which eigenvalues may report
  as real or complex; bounds beyond float range), with more sign changes, or with CF_0 = 0 are
  solved exactly as ``np.roots`` does — eigenvalues of the same companion matrices, computed in
  batches — so the result is numpy-financial's own.
"""
from __future__ import annotations

import numpy as np

_NEWTON_MAX_ITER = 200
_NEWTON_RATIO = 4.0  # Newton steps once the bracket's high/low ratio is below this
_ISOLATE_MAX_CHANGES = 4  # series with more sign changes go to the eigenvalue solver
_TANGENT_RTOL = 1e-7  # |f| at a critical point below this × Σ|cf_k x^k|: a near double root
_X_RTOL = 1e-13   # relative step in x at convergence: IRR to ~1e-12, far inside the 1e-6 contract


def sign_changes(cf_t: np.ndarray) -> np.ndarray:
    """Number of sign changes of each series (column of ``cf_t``, periods × series), zeros ignored."""
    last = np.sign(cf_t[0])
    changes = np.zeros(cf_t.shape[1], dtype=np.int64)
    for k in range(1, cf_t.shape[0]):
        cur = np.sign(cf_t[k])
        changes += (cur * last) < 0
        last = np.where(cur != 0, cur, last)
    return changes


def npv_many(rate: float, cf_t: np.ndarray) -> np.ndarray:
    """``numpy_financial.npv(rate, series)`` for every column of ``cf_t``: CF_0 undiscounted.

    Summed period by period, so that a series' NPV does not depend on how many series are evaluated
    with it (a matrix product's summation order depends on the matrix's shape: the last bits of an
    account's figures would change with the size of the chunk it is computed in).
    """
    discount = (1.0 + rate) ** -np.arange(cf_t.shape[0], dtype=np.float64)
    out = np.zeros(cf_t.shape[1:], dtype=np.float64)
    for k in range(cf_t.shape[0]):
        out += discount[k] * cf_t[k]
    return out


# Rates at which every series is evaluated at once (one matrix product) to bracket its root.
_GRID_RATES = np.array([-0.9, -0.5, -0.2, 0.0, 0.04, 0.08, 0.15, 0.3, 0.6, 1.5, 5.0, 50.0])


def _horner(cf_t: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value and derivative of Σ_k cf_t[k] x^k; ``cf_t`` is periods × series (contiguous rows)."""
    f = cf_t[-1].copy()
    df = np.zeros_like(f)
    for k in range(cf_t.shape[0] - 2, -1, -1):
        df *= x
        df += f
        f *= x
        f += cf_t[k]
    return f, df


def _cauchy_bounds(cf_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every root has 1/(1+max|a_i/a_0|) < |x| < 1 + max|a_i/a_n| (a_n the last nonzero)."""
    m, n = cf_t.shape
    absval = np.abs(cf_t)
    last = m - 1 - np.argmax(absval[::-1] > 0, axis=0)
    biggest = absval.max(axis=0)
    with np.errstate(over="ignore", divide="ignore"):
        return 1.0 / (1.0 + biggest / absval[0]), 1.0 + biggest / absval[last, np.arange(n)]


def _single_root(cf_t: np.ndarray) -> np.ndarray:
    """The unique positive root x of Σ cf_k x^k for rows with one sign change and cf_0 != 0.

    Bracket: the sign of f at a grid of rates (one matrix product) tells on which side of the unique
    root each grid point lies; Cauchy's bounds close the bracket beyond the grid. Then a safeguarded
    Newton iteration: bisection in log scale until the bracket is tight (high/low < 4), Newton inside it
    (bisection again whenever a Newton step leaves the bracket).
    """
    m, n = cf_t.shape
    lo, hi = _cauchy_bounds(cf_t)
    # the last amount so small beside the others that roots may lie beyond float range: numpy-financial
    # raises there (its companion matrix overflows), so there is no IRR to agree with
    beyond = ~np.isfinite(hi)
    grid_x = 1.0 / (1.0 + _GRID_RATES)                        # decreasing in rate -> increasing x reversed
    order = np.argsort(grid_x)
    grid_x = grid_x[order]
    values = ((grid_x[:, None] ** np.arange(m)[None, :]) @ cf_t).T   # (n, grid): f at every grid point
    sign0 = np.sign(cf_t[0])
    left_side = np.sign(values) == sign0[:, None]             # grid point is left of the root
    f_lo = np.full(n, np.nan)
    f_hi = np.full(n, np.nan)
    # largest grid x still on the left, smallest grid x on the right
    n_left = left_side.sum(axis=1)                            # sides are contiguous: left points come first
    has_left = n_left > 0
    has_right = n_left < grid_x.size
    idx_l = np.clip(n_left - 1, 0, grid_x.size - 1)
    idx_r = np.clip(n_left, 0, grid_x.size - 1)
    rows = np.arange(n)
    lo = np.where(has_left, grid_x[idx_l], lo)
    hi = np.where(has_right, grid_x[idx_r], hi)
    f_lo = np.where(has_left, values[rows, idx_l], np.nan)
    f_hi = np.where(has_right, values[rows, idx_r], np.nan)
    del values, left_side
    edge = ~(has_left & has_right)
    if edge.any():                                            # a bracket end came from Cauchy: evaluate it
        with np.errstate(over="ignore", invalid="ignore"):
            f_lo[~has_left], _ = _horner(cf_t[:, ~has_left], lo[~has_left])
            f_hi[~has_right], _ = _horner(cf_t[:, ~has_right], hi[~has_right])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = lo - f_lo * (hi - lo) / (f_hi - f_lo)             # regula falsi start when the bracket is tight
    tight = hi < _NEWTON_RATIO * lo
    x = np.where(tight & np.isfinite(x) & (x > lo) & (x < hi), x, np.sqrt(lo) * np.sqrt(hi))
    x = _bracketed_root(cf_t, x, lo, hi, sign0)
    x[beyond] = np.nan
    return x


def _bracketed_root(cf_t: np.ndarray, x: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    sign_left: np.ndarray) -> np.ndarray:
    """The root of Σ cf_k x^k in ``[lo, hi]`` per series, where it is the only one and f has the sign
    ``sign_left`` left of it; ``x`` is the starting point inside the bracket."""
    n = cf_t.shape[1]
    x = x.copy()
    # Work on compacted copies; converged series are written back when the working set shrinks.
    idx = np.arange(n)
    xw, low, high, s0, work = x, lo, hi, sign_left, cf_t
    for _ in range(_NEWTON_MAX_ITER):
        with np.errstate(over="ignore", invalid="ignore"):
            f, df = _horner(work, xw)
        # far right of the root the top coefficient dominates: an overflowed value is on the right
        left = (np.sign(f) == s0) & np.isfinite(f)
        low = np.where(left, xw, low)
        high = np.where(left, high, xw)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = xw - f / df
        # Newton only inside a tight bracket; otherwise halve the bracket in log scale (roots may sit
        # many orders of magnitude from the grid when revenues are vanishingly small)
        ok = np.isfinite(newton) & (newton >= low) & (newton <= high) & (high < _NEWTON_RATIO * low)
        x_new = np.where(f == 0, xw, np.where(ok, newton, np.sqrt(low) * np.sqrt(high)))   # no overflow
        with np.errstate(invalid="ignore"):                   # an unbounded bracket is not done yet
            done = (np.abs(x_new - xw) <= _X_RTOL * x_new) | (high - low <= _X_RTOL * high)
        xw = x_new
        if done.all():
            break
        if done.mean() > 0.5:
            x[idx] = xw
            keep = ~done
            idx, xw, low, high, s0 = idx[keep], xw[keep], low[keep], high[keep], s0[keep]
            work = np.ascontiguousarray(cf_t[:, idx])
    x[idx] = xw
    return x


def _isolated_roots(cf_t: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """All positive roots of Σ cf_k x^k for series with ``k`` sign changes and cf_0 != 0, by Rolle.

    With s strictly between the first two sign blocks (the first sign change sits before period j;
    s = j − ½), h(x) = x^−s f(x) has f's positive roots, and x^(s+1) h'(x) = Σ (i − s) cf_i x^i has
    k − 1 sign changes (the first block's sign flips): its positive roots, found recursively, cut
    (0, ∞) into intervals on which h is monotone, hence hold at most one root each, found by the
    bracketed Newton iteration. Returns ``(roots, unsure)``: roots is k × series, ascending, NaN-padded;
    ``unsure`` marks series whose answer floats cannot settle this way (a value at a critical point
    next to zero, i.e. a double root that eigenvalues may see as real or complex; a bound beyond float
    range; a root count of the wrong parity): the caller solves those as numpy-financial does.
    """
    m, n = cf_t.shape
    lo, hi = _cauchy_bounds(cf_t)
    unsure = ~(np.isfinite(lo) & np.isfinite(hi) & (lo > 0))
    lo, hi = np.where(unsure, 0.5, lo), np.where(unsure, 2.0, hi)
    sign0 = np.sign(cf_t[0])
    if k == 1:
        return _single_root(cf_t)[None, :], unsure
    period = np.arange(m, dtype=np.float64)[:, None]
    j = np.argmax(np.sign(cf_t) == -sign0, axis=0)
    crit, crit_unsure = _isolated_roots((period - (j - 0.5)) * cf_t, k - 1)
    unsure |= crit_unsure
    crit = np.sort(np.clip(crit, lo, hi), axis=0)             # absent (NaN) last
    present = np.isfinite(crit)
    crit = np.where(present, crit, hi)
    with np.errstate(over="ignore", invalid="ignore"):
        f_crit = np.stack([_horner(cf_t, c)[0] for c in crit])
        scale = np.stack([_horner(np.abs(cf_t), c)[0] for c in crit])
    unsure |= (present & ~(np.isfinite(f_crit) & (np.abs(f_crit) > _TANGENT_RTOL * scale))).any(axis=0)
    sign_end = np.sign(cf_t[m - 1 - np.argmax(cf_t[::-1] != 0, axis=0), np.arange(n)])
    edges = np.vstack([lo, crit, hi])
    signs = np.vstack([sign0, np.where(present, np.sign(f_crit), sign_end), sign_end])
    roots = np.full((k, n), np.nan)
    for i in range(k):
        has = (signs[i] != signs[i + 1]) & ~unsure
        if has.any():
            a, b = edges[i, has], edges[i + 1, has]
            roots[i, has] = _bracketed_root(np.ascontiguousarray(cf_t[:, has]), np.sqrt(a) * np.sqrt(b),
                                            a, b, signs[i, has])
    unsure |= (k - np.isfinite(roots).sum(axis=0)) % 2 == 1    # Descartes: k minus the count is even
    return roots, unsure


def _irr_by_roots(cf: np.ndarray) -> np.ndarray:
    """numpy-financial's own algorithm (np.roots -> eigvals of the companion matrix), batched."""
    out = np.full(cf.shape[0], np.nan)
    p = cf[:, ::-1]                                           # np.roots(values[::-1])
    nz = p != 0
    first = np.argmax(nz, axis=1)
    last = p.shape[1] - 1 - np.argmax(nz[:, ::-1], axis=1)
    has_any = nz.any(axis=1)
    for (a, b) in set(zip(first[has_any].tolist(), last[has_any].tolist())):
        rows = np.flatnonzero(has_any & (first == a) & (last == b))
        q = p[rows, a:b + 1]
        deg = q.shape[1] - 1
        if deg < 1:
            continue
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            top = -q[:, 1:] / q[:, :1]
        # A leading coefficient vanishingly small beside the others (denormal amounts) puts a root
        # beyond float range: np.roots would raise, so such a series has no IRR (NaN, flagged).
        finite = np.isfinite(top).all(axis=1)
        rows, top = rows[finite], top[finite]
        if rows.size == 0:
            continue
        comp = np.zeros((rows.size, deg, deg))
        comp[:, np.arange(1, deg), np.arange(deg - 1)] = 1.0
        comp[:, 0, :] = top
        roots = np.linalg.eigvals(comp).astype(np.complex128)
        mask = (roots.imag == 0) & (roots.real > 0)
        with np.errstate(divide="ignore"):
            rates = np.where(mask, 1.0 / np.where(mask, roots.real, 1.0) - 1.0, np.inf)
        best = np.argmin(np.abs(rates), axis=1)
        chosen = rates[np.arange(rows.size), best]
        out[rows] = np.where(mask.any(axis=1), chosen, np.nan)
    return out


def irr_many(cf_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IRR of every series as numpy_financial.irr defines it; ``cf_t`` is periods × series.

    Returns ``(irr, changes)``: irr is NaN where numpy-financial returns NaN; ``changes`` is the
    number of sign changes per series (> 1 means several roots are possible).
    """
    cf_t = np.ascontiguousarray(cf_t, dtype=np.float64)
    irr = np.full(cf_t.shape[1], np.nan)
    changes = sign_changes(cf_t)
    single = (changes == 1) & (cf_t[0] != 0)
    if single.any():
        with np.errstate(over="ignore", divide="ignore"):
            rate = 1.0 / _single_root(cf_t[:, single]) - 1.0
        # a root above 2^53 gives exactly −100 %, as numpy-financial returns it (revenues vanishingly small)
        irr[single] = rate
    multi = (changes > 1) | ((changes == 1) & (cf_t[0] == 0))
    for k in range(2, _ISOLATE_MAX_CHANGES + 1):
        few = (changes == k) & (cf_t[0] != 0)
        if not few.any():
            continue
        roots, unsure = _isolated_roots(np.ascontiguousarray(cf_t[:, few]), k)
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = 1.0 / roots - 1.0
        nearest = np.nanargmin(np.where(np.isfinite(rates), np.abs(rates), np.inf), axis=0)
        rate = rates[nearest, np.arange(rates.shape[1])]
        done = ~unsure
        irr[np.flatnonzero(few)[done]] = rate[done]
        multi[np.flatnonzero(few)[done]] = False
    if multi.any():
        irr[multi] = _irr_by_roots(cf_t[:, multi].T)
    return irr, changes


def irr_rows(cf: np.ndarray) -> np.ndarray:
    """:func:`irr_many` for series given as rows (series × periods)."""
    return irr_many(np.asarray(cf, dtype=np.float64).T)[0]
