"""Realistic demo frames for offer previews, tests and the render benchmark.

NOT the cost model: a small per-account re-statement of cost-model.md §1–§4 (same column names,
same definitions) so the offers can be developed and measured without a database or a full run.
The nightly flow renders from ``gpengine.model.compute`` output.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy_financial as npf
import polars as pl
import yaml

from offers.paths import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"

ASSUMPTIONS = {
    "name": "cn-2025",
    "values": {
        "gec_price_yuan_per_certificate": 5.0, "pv_capex_yuan_per_w": 3.0, "roof_m2_per_kw": 10.0,
        "pv_first_year_factor": 0.98, "pv_degradation_per_year": 0.005, "pv_lifetime_years": 25,
        "third_party_discount": 0.85, "premium_default_yuan_per_kwh": [0.03, 0.07],
        "premium_by_province_yuan_per_kwh": {"广东省": [0.06, 0.07], "江苏省": [0.06, 0.07]},
        "loan_ratio": 0.0, "loan_rate": 0.035, "loan_years": 10, "repayment": "annuity", "hurdle_rate": 0.08,
    },
    "sources": {
        "gec_price_yuan_per_certificate": {"source": "国家能源局 monthly GEC reports, mid-2025", "date": "2025-07"},
        "pv_capex_yuan_per_w": {"source": "CPIA 路线图 2024–2025", "date": "2025-02"},
        "loan_rate": {"source": "5-year LPR", "date": "2025-05-20"},
        "premium_default_yuan_per_kwh": {"source": "WRI 2023 §2.2.3", "date": "2023"},
        "premium_by_province_yuan_per_kwh": {"source": "WRI 2023 note 23", "date": "2023"},
        "pv_degradation_per_year": {"source": "WRI 2023 note 20", "date": "2023"},
        "third_party_discount": {"source": "WRI 2023 note 16", "date": "2023"},
        "hurdle_rate": {"source": "project default", "date": "2025"},
        "pv_lifetime_years": {"source": "WRI 2023 §2.2.2", "date": "2023"},
        "roof_m2_per_kw": {"source": "WRI 2023 note 18", "date": "2023"},
    },
}

PLAYBOOKS = {
    "compliance_driven": {
        "label_zh": "合规驱动型", "package_name": "绿电配额达标套餐 + 能效管理服务",
        "package_summary": "以最低成本满足强制性绿色电力消费比例要求，并提供全程合规保障与能效管理服务。",
        "services": ["绿电配额达标方案：按每千瓦时成本在绿证与绿电交易之间择优组合",
                     "消纳责任权重与行业绿色电力消费比例完成情况跟踪、合规台账与核算材料准备",
                     "能效管理服务：用能诊断与节能改造建议"],
        "price_design": "采用“基准电量+绿色溢价”分级套餐：基准电量按现行电价结算，达标所需的绿色电量按绿色溢价分档计价。",
        "promotions": [{"text": "套餐续约提醒：合同到期前推送续约方案及当期最优价格", "only_if_not_buys_green_power": False}],
        "offer_points": ["按贵司所在行业和省份的绿色电力消费比例要求测算达标所需绿电量",
                         "绿证与市场化绿电交易按每千瓦时成本择优组合，以最低成本完成配额",
                         "以绿证核算完成情况，提供可追溯的达标证明材料，降低合规风险"],
    },
    "value_oriented": {
        "label_zh": "价值导向型", "package_name": "绿色品牌增值方案",
        "package_summary": "以可溯源的绿色电力和国际认可的绿证，支撑贵司的RE100、ESG披露与国际供应链要求。",
        "services": ["国际认可的绿色电力消费认证支持（如RE100）", "ESG报告支持：提供绿电消费数据与披露材料",
                     "定制化绿色电力消费证明与碳减排报告"],
        "price_design": "包含ESG认证服务的捆绑价值包：将部分绿色溢价转化为可感知的增值服务，报价中列明所含服务。",
        "promotions": [{"text": "邀请参加“绿色供应链大会”等主题活动，展示贵司绿色电力消费成果", "only_if_not_buys_green_power": False}],
        "offer_points": ["证电合一的市场化绿电交易，电量来源可溯源、可核验",
                         "国际认可的绿色电力消费凭证，支持RE100等国际倡议的认定要求",
                         "提供绿色电力消费证明与碳减排报告，直接用于ESG报告与供应链审核"],
    },
    "responsibility_driven": {
        "label_zh": "责任驱动型", "package_name": "绿色社区共建 + 绿色积分 + 碳足迹可视化",
        "package_summary": "以低门槛的绿色电力套餐参与绿色社区共建，绿电消费可积分、碳足迹看得见。",
        "services": ["绿色社区共建活动", "碳足迹可视化：按月展示用电碳排放与绿电减碳量",
                     "绿色积分：绿电消费兑换碳积分，可换取节能产品或服务"],
        "price_design": "以绿证支撑的绿色电力套餐，门槛低、易参与；新用户可先参加首次绿电体验周，绿电消费累计绿色积分。",
        "promotions": [{"text": "首次绿电体验周：新用户可先体验一周绿色电力，再决定是否签约", "only_if_not_buys_green_power": True},
                       {"text": "绿色积分计划：绿电消费兑换碳积分，换取节能产品或服务", "only_if_not_buys_green_power": False}],
        "offer_points": ["每一度绿电均有绿证对应，环境权益清晰可查", "绿电消费累计绿色积分，可兑换节能产品或服务",
                         "新用户可通过首次绿电体验周，低门槛开启绿色用电"],
    },
}
DEFAULTS = {"compliance_driven": (0.30, None), "value_oriented": (1.0, 1.0), "responsibility_driven": (0.30, 0.0)}


def _provinces() -> dict[str, dict]:
    doc = yaml.safe_load((DATA / "reference" / "provinces.yaml").read_text(encoding="utf-8"))
    return {p["name"]: p for p in doc["provinces"]}


@dataclass
class DemoRun:
    accounts: pl.DataFrame
    results: pl.DataFrame
    scenarios: pl.DataFrame
    segments: pl.DataFrame
    playbooks: dict
    assumptions: dict
    run_id: str = "demo-run"
    rules_version: str = "demo-rules"


_SHOWCASE = [
    dict(account_id="JS-0001", name="江苏华东特钢集团有限公司", province="江苏省", customer_type="large_industrial",
         industry="钢铁冶炼", annual_kwh=86_000_000, annual_bill_yuan=52_460_000, existing_pv_kwh=1_200_000,
         high_energy=True, is_exporter=True, roof_area_m2=60_000, sales_rep="王磊", buys_green_power=False),
    dict(account_id="GD-0002", name="深圳市星联通信设备股份有限公司", province="广东省", customer_type="large_industrial",
         industry="计算机、通信和其他电子设备制造业", annual_kwh=12_500_000, annual_bill_yuan=8_875_000,
         is_exporter=True, is_listed=True, re100_member=True, roof_area_m2=18_000, pv_mode=None, sales_rep="陈静",
         buys_green_power=True),
    dict(account_id="ZJ-0003", name="杭州西溪茶语餐饮管理有限公司", province="浙江省", customer_type="general_commercial",
         industry="餐饮业", annual_kwh=180_000, annual_bill_yuan=133_200, roof_area_m2=0, sales_rep="李娜",
         buys_green_power=False),
    dict(account_id="XZ-0004", name="西藏高原" + "绿色能源与生态旅游综合开发" * 5 + "集团股份有限公司（拉萨经济技术开发区分公司）",
         province="西藏自治区", customer_type="large_industrial", industry="数据中心", annual_kwh=9_800_000_000,
         annual_bill_yuan=None, high_energy=True, roof_area_m2=0, roof_owned=False, pv_mode="self", sales_rep=None,
         buys_green_power=False),
]

_CITIES = ["苏州", "无锡", "宁波", "佛山", "东莞", "青岛", "合肥", "成都", "武汉", "郑州", "西安", "天津", "昆明", "南宁"]
_WORDS = ["华盛", "恒力", "新能", "瑞丰", "天成", "金桥", "宏达", "远景", "嘉禾", "中晟", "博远", "同创"]
_KINDS = [("精密机械制造有限公司", "通用设备制造业", "general_commercial"),
          ("电子科技股份有限公司", "计算机、通信和其他电子设备制造业", "large_industrial"),
          ("水泥建材有限公司", "水泥制造", "large_industrial"),
          ("商贸有限公司", "批发和零售业", "general_commercial"),
          ("化工有限公司", "化学原料和化学制品制造业（烧碱）", "large_industrial"),
          ("酒店管理有限公司", "住宿业", "general_commercial")]


def _random_account(i: int, rng: random.Random, provinces: list[str]) -> dict:
    if rng.random() < 0.15:
        name = rng.choice(["张", "王", "李", "赵", "刘"]) + rng.choice(["建国", "秀英", "伟", "芳", "明"])
        return dict(account_id=f"R-{i:07d}", name=name, province=rng.choice(provinces), customer_type="residential",
                    annual_kwh=rng.uniform(1_800, 9_000), annual_bill_yuan=None, roof_area_m2=rng.choice([0, 0, 30]),
                    sales_rep=None, buys_green_power=rng.random() < 0.2)
    suffix, industry, ctype = rng.choice(_KINDS)
    kwh = 10 ** rng.uniform(5.3, 8.2)
    return dict(account_id=f"A-{i:07d}", name=rng.choice(_CITIES) + "市" + rng.choice(_WORDS) + suffix,
                province=rng.choice(provinces), customer_type=ctype, industry=industry, annual_kwh=kwh,
                annual_bill_yuan=kwh * rng.uniform(0.55, 0.78) if rng.random() < 0.85 else None,
                existing_pv_kwh=kwh * rng.choice([0, 0, 0, 0.03]), high_energy=("水泥" in industry or "烧碱" in industry),
                is_exporter=rng.random() < 0.3, is_listed=rng.random() < 0.1, roof_area_m2=rng.choice([0, 2_000, 8_000, 25_000]),
                sales_rep=rng.choice(["王磊", "陈静", "李娜", "周涛"]), buys_green_power=rng.random() < 0.3,
                loan_ratio=rng.choice([None, None, 0.7]))


def _segment(a: dict) -> tuple[str, list[str], list[dict]]:
    reasons, matched = [], []
    if a["customer_type"] == "residential":
        matched.append("responsibility_driven")
        reasons.append({"code": "residential", "text": "您是居民用户，绿色社区与绿色积分活动让参与绿色用电更简单。"})
    if a.get("high_energy"):
        matched.append("compliance_driven")
        reasons.append({"code": "high_energy", "text": "贵司属于高耗能行业，需要完成强制性的绿色电力消费比例要求。"})
    if a.get("is_exporter") or a.get("is_listed") or a.get("re100_member") or "电子设备" in (a.get("industry") or ""):
        matched.append("value_oriented")
        if a.get("is_exporter"):
            reasons.append({"code": "exporter", "text": "贵司产品出口，海外客户和供应链越来越多地要求可溯源的绿电凭证。"})
        if a.get("re100_member"):
            reasons.append({"code": "re100", "text": "贵司已加入RE100，需要国际认可的绿色电力消费凭证。"})
        if a.get("is_listed"):
            reasons.append({"code": "listed", "text": "作为上市公司，贵司的ESG披露需要绿电消费数据支撑。"})
    if not matched:
        matched.append("responsibility_driven")
        reasons.append({"code": "default", "text": "贵司关注环保与社会责任，绿色电力让这份责任看得见。"})
    return matched[0], matched[1:], reasons


def _compute(a: dict, seg: str, prov: dict, values: dict) -> tuple[dict, list[dict]]:
    E = float(a["annual_kwh"])
    P0 = float(a.get("existing_pv_kwh") or 0.0)
    G = E - P0
    coal = prov["coal_benchmark_yuan_per_kwh"]
    B = a.get("annual_bill_yuan")
    estimated = B is None
    if estimated:
        penalty = prov["punitive_surcharge_yuan_per_kwh"] if a.get("high_energy") else 0.0
        B = G * (coal + 0.20 + penalty)
    p = B / G
    ef = prov["emission_factor_t_per_mwh"]
    H = prov["pv_full_load_hours"]
    lo, hi = values["premium_by_province_yuan_per_kwh"].get(a["province"], values["premium_default_yuan_per_kwh"])
    g = values["gec_price_yuan_per_certificate"]
    t, m = DEFAULTS[seg]
    if m is None:
        m = 1.0 if lo < g / 1000 else 0.0
    L = values["pv_lifetime_years"]
    eligible = bool(a.get("roof_owned", True)) and (a.get("roof_area_m2") or 0) > 0
    cap = (a.get("roof_area_m2") or 0) / values["roof_m2_per_kw"] if eligible else 0.0
    factors = values["pv_first_year_factor"] - values["pv_degradation_per_year"] * np.arange(L)
    gen = cap * H * factors
    q = np.minimum(gen, G)
    P1 = float(q[0])
    capex = cap * 1000 * values["pv_capex_yuan_per_w"]
    lam = a.get("loan_ratio") if a.get("loan_ratio") is not None else values["loan_ratio"]
    loan = capex * lam
    equity = capex - loan
    r, N = values["loan_rate"], values["loan_years"]
    pay = float(npf.pmt(r / 12, 12 * N, -loan)) if loan else 0.0
    ds = np.array([12 * pay if k < N else 0.0 for k in range(L)])
    rev = q * p
    cf = np.concatenate([[-equity], rev - ds])
    irr = float(npf.irr(cf)) if eligible and equity > 0 else float("nan")
    npv = float(npf.npv(values["hurdle_rate"], cf)) if eligible else float("nan")
    payback = (equity + ds.sum()) / rev[0] if eligible and rev[0] > 0 else float("nan")
    self_cost = float(ds[0] + equity / L)
    tp_cost = P1 * p * values["third_party_discount"]
    asked = a.get("pv_mode")
    mode = "none" if not eligible else (asked if asked in ("self", "third_party") else ("self" if npv >= 0 else "third_party"))
    cur_co2 = ef * G / 1000 if ef is not None else None
    T = t * E
    scen = []
    for sm, pv_kwh, pv_cost in (("none", 0.0, 0.0), ("self", P1, self_cost), ("third_party", P1, tp_cost)):
        if sm != "none" and not eligible:
            continue
        R = max(0.0, T - P0 - pv_kwh)
        M = R * m
        C = R - M
        count = math.ceil(C / 1000 - 1e-9)
        cost = [(G - pv_kwh) * p + pv_cost + M * pi + count * g for pi in (lo, hi)]
        gco2 = ef * max(0.0, G - pv_kwh - M - C) / 1000 if ef is not None else None
        scen.append({
            "account_id": a["account_id"], "run_id": "demo-run", "pv_mode": sm, "pv_kwh_y1": pv_kwh,
            "pv_cost_y1_yuan": pv_cost, "remaining_green_kwh": R, "market_kwh": M, "gec_kwh": C, "gec_count": count,
            "gec_cost_yuan": count * g, "market_premium_low_yuan": M * lo, "market_premium_high_yuan": M * hi,
            "green_cost_low_yuan": cost[0], "green_cost_high_yuan": cost[1],
            "green_cost_wri_low_yuan": cost[0], "green_cost_wri_high_yuan": cost[1],
            "green_co2_t": gco2, "co2_reduction_t": (cur_co2 - gco2) if gco2 is not None else None,
            "green_share_achieved": (P0 + pv_kwh + M + C) / E,
        })
    rec = next(s for s in scen if s["pv_mode"] == mode)
    flags = [f for f, on in (("pv_capped", eligible and gen[0] > G), ("irr_undefined", eligible and math.isnan(irr)),
                             ("pv_mode_infeasible", not eligible and asked in ("self", "third_party")),
                             ("no_emission_factor", ef is None)) if on]
    nan = lambda x: None if (x is None or (isinstance(x, float) and math.isnan(x))) else x  # noqa: E731
    result = {
        "account_id": a["account_id"], "run_id": "demo-run", "province": a["province"], "customer_type": a["customer_type"],
        "emission_factor_t_per_mwh": ef, "pv_full_load_hours": float(H), "coal_benchmark_yuan_per_kwh": coal,
        "premium_low_yuan_per_kwh": lo, "premium_high_yuan_per_kwh": hi, "bill_yuan": B,
        "bill_source": "estimated" if estimated else "input", "grid_kwh": G, "avg_price_yuan_per_kwh": p,
        "current_co2_t": cur_co2, "target_share": t, "target_kwh": T, "pv_capacity_kw": cap, "pv_kwh_y1": rec["pv_kwh_y1"],
        "pv_capex_yuan": capex, "pv_loan_yuan": loan, "pv_equity_yuan": equity,
        "pv_debt_service_y1_yuan": float(ds[0]) if eligible else 0.0, "pv_irr": nan(irr), "pv_npv_yuan": nan(npv),
        "pv_payback_years": nan(payback), "pv_third_party_cost_y1_yuan": tp_cost if eligible else 0.0, "pv_mode": mode,
        **{k: rec[k] for k in ("remaining_green_kwh", "market_kwh", "gec_kwh", "gec_count", "gec_cost_yuan",
                               "market_premium_low_yuan", "market_premium_high_yuan", "green_cost_low_yuan",
                               "green_cost_high_yuan", "green_cost_wri_low_yuan", "green_cost_wri_high_yuan",
                               "green_co2_t", "co2_reduction_t", "green_share_achieved")},
        "flags": flags, "pv_eligible": eligible, "market_share": m,
    }
    return result, scen


_ACCOUNT_DEFAULTS = dict(industry=None, annual_bill_yuan=None, existing_pv_kwh=0.0, share_sharp=0.0, share_peak=0.3,
                         share_flat=0.4, share_valley=0.3, high_energy=None, is_exporter=False, is_listed=False,
                         has_esg_report=False, re100_member=False, buys_green_power=False, roof_owned=True,
                         renewable_target=None, roof_area_m2=0.0, pv_mode=None, loan_ratio=None, loan_rate=None,
                         loan_years=None, repayment=None, third_party_discount=None, market_share=None, sales_rep=None)


def demo_run(n: int = 0, seed: int = 7, showcase: bool = True) -> DemoRun:
    """The four showcase accounts (one per segment + an extreme one) plus ``n`` random ones."""
    provinces = _provinces()
    rng = random.Random(seed)
    raw = [dict(a) for a in _SHOWCASE] if showcase else []
    raw += [_random_account(i, rng, list(provinces)) for i in range(n)]
    values = ASSUMPTIONS["values"]
    accounts, results, scenarios, segments = [], [], [], []
    for i, a in enumerate(raw, start=2):
        a = {**_ACCOUNT_DEFAULTS, **a, "row_number": i}
        a["annual_kwh"] = float(a["annual_kwh"])
        seg, secondary, reasons = _segment(a)
        res, scen = _compute(a, seg, provinces[a["province"]], values)
        accounts.append(a)
        results.append(res)
        scenarios += scen
        segments.append({"account_id": a["account_id"], "run_id": "demo-run", "segment": seg,
                         "secondary_segments": secondary, "reasons": reasons, "rules_version": "demo-rules"})
    from intake.schema import ACCOUNT_SCHEMA
    acc = pl.DataFrame(accounts, schema={k: v[0] for k, v in ACCOUNT_SCHEMA.items()})
    seg_schema = {"account_id": pl.Utf8, "run_id": pl.Utf8, "segment": pl.Utf8, "secondary_segments": pl.List(pl.Utf8),
                  "reasons": pl.List(pl.Struct({"code": pl.Utf8, "text": pl.Utf8})), "rules_version": pl.Utf8}
    float_cols = lambda rows: {k: (pl.Utf8 if isinstance(v, str) else pl.Float64)  # noqa: E731
                               for k, v in rows[0].items()}
    rs = float_cols(results)
    rs.update({"account_id": pl.Utf8, "run_id": pl.Utf8, "province": pl.Utf8, "customer_type": pl.Utf8,
               "bill_source": pl.Utf8, "pv_mode": pl.Utf8, "gec_count": pl.Int64, "flags": pl.List(pl.Utf8),
               "pv_eligible": pl.Boolean})
    ss = float_cols(scenarios)
    ss.update({"account_id": pl.Utf8, "run_id": pl.Utf8, "pv_mode": pl.Utf8, "gec_count": pl.Int64})
    return DemoRun(acc, pl.DataFrame(results, schema=rs), pl.DataFrame(scenarios, schema=ss),
                   pl.DataFrame(segments, schema=seg_schema), PLAYBOOKS, ASSUMPTIONS)


def load_playbooks(path: Path | None = None) -> dict:
    """The segment playbooks from ``data/segmentation/playbooks.yaml`` when present, else the demo copy."""
    path = path or DATA / "segmentation" / "playbooks.yaml"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))["playbooks"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return PLAYBOOKS
