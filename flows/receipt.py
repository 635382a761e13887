"""The run summary a sales manager reads in the Prefect UI: a receipt in their terms.

Chinese segment names, amounts in 万/亿, what reaching each segment's green-power target costs or saves
per year, rejects by reason, segment changes since the previous run, the best prospects and where the
dashboard is. No server paths (a manager cannot open them) and, as everywhere in logs and artifacts, no
customer's name, bill or consumption: account ids and aggregates only. Every figure is one the cost
model stored (``results``); this module only adds them up and formats them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import polars as pl

from flows.frames import RunTotals
from offers.formatting import kwh, money, money_unit, num, tonnes

DASHBOARD_URL_ENV = "GP_DASHBOARD_URL"
DEFAULT_DASHBOARD = "http://127.0.0.1:8501"
MINUS = "−"


@dataclass
class ReceiptFacts:
    segments: list[dict] = field(default_factory=list)       # label, accounts, kwh, bill, extra low/high, co2
    rejects: list[tuple[str, int]] = field(default_factory=list)
    prospects: list[dict] = field(default_factory=list)
    changes: list[tuple[str, str, int]] = field(default_factory=list)


def _label(playbooks: dict, code: str | None) -> str:
    if code is None:
        return "未分类"
    return str((playbooks.get(code) or {}).get("label_zh") or code)


def receipt_facts(segments: pl.DataFrame, results: pl.DataFrame, rejects: pl.DataFrame, playbooks: dict,
                  changes: pl.DataFrame | None = None) -> ReceiptFacts:
    """Aggregates for the receipt, from the frames the run stored."""
    return facts_from_totals(RunTotals.of(segments, results, rejects), playbooks, changes)


def facts_from_totals(totals: RunTotals, playbooks: dict, changes: pl.DataFrame | None = None) -> ReceiptFacts:
    """Aggregates for the receipt, from a run's totals (whole or added up chunk by chunk)."""
    facts = ReceiptFacts()
    for row in totals.per_segment.sort("segment").iter_rows(named=True):
        facts.segments.append({k: row[k] for k in ("segment", "accounts", "grid_kwh", "bill_yuan",
                                                   "extra_cost_low_yuan", "extra_cost_high_yuan", "co2_reduction_t")}
                              | {"label": _label(playbooks, row["segment"])})
    by_reason = totals.reject_reasons.sort(["rows", "reason"], descending=[True, False])
    facts.rejects = [(r, int(n)) for r, n in by_reason.iter_rows()]
    facts.prospects = [{**r, "label": _label(playbooks, r["segment"])} for r in totals.prospects.iter_rows(named=True)]
    if changes is not None and changes.height:
        moved = (changes.group_by("previous_segment", "segment").len().sort("len", descending=True))
        facts.changes = [(_label(playbooks, a), _label(playbooks, b), int(n)) for a, b, n in moved.iter_rows()]
    return facts


def _change(value: float | None, unit: str) -> str:
    """An extra cost (+) or a saving (节省) in ``unit``."""
    if value is None:
        return "—"
    if value < 0:
        return f"节省 {money(-value, unit)}"
    return f"+{money(value, unit)}"


def _range(low: float | None, high: float | None, unit: str) -> str:
    if low is None and high is None:
        return "—"
    if low is not None and high is not None and money(low, unit) == money(high, unit):
        return _change(low, unit)
    return f"{_change(low, unit)} ~ {_change(high, unit)}"


def dashboard_url() -> str:
    return os.environ.get(DASHBOARD_URL_ENV) or DEFAULT_DASHBOARD


def receipt_markdown(summary, facts: ReceiptFacts) -> str:
    """Markdown for the Prefect UI (the run's artifact)."""
    kind = {"nightly": "夜间运行", "campaign": "营销活动", "adhoc": "临时运行"}.get(summary.kind, summary.kind)
    title = f"## 绿电报价 · {kind} `{summary.run_id}`" + (f" · 活动「{summary.campaign}」" if summary.campaign else "")
    total_bill = sum((s["bill_yuan"] or 0) for s in facts.segments)
    unit = money_unit(max((abs(s["bill_yuan"] or 0) for s in facts.segments), default=0))
    lines = [title, "",
             f"- 客户名单：读取 {num(summary.rows_read)} 行，接收 {num(summary.rows_accepted)} 户，"
             f"拒收 {num(summary.rows_rejected)} 行",
             f"- 本次覆盖 {num(sum(s['accounts'] for s in facts.segments))} 户，年电费合计 "
             f"{money(total_bill, unit)} {unit}"]
    if summary.offers_folder:
        counts = summary.offers or {}
        lines.append(f"- PDF 报价：新生成 {num(counts.get('rendered', 0))} 份，未变化沿用 "
                     f"{num(counts.get('unchanged', 0))} 份，失败 {num(counts.get('failed', 0))} 份"
                     + (f"，对照组不发 {num(counts['held_out'])} 户" if counts.get("held_out") else "")
                     + f"（报价文件夹「{os.path.basename(str(summary.offers_folder).rstrip('/'))}」）")
    else:
        lines.append("- 本次未生成 PDF 报价")
    lines.append(f"- 看板：{dashboard_url()}（明细、下载报价、导出 Excel）")
    lines += ["", f"### 各客户细分：达到目标绿电比例时的年成本变化（{unit}）", "",
              "| 细分 | 客户数 | 年用电量 | 现年电费 | 达标年成本变化（低 ~ 高） | 年减排 |",
              "|---|---:|---:|---:|---|---:|"]
    for s in facts.segments:
        lines.append(f"| {s['label']} | {num(s['accounts'])} | {kwh(s['grid_kwh'])} | {money(s['bill_yuan'], unit)} | "
                     f"{_range(s['extra_cost_low_yuan'], s['extra_cost_high_yuan'], unit)} | "
                     f"{tonnes(s['co2_reduction_t'])} |")
    lines += ["", "“+” 为每年多付，“节省”为每年少付；低、高两值对应绿证与绿电交易溢价的低、高估计。"]
    if facts.prospects:
        lines += ["", f"### 重点客户（达标后年成本最低的 {len(facts.prospects)} 户）", "",
                  "| 户号 | 细分 | 省份 | 达标年成本变化（低 ~ 高） |", "|---|---|---|---|"]
        for p in facts.prospects:
            p_unit = money_unit(max(abs(p.get("extra_cost_low_yuan") or 0), abs(p.get("extra_cost_high_yuan") or 0)))
            lines.append(f"| {p['account_id']} | {p['label']} | {p.get('province') or '—'} | "
                         f"{_range(p.get('extra_cost_low_yuan'), p.get('extra_cost_high_yuan'), p_unit)} {p_unit} |")
    lines += ["", "### 细分变化（与上次成功的夜间运行相比）", ""]
    if facts.changes:
        lines += ["| 原细分 | 新细分 | 客户数 |", "|---|---|---:|"]
        lines += [f"| {a} | {b} | {num(n)} |" for a, b, n in facts.changes]
    else:
        lines.append("无变化" if summary.kind == "nightly" else "（营销活动不改变细分记录）")
    lines += ["", "### 拒收原因", ""]
    if facts.rejects:
        lines += ["| 原因 | 行数 |", "|---|---:|"] + [f"| {r} | {num(n)} |" for r, n in facts.rejects]
    else:
        lines.append("无")
    return "\n".join(lines)


__all__ = ["ReceiptFacts", "facts_from_totals", "receipt_facts", "receipt_markdown", "dashboard_url"]
