"""Everything one offer shows, computed in Python from one account's rows (templates only format).

:func:`build_offer` turns the account's ``accounts`` / ``results`` / ``scenarios`` / ``segments``
rows, its segment playbook and the run's assumptions into a plain, JSON-safe dict. That dict is
both what the templates render and what :func:`offers.hashing.content_hash` hashes, so an offer
is re-rendered exactly when something it shows changes.

Figures are taken from the stored rows as they are (the offer must show what DuckDB holds); this
module computes none. It decides what each sentence says (which mode, saving or cost, which
sections apply) from the stored figures, so the templates stay free of logic. The only series it
draws, the 25-year cumulative cash flow, comes from :func:`gpengine.formulas.pv_account_cash_flows_yuan`
and is checked against the stored lifetime total. Run-specific metadata (run id, offer number,
issue and valid-until dates, response code and QR code) is *not* in this dict: see :func:`offer_meta`.
"""
from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from core.vocabulary import PV_MODE_CODES, SEGMENT_CODES, CustomerType, PvMode, Repayment
from gpengine.formulas import cumulative_cash_flow_yuan, pv_account_cash_flows_yuan
from offers import formatting as fmt
from offers.chart import cashflow_chart, comparison_chart
from offers.offer_number import make_offer_no, response_code, response_url
from offers.qr import qr_svg

PV_MODES = PV_MODE_CODES
CUSTOMER_TYPES = {CustomerType.LARGE_INDUSTRIAL: "大工业用户", CustomerType.GENERAL_COMMERCIAL: "一般工商业用户",
                  CustomerType.RESIDENTIAL: "居民用户"}
SHORT_NAME = 24          # running header of pages 2+
_REPAYMENTS = {Repayment.ANNUITY: "等额本息", Repayment.INTEREST_ONLY: "先息后本"}
# how the offer names the PV modes: organisations invest as a company, residents as a household
_MODE_SHORT = {
    False: {PvMode.NONE: "不新建光伏", PvMode.SELF: "企业自投", PvMode.THIRD_PARTY: "第三方投资"},
    True: {PvMode.NONE: "不新建光伏", PvMode.SELF: "自行投资", PvMode.THIRD_PARTY: "第三方投资"},
}
MODE_SHORT = _MODE_SHORT[False]
_PV_PART = {False: {"self": "企业自投光伏", "third_party": "第三方投资光伏"},
            True: {"self": "自行投资光伏", "third_party": "第三方投资光伏"}}
_SIZING = {"roof": "按可用屋顶面积（每 kW 约 10 m²）确定装机规模",
           "self_consumption": "按首年发电量不超过电网用电量确定装机规模（全部自用），且不超过屋顶可容纳的容量"}


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

def _voice(text: str, home: bool) -> str:
    """One form of address per document: 您 for residents, 贵司 for organisations (playbook and rule texts
    are written for organisations, a few for residents)."""
    if home:
        return text.replace("贵司", "您").replace("企业自投", "自行投资")
    return text.replace("您的", "贵司的").replace("您", "贵司")


def _customer(account: Mapping[str, Any], contact: Mapping[str, Any] | None) -> dict:
    name = _text(account.get("name"))
    home = account.get("customer_type") == "residential"
    return {
        "name": name,
        "short_name": name if len(name) <= SHORT_NAME else name[:SHORT_NAME - 1] + "…",
        "account_id": _text(account.get("account_id")),
        "province": _text(account.get("province")),
        "customer_type": CUSTOMER_TYPES.get(_text(account.get("customer_type")), _text(account.get("customer_type"))),
        "industry": _text(account.get("industry")) or None,
        "sales_rep": _text(account.get("sales_rep")) or None,
        "buys_green_power": bool(account.get("buys_green_power")),
        "home": home,
        "you": "您" if home else "贵司",   # how the offer addresses them, everywhere
        "greeting": f"尊敬的{name}：",
        "contact": dict(contact) if contact else None,
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


def _mode_label(mode: str, scenario: Mapping, home: bool) -> str:
    parts = [_PV_PART[home][mode]] if mode in ("self", "third_party") else []
    if (_f(scenario.get("market_kwh")) or 0.0) > 0:
        parts.append("绿电交易")
    if (_f(scenario.get("gec_count")) or 0.0) > 0:
        parts.append("绿证")
    if not parts:
        return "维持现状（已达目标）"
    return " + ".join(parts) if mode in ("self", "third_party") else ("购买" + "与".join(parts))


def _scenario_rows(result: Mapping, scenarios: Sequence[Mapping], home: bool) -> list[dict]:
    by_mode = {s.get("pv_mode"): s for s in scenarios}
    if "none" not in by_mode:
        raise OfferDataError("scenarios: the 'none' PV mode is missing")
    recommended = _text(result.get("pv_mode"), "none")
    if recommended not in by_mode:
        raise OfferDataError(f"scenarios: no row for the recommended PV mode {recommended!r}")
    best = _text(result.get("pv_best_mode"), recommended)
    rows = []
    for mode in PV_MODES:
        s = by_mode.get(mode)
        if s is None:
            continue
        rows.append({
            "mode": mode,
            "label": _mode_label(mode, s, home),
            "recommended": mode == recommended,
            "best": mode == best and best != recommended and mode != "none",
            "cost_low": _need(s, "green_cost_low_yuan", f"scenario {mode}"),
            "cost_high": _need(s, "green_cost_high_yuan", f"scenario {mode}"),
            "extra_low": _need(s, "extra_cost_low_yuan", f"scenario {mode}"),
            "extra_high": _need(s, "extra_cost_high_yuan", f"scenario {mode}"),
            "pv_kwh": _f(s.get("pv_kwh_y1")) or 0.0,
            "market_kwh": _f(s.get("market_kwh")) or 0.0,
            "gec_count": int(_f(s.get("gec_count")) or 0),
            "per_kwh_low": _f(s.get("premium_per_green_kwh_low_yuan")),
            "per_kwh_high": _f(s.get("premium_per_green_kwh_high_yuan")),
            "co2_t": _f(s.get("green_co2_t")),
            "co2_reduction_t": _f(s.get("co2_reduction_t")),
            "co2_reduction_share": _f(s.get("co2_reduction_share")),
            "share_achieved": _f(s.get("green_share_achieved")),
        })
    return rows


def amount_unit(*values: float | None) -> str:
    """元 / 万元 / 亿元 for a few amounts printed together: from the largest of them, so 270 元 is not 0.03 万元."""
    return fmt.money_unit(max([abs(v) for v in values if v is not None] + [0.0]))


def _change_text(low: float, high: float, unit: str | None = None, saving_word: str = "节省",
                 cost_word: str = "多支出") -> str:
    """'节省 1.20～3.40 万元' / '多支出 …' / '节省 … 至多支出 …' from a low–high change (negative = saving)."""
    unit = unit or amount_unit(low, high)
    if high <= 0:
        return f"{saving_word} {fmt.span(fmt.money(-high, unit), fmt.money(-low, unit))} {unit}"
    if low >= 0:
        return f"{cost_word} {fmt.span(fmt.money(low, unit), fmt.money(high, unit))} {unit}"
    return f"{saving_word} {fmt.money(-low, unit)} {unit} 至{cost_word} {fmt.money(high, unit)} {unit}"


def _pv(account: Mapping, result: Mapping, scenarios: Sequence[Mapping], values: Mapping, flags: set[str],
        home: bool, units: Mapping[str, str]) -> dict | None:
    eligible = result.get("pv_eligible")
    if eligible is None:
        eligible = (_f(result.get("pv_capacity_kw")) or 0.0) > 0
    if not eligible:
        return None
    by_mode = {s.get("pv_mode"): s for s in scenarios}
    self_s, third_s = by_mode.get("self"), by_mode.get("third_party")
    if self_s is None or third_s is None:
        raise OfferDataError("scenarios: PV is eligible but the self / third_party rows are missing")
    you = "您" if home else "贵司"
    names = _MODE_SHORT[home]
    capacity = _need(result, "pv_capacity_kw", "result")
    roof = _f(result.get("pv_roof_capacity_kw")) or capacity
    capex = _need(result, "pv_capex_yuan", "result")
    loan = _f(result.get("pv_loan_yuan")) or 0.0
    equity = _f(result.get("pv_equity_yuan"))
    npv = _f(result.get("pv_npv_yuan"))
    tp_npv = _f(result.get("pv_third_party_npv_yuan"))
    irr = _f(result.get("pv_irr"))
    hurdle = _f(values.get("hurdle_rate"))
    lifetime = int(values.get("pv_lifetime_years") or 25)
    breakeven = result.get("pv_breakeven_year")
    recommended = _text(result.get("pv_mode"), "none")
    best = _text(result.get("pv_best_mode"), "none")
    gain = _f(result.get("pv_best_mode_gain_yuan")) or 0.0
    gap = _f(result.get("pv_modes_npv_gap_yuan")) or 0.0
    chosen = _text(account.get("pv_mode")) in PV_MODES
    self_net = _f(result.get("pv_self_net_lifetime_yuan"))
    tp_total = _f(result.get("pv_third_party_saving_lifetime_yuan"))
    tp_y1 = _f(result.get("pv_third_party_saving_y1_yuan"))
    hurdle_text = fmt.pct(hurdle)
    value_of = {"self": npv, "third_party": tp_npv}
    other = {"self": "third_party", "third_party": "self"}

    def worth(mode: str) -> str:
        return fmt.yuan(value_of[mode])

    if not chosen:
        why = (f"按 {hurdle_text} 的折现率计算 {lifetime} 年的价值：{names[best]}的净现值为 {worth(best)}，"
               f"{names[other[best]]}为 {worth(other[best])}，{names[best]}多 {fmt.yuan(gap)}，因此推荐{names[best]}。")
        if best == "self":
            why += (f"{'在第 ' + str(breakeven) + ' 年收回投资，' if breakeven else ''}"
                    f"{lifetime} 年累计净收益 {fmt.yuan(self_net)}。")
        else:
            why += f"无需前期投资，首年即可节省电费 {fmt.yuan(tp_y1)}，{lifetime} 年累计节省 {fmt.yuan(tp_total)}。"
    elif recommended == best:
        why = (f"按{you}选择的{names[recommended]}模式测算；按 {hurdle_text} 的折现率，这也是 {lifetime} 年价值更高的方式"
               f"（净现值 {worth(best)}，比{names[other[best]]}多 {fmt.yuan(gap)}）。")
    elif recommended == "none":
        why = (f"{you}的清单选择暂不新建光伏，本方案按此测算。提示：采用{names[best]}，按 {hurdle_text} 折现 "
               f"{lifetime} 年可为{you}增加 {fmt.yuan(gain)} 的价值。")
    else:
        why = (f"本方案按{you}选择的{names[recommended]}模式测算（净现值 {worth(recommended)}）。提示：按 {hurdle_text} "
               f"的折现率，{names[best]}的净现值为 {worth(best)}，{lifetime} 年可多为{you}带来 {fmt.yuan(gain)}，建议考虑。")

    irr_note = None
    if irr is None:
        irr_note = ("全额贷款、没有自有资金投入，内部收益率无意义" if (equity is not None and equity <= 0)
                    else f"{lifetime} 年内的收益不足以形成有意义的内部收益率")
    elif "irr_multiple_roots" in flags:
        irr_note = "现金流多次正负交替（如先息后本的到期还本），内部收益率不宜作为判断依据，请以净现值为准"
    repayment = _REPAYMENTS.get(_text(result.get("repayment")), _text(result.get("repayment")))
    loan_terms = None
    if loan > 0:
        loan_terms = (f"贷款 {fmt.pct(_f(result.get('loan_ratio')))}，年利率 {fmt.pct(_f(result.get('loan_rate')), 2)}，"
                      f"{int(result.get('loan_years') or 0)} 年{repayment}")
    sized = capacity < roof * (1 - 1e-9)
    if sized:
        size_text = (f"{you}的屋顶可容纳约 {fmt.kw(roof)}；为使发电全部自用、不浪费投资，建议装机 {fmt.kw(capacity)}，"
                     f"首年发电约 {fmt.kwh(_f(self_s.get('pv_kwh_y1')))}，全部用于替代电网购电。")
    else:
        size_text = (f"按可用屋顶面积 {fmt.num(_f(account.get('roof_area_m2')))} m² 测算，可新建约 {fmt.kw(capacity)} 分布式光伏，"
                     f"首年发电约 {fmt.kwh(_f(self_s.get('pv_kwh_y1')))}。")

    flows = pv_account_cash_flows_yuan(
        capacity, _need(result, "pv_full_load_hours", "result"), _need(result, "grid_kwh", "result"),
        _need(result, "avg_price_yuan_per_kwh", "result"), float(values.get("pv_first_year_factor")),
        float(values.get("pv_degradation_per_year")), lifetime, float(values.get("pv_capex_yuan_per_w")),
        _f(result.get("loan_ratio")) or 0.0, _f(result.get("loan_rate")) or 0.0, int(result.get("loan_years") or 1),
        _text(result.get("repayment")) == "interest_only", _need(result, "third_party_discount", "result"))
    cumulative = {m: [float(x) for x in cumulative_cash_flow_yuan(cf)] for m, cf in flows.items()}
    if self_net is not None and not math.isclose(cumulative["self"][-1], self_net, rel_tol=1e-9, abs_tol=1e-3):
        raise OfferDataError("pv: the cash flows do not add up to the stored pv_self_net_lifetime_yuan")
    return {
        "capacity_kw": capacity,
        "roof_capacity_kw": roof,
        "sized_to_use": sized,
        "size_text": size_text,
        "kwh_y1": _f(self_s.get("pv_kwh_y1")),
        "full_load_hours": _f(result.get("pv_full_load_hours")),
        "capex": capex,
        "loan": loan,
        "loan_terms": loan_terms,
        "equity": equity,
        "debt_service_y1": _f(result.get("pv_debt_service_y1_yuan")),
        "self_saving_y1": _f(result.get("pv_self_saving_y1_yuan")),
        "third_party_saving_y1": tp_y1,
        "self_net_lifetime": self_net,
        "third_party_saving_lifetime": tp_total,
        "irr": irr,
        "irr_note": irr_note,
        "irr_own_funds": loan > 0,
        "npv": npv,
        "third_party_npv": tp_npv,
        "breakeven_year": int(breakeven) if breakeven else None,
        "payback_years": _f(result.get("pv_payback_years")),
        "hurdle_rate": hurdle,
        "lifetime_years": lifetime,
        "third_party_discount": _f(result.get("third_party_discount")),
        "recommended": recommended,
        "best": best,
        "recommended_label": names.get(recommended, recommended),
        "best_label": names.get(best, best),
        "self_label": names["self"],
        "chosen_by_customer": chosen,
        "why": why,
        "capped": "pv_capped" in flags,
        "cumulative": cumulative,
    }


def _green(result: Mapping, account: Mapping, scenarios: Sequence[Mapping], playbook: Mapping, values: Mapping,
           home: bool) -> dict:
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
        (trial if only_new else promotions).append(_voice(text, home))
    remaining = _f(s.get("remaining_green_kwh")) or 0.0
    market = _f(s.get("market_kwh")) or 0.0
    gec_count = int(_f(s.get("gec_count")) or 0)
    return {
        "applies": remaining > 0,
        "remaining_kwh": remaining,
        "market_kwh": market,
        "market_share": _f(result.get("market_share")),
        "premium_low": _f(result.get("premium_low_yuan_per_kwh")),
        "premium_high": _f(result.get("premium_high_yuan_per_kwh")),
        "market_premium_low": _f(s.get("market_premium_low_yuan")) or 0.0,
        "market_premium_high": _f(s.get("market_premium_high_yuan")) or 0.0,
        "gec_kwh": _f(s.get("gec_kwh")) or 0.0,
        "gec_count": gec_count,
        "gec_cost": _f(s.get("gec_cost_yuan")) or 0.0,
        "gec_price": _f(values.get("gec_price_yuan_per_certificate")),
        "has_market": market > 0,
        "has_gec": gec_count > 0,
        "points": [_voice(_text(p), home) for p in playbook.get("offer_points") or () if p],
        "promotions": promotions,
        "trial": trial,
    }


def _plan(result: Mapping, segment: Mapping, playbooks: Mapping[str, Mapping], code: str, home: bool) -> dict:
    playbook = playbooks[code]
    reasons, seen = [], set()
    for reason in segment.get("reasons") or ():
        text = _voice(_text(reason.get("text") if isinstance(reason, Mapping) else reason).strip(), home)
        if text and text not in seen:
            seen.add(text)
            reasons.append(text)
    secondary = []
    for other in segment.get("secondary_segments") or ():
        if other in playbooks and other != code:
            pb = playbooks[other]
            secondary.append({"code": other, "label": _text(pb.get("label_zh"), other),
                              "package_name": _text(pb.get("package_name")),
                              "points": [_voice(_text(p), home) for p in pb.get("offer_points") or () if p]})
    target = _f(result.get("target_share")) or 0.0
    achieved = _f(result.get("green_share_achieved"))
    return {
        "label": _text(playbook.get("label_zh"), code),
        "package_name": _text(playbook.get("package_name")),
        "package_summary": _voice(_text(playbook.get("package_summary")), home),
        "services": [_voice(_text(s), home) for s in playbook.get("services") or () if s],
        "price_design": _voice(_text(playbook.get("price_design")), home),
        "reasons": reasons,
        "secondary": secondary,
        "target_share": target,
        "target_kwh": _f(result.get("target_kwh")),
        "achieved_share": achieved,
        "reached": achieved is not None and achieved + 1e-9 >= target,
    }


def _method(result: Mapping, account: Mapping, values: Mapping, sources: Mapping, code: str, label: str,
            home: bool, pv: bool) -> dict:
    def date(key: str) -> str:
        return _text((sources.get(key) or {}).get("date"))

    rows = []
    given = "（您提供）" if home else "（贵司提供）"

    def add(name: str, value: str, key: str | None, is_pv: bool = False) -> None:
        if is_pv and not pv:
            return
        rows.append({"label": name, "value": value, "date": date(key) if key else ""})

    def own(column: str) -> bool:
        return account.get(column) is not None

    province = _text(account.get("province"))
    target = _f(result.get("target_share"))
    add("绿电目标", f"年用电量的 {fmt.pct(target)}" + (given if own("renewable_target") else f"（{label}客户默认）"), None)
    m = _f(result.get("market_share"))
    add("绿电交易占比", f"需补足绿电量的 {fmt.pct(m)}，其余为绿证"
        + (given if own("market_share") else f"（{label}客户默认）"), None)
    g = _f(values.get("gec_price_yuan_per_certificate"))
    add("绿证价格", f"{fmt.num(g, 2)} 元/张（1 张对应 1 MWh 绿电）", "gec_price_yuan_per_certificate")
    low, high = _f(result.get("premium_low_yuan_per_kwh")), _f(result.get("premium_high_yuan_per_kwh"))
    add("绿电交易环境溢价", f"{fmt.span(fmt.price(low, 2), fmt.price(high, 2))} 元/kWh（{province}）",
        "premium_by_province_yuan_per_kwh" if province in (values.get("premium_by_province_yuan_per_kwh") or {})
        else "premium_default_yuan_per_kwh")
    add("光伏装机规模", _SIZING.get(_text(values.get("pv_sizing"), "roof"), ""), "pv_sizing", True)
    add("光伏单位投资", f"{fmt.num(_f(values.get('pv_capex_yuan_per_w')), 2)} 元/W", "pv_capex_yuan_per_w", True)
    add("组件首年功率系数与衰减",
        f"首年 {fmt.pct(_f(values.get('pv_first_year_factor')))}，此后每年线性衰减 "
        f"{fmt.pct(_f(values.get('pv_degradation_per_year')))}", "pv_degradation_per_year", True)
    add("光伏年有效利用小时数", f"{fmt.num(_f(result.get('pv_full_load_hours')), 0)} 小时（{province}）", None, True)
    add("测算年限", f"{int(values.get('pv_lifetime_years') or 25)} 年", "pv_lifetime_years", True)
    add("第三方投资电价", f"按电价的 {fmt.pct(_f(result.get('third_party_discount')))} 支付"
        + (given if own("third_party_discount") else "（默认）"), "third_party_discount", True)
    ratio = _f(result.get("loan_ratio")) or 0.0
    terms_given = any(own(c) for c in ("loan_ratio", "loan_rate", "loan_years", "repayment"))
    if ratio > 0:
        repayment = _REPAYMENTS.get(_text(result.get("repayment")), _text(result.get("repayment")))
        loan_text = (f"贷款比例 {fmt.pct(ratio)}，年利率 {fmt.pct(_f(result.get('loan_rate')), 2)}，"
                     f"{int(result.get('loan_years') or 0)} 年，{repayment}")
    else:
        loan_text = "不贷款，全部为自有资金"
    add("自投光伏的贷款条件", loan_text + (given if terms_given else "（默认）"), "loan_rate", True)
    add("净现值折现率", fmt.pct(_f(values.get("hurdle_rate"))), "hurdle_rate", True)
    ef = _f(result.get("emission_factor_t_per_mwh"))
    add("电网排放因子", f"{fmt.factor(ef)} t/MWh（{province}）" if ef is not None else f"暂无（{province}）", None)
    return {"rows": rows, "ef_missing": ef is None}


def _decision(c: dict, today: dict, rec: dict, plan: dict, pv: dict | None, green: dict, code: str,
              units: Mapping[str, str]) -> dict:
    """Page 1: the bottom line in one sentence, the package in one line, key figures, the next step."""
    you, home = c["you"], c["home"]
    unit = amount_unit(rec["extra_low"], rec["extra_high"])
    change = _change_text(rec["extra_low"], rec["extra_high"], unit)
    share = fmt.pct(rec["share_achieved"])
    target = fmt.pct(plan["target_share"])
    whose = "您的" if home else you     # a resident reads "您的绿电比例", an organisation "贵司绿电比例"
    if plan["reached"] and code == "compliance_driven":
        goal = f"{you}满足 {target} 的绿色电力消费比例要求"
    elif plan["reached"]:
        goal = f"{whose}绿电比例达到 {share}"
    else:
        goal = f"{whose}绿电比例达到 {share}（目标 {target}）"
    headline = f"按推荐方案，{goal}，每年用电成本{change}"
    if rec["co2_reduction_t"] is not None and rec["co2_reduction_t"] > 0:
        headline += f"，每年减少二氧化碳排放 {fmt.tonnes(rec['co2_reduction_t'])}"
    headline += "。"

    package = [plan["package_name"]]
    if pv and rec["mode"] in ("self", "third_party"):
        package.append(f"{_PV_PART[home][rec['mode']]} {fmt.kw(pv['capacity_kw'])}")
    if rec["market_kwh"] > 0:
        package.append(f"绿电交易 {fmt.kwh(rec['market_kwh'])}/年")
    if rec["gec_count"] > 0:
        package.append(f"绿证 {fmt.count(rec['gec_count'])} 张/年")

    saving = rec["extra_high"] <= 0
    figures = [
        {"label": "每年用电成本" + ("节省" if saving else ("增加" if rec["extra_low"] >= 0 else "变化")),
         "value": (fmt.span(fmt.money(-rec["extra_high"], unit), fmt.money(-rec["extra_low"], unit)) if saving
                   else fmt.span(fmt.signed(fmt.money(rec["extra_low"], unit)), fmt.signed(fmt.money(rec["extra_high"], unit)))),
         "unit": unit, "sub": f"现有电费 {fmt.yuan(today['bill_yuan'])}"},
        {"label": "绿电比例", "value": share, "unit": "",
         "sub": f"目标 {target}" + ("，已达成" if plan["reached"] else "")},
    ]
    if rec["co2_reduction_t"] is not None:
        figures.append({"label": "每年减少二氧化碳排放", "value": fmt.co2(rec["co2_reduction_t"], units["co2"]),
                        "unit": units["co2"], "sub": f"现状的 {fmt.pct(rec['co2_reduction_share'])}"})
    if pv and rec["mode"] == "self":
        figures.append({"label": "光伏回收期", "value": f"第 {pv['breakeven_year']} 年" if pv["breakeven_year"] else "—",
                        "unit": "", "sub": f"{pv['lifetime_years']} 年累计净收益 {fmt.yuan(pv['self_net_lifetime'])}"})
    elif pv and rec["mode"] == "third_party":
        tp_unit = amount_unit(pv["third_party_saving_y1"])
        figures.append({"label": "光伏首年节省", "value": fmt.money(pv["third_party_saving_y1"], tp_unit), "unit": tp_unit,
                        "sub": "无需前期投资"})
    elif green["has_gec"]:
        figures.append({"label": "每年购买绿证", "value": fmt.count(green["gec_count"]), "unit": "张",
                        "sub": f"费用 {fmt.yuan(green['gec_cost'])}"})
    elif green["has_market"]:
        figures.append({"label": "每年绿电交易", "value": fmt.energy(green["market_kwh"], units["energy"]),
                        "unit": units["energy"], "sub": "证电合一，可溯源"})

    if pv and rec["mode"] in ("self", "third_party"):
        action = "预约免费的屋顶现场勘察，确认装机方案" + ("与投资方式" if not home else "")
    elif home or code == "responsibility_driven":
        action = "开通绿色电力套餐" if not green["trial"] else "报名首次绿电体验周，体验后再决定是否签约"
    elif code == "compliance_driven":
        action = "确认年度绿电采购量，签订绿证与绿电交易协议，锁定本年度配额"
    else:
        action = "确认绿电采购量与绿色电力消费证明方案"
    return {"headline": headline, "package_line": " · ".join(package), "figures": figures, "next_action": action}


# ------------------------------------------------------------------------------------------------
# the offer
# ------------------------------------------------------------------------------------------------

def build_offer(account: Mapping[str, Any], result: Mapping[str, Any] | None, scenarios: Sequence[Mapping[str, Any]],
                segment: Mapping[str, Any] | None, playbooks: Mapping[str, Mapping[str, Any]],
                assumptions: Mapping[str, Any], contact: Mapping[str, Any] | None = None) -> dict:
    """The JSON-safe content of one offer. Raises :class:`OfferDataError` when the rows do not fit.

    ``contact``: the direct contact printed in the next step (:meth:`offers.reps.Reps.contact_for`).
    """
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
    customer = _customer(account, contact)
    home = customer["home"]

    today = _today(account, result)
    rows = _scenario_rows(result, scenarios, home)
    recommended = next(r for r in rows if r["recommended"])
    units = {
        "money": fmt.money_unit(today["bill_yuan"]),
        "energy": fmt.energy_unit(today["annual_kwh"]),
        "co2": fmt.co2_unit(today["co2_t"]),
    }
    pv = _pv(account, result, scenarios, values, flags, home, units)
    plan = _plan(result, segment, playbooks, code, home)
    green = _green(result, account, scenarios, playbooks[code], values, home)
    offer = {
        "segment": code,
        "customer": customer,
        "today": today,
        "plan": plan,
        "comparison": {"rows": rows, "recommended": recommended, "pv_eligible": pv is not None,
                       "pv_infeasible": "pv_mode_infeasible" in flags},
        "pv": pv,
        "green": green,
        "method": _method(result, account, values, sources, code, plan["label"], home, pv is not None),
        "units": units,
        "flags": sorted(flags),
        "decision": _decision(customer, today, recommended, plan, pv, green, code, units),
    }
    offer["chart"] = comparison_chart(today, rows, units)
    if pv is not None:
        offer["cashflow_chart"] = cashflow_chart(pv["cumulative"], pv["breakeven_year"], units["money"],
                                                 {"self": pv["self_label"], "third_party": "第三方投资"},
                                                 pv["recommended"])
    return offer


def offer_meta(run_id: str, rules_version: str, assumption_set: str, content_hash: str, issue_date: _dt.date,
               account_id: str = "", *, valid_until: _dt.date | None = None, offer_no: str | None = None,
               valid_days: int = 30, response_url_template: str | None = None) -> dict:
    """What changes with every run but not the offer's content: kept out of the content hash.

    ``offer_no`` / ``issue_date`` / ``valid_until`` are those of the document: a new number for a new
    document, the stored ones when an unchanged offer is re-linked (so the PDF and the database agree).
    """
    offer_no = offer_no or make_offer_no(account_id, content_hash, issue_date)
    valid_until = valid_until or issue_date + _dt.timedelta(days=valid_days)
    url = response_url(response_url_template, offer_no)
    return {
        "run_id": run_id,
        "rules_version": rules_version[:12],          # a short hash reads better; runs.rules_version has it whole
        "assumption_set": assumption_set,
        "offer_no": offer_no,
        "response_code": response_code(offer_no),
        "response_url": url,
        "qr": qr_svg(url) if url else None,
        "issue_date": issue_date.isoformat(),
        "valid_until": valid_until.isoformat(),
        "reference": f"{run_id} · {rules_version[:12]} · {assumption_set}",
    }
