"""The A/B statistics behind ``edition_results`` (pure functions; scipy does the distributions).

Per experiment and segment, every arm is compared with a reference arm: ``control`` when the
experiment has one (no offer at all: what happens anyway, e.g. organic green purchases), else the
first arm in the file's order. An observation is an offer (or held-out account); success is an
accepted outcome. For arm *a* with *x_a* accepted of *n_a* and reference *r*:

* conversion interval: Wilson score, 95 % (``scipy.stats.binomtest(x, n).proportion_ci("wilson")``);
* difference *d = p_a − p_r* with a 95 % interval by Newcombe's hybrid score method (from the two
  Wilson intervals: ``[d − sqrt((p_a−l_a)² + (u_r−p_r)²), d + sqrt((u_a−p_a)² + (p_r−l_r)²)]``);
* two-sided test of *p_a = p_r*: Pearson's χ² on the 2×2 table without continuity correction
  (``scipy.stats.chi2_contingency(..., correction=False)``), identical to the pooled two-proportion
  z-test;
* the winner is named only when *p < α* (0.05): the better of the two arms;
* otherwise the offers per arm that a two-sided test at α would need to detect the observed
  difference with 80 % power (Fleiss, without continuity correction)
  ``n = (z_{1-α/2} sqrt(2 p̄ q̄) + z_{0.8} sqrt(p_a q_a + p_r q_r))² / d²`` with p̄ the mean of the two
  rates, and how many more that is than the smaller of the two arms has now (``more_offers_needed``,
  for both arms together). NULL when *d* = 0 (no difference to detect).

Each arm is tested against the reference on its own (no correction for several arms: with two
editions and a control, read a p-value near 0.05 with care). Undefined values are NULL, never NaN.

References: Wilson, E. B. (1927) JASA 22:209; Fleiss, Levin & Paik (2003) *Statistical Methods for
Rates and Proportions*, 3rd ed., §4.2; Newcombe, R. G. (1998) Stat. Med. 17:873 (interval methods).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

ALPHA = 0.05
POWER = 0.80


def wilson_interval(accepted: int, offers: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """95 % Wilson score interval of ``accepted / offers`` (None, None when there are no offers)."""
    if offers <= 0:
        return None, None
    ci = stats.binomtest(int(accepted), int(offers)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def two_sided_p(x_a: int, n_a: int, x_r: int, n_r: int) -> float | None:
    """p-value of the two-sided test that both arms convert equally (None without data)."""
    if n_a <= 0 or n_r <= 0:
        return None
    if x_a + x_r == 0 or x_a + x_r == n_a + n_r:
        return 1.0          # nobody (or everybody) accepted: no evidence of any difference
    table = [[x_a, n_a - x_a], [x_r, n_r - x_r]]
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def difference_interval(x_a: int, n_a: int, x_r: int, n_r: int,
                        confidence: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """(difference, low, high) of ``p_a - p_r`` with Newcombe's hybrid score interval (his method 10),
    built from the two arms' Wilson intervals: unlike the Wald interval it stays honest with few or no
    acceptances in an arm (a Wald interval of 0/8 has width zero)."""
    if n_a <= 0 or n_r <= 0:
        return None, None, None
    p_a, p_r = x_a / n_a, x_r / n_r
    l_a, u_a = wilson_interval(x_a, n_a, confidence)
    l_r, u_r = wilson_interval(x_r, n_r, confidence)
    d = p_a - p_r
    return d, d - math.sqrt((p_a - l_a) ** 2 + (u_r - p_r) ** 2), d + math.sqrt((u_a - p_a) ** 2 + (p_r - l_r) ** 2)


def offers_needed_per_arm(p_a: float, p_r: float, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """Offers per arm for a two-sided test at ``alpha`` to detect ``p_a - p_r`` with ``power``."""
    d = p_a - p_r
    if d == 0:
        return None
    z_a = float(stats.norm.ppf(1 - alpha / 2))
    z_b = float(stats.norm.ppf(power))
    p_bar = (p_a + p_r) / 2
    num = z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p_a * (1 - p_a) + p_r * (1 - p_r))
    return (num / d) ** 2


@dataclass(frozen=True)
class ArmResult:
    arm: str
    reference_arm: str
    offers: int
    accepted: int
    conversion: float | None
    conversion_low: float | None
    conversion_high: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    p_value: float | None
    significant: bool | None
    winner: str | None
    offers_needed_per_arm: int | None
    more_offers_needed: int | None


def compare_arms(counts: list[tuple[str, int, int]], reference: str, alpha: float = ALPHA) -> list[ArmResult]:
    """``counts``: (arm, offers, accepted) per arm; one result per arm against ``reference``
    (the reference arm's own row has no difference, test or winner)."""
    by_arm = {a: (n, x) for a, n, x in counts}
    n_r, x_r = by_arm[reference]
    out = []
    for arm, n, x in counts:
        low, high = wilson_interval(x, n)
        conv = x / n if n else None
        if arm == reference or n == 0 or n_r == 0:
            out.append(ArmResult(arm, reference, n, x, conv, low, high, None, None, None, None, None, None, None, None))
            continue
        d, d_low, d_high = difference_interval(x, n, x_r, n_r)
        p = two_sided_p(x, n, x_r, n_r)
        significant = p is not None and p < alpha
        winner = (arm if d > 0 else reference) if significant else None
        need = needed = None
        if not significant:
            per_arm = offers_needed_per_arm(x / n, x_r / n_r, alpha)
            if per_arm is not None:
                need = math.ceil(per_arm)
                needed = max(0, need - n) + max(0, need - n_r)
        out.append(ArmResult(arm, reference, n, x, conv, low, high, d, d_low, d_high, p, significant, winner,
                             need, needed))
    return out
