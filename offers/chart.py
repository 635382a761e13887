"""Geometry of the offer's two charts, drawn as inline SVG (no plotting library).

* :func:`comparison_chart` — every feasible PV mode's annual cost **change against today** (a
  low–high range around a zero line: savings to the left, extra cost to the right) beside the CO2
  it avoids. Differences, not totals: bars from zero would make 7.07 and 7.14 亿元 look identical.
* :func:`cashflow_chart` — the 25-year cumulative cash flow of self-investment and of the
  third-party model, with the break-even year marked.

Coordinates are computed here from the figures the tables show; the templates only draw them.
"""
from __future__ import annotations

import math

from offers import formatting as fmt

WIDTH = 700.0
LABEL_W = 170.0
GAP = 24.0
TEXT_W = 92.0            # room beside a bar's end for its value label
TOP = 30.0               # panel titles
ROW_H = 30.0
BAR_H = 13.0


def _bar_segments(low: float, high: float) -> tuple[tuple[float, float] | None, tuple[float, float]]:
    """(solid, light) intervals of a low–high change: solid from 0 to the end nearest zero when both ends
    have the same sign, light for the rest of the range."""
    lo, hi = min(low, high), max(low, high)
    if lo >= 0:
        return (0.0, lo), (lo, hi)
    if hi <= 0:
        return (hi, 0.0), (lo, hi)
    return None, (lo, hi)


def comparison_chart(today: dict, rows: list[dict], units: dict) -> dict:
    unit = units["money"]
    n = len(rows)
    height = TOP + n * ROW_H + 8
    panel_w = (WIDTH - LABEL_W - GAP) * 0.58
    co2_w = WIDTH - LABEL_W - GAP - panel_w
    labels = [{"text": r["label"], "recommended": r["recommended"], "x": LABEL_W - 8,
               "y": TOP + i * ROW_H + ROW_H / 2 + 4} for i, r in enumerate(rows)]

    # cost change panel: a zero line, room for labels on the side(s) that have bars
    neg = max([0.0] + [-r["extra_low"] for r in rows] + [-r["extra_high"] for r in rows])
    pos = max([0.0] + [r["extra_low"] for r in rows] + [r["extra_high"] for r in rows])
    left_room = TEXT_W if neg > 0 else 4.0
    right_room = TEXT_W if pos > 0 else 4.0
    usable = panel_w - left_room - right_room
    k = usable / (neg + pos) if neg + pos > 0 else 0.0
    zero_x = LABEL_W + left_room + neg * k
    bars = []
    for i, r in enumerate(rows):
        y = TOP + i * ROW_H + (ROW_H - BAR_H) / 2
        solid, light = _bar_segments(r["extra_low"], r["extra_high"])
        text = fmt.span(fmt.signed(fmt.money(r["extra_low"], unit)), fmt.signed(fmt.money(r["extra_high"], unit)))
        far_negative = light[0] < 0 and -light[0] >= max(light[1], 0.0)
        rects = []
        if solid is not None and solid[1] - solid[0] > 0:
            rects.append({"x": zero_x + solid[0] * k, "w": (solid[1] - solid[0]) * k, "opacity": 1.0})
        if light[1] - light[0] > 0:
            rects.append({"x": zero_x + light[0] * k, "w": (light[1] - light[0]) * k, "opacity": 0.4})
        if far_negative:
            tx, anchor = zero_x + light[0] * k - 4, "end"
        else:
            tx, anchor = zero_x + max(light[1], 0.0) * k + 4, "start"
        bars.append({"y": y, "h": BAR_H, "rects": rects, "kind": "recommended" if r["recommended"] else "option",
                     "value": text, "text_x": tx, "text_y": y + BAR_H - 3, "anchor": anchor})

    # CO2 avoided panel
    x1 = LABEL_W + panel_w + GAP
    co2_available = today["co2_t"] is not None
    co2_bars = []
    if co2_available:
        top = max([0.0] + [r["co2_reduction_t"] or 0.0 for r in rows])
        k2 = (co2_w - TEXT_W) / top if top > 0 else 0.0
        for i, r in enumerate(rows):
            v = max(0.0, r["co2_reduction_t"] or 0.0)
            y = TOP + i * ROW_H + (ROW_H - BAR_H) / 2
            co2_bars.append({"x": x1, "y": y, "w": v * k2, "h": BAR_H,
                             "kind": "recommended" if r["recommended"] else "option",
                             "value": fmt.co2(r["co2_reduction_t"], units["co2"]),
                             "text_x": x1 + v * k2 + 4, "text_y": y + BAR_H - 3})
    return {
        "width": WIDTH, "height": height, "labels": labels,
        "grid": [{"y": TOP + i * ROW_H} for i in range(n + 1)],
        "zero_x": zero_x, "cost_x": LABEL_W, "cost_w": panel_w,
        "cost_title": f"每年用电成本较现状（{unit}，负值为节省）",
        "bars": bars,
        "co2_x": x1, "co2_w": co2_w, "co2_title": f"每年减少碳排放（{units['co2']}）",
        "co2_bars": co2_bars, "co2_note": None if co2_available else "暂无排放因子，未计算",
        "note_y": TOP + n * ROW_H / 2 + 4, "bottom": TOP + n * ROW_H,
    }


def _nice_step(span: float) -> float:
    raw = span / 4 if span > 0 else 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


CF_H = 210.0
CF_LEFT = 64.0
CF_RIGHT = 28.0
CF_TOP = 14.0
CF_BOTTOM = 26.0


def cashflow_chart(cumulative: dict[str, list[float]], breakeven_year: int | None, unit: str,
                   names: dict[str, str], recommended: str) -> dict:
    """Two cumulative cash-flow lines (year 0..L) with a zero line and the break-even year marked."""
    divisor = fmt.MONEY_UNITS[unit]
    series = {m: [v / divisor for v in values] for m, values in cumulative.items()}
    years = len(next(iter(series.values()))) - 1
    lo = min(0.0, *(min(v) for v in series.values()))
    hi = max(0.0, *(max(v) for v in series.values()))
    step = _nice_step(hi - lo)
    lo_t, hi_t = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if hi_t == lo_t:
        hi_t = lo_t + step
    plot_w = WIDTH - CF_LEFT - CF_RIGHT
    plot_h = CF_H - CF_TOP - CF_BOTTOM

    def x(year: float) -> float:
        return CF_LEFT + plot_w * year / years

    def y(value: float) -> float:
        return CF_TOP + plot_h * (hi_t - value) / (hi_t - lo_t)

    ticks = []
    t = lo_t
    while t <= hi_t + step / 2:
        ticks.append({"y": y(t), "text": fmt.num(t, 0 if step >= 1 else 2), "zero": abs(t) < step / 2})
        t += step
    lines = []
    for mode in ("self", "third_party"):
        if mode not in series:
            continue
        points = " ".join(f"{x(i):.2f},{y(v):.2f}" for i, v in enumerate(series[mode]))
        lines.append({"mode": mode, "points": points, "name": names[mode], "recommended": mode == recommended})
    marker = None
    if breakeven_year:
        v = series["self"][breakeven_year]
        marker = {"x": x(breakeven_year), "y": y(v), "text": f"第 {breakeven_year} 年回本",
                  "text_x": x(breakeven_year) + 7, "text_y": y(v) + 15}
    return {
        "width": WIDTH, "height": CF_H, "left": CF_LEFT, "right": WIDTH - CF_RIGHT, "top": CF_TOP,
        "bottom": CF_TOP + plot_h, "ticks": ticks, "zero_y": y(0.0),
        "xticks": [{"x": x(k), "text": f"第 {k} 年" if k == years else str(k)} for k in range(0, years + 1, 5)],
        "lines": lines, "marker": marker, "unit": unit, "years": years,
    }
