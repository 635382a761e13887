"""总览: accounts, kWh, today's cost vs green cost (low–high) and CO2 avoided per segment; how the run went."""
from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import labels, ui

ctx = ui.context()
ui.page_header("总览", ctx)

seg = ctx.query("overview_segments")
total = seg.filter(pl.col("is_total")).row(0, named=True)
per_segment = seg.filter(~pl.col("is_total")).drop("is_total")

if total["accounts"] == 0:
    st.info("当前筛选下没有客户。请放宽左侧的筛选条件。")
else:
    c = st.columns([2, 3, 3, 4, 3])
    c[0].metric("客户数", ui.count(total["accounts"]))
    ui.metric(c[1], "年用电量", total["annual_kwh"], "kwh")
    ui.metric(c[2], "当前电费", total["current_cost_yuan"], "yuan", help="现有用电方式下的年电费")
    ui.metric_range(c[3], "绿电成本 低–高", total["green_cost_low_yuan"], total["green_cost_high_yuan"], "yuan")
    ui.metric(c[4], "可减排 CO2", total["co2_reduction_t"], "t", help="达到各户目标绿电比例时的年减排量")

    chart_data = labels.for_display(per_segment.select(
        "segment", "current_cost_yuan", "green_cost_low_yuan", "green_cost_high_yuan", "co2_reduction_t"))
    seg_col = labels.COLUMNS["segment"]
    left, right = st.columns([3, 2])
    with left:
        st.subheader("各细分：当前电费与绿电成本")
        costs = [labels.COLUMNS[k] for k in ("current_cost_yuan", "green_cost_low_yuan", "green_cost_high_yuan")]
        bars = alt.Chart(chart_data.to_pandas()).transform_fold(costs, as_=["项目", "元"]).mark_bar().encode(
            x=alt.X(f"{seg_col}:N", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("项目:N", sort=costs),
            y=alt.Y("元:Q", axis=ui.axis(per_segment["green_cost_high_yuan"].to_list()
                                         + per_segment["current_cost_yuan"].to_list(), "yuan", "每年")),
            color=alt.Color("项目:N", sort=costs, title=None, legend=alt.Legend(orient="bottom"),
                            scale=alt.Scale(range=["#9aa5b1", "#4caf50", "#1b5e20"])),
            tooltip=[f"{seg_col}:N", "项目:N", alt.Tooltip("元:Q", format=",.0f")])
        st.altair_chart(bars, width="stretch")
    with right:
        st.subheader("各细分：可减排（吨CO2）")
        co2 = labels.COLUMNS["co2_reduction_t"]
        st.altair_chart(alt.Chart(chart_data.to_pandas()).mark_bar(color="#2e7d32").encode(
            x=alt.X(f"{seg_col}:N", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{co2}:Q", axis=ui.axis(per_segment["co2_reduction_t"].to_list(), "t", "CO2")),
            tooltip=[f"{seg_col}:N", alt.Tooltip(f"{co2}:Q", format=",.1f")]), width="stretch")

    st.subheader("各细分明细")
    table_rows = seg.with_columns(pl.when(pl.col("is_total")).then(pl.lit("合计"))
                                  .otherwise(pl.col("segment")).alias("segment")).drop("is_total")
    ui.table(table_rows, "overview_segments", f"总览_细分_{ctx.filters.run_id}")

st.subheader("本次运行情况")
run = ctx.query("run_summary").row(0, named=True)
c = st.columns(4)
c[0].metric("读取行数", ui.count(run["rows_read"]))
c[1].metric("接受 / 拒绝", f"{ui.count(run['rows_accepted'])} / {ui.count(run['rows_rejected'])}")
offers = (f"{ui.count(run['offers_rendered'])} / {ui.count(run['offers_unchanged'])} / {ui.count(run['offers_failed'])}"
          if run["offers_rendered"] is not None else "未生成")
c[2].metric("报价单 生成 / 未变 / 失败", offers)
c[3].metric("假设集", run["assumption_set"] or "—")
duration = f"，用时 {run['duration_s']:,.0f} 秒" if run["duration_s"] is not None else ""
st.caption(f"开始 {ui.when(run['started_at'])}，结束 {ui.when(run['finished_at'])}{duration}；"
           f"假设集：{run['assumption_title'] or run['assumption_set'] or '—'}；"
           f"规则版本 {(run['rules_version'] or '—')[:12]}，代码版本 {run['code_version'] or '—'}")
ui.table(ctx.query("run_summary").drop("assumption_title"), "run_summary",
         f"运行情况_{ctx.filters.run_id}")
