"""Geometry of the cost / CO2 bar chart drawn as inline SVG in the offer (no plotting library).

Two panels side by side share the row labels: annual cost (today's bill, then each feasible PV
mode as a low–high range) and annual CO2. Coordinates are computed here; the template only
draws them, so the chart is a pure function of the figures the table shows.
"""
from __future__ import annotations

from offers import formatting as fmt

WIDTH = 700.0
LABEL_W = 150.0
GAP = 24.0
PANEL_W = (WIDTH - LABEL_W - GAP) / 2
VALUE_W = 100.0          # room right of the longest bar for its value label
TOP = 30.0               # panel titles
ROW_H = 32.0
BAR_H = 14.0


def _scale(values: list[float]) -> float:
    top = max([v for v in values if v is not None] + [0.0])
    return (PANEL_W - VALUE_W) / top if top > 0 else 0.0


def comparison_chart(today: dict, rows: list[dict], units: dict) -> dict:
    labels = [{"text": "现状（电网购电）", "recommended": False}] + [
        {"text": r["label"], "recommended": r["recommended"]} for r in rows]
    n = len(labels)
    height = TOP + n * ROW_H + 6

    # cost panel
    costs = [today["bill_yuan"]] + [r["cost_high"] for r in rows]
    k = _scale(costs)
    x0 = LABEL_W
    cost_bars = [{
        "w": today["bill_yuan"] * k, "w_range": 0.0, "kind": "today",
        "value": fmt.money(today["bill_yuan"], units["money"]),
    }]
    for r in rows:
        cost_bars.append({
            "w": r["cost_low"] * k, "w_range": max(0.0, (r["cost_high"] - r["cost_low"]) * k),
            "kind": "recommended" if r["recommended"] else "option",
            "value": fmt.span(fmt.money(r["cost_low"], units["money"]), fmt.money(r["cost_high"], units["money"])),
        })

    # CO2 panel
    x1 = LABEL_W + PANEL_W + GAP
    co2_available = today["co2_t"] is not None
    co2_bars = []
    if co2_available:
        values = [today["co2_t"]] + [r["co2_t"] for r in rows]
        k2 = _scale(values)
        for i, v in enumerate(values):
            co2_bars.append({
                "w": (v or 0.0) * k2, "w_range": 0.0,
                "kind": "today" if i == 0 else ("recommended" if rows[i - 1]["recommended"] else "option"),
                "value": fmt.co2(v, units["co2"]),
            })

    def place(bars: list[dict], x: float) -> list[dict]:
        for i, bar in enumerate(bars):
            bar["x"] = x
            bar["y"] = TOP + i * ROW_H + (ROW_H - BAR_H) / 2
            bar["h"] = BAR_H
            bar["text_x"] = x + bar["w"] + bar["w_range"] + 5
            bar["text_y"] = bar["y"] + BAR_H - 3
        return bars

    return {
        "width": WIDTH,
        "height": height,
        "labels": [dict(l, x=LABEL_W - 8, y=TOP + i * ROW_H + ROW_H / 2 + 4) for i, l in enumerate(labels)],
        "grid": [{"y": TOP + i * ROW_H} for i in range(n + 1)],
        "panels": [
            {"title": f"年度用电总成本（{units['money']}）", "x": x0, "w": PANEL_W,
             "bars": place(cost_bars, x0), "note": None},
            {"title": f"年碳排放（{units['co2']}）", "x": x1, "w": PANEL_W,
             "bars": place(co2_bars, x1),
             "note": None if co2_available else "暂无排放因子，未计算"},
        ],
        "note_y": TOP + n * ROW_H / 2 + 4,
    }
