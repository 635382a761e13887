"""The cost model's formulas, one pure function each, over NumPy columns (one element per account).

Every function cites the section of the WRI (2023) technical note *企业绿电采购决策工具技术说明文档*
it implements, and the spec's decisions (``cost-model.md``) where the note is ambiguous. Units are in
the argument names; nothing here reads files or rounds.
"""
from __future__ import annotations

import numpy as np
import numpy_financial as npf

# ---------------------------------------------------------------------------------------------
# 2.2.1 现有购电模式 — current purchase mode
# ---------------------------------------------------------------------------------------------


def grid_kwh(annual_kwh: np.ndarray, existing_pv_kwh: np.ndarray) -> np.ndarray:
    """G = E − P0: grid purchases (2.2.1 电网用电量; note 13: no market or certificates today)."""
    return annual_kwh - existing_pv_kwh


def reference_tariffs_yuan_per_kwh(coal_benchmark_yuan_per_kwh: np.ndarray, network_adder_yuan_per_kwh: np.ndarray,
                                   multipliers: dict[str, float]) -> dict[str, np.ndarray]:
    """Reference time-of-use tariff per period: (coal benchmark + network & levies) × period multiplier.

    Used only for accounts without a bill (2.2.1 峰谷平尖总价). The derivation and its sources are in
    ``data/reference/tariff.yaml``: the multipliers follow 发改价格〔2021〕1093号 (peak/valley ≥ 3–4:1,
    critical peak ≥ 1.2 × peak); the adders are labelled assumptions.
    """
    flat = coal_benchmark_yuan_per_kwh + network_adder_yuan_per_kwh
    return {period: flat * factor for period, factor in multipliers.items()}


def estimated_bill_yuan(grid_kwh_: np.ndarray, shares: dict[str, np.ndarray], tariffs: dict[str, np.ndarray],
                        penalty_yuan_per_kwh: np.ndarray) -> np.ndarray:
    """B = G × Σ_k s_k × (tariff_k + penalty) (2.2.1: 高峰/低谷/平段/尖峰总价, 惩罚电价 for 高耗能)."""
    total = np.zeros_like(grid_kwh_)
    for period, share in shares.items():
        total += share * (tariffs[period] + penalty_yuan_per_kwh)
    return grid_kwh_ * total


def average_price_yuan_per_kwh(bill_yuan: np.ndarray, grid_kwh_: np.ndarray,
                               fallback_yuan_per_kwh: np.ndarray) -> np.ndarray:
    """p = B / G; the flat reference tariff (+ penalty) when G = 0 (cost-model.md §1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(grid_kwh_ > 0, bill_yuan / np.where(grid_kwh_ > 0, grid_kwh_, 1.0), fallback_yuan_per_kwh)


def co2_t(emission_factor_t_per_mwh: np.ndarray, kwh: np.ndarray) -> np.ndarray:
    """CO2 = EF × kWh / 1000 (2.2.1 碳足迹; EF in t/MWh). NaN where EF is missing (西藏)."""
    return emission_factor_t_per_mwh * kwh / 1000.0


# ---------------------------------------------------------------------------------------------
# 2.2.2 分布式光伏 — new distributed PV
# ---------------------------------------------------------------------------------------------


def pv_capacity_kw(roof_area_m2: np.ndarray, roof_owned: np.ndarray, m2_per_kw: float) -> np.ndarray:
    """装机容量 = 安装面积 / 10 (note 18); 0 when the roof is not owned (note 8) or has no area."""
    return np.where(roof_owned & (roof_area_m2 > 0), roof_area_m2 / m2_per_kw, 0.0)


def module_factors(first_year_factor: float, degradation_per_year: float, lifetime_years: int) -> np.ndarray:
    """f1 − d × (k − 1) for k = 1..L (note 20). **Decision:** linear degradation (module datasheet)."""
    return first_year_factor - degradation_per_year * np.arange(lifetime_years, dtype=np.float64)


def pv_generation_kwh(capacity_kw: np.ndarray, full_load_hours: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """年发电量 gen_k = capacity × H × factor_k (2.2.2, note 19 standard-hours method).

    Year matrices have shape (L, accounts): one contiguous row per year.
    """
    return factors[:, None] * (capacity_kw * full_load_hours)[None, :]


def self_consumed_kwh(generation_kwh: np.ndarray, grid_kwh_: np.ndarray) -> np.ndarray:
    """q_k = min(gen_k, G). **Decision:** capped at grid purchases, since note 17 assumes no export."""
    return np.minimum(generation_kwh, grid_kwh_[None, :])


def pv_capex_yuan(capacity_kw: np.ndarray, capex_yuan_per_w: float) -> np.ndarray:
    """总投资 = capacity × 1000 × c (2.2.2, note 21)."""
    return capacity_kw * 1000.0 * capex_yuan_per_w


def debt_service_yuan(loan_yuan: np.ndarray, rate: np.ndarray, years: np.ndarray, interest_only: np.ndarray,
                      lifetime_years: int) -> np.ndarray:
    """Debt service DS_k per year k = 1..max(L, N), shape (max(L, longest term), accounts)
    (2.2.2 月还款额 / 年还款额).

    ``annuity`` (等额本息): 12 × numpy_financial.pmt(r/12, 12N, −loan) for k ≤ N (loan / 12N when r = 0).
    ``interest_only`` (先息后本): loan × r for k ≤ N plus the principal in year N. **Decision:** the note's
    payback formula leaves the principal of an interest-only loan out; it is counted here.
    **Decision:** a term N longer than the lifetime L is repaid in full: the rows run to the longest
    term of any borrowing account (see :func:`pv_cash_flows_yuan`), so no repayment is cut off.
    """
    has = np.flatnonzero(loan_yuan > 0)          # most accounts borrow nothing: compute only the rest
    longest = int(np.max(years[has])) if has.size else 0
    rows = max(int(lifetime_years), longest)
    ds = np.zeros((rows, loan_yuan.shape[0]))
    if has.size:
        loan, r, n_years, io = loan_yuan[has], rate[has], years[has], interest_only[has]
        r = np.where(1.0 + r / 12.0 == 1.0, 0.0, r)   # a rate too small to move (1 + r/12) is a zero rate
        k = np.arange(1, rows + 1)[:, None]
        annual = np.where(io, loan * r, 12.0 * npf.pmt(r / 12.0, 12.0 * n_years, -loan))
        part = np.where(k <= n_years[None, :], annual[None, :], 0.0)
        part += np.where(io[None, :] & (k == n_years[None, :]), loan[None, :], 0.0)
        ds[:, has] = part
    return ds


def pv_cash_flows_yuan(equity_yuan: np.ndarray, revenue_yuan: np.ndarray, debt_service: np.ndarray) -> np.ndarray:
    """CF_0 = −equity, CF_k = rev_k − DS_k (2.2.2 投资回报率, note 22: no O&M, no price change).

    ``revenue_yuan`` has L rows (the lifetime); ``debt_service`` may have more (a loan longer than the
    lifetime, :func:`debt_service_yuan`): those years are carried with no revenue, CF_k = −DS_k.
    """
    lifetime = revenue_yuan.shape[0]
    cf = np.empty((max(lifetime, debt_service.shape[0]) + 1, revenue_yuan.shape[1]))
    cf[0] = -equity_yuan
    np.subtract(revenue_yuan, debt_service[:lifetime], out=cf[1:lifetime + 1])
    np.negative(debt_service[lifetime:], out=cf[lifetime + 1:])
    return cf


def pv_payback_years(equity_yuan: np.ndarray, debt_service: np.ndarray, revenue_y1_yuan: np.ndarray) -> np.ndarray:
    """投资回收期 = (initial investment + total debt service) / year-1 revenue (2.2.2).

    NaN (stored NULL) when rev_1 = 0, or when rev_1 is so small that the quotient leaves float range.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        years = np.where(revenue_y1_yuan > 0,
                         (equity_yuan + debt_service.sum(axis=0)) / np.where(revenue_y1_yuan > 0, revenue_y1_yuan, 1.0),
                         np.nan)
    return np.where(np.isfinite(years), years, np.nan)


def self_pv_cost_y1_yuan(debt_service_y1_yuan: np.ndarray, equity_yuan: np.ndarray, lifetime_years: int) -> np.ndarray:
    """Year-1 cost of self-owned PV: DS_1 + equity / L.

    **Decision:** the note's 净支出 counts only the loan repayment, which makes PV bought with own funds
    look free; the customer's own funds are spread straight-line over the lifetime.
    """
    return debt_service_y1_yuan + equity_yuan / lifetime_years


def third_party_pv_cost_y1_yuan(pv_kwh_y1: np.ndarray, price_yuan_per_kwh: np.ndarray,
                                discount: np.ndarray) -> np.ndarray:
    """第三方投资: the customer pays P1 × p × δ for the PV output (2.2.2, note 16)."""
    return pv_kwh_y1 * price_yuan_per_kwh * discount


# ---------------------------------------------------------------------------------------------
# 2.2.3 市场化采购 and 2.2.4 绿证
# ---------------------------------------------------------------------------------------------


def remaining_green_kwh(target_kwh: np.ndarray, existing_pv_kwh: np.ndarray, pv_kwh_y1: np.ndarray) -> np.ndarray:
    """R = max(0, T − P0 − P1) (2.2.4 绿证和市场化交易的绿电总量)."""
    return np.maximum(0.0, target_kwh - existing_pv_kwh - pv_kwh_y1)


def gec_count(gec_kwh: np.ndarray) -> np.ndarray:
    """Whole certificates of 1 MWh: ceil(C / 1000 − 1e-9) (2.2.4 绿证需求量).

    **Decision:** certificates are whole; the 1e-9 tolerance keeps float noise from buying one more.
    """
    return np.maximum(np.ceil(gec_kwh / 1000.0 - 1e-9), 0.0) + 0.0   # + 0.0 turns −0.0 into 0.0


# ---------------------------------------------------------------------------------------------
# 2.2.5 经济环境效益 — green mode cost and CO2
# ---------------------------------------------------------------------------------------------


def green_cost_yuan(grid_kwh_: np.ndarray, pv_kwh_y1: np.ndarray, price_yuan_per_kwh: np.ndarray,
                    pv_cost_y1: np.ndarray, market_kwh: np.ndarray, premium_yuan_per_kwh: np.ndarray,
                    gec_cost: np.ndarray) -> np.ndarray:
    """(G − P1) × p + pv_cost_y1 + M × π + gec_cost — the consistent reading of 2.2.5's four items.

    **Decision:** electricity bought under certificates or market contracts is still paid at the account's
    price p (2.2.5 item 3: the certificate is an extra; note 27: market price = local price + premium), and
    PV output is paid once.
    """
    return (grid_kwh_ - pv_kwh_y1) * price_yuan_per_kwh + pv_cost_y1 + market_kwh * premium_yuan_per_kwh + gec_cost


def green_cost_wri_yuan(bill_yuan: np.ndarray, target_share: np.ndarray, wri_net_pv_yuan: np.ndarray,
                        gec_kwh: np.ndarray, gec_price_yuan_per_certificate: float, market_kwh: np.ndarray,
                        coal_benchmark_yuan_per_kwh: np.ndarray, premium_yuan_per_kwh: np.ndarray) -> np.ndarray:
    """The note's own formula, kept for reconciliation with the WRI tool (2.2.5 绿电模式最低/最高费用).

    B × (1 − t) + 新建分布式的净支出 + (C / 1000) × g + M × (coal benchmark + π), with the certificate cost
    counted once and unrounded (the note's wind + PV certificate costs read as one purchase).
    """
    return (bill_yuan * (1.0 - target_share) + wri_net_pv_yuan
            + gec_kwh / 1000.0 * gec_price_yuan_per_certificate
            + market_kwh * (coal_benchmark_yuan_per_kwh + premium_yuan_per_kwh))


def green_co2_t(emission_factor_t_per_mwh: np.ndarray, grid_kwh_: np.ndarray, pv_kwh_y1: np.ndarray,
                market_kwh: np.ndarray, gec_kwh: np.ndarray) -> np.ndarray:
    """EF × max(0, G − P1 − M − C) / 1000 (2.2.1 and 2.2.5 绿电模式碳排放; note 12 counts all three)."""
    return co2_t(emission_factor_t_per_mwh, np.maximum(0.0, grid_kwh_ - pv_kwh_y1 - market_kwh - gec_kwh))


# ---------------------------------------------------------------------------------------------
# PV sizing, the value of each PV mode and the recommendation (cost-model.md §2)
#
# Every figure an offer or a view prints is one of these functions (or one above), evaluated once
# by :mod:`gpengine.model` and stored; the offers only format the stored value.
# ---------------------------------------------------------------------------------------------

PV_SIZINGS = ("roof", "self_consumption")
CAPPED_TOLERANCE = 1e-9


def self_consumption_capacity_kw(roof_capacity_kw: np.ndarray, grid_kwh_: np.ndarray, full_load_hours: np.ndarray,
                                 first_year_factor: float) -> np.ndarray:
    """The largest system whose year-1 output is all used on site: min(A / 10, G / (H × f1)).

    Parameters
    ----------
    roof_capacity_kw : array [kW]
        The roof's potential A / 10 (0 when the roof is not owned or has no area).
    grid_kwh_ : array [kWh]
        Annual grid purchases G.
    full_load_hours : array [h]
        The province's PV full-load hours H.
    first_year_factor : float [-]
        First-year module factor f1.

    Returns
    -------
    array [kW]
        0 where the roof has no potential or G = 0 (not eligible).

    References
    ----------
    WRI (2023) 2.2.2 and notes 17–20; cost-model.md §2, **Decision** ``self_consumption``: with no
    export every kW above this point adds capex and no year-1 revenue.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        use = np.where(full_load_hours > 0, grid_kwh_ / (np.where(full_load_hours > 0, full_load_hours, 1.0)
                                                         * first_year_factor), np.inf)
    return np.where((roof_capacity_kw > 0) & (grid_kwh_ > 0), np.minimum(roof_capacity_kw, use), 0.0)


def sized_capacity_kw(pv_sizing: str, roof_capacity_kw: np.ndarray, grid_kwh_: np.ndarray,
                      full_load_hours: np.ndarray, first_year_factor: float) -> np.ndarray:
    """``pv_capacity_kw`` under the assumption set's ``pv_sizing``.

    Parameters
    ----------
    pv_sizing : {'roof', 'self_consumption'}
        ``roof``: the note's A / 10; ``self_consumption``: :func:`self_consumption_capacity_kw`.
    roof_capacity_kw, grid_kwh_, full_load_hours, first_year_factor
        As in :func:`self_consumption_capacity_kw` ([kW], [kWh], [h], [-]).

    Returns
    -------
    array [kW]

    References
    ----------
    WRI (2023) note 18; cost-model.md §2 "Capacity".
    """
    if pv_sizing == "roof":
        return roof_capacity_kw
    if pv_sizing == "self_consumption":
        return self_consumption_capacity_kw(roof_capacity_kw, grid_kwh_, full_load_hours, first_year_factor)
    raise ValueError(f"pv_sizing must be one of {PV_SIZINGS}, got {pv_sizing!r}")


def pv_capped(eligible: np.ndarray, generation_y1_kwh: np.ndarray, grid_kwh_: np.ndarray) -> np.ndarray:
    """Flag ``pv_capped``: gen_1 > G × (1 + 1e-9) — the output beyond grid purchases earns nothing.

    Parameters
    ----------
    eligible : bool array
    generation_y1_kwh : array [kWh]
        gen_1.
    grid_kwh_ : array [kWh]
        G.

    Returns
    -------
    bool array

    References
    ----------
    WRI (2023) note 17 (no export); cost-model.md §2: the tolerance keeps a self-consumption-sized
    system, whose gen_1 equals G up to rounding, from being flagged.
    """
    return eligible & (generation_y1_kwh > grid_kwh_ * (1.0 + CAPPED_TOLERANCE))


def breakeven_year(cash_flows_yuan: np.ndarray) -> np.ndarray:
    """The first year k ≥ 1 in which CF_0 + … + CF_k ≥ 0; NaN (stored NULL) when none within L.

    Parameters
    ----------
    cash_flows_yuan : array (L + 1, accounts) [元]
        CF_0 = −equity, CF_k = rev_k − DS_k (:func:`pv_cash_flows_yuan`).

    Returns
    -------
    array [year]
        Whole years as floats; NaN where the cumulative cash flow stays negative.

    References
    ----------
    WRI (2023) 2.2.2 投资回收期; cost-model.md §2 ``pv_breakeven_year`` (what the offer calls 回收期:
    degradation and the loan counted as they fall).
    """
    cumulative = np.cumsum(cash_flows_yuan, axis=0)[1:] >= 0
    found = cumulative.any(axis=0)
    return np.where(found, np.argmax(cumulative, axis=0) + 1.0, np.nan)


def cumulative_cash_flow_yuan(cash_flows_yuan: np.ndarray) -> np.ndarray:
    """Cumulative cash flow CF_0 + … + CF_k for k = 0..L (the offer's 25-year chart).

    Parameters
    ----------
    cash_flows_yuan : array (L + 1, ...) [元]

    Returns
    -------
    array (L + 1, ...) [元]

    References
    ----------
    cost-model.md §2 ``pv_breakeven_year``; offers.md item 5.
    """
    return np.cumsum(cash_flows_yuan, axis=0)


def third_party_savings_yuan(self_consumed: np.ndarray, price_yuan_per_kwh: np.ndarray,
                             discount: np.ndarray) -> np.ndarray:
    """S_k = q_k × p × (1 − δ): the customer's saving in year k under the third-party model.

    Parameters
    ----------
    self_consumed : array (L, accounts) [kWh]
        q_k.
    price_yuan_per_kwh : array [元/kWh]
        p.
    discount : array [-]
        δ, the share of the grid price paid to the PV owner.

    Returns
    -------
    array (L, accounts) [元]

    References
    ----------
    WRI (2023) 2.2.2 第三方投资, note 16; cost-model.md §2.
    """
    return self_consumed * (price_yuan_per_kwh * (1.0 - discount))[None, :]


def with_year_zero(flows_yuan: np.ndarray, year0_yuan: np.ndarray | float = 0.0) -> np.ndarray:
    """[CF_0, CF_1 … CF_L] from the yearly flows (L, accounts) and CF_0.

    Parameters
    ----------
    flows_yuan : array (L, accounts) [元]
    year0_yuan : array or float [元]

    Returns
    -------
    array (L + 1, accounts) [元]

    References
    ----------
    cost-model.md §2 ``pv_third_party_npv_yuan`` (CF_0 = 0 for the third-party model).
    """
    out = np.empty((flows_yuan.shape[0] + 1, flows_yuan.shape[1]))
    out[0] = year0_yuan
    out[1:] = flows_yuan
    return out


def best_pv_mode(eligible: np.ndarray, self_npv_yuan: np.ndarray, third_party_npv_yuan: np.ndarray) -> np.ndarray:
    """``pv_best_mode`` as codes 0 = none, 1 = self, 2 = third_party.

    Parameters
    ----------
    eligible : bool array
    self_npv_yuan : array [元]
        ``pv_npv_yuan`` at the hurdle rate.
    third_party_npv_yuan : array [元]
        ``pv_third_party_npv_yuan`` at the hurdle rate.

    Returns
    -------
    int array
        ``none`` when not eligible; ``self`` when its NPV ≥ the third-party NPV, else ``third_party``.

    References
    ----------
    cost-model.md §2 "Best PV mode" (**Decision**: both modes valued the same way over the lifetime).
    """
    return np.where(~eligible, 0, np.where(self_npv_yuan >= third_party_npv_yuan, 1, 2)).astype(np.int8)


def recommended_pv_mode(eligible: np.ndarray, requested: np.ndarray, best: np.ndarray) -> np.ndarray:
    """``pv_mode`` as codes (0 none, 1 self, 2 third_party): the list's choice when given, else the best.

    Parameters
    ----------
    eligible : bool array
    requested : int array
        The account's own ``pv_mode`` as a code, −1 when not given.
    best : int array
        :func:`best_pv_mode`.

    Returns
    -------
    int array
        ``none`` when not eligible (flag ``pv_mode_infeasible`` when a PV mode was asked for).

    References
    ----------
    cost-model.md §2 "Recommended PV mode".
    """
    return np.where(~eligible, 0, np.where(requested >= 0, requested, best)).astype(np.int8)


def pv_saving_y1_yuan(pv_kwh_y1: np.ndarray, price_yuan_per_kwh: np.ndarray, pv_cost_y1_yuan: np.ndarray
                      ) -> np.ndarray:
    """Year-1 saving of a PV mode: avoided purchases P1 × p minus the mode's year-1 PV cost.

    Parameters
    ----------
    pv_kwh_y1 : array [kWh]
        P1.
    price_yuan_per_kwh : array [元/kWh]
        p.
    pv_cost_y1_yuan : array [元]
        :func:`self_pv_cost_y1_yuan` or :func:`third_party_pv_cost_y1_yuan`.

    Returns
    -------
    array [元]

    References
    ----------
    WRI (2023) 2.2.2 年收益; cost-model.md §2 and §4 (the PV cost in the green-mode total).
    """
    return pv_kwh_y1 * price_yuan_per_kwh - pv_cost_y1_yuan


def green_share_achieved(existing_pv_kwh: np.ndarray, pv_kwh_y1: np.ndarray, market_kwh: np.ndarray,
                         gec_kwh: np.ndarray, annual_kwh: np.ndarray) -> np.ndarray:
    """(P0 + P1 + M + C) / E: the green share a scenario reaches.

    Parameters
    ----------
    existing_pv_kwh, pv_kwh_y1, market_kwh, gec_kwh, annual_kwh : array [kWh]

    Returns
    -------
    array [-]

    References
    ----------
    WRI (2023) 2.2.4; cost-model.md §4 ``green_share_achieved``.
    """
    return (existing_pv_kwh + pv_kwh_y1 + market_kwh + gec_kwh) / annual_kwh


def extra_cost_yuan(green_cost_yuan_: np.ndarray, bill_yuan: np.ndarray) -> np.ndarray:
    """Change of the annual cost against today: green cost − B (negative: a saving).

    Parameters
    ----------
    green_cost_yuan_ : array [元]
        ``green_cost_low_yuan`` or ``green_cost_high_yuan``.
    bill_yuan : array [元]
        B.

    Returns
    -------
    array [元]

    References
    ----------
    WRI (2023) 2.2.5 经济效益; cost-model.md §5 (extras).
    """
    return green_cost_yuan_ - bill_yuan


def premium_per_green_kwh_yuan(extra_cost_yuan_: np.ndarray, green_kwh: np.ndarray) -> np.ndarray:
    """Extra cost per new green kWh (P1 + M + C); NaN (stored NULL) when there is none.

    Parameters
    ----------
    extra_cost_yuan_ : array [元]
        :func:`extra_cost_yuan`.
    green_kwh : array [kWh]
        New green kWh of the scenario.

    Returns
    -------
    array [元/kWh]

    References
    ----------
    WRI (2023) 2.2.5; cost-model.md §5 ("per-kWh premium" extra).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(green_kwh > 0, extra_cost_yuan_ / np.where(green_kwh > 0, green_kwh, 1.0), np.nan)


def pv_account_cash_flows_yuan(capacity_kw: float, full_load_hours: float, grid_kwh_: float, price_yuan_per_kwh: float,
                               first_year_factor: float, degradation_per_year: float, lifetime_years: int,
                               capex_yuan_per_w: float, loan_ratio: float, loan_rate: float, loan_years: int,
                               interest_only: bool, third_party_discount: float) -> dict[str, np.ndarray]:
    """One account's yearly PV cash flows of both modes, from its stored figures (the offer's chart).

    The same formulas as the column-wise model, applied to one account: the offer's 25-year chart is
    drawn from these, and its break-even points equal the stored ``pv_breakeven_year``.

    Parameters
    ----------
    capacity_kw [kW], full_load_hours [h], grid_kwh_ [kWh], price_yuan_per_kwh [元/kWh]
    first_year_factor [-], degradation_per_year [-/year], lifetime_years [year], capex_yuan_per_w [元/W]
    loan_ratio [-], loan_rate [1/year], loan_years [year], interest_only [bool], third_party_discount [-]

    Returns
    -------
    dict of arrays (L + 1,) [元]
        ``self`` and ``third_party``: CF_0..CF_L of each mode.

    References
    ----------
    WRI (2023) 2.2.2; cost-model.md §2.
    """
    cap = np.array([capacity_kw], dtype=np.float64)
    gen = pv_generation_kwh(cap, np.array([full_load_hours]),
                            module_factors(first_year_factor, degradation_per_year, lifetime_years))
    q = self_consumed_kwh(gen, np.array([grid_kwh_]))
    price = np.array([price_yuan_per_kwh])
    capex = pv_capex_yuan(cap, capex_yuan_per_w)
    loan = capex * loan_ratio
    ds = debt_service_yuan(loan, np.array([loan_rate]), np.array([float(loan_years)]), np.array([interest_only]),
                           lifetime_years)
    self_cf = pv_cash_flows_yuan(capex - loan, q * price[None, :], ds)
    third = with_year_zero(third_party_savings_yuan(q, price, np.array([third_party_discount])))
    return {"self": self_cf[:, 0], "third_party": third[:, 0]}


def mode_npv_yuan(mode: np.ndarray, self_npv_yuan: np.ndarray, third_party_npv_yuan: np.ndarray) -> np.ndarray:
    """The NPV of a PV mode given as codes (0 none → 0, 1 self, 2 third_party).

    Parameters
    ----------
    mode : int array
    self_npv_yuan, third_party_npv_yuan : array [元]

    Returns
    -------
    array [元]
        What the mode is worth to the customer over the lifetime at the hurdle rate; the difference
        between the best mode's and the recommended mode's value is what the offer says the better
        mode would add (``pv_best_mode_gain_yuan``).

    References
    ----------
    cost-model.md §2 "Recommended PV mode"; offers.md item 5.
    """
    return np.where(mode == 1, self_npv_yuan, np.where(mode == 2, third_party_npv_yuan, 0.0))


def co2_reduction_share(co2_reduction_t: np.ndarray, current_co2_t: np.ndarray) -> np.ndarray:
    """CO2 avoided as a share of today's emissions; NaN (stored NULL) without an emission factor or emissions.

    Parameters
    ----------
    co2_reduction_t : array [t]
        ``co2_reduction_t`` of a scenario.
    current_co2_t : array [t]
        ``current_co2_t``.

    Returns
    -------
    array [-]

    References
    ----------
    WRI (2023) 2.2.5 环境效益; cost-model.md §4.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(current_co2_t > 0, co2_reduction_t / np.where(current_co2_t > 0, current_co2_t, 1.0), np.nan)
