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


def cheaper_channel_market_share(premium_low_yuan_per_kwh: np.ndarray, gec_price_yuan_per_certificate: float
                                 ) -> np.ndarray:
    """1 when market trading's premium π_low is below a certificate's cost per kWh (g / 1000), else 0.

    The compliance-driven playbook's default (segmentation.md: 'the cheaper channel per kWh').
    """
    return np.where(premium_low_yuan_per_kwh < gec_price_yuan_per_certificate / 1000.0, 1.0, 0.0)


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
