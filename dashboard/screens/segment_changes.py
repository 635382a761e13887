"""细分变化: accounts whose segment changed since their previous successful run — the CRM triggers of
dynamic segmentation (paper 3.3) — with the new segment's package to offer."""
from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import labels, ui

ctx = ui.context()
ui.page_header("细分变化", ctx, "与每户上一次成功运行相比改变了主细分的客户：按新细分的方案跟进")

changes = ctx.query("segment_changes")
if changes.height == 0:
    earlier = ctx.state.runs.filter(pl.col("started_at") < ctx.run["started_at"]).height
    st.info("与上一次成功运行相比，没有客户改变细分。" if earlier
            else "这是第一次成功运行，还没有可比较的上一次运行。")
    st.stop()

moves = ctx.query("segment_transitions")
head = ctx.query("segment_changes_summary").row(0, named=True)
c = st.columns([2, 3, 2])
c[0].metric("改变细分的客户", ui.count(head["accounts"]))
top = moves.row(0, named=True)
c[1].metric(f"最多的变化（{top['accounts']:,} 户）",
            f"{labels.label('segment', top['previous_segment'])}→{labels.label('segment', top['segment'])}")
ui.metric(c[2], "这些客户可减排 CO2", head["co2_reduction_t"], "t")

left, right = st.columns([2, 3])
with left:
    st.subheader("从哪个细分到哪个细分")
    shown = labels.for_display(moves)
    frm, to, n = labels.COLUMNS["previous_segment"], labels.COLUMNS["segment"], labels.COLUMNS["accounts"]
    base = alt.Chart(shown.to_pandas()).encode(x=alt.X(f"{to}:N", title="现细分", axis=alt.Axis(labelAngle=0)),
                                               y=alt.Y(f"{frm}:N", title="原细分"))
    st.altair_chart(base.mark_rect().encode(color=alt.Color(f"{n}:Q", scale=alt.Scale(scheme="greens"), legend=None),
                                            tooltip=[f"{frm}:N", f"{to}:N", f"{n}:Q"])
                    + base.mark_text(fontSize=14).encode(text=f"{n}:Q"), width="stretch")
    ui.table(moves, "segment_transitions", f"细分变化汇总_{ctx.filters.run_id}")
with right:
    st.subheader("客户明细")
    packages = labels.packages()
    listing = changes.with_columns(
        pl.col("segment").replace_strict(packages, default=None, return_dtype=pl.String).alias("package_name"))
    ui.table(listing.select("account_id", "name", "province", "customer_type", "sales_rep", "previous_segment",
                            "segment", "package_name", "previous_run_id", "annual_kwh", "co2_reduction_t"),
             "segment_changes", f"细分变化_{ctx.filters.run_id}", height=420)
