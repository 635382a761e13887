"""Everything one offer shows, computed in Python from one account's rows (templates only format).

:func:`build_offer` turns the account's ``accounts`` / ``results`` / ``scenarios`` / ``segments``
rows, its segment playbook and the run's assumptions into a plain, JSON-safe dict. That dict is
both what the templates render and what :func:`offers.hashing.content_hash` hashes, so an offer
is re-rendered exactly when something it shows changes.

Figures are taken from the stored rows as they are (the offer must show what DuckDB holds);
the few values derived here — year-1 saving of the third-party model, per-kWh premium when the
model did not store it, shares for the chart — are simple arithmetic on stored figures.
Run-specific metadata (run id, issue date, offer number) is *not* in this dict: see
:func:`offer_meta`.
"""
from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from core.vocabulary import PV_MODE_CODES, SEGMENT_CODES, CustomerType, PvMode, Repayment
from offers import formatting as fmt
from offers.chart import comparison_chart

PV_MODES = PV_MODE_CODES
MODE_LABELS = {
    PvMode.NONE: "绿证 / 绿电交易",
    PvMode.SELF: "企业自投光伏 + 绿证 / 绿电",
    PvMode.THIRD_PARTY: "第三方投资光伏 + 绿证 / 绿电",
}
MODE_SHORT = {PvMode.NONE: "不新建光伏", PvMode.SELF: "企业自投", PvMode.THIRD_PARTY: "第三方投资"}
CUSTOMER_TYPES = {CustomerType.LARGE_INDUSTRIAL: "大工业用户", CustomerType.GENERAL_COMMERCIAL: "一般工商业用户",
                  CustomerType.RESIDENTIAL: "居民用户"}
SHORT_NAME = 24          # running header of pages 2+
_REPAYMENTS = {Repayment.ANNUITY: "等额本息", Repayment.INTEREST_ONLY: "先息后本"}


class OfferDataError(ValueError):
    """The rows of one account cannot make a consistent offer; the offer is recorded as failed."""


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------

def _f(value: Any) -> float | None:
    """A stored number as float, NULL/NaN/inf as None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _need(row: Mapping[str, Any], key: str, what: str) -> float:
    x = _f(row.get(key))
    if x is None:
        raise OfferDataError(f"{what}: {key} is missing")
    return x


def _text(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def assumption_values(assumptions: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, dict]]:
    """(set name, values, sources) from either a flat dict or an ``AssumptionSet.record()`` dict."""
    name = _text(assumptions.get("name"), "—")
    if isinstance(assumptions.get("values"), Mapping):
        values = dict(assumptions["values"])
        sources = {k: dict(v) for k, v in (assumptions.get("sources") or {}).items() if isinstance(v, Mapping)}
    else:
        values, sources = {}, {}
        for key, entry in assumptions.items():
            if key == "name":
                continue
            if isinstance(entry, Mapping) and "value" in entry:
                values[key] = entry["value"]
                sources[key] = {k: v for k, v in entry.items() if k != "value"}
            else:
                values[key] = entry
    return name, values, sources


# ------------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------------

def _customer(account: Mapping[str, Any]) -> dict:
    name = _text(account.get("name"))
    return {
        "name": name,
        "short_name": name if len(name) <= SHORT_NAME else name[:SHORT_NAME - 1] + "…",
        "account_id": _text(account.get("account_id")),
        "province": _text(account.get("province")),
        "customer_type": CUSTOMER_TYPES.get(_text(account.get("customer_type")), _text(account.get("customer_type"))),
        "industry": _text(account.get("industry")) or None,
        "sales_rep": _text(account.get("sales_rep")) or None,
        "buys_green_power": bool(account.get("buys_green_power")),
        "you": "您" if account.get("customer_type") == "residential" else "贵司",   # how the offer addresses them
    }


def _today(account: Mapping, result: Mapping) -> dict:
    ef = _f(result.get("emission_factor_t_per_mwh"))
    annual = _need(account, "annual_kwh", "account")
    return {
        "annual_kwh": annual,
        "existing_pv_kwh": _f(account.get("existing_pv_kwh")) or 0.0,
        "grid_kwh": _need(result, "grid_kwh", "result"),
        "bill_yuan": _need(result, "bill_yuan", "result"),
        "bill_estimated": result.get("bill_source") == "estimated",
        "avg_price": _f(result.get("avg_price_yuan_per_kwh")),
        "co2_t": _f(result.get("current_co2_t")),
        "emission_factor": ef,
        "province": _text(account.get("province")),
    }


def _scenario_rows(result: Mapping, scenarios: Sequence[Mapping], bill: float, current_co2: float | None) -> list[dict]:
    by_mode = {s.get("pv_mode"): s for s in scenarios}
    if "none" not in by_mode:
        raise OfferDataError("scenarios: the 'none' PV mode is missing")
    recommended = _text(result.get("pv_mode"), "none")
    if recommended not in by_mode:
        raise OfferDataError(f"scenarios: no row for the recommended PV mode {recommended!r}")
    rows = []
    for mode in PV_MODES:
        s = by_mode.get(mode)
        if s is None:
            continue
        low = _need(s, "green_cost_low_yuan", f"scenario {mode}")
        high = _need(s, "green_cost_high_yuan", f"scenario {mode}")
        pv_kwh = _f(s.get("pv_kwh_y1")) or 0.0
        green_kwh = pv_kwh + (_f(s.get("market_kwh")) or 0.0) + (_f(s.get("gec_kwh")) or 0.0)
        per_low, per_high = _f(s.get("premium_per_green_kwh_low_yuan")), _f(s.get("premium_per_green_kwh_high_yuan"))
        if "premium_per_green_kwh_low_yuan" not in s:   # not stored by the model: same definition here
            per_low = (low - bill) / green_kwh if green_kwh > 0 else None
            per_high = (high - bill) / green_kwh if green_kwh > 0 else None
        co2_after = _f(s.get("green_co2_t"))
        reduction = _f(s.get("co2_reduction_t"))
        rows.append({
            "mode": mode,
            "label": MODE_LABELS[mode],
            "recommended": mode == recommended,
            "cost_low": low,
            "cost_high": high,
            "extra_low": _f(s.get("extra_cost_low_yuan")) if "extra_cost_low_yuan" in s else low - bill,
            "extra_high": _f(s.get("extra_cost_high_yuan")) if "extra_cost_high_yuan" in s else high - bill,
            "green_kwh": green_kwh,
            "pv_kwh": pv_kwh,
            "per_kwh_low": per_low,
            "per_kwh_high": per_high,
            "co2_t": co2_after,
            "co2_reduction_t": reduction,
            "co2_reduction_share": (reduction / current_co2) if (reduction is not None and current_co2) else None,
            "share_achieved": _f(s.get("green_share_achieved")),
        })
    return rows


def _pv(account: Mapping, result: Mapping, scenarios: Sequence[Mapping], values: Mapping, flags: set[str]) -> dict | None:
    eligible = result.get("pv_eligible")
    if eligible is None:
        eligible = (_f(result.get("pv_capacity_kw")) or 0.0) > 0
    if not eligible:
        return None
    by_mode = {s.get("pv_mode"): s for s in scenarios}
    self_s, third_s = by_mode.get("self"), by_mode.get("third_party")
    if self_s is None or third_s is None:
        raise OfferDataError("scenarios: PV is eligible but the self / third_party rows are missing")
    kwh_y1 = _need(self_s, "pv_kwh_y1", "scenario self")
    price = _need(result, "avg_price_yuan_per_kwh", "result")
    tp_cost = _need(result, "pv_third_party_cost_y1_yuan", "result")
    capex = _need(result, "pv_capex_yuan", "result")
    loan = _f(result.get("pv_loan_yuan")) or 0.0
    equity = _f(result.get("pv_equity_yuan"))
    npv = _f(result.get("pv_npv_yuan"))
    irr = _f(result.get("pv_irr"))
    hurdle = _f(values.get("hurdle_rate"))
    lifetime = int(values.get("pv_lifetime_years") or 25)
    saving = kwh_y1 * price - tp_cost
    recommended = _text(result.get("pv_mode"), "none")
    chosen = _text(account.get("pv_mode")) in ("self", "third_party")

    irr_note = None
    if irr is None:
        irr_note = ("全额贷款、没有自有资金投入，内部收益率无意义" if (equity is not None and equity <= 0)
                    else f"{lifetime} 年内的收益不足以形成有意义的内部收益率")
    elif "irr_multiple_roots" in flags:
        irr_note = "现金流多次正负交替（如先息后本的到期还本），内部收益率不宜作为判断依据，请以净现值为准"
    payback_note = "首年发电收益为零，无法计算回收期" if _f(result.get("pv_payback_years")) is None else None

    hurdle_text = fmt.pct(hurdle)
    if chosen:
        why = f"按{'您' if account.get('customer_type') == 'residential' else '贵司'}选择的{MODE_SHORT[recommended]}模式测算。"
        if recommended == "self" and npv is not None and npv < 0:
            why += (f"提示：按 {hurdle_text} 的折现率，企业自投 {lifetime} 年的净现值为 {fmt.yuan(npv)}；"
                    f"第三方投资无需前期投资，首年可节省电费 {fmt.yuan(saving)}。")
    elif recommended == "self":
        why = (f"按 {hurdle_text} 的折现率计算，企业自投 {lifetime} 年的净现值为 {fmt.yuan(npv)}，"
               "投资可以收回并带来收益，因此推荐企业自投。")
    else:
        why = (f"按 {hurdle_text} 的折现率计算，企业自投的净现值为 {fmt.yuan(npv)}，投资不划算；"
               f"第三方投资无需前期投资，首年即可节省电费 {fmt.yuan(saving)}，因此推荐第三方投资。")

    return {
        "capacity_kw": _need(result, "pv_capacity_kw", "result"),
        "roof_area_m2": _f(account.get("roof_area_m2")),
        "kwh_y1": kwh_y1,
        "full_load_hours": _f(result.get("pv_full_load_hours")),
        "capex": capex,
        "loan": loan,
        "loan_ratio": (loan / capex) if capex else 0.0,
        "equity": equity,
        "debt_service_y1": _f(result.get("pv_debt_service_y1_yuan")),
        "self_cost_y1": _f(self_s.get("pv_cost_y1_yuan")),
        "self_saving_y1": kwh_y1 * price - (_f(self_s.get("pv_cost_y1_yuan")) or 0.0),
        "irr": irr,
        "irr_note": irr_note,
        "npv": npv,
        "payback_years": _f(result.get("pv_payback_years")),
        "payback_note": payback_note,
        "hurdle_rate": hurdle,
        "lifetime_years": lifetime,
        "third_party_cost_y1": tp_cost,
        "third_party_saving_y1": saving,
        "third_party_discount": (tp_cost / (kwh_y1 * price)) if kwh_y1 * price > 0 else None,
        "recommended": recommended,
        "recommended_label": MODE_SHORT.get(recommended, recommended),
        "chosen_by_customer": chosen,
        "why": why,
        "capped": "pv_capped" in flags,
    }


def _green(result: Mapping, account: Mapping, scenarios: Sequence[Mapping], playbook: Mapping, values: Mapping) -> dict:
    by_mode = {s.get("pv_mode"): s for s in scenarios}
    s = by_mode.get(_text(result.get("pv_mode"), "none")) or result
    buys = bool(account.get("buys_green_power"))
    promotions, trial = [], []
    for item in playbook.get("promotions") or ():
        if isinstance(item, Mapping):
            text, only_new = _text(item.get("text")), bool(item.get("only_if_not_buys_green_power"))
        else:
            text, only_new = _text(item), False
        if not text or (only_new and buys):
            continue
        (trial if only_new else promotions).append(text)
    remaining = _f(s.get("remaining_green_kwh")) or 0.0
    market = _f(s.get("market_kwh")) or 0.0
    return {
        "remaining_kwh": remaining,
        "market_kwh": market,
        "market_share": (market / remaining) if remaining > 0 else _f(result.get("market_share")),
        "premium_low": _f(result.get("premium_low_yuan_per_kwh")),
        "premium_high": _f(result.get("premium_high_yuan_per_kwh")),
        "market_premium_low": _f(s.get("market_premium_low_yuan")) or 0.0,
        "market_premium_high": _f(s.get("market_premium_high_yuan")) or 0.0,
        "gec_kwh": _f(s.get("gec_kwh")) or 0.0,
        "gec_count": int(_f(s.get("gec_count")) or 0),
        "gec_cost": _f(s.get("gec_cost_yuan")) or 0.0,
        "gec_price": _f(values.get("gec_price_yuan_per_certificate")),
        "gec_per_kwh": (_f(values.get("gec_price_yuan_per_certificate")) or 0.0) / 1000.0,
        "points": [_text(p) for p in playbook.get("offer_points") or () if p],
        "promotions": promotions,
        "trial": trial,
    }


def _plan(result: Mapping, segment: Mapping, playbooks: Mapping[str, Mapping], code: str) -> dict:
    playbook = playbooks[code]
    reasons, seen = [], set()
    for reason in segment.get("reasons") or ():
        text = _text(reason.get("text") if isinstance(reason, Mapping) else reason).strip()
        if text and text not in seen:
            seen.add(text)
            reasons.append(text)
    secondary = []
    for other in segment.get("secondary_segments") or ():
        if other in playbooks and other != code:
            pb = playbooks[other]
            secondary.append({"code": other, "label": _text(pb.get("label_zh"), other),
                              "package_name": _text(pb.get("package_name")),
                              "points": [_text(p) for p in pb.get("offer_points") or () if p]})
    target = _f(result.get("target_share")) or 0.0
    achieved = _f(result.get("green_share_achieved"))
    return {
        "label": _text(playbook.get("label_zh"), code),
        "package_name": _text(playbook.get("package_name")),
        "package_summary": _text(playbook.get("package_summary")),
        "services": [_text(s) for s in playbook.get("services") or () if s],
        "price_design": _text(playbook.get("price_design")),
        "reasons": reasons,
        "secondary": secondary,
        "target_share": target,
        "target_kwh": _f(result.get("target_kwh")),
        "achieved_share": achieved,
        "reached": achieved is not None and achieved + 1e-9 >= target,
    }


def _method(result: Mapping, account: Mapping, values: Mapping, name: str, sources: Mapping) -> dict:
    def date(key: str) -> str:
        return _text((sources.get(key) or {}).get("date"))

    rows = []

    def add(label: str, value: str, key: str | None, pv: bool = False) -> None:
        rows.append({"label": label, "value": value, "date": date(key) if key else "", "pv": pv})

    g = _f(values.get("gec_price_yuan_per_certificate"))
    add("绿证价格", f"{fmt.num(g, 2)} 元/张（1 张对应 1 MWh 绿电）", "gec_price_yuan_per_certificate")
    low, high = _f(result.get("premium_low_yuan_per_kwh")), _f(result.get("premium_high_yuan_per_kwh"))
    add("绿电交易环境溢价", f"{fmt.span(fmt.price(low, 2), fmt.price(high, 2))} 元/kWh（{_text(account.get('province'))}）",
        "premium_by_province_yuan_per_kwh" if _text(account.get("province")) in
        (values.get("premium_by_province_yuan_per_kwh") or {}) else "premium_default_yuan_per_kwh")
    add("光伏单位投资", f"{fmt.num(_f(values.get('pv_capex_yuan_per_w')), 2)} 元/W", "pv_capex_yuan_per_w", True)
    add("屋顶面积与装机", f"每 kW 约 {fmt.num(_f(values.get('roof_m2_per_kw')), 0)} m²", "roof_m2_per_kw", True)
    add("组件首年功率系数与衰减",
        f"首年 {fmt.pct(_f(values.get('pv_first_year_factor')))}，此后每年线性衰减 "
        f"{fmt.pct(_f(values.get('pv_degradation_per_year')))}", "pv_degradation_per_year", True)
    add("光伏年有效利用小时数", f"{fmt.num(_f(result.get('pv_full_load_hours')), 0)} 小时（{_text(account.get('province'))}）",
        None, True)
    add("测算年限", f"{int(values.get('pv_lifetime_years') or 25)} 年", "pv_lifetime_years", True)
    add("第三方投资电价", f"按电价的 {fmt.pct(_f(values.get('third_party_discount')))} 支付", "third_party_discount", True)
    repayment = _REPAYMENTS.get(_text(values.get("repayment")), _text(values.get("repayment")))
    add("默认贷款条件", f"贷款比例 {fmt.pct(_f(values.get('loan_ratio')))}，年利率 {fmt.pct(_f(values.get('loan_rate')), 2)}，"
        f"{int(values.get('loan_years') or 0)} 年，{repayment}", "loan_rate", True)
    add("判断自投的折现率", fmt.pct(_f(values.get("hurdle_rate"))), "hurdle_rate", True)
    ef = _f(result.get("emission_factor_t_per_mwh"))
    add("电网排放因子", f"{fmt.factor(ef)} t/MWh（{_text(account.get('province'))}）" if ef is not None
        else f"暂无（{_text(account.get('province'))}）", None)
    return {"set_name": name, "rows": rows, "ef_missing": ef is None}


# ------------------------------------------------------------------------------------------------
# the offer
# ------------------------------------------------------------------------------------------------

def build_offer(account: Mapping[str, Any], result: Mapping[str, Any] | None, scenarios: Sequence[Mapping[str, Any]],
                segment: Mapping[str, Any] | None, playbooks: Mapping[str, Mapping[str, Any]],
                assumptions: Mapping[str, Any]) -> dict:
    """The JSON-safe content of one offer. Raises :class:`OfferDataError` when the rows do not fit."""
    if result is None:
        raise OfferDataError("no cost-model result for this account")
    if segment is None:
        raise OfferDataError("no segment for this account")
    code = _text(segment.get("segment"))
    if code not in SEGMENT_CODES:
        raise OfferDataError(f"unknown segment {code!r}")
    if code not in playbooks:
        raise OfferDataError(f"no playbook for segment {code!r}")
    name, values, sources = assumption_values(assumptions)
    flags = {str(f) for f in (result.get("flags") or ())}

    today = _today(account, result)
    rows = _scenario_rows(result, scenarios, today["bill_yuan"], today["co2_t"])
    recommended = next(r for r in rows if r["recommended"])
    units = {
        "money": fmt.money_unit(max([today["bill_yuan"]] + [r["cost_high"] for r in rows])),
        "energy": fmt.energy_unit(today["annual_kwh"]),
        "co2": fmt.co2_unit(today["co2_t"]),
    }
    pv = _pv(account, result, scenarios, values, flags)
    offer = {
        "segment": code,
        "customer": _customer(account),
        "today": today,
        "plan": _plan(result, segment, playbooks, code),
        "comparison": {"rows": rows, "recommended": recommended, "pv_eligible": pv is not None,
                       "pv_infeasible": "pv_mode_infeasible" in flags},
        "pv": pv,
        "green": _green(result, account, scenarios, playbooks[code], values),
        "method": _method(result, account, values, name, sources),
        "units": units,
        "flags": sorted(flags),
    }
    offer["chart"] = comparison_chart(today, rows, units)
    return offer


def offer_meta(run_id: str, rules_version: str, assumption_set: str, content_hash: str,
               issue_date: _dt.date) -> dict:
    """What changes with every run but not the offer's content: kept out of the content hash."""
    h = content_hash.upper()
    return {
        "run_id": run_id,
        "rules_version": rules_version[:12],          # a short hash reads better; runs.rules_version has it whole
        "assumption_set": assumption_set,
        "offer_no": f"GP-{h[:4]}-{h[4:8]}-{h[8:12]}",   # same content, same number
        "issue_date": issue_date.isoformat(),
    }
