"""机会: accounts where green power pays — PV in its best mode with NPV and break-even, accounts that save
money at their target — ranked, with the offer PDF one click away."""
from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import labels, ui
from dashboard.data import offer_pdf

ctx = ui.context()
ui.page_header("机会", ctx, "光伏有收益（最优模式净现值 > 0）或达到目标绿电比例即比当前省钱的客户")

s = ctx.query("opportunities_summary").row(0, named=True)
c = st.columns(4)
c[0].metric("机会客户", ui.count(s["opportunities"]), help=f"筛选范围内共 {s['accounts']:,} 户")
c[1].metric("光伏有收益", ui.count(s["pv_pays"]))
ui.metric(c[2], "光伏净现值合计", s["pv_npv_yuan"], "yuan", help="各户最优光伏模式的净现值之和（25 年，按基准收益率折现）")
c[3].metric("达标即省钱（户）", ui.count(s["saves_at_target"]),
            help=f"达到目标绿电比例时按低溢价测算比当前电费更省；合计每年约 {ui.yuan(s['saving_high_yuan'])}")

left, right = st.columns([2, 1])
order = left.radio("排序", ["npv", "saving"], horizontal=True, key="opp_order",
                   format_func={"npv": "按光伏最优模式净现值", "saving": "按达标年节省"}.get)
limit = right.selectbox("显示前", [100, 500, 2000, 10000], key="opp_limit", format_func=lambda n: f"{n:,} 户")
opps = ctx.query("opportunities", order=order, limit=limit)

if opps.height == 0:
    st.info("当前筛选下没有光伏有收益或达标即省钱的客户。")
    st.stop()

st.caption(f"共 {s['opportunities']:,} 户机会客户，显示排名前 {opps.height:,} 户。")

st.subheader("机会客户排名")
if opps["pv_breakeven_year"].null_count() == opps.height:   # results written before the break-even year existed
    opps = opps.drop("pv_breakeven_year")
ui.table(opps, "opportunities", f"机会_{ctx.filters.run_id}", height=420)

st.subheader("报价单 PDF")
with_offer = opps.filter(pl.col("offer_status").is_in(["rendered", "unchanged"]))
if not ctx.filters.scope.offers:
    st.info("报价单含客户姓名，分析员角色不提供。")
elif with_offer.height == 0:
    st.info("这次运行没有为这些客户生成报价单（例如以 --no-pdf 运行）。")
else:
    names = dict(zip(with_offer["account_id"].to_list(),
                     (f"{r}. {n}（{a}）" for r, n, a in with_offer.select("rank", "name", "account_id").iter_rows())))
    pick, button = st.columns([3, 1], vertical_alignment="bottom")
    account = pick.selectbox("客户", list(names), key="opp_offer", format_func=names.get)
    found = offer_pdf(ctx.snap, ctx.filters, account)
    if found is None:
        pick.warning("找不到这位客户在本次运行中记录的报价单文件（可能已被清理或移动）。")
    else:
        file_name, data = found
        button.download_button("打开报价单 PDF", data=ui.audited(lambda: data, "dashboard offer PDF: "
                                                           + ui.filters_summary(ctx.filters), 1, None),
                               file_name=file_name, mime="application/pdf",
                           key="opp_pdf", on_click="ignore", type="primary", icon=":material/picture_as_pdf:")

pv = opps.filter(pl.col("pv_pays"))
if pv.height:
    st.subheader("光伏：净现值与回本")
    shown = labels.for_display(pv.select("name", "segment", "pv_best_mode", "best_npv_yuan",
                                         *(["pv_breakeven_year"] if "pv_breakeven_year" in pv.columns else []),
                                         "pv_payback_years", "pv_capacity_kw"))
    x_col = labels.COLUMNS["pv_breakeven_year"] if "pv_breakeven_year" in pv.columns \
        and pv["pv_breakeven_year"].null_count() < pv.height else labels.COLUMNS["pv_payback_years"]
    st.altair_chart(alt.Chart(shown.to_pandas()).mark_circle(opacity=0.75).encode(
        x=alt.X(f"{x_col}:Q", title=x_col),
        y=alt.Y(f"{labels.COLUMNS['best_npv_yuan']}:Q", axis=ui.axis(pv["best_npv_yuan"].to_list(), "yuan", "净现值")),
        size=alt.Size(f"{labels.COLUMNS['pv_capacity_kw']}:Q", legend=None),
        color=alt.Color(f"{labels.COLUMNS['segment']}:N", legend=alt.Legend(orient="bottom")),
        tooltip=list(shown.columns)).properties(height=260), width="stretch")
