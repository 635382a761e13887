"""地区: the 总览 figures by province, as a ranked chart and a table."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import labels, ui

ctx = ui.context()
ui.page_header("地区", ctx)

regions = ctx.query("regions")
if regions.height == 0:
    st.info("当前筛选下没有客户。请放宽左侧的筛选条件。")
    st.stop()

METRICS = ["co2_reduction_t", "accounts", "annual_kwh", "current_cost_yuan", "extra_cost_low_yuan",
           "opportunities", "saving_share"]
UNIT = {"co2_reduction_t": "t", "annual_kwh": "kwh", "current_cost_yuan": "yuan", "extra_cost_low_yuan": "yuan"}
left, right = st.columns([2, 3])
metric = left.selectbox("排名依据", METRICS, key="region_metric", format_func=labels.COLUMNS.get)
shown = labels.for_display(regions)
col, prov = labels.COLUMNS[metric], labels.COLUMNS["province"]
fmt = ".0%" if metric == "saving_share" else ",.0f"
left.altair_chart(alt.Chart(shown.to_pandas()).mark_bar(color="#2e7d32").encode(
    y=alt.Y(f"{prov}:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=120)),
    x=alt.X(f"{col}:Q", axis=alt.Axis(format=".0%", title=col) if metric == "saving_share"
            else alt.Axis(title=col, format=",d") if metric in ("accounts", "opportunities")
            else ui.axis(regions[metric].to_list(), UNIT[metric], col.split("（")[0])),
    tooltip=[f"{prov}:N", alt.Tooltip(f"{col}:Q", format=fmt), f"{labels.COLUMNS['accounts']}:Q"],
).properties(height=max(220, 24 * regions.height)), width="stretch")

with right:
    st.subheader("各省明细")
    ui.table(regions, "regions", f"地区_{ctx.filters.run_id}", height=min(36 * (regions.height + 1) + 3, 760))
