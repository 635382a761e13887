"""Chinese names for columns and codes: display only (the figures come from ``sql/``).

Segment names come from the segmentation playbooks (``label_zh``), so a renamed segment is renamed here too.
"""
from __future__ import annotations

from functools import lru_cache

import polars as pl

CUSTOMER_TYPES = {"large_industrial": "大工业", "general_commercial": "一般工商业", "residential": "居民"}
PV_MODES = {"self": "企业自投", "third_party": "第三方投资", "none": "不建光伏"}
OFFER_STATUSES = {"rendered": "已生成", "unchanged": "未变（沿用）", "failed": "失败", "held_out": "对照组（不发）"}
RUN_KINDS = {"nightly": "夜间", "campaign": "营销活动", "adhoc": "临时"}

COLUMNS = {
    "rank": "排名", "account_id": "户号", "name": "客户名称", "segment": "细分", "previous_segment": "原细分",
    "province": "省份", "customer_type": "用电类别", "sales_rep": "客户经理", "accounts": "客户数",
    "annual_kwh": "年用电量（千瓦时）", "grid_kwh": "网购电量（千瓦时）",
    "current_cost_yuan": "当前电费（元）", "green_cost_low_yuan": "绿电成本·低（元）",
    "green_cost_high_yuan": "绿电成本·高（元）", "extra_cost_low_yuan": "较当前增减·低（元）",
    "extra_cost_high_yuan": "较当前增减·高（元）", "current_co2_t": "当前排放（吨CO2）",
    "co2_reduction_t": "减排量（吨CO2）", "pv_best_mode": "光伏最优模式", "pv_capacity_kw": "光伏容量（千瓦）",
    "best_npv_yuan": "最优模式净现值（元）", "pv_irr": "内部收益率", "pv_breakeven_year": "回本年份（第几年）",
    "pv_payback_years": "静态回收期（年）", "saving_high_yuan": "达标年节省·乐观（元）",
    "saving_low_yuan": "达标年节省·保守（元）", "pv_pays": "光伏有收益", "saves_at_target": "达标即省钱",
    "offer_status": "报价单", "opportunities": "机会客户数", "saving_share": "达标即省钱占比",
    "previous_run_id": "上次运行", "run_id": "运行",
    "kind": "类型", "campaign": "营销活动", "status": "状态", "started_at": "开始时间", "finished_at": "结束时间",
    "duration_s": "用时（秒）", "rows_read": "读取行数", "rows_accepted": "接受行数", "rows_rejected": "拒绝行数",
    "offers_rendered": "报价单生成", "offers_unchanged": "报价单未变", "offers_failed": "报价单失败",
    "assumption_set": "假设集", "rules_version": "规则版本", "code_version": "代码版本",
    "package_name": "建议方案",
    # 转化
    "dimension": "维度", "value": "分组", "sent": "已发报价", "responded": "有反馈", "meeting": "约见",
    "accepted": "签约", "response_rate": "反馈率", "conversion": "签约率", "conversion_low": "签约率·下限",
    "conversion_high": "签约率·上限", "experiment": "试验", "arm": "版本", "reference_arm": "对照",
    "offers": "客户数（试验）", "difference": "签约率差", "difference_low": "差·下限", "difference_high": "差·上限",
    "p_value": "p 值", "winner": "胜出", "more_offers_needed": "尚需报价数", "call_rank": "顺序", "score": "签约可能性",
    "model_version": "评分方式", "reasons": "理由", "offer_no": "方案编号", "valid_until": "有效期至",
    "open_triggers": "待跟进事项", "score_low": "分数区间下限",
}
TRIGGERS = {"segment_changed": "细分变化", "offer_expiring": "方案即将到期", "renewal_due": "续约到期",
            "premium_changed": "绿电溢价变化"}
DIMENSIONS = {"all": "全部", "edition": "方案版本", "segment": "细分"}


@lru_cache(maxsize=1)
def segments() -> dict[str, str]:
    try:
        from segmentation.config import load_segmentation_config
        return {code: book["label_zh"] for code, book in load_segmentation_config().playbooks.items()}
    except Exception:  # noqa: BLE001 - names are cosmetic; an invalid data file is reported by the runs
        return {"compliance_driven": "合规驱动型", "value_oriented": "价值导向型",
                "responsibility_driven": "责任驱动型"}


def code_maps() -> dict[str, dict[str, str]]:
    seg = segments()
    return {"segment": seg, "previous_segment": seg, "customer_type": CUSTOMER_TYPES, "kind": RUN_KINDS,
            "pv_best_mode": PV_MODES, "offer_status": OFFER_STATUSES, "dimension": DIMENSIONS}


def label(column: str, code: str | None) -> str:
    if code is None:
        return "（未填）" if column == "sales_rep" else "—"
    return code_maps().get(column, {}).get(code, code) or ("（未填）" if column == "sales_rep" else code)


def for_display(df: pl.DataFrame) -> pl.DataFrame:
    """Codes replaced by their Chinese names and columns renamed to Chinese headings (same rows, same order)."""
    maps = code_maps()
    out = df.with_columns(pl.col(c).replace_strict(m, default=pl.col(c), return_dtype=pl.String)
                          for c, m in maps.items() if c in df.columns)
    if "sales_rep" in out.columns:
        out = out.with_columns(pl.col("sales_rep").fill_null("（未填）").replace("", "（未填）"))
    return out.rename({c: COLUMNS[c] for c in out.columns if c in COLUMNS})


@lru_cache(maxsize=1)
def packages() -> dict[str, str]:
    """Segment -> the playbook's package name (what to offer an account that moved into the segment)."""
    try:
        from segmentation.config import load_segmentation_config
        return {code: book["package_name"] for code, book in load_segmentation_config().playbooks.items()}
    except Exception:  # noqa: BLE001 - cosmetic, as segments()
        return {}
