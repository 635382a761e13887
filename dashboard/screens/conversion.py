"""转化: what came back from the CRM and whom to call next — the offer funnel, the editions and their results
with intervals, the lead-score distribution with the model (or 'rule') that made it, and each rep's list.
Every figure comes from ``sql/`` over the accounts the user sees (``base``); the page only formats."""
from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from core.reasons import load_templates, reason_text
from dashboard import labels, ui

ctx = ui.context()
ui.page_header("转化", ctx, "报价反馈与线索评分：谁最可能签约，为什么")

has_loop = ctx.snap.has_relation("offer_outcomes") and ctx.snap.has_relation("responses")
has_scores = ctx.snap.has_relation("lead_scores") and ctx.snap.has_relation("lead_calls")
if not has_loop and not has_scores:
    st.info("还没有闭环数据：夜间任务生成带编号的报价单、导入 CRM 反馈（gp responses import）后，这里显示转化漏斗与线索评分。")
    st.stop()

# ------------------------------------------------------------------ funnel
st.subheader("报价转化漏斗")
funnel = ctx.query("conversion_funnel") if has_loop else pl.DataFrame()
overall = funnel.filter(pl.col("dimension") == "all") if funnel.height else funnel
if not has_loop:
    st.info("还没有报价反馈数据：带编号的报价单发出、导入 CRM 反馈（gp responses import）后，这里显示转化漏斗。")
elif overall.height == 0:
    st.info("当前筛选下还没有发出的报价单。")
else:
    row = overall.row(0, named=True)
    c = st.columns(5)
    c[0].metric("已发报价", ui.count(row["sent"]))
    c[1].metric("有反馈", ui.count(row["responded"]))
    c[2].metric("约见", ui.count(row["meeting"]))
    c[3].metric("签约", ui.count(row["accepted"]))
    c[4].metric("签约率（95% 区间）", f"{row['conversion']:.1%}",
                help=f"Wilson 95% 区间 {row['conversion_low']:.1%} – {row['conversion_high']:.1%}")
    if row["responded"] == 0:
        st.info("还没有客户反馈：导入 CRM 导出的反馈文件（gp responses import）后，漏斗会更新。")
    left, right = st.columns([2, 3])
    with left:
        stages = pl.DataFrame({"阶段": ["已发报价", "有反馈", "约见", "签约"],
                               "报价单": [row["sent"], row["responded"], row["meeting"], row["accepted"]]})
        st.altair_chart(alt.Chart(stages.to_pandas()).mark_bar(color="#2e7d32").encode(
            y=alt.Y("阶段:N", sort=None, title=None), x=alt.X("报价单:Q", title="报价单", axis=alt.Axis(format=",d")),
            tooltip=["阶段:N", alt.Tooltip("报价单:Q", format=",d")]).properties(height=180), width="stretch")
    with right:
        groups = funnel.filter(pl.col("dimension") != "all")
        shown = labels.for_display(groups.with_columns(
            pl.when(pl.col("dimension") == "segment").then(
                pl.col("value").replace_strict(labels.segments(), default=pl.col("value"), return_dtype=pl.String))
            .otherwise(pl.col("value")).alias("value")))
        conv, low, high, value, dim = (labels.COLUMNS[k] for k in ("conversion", "conversion_low", "conversion_high",
                                                                    "value", "dimension"))
        shown = shown.with_columns((pl.col(dim) + "·" + pl.col(value)).alias("组"))
        base = alt.Chart(shown.to_pandas()).encode(y=alt.Y("组:N", title=None, sort=None,
                                                           axis=alt.Axis(labelOverlap=False, labelLimit=200)))
        st.altair_chart((base.mark_rule(color="#1b5e20").encode(x=alt.X(f"{low}:Q", title="签约率（95% 区间）",
                                                                         axis=alt.Axis(format=".0%")), x2=f"{high}:Q")
                         + base.mark_point(filled=True, color="#1b5e20", size=60).encode(
                             x=f"{conv}:Q", tooltip=["组:N", alt.Tooltip(f"{conv}:Q", format=".1%"),
                                                     alt.Tooltip(f"{low}:Q", format=".1%"),
                                                     alt.Tooltip(f"{high}:Q", format=".1%")]))
                        .properties(height=max(150, 30 * groups.height)), width="stretch")
    ui.table(funnel.with_columns(pl.col("value").replace_strict(labels.segments(), default=pl.col("value"),
                                                                 return_dtype=pl.String)),
             "conversion_funnel", f"转化漏斗_{ctx.filters.run_id}")

# ------------------------------------------------------------------ editions
if has_loop and ctx.snap.has_relation("edition_results"):
    results = ctx.query("edition_results")
    if results.height:      # empty for a restricted scope: whole-experiment statistics (edition_results.sql)
        st.subheader("方案版本试验")
        st.caption("每个版本与对照组（或第一个版本）相比的签约率差及其 95% 区间；p < 0.05 才判定胜出，"
                   "否则给出达到 80% 检验效能还需的报价数。统计覆盖试验中的全部客户。")
        ui.table(results, "edition_results", f"版本试验_{ctx.filters.run_id}")

# ------------------------------------------------------------------ lead scores
st.subheader("线索评分")
if not has_scores:
    st.info("还没有线索评分：下一次夜间任务会为每户打分。")
    st.stop()
summary = ctx.query("lead_score_summary").row(0, named=True)
if not summary["accounts"]:
    st.info("所选运行没有线索评分（评分在每次夜间运行后进行；营销活动运行不单独评分）。")
    st.stop()
version = summary["model_version"]
if version == "rule":
    st.warning("评分方式：规则。反馈结果尚不足以训练模型，分数是方案对客户的价值（达标可节省的电费占比），"
               "0.5 表示不多花钱，越高越省；它是排序依据，不是签约概率。", icon="📏")
else:
    checks = (f"在 {summary['eval_period']} 的 {summary['eval_rows']:,} 份报价上检验：AUC {summary['auc']:.3f}，"
              f"Brier {summary['brier']:.4f}，前 10% 提升 {summary['top_decile_lift']:.2f} 倍"
              if summary["auc"] is not None else "")
    st.caption(f"评分方式：模型 {version}（训练期 {summary['train_from']} 至 {summary['train_to']}；{checks}）。"
               "分数为校准后的签约概率。")
dist = ctx.query("lead_score_distribution")
left, right = st.columns([3, 2])
with left:
    shown = dist.with_columns(pl.when(pl.col("model_version") == "rule").then(pl.lit("规则"))
                              .otherwise(pl.lit("模型 ") + pl.col("model_version")).alias("评分方式"),
                              (pl.col("score_low") * 100).round(0).cast(pl.Int64).alias("分数（%）"))
    st.altair_chart(alt.Chart(shown.to_pandas()).mark_bar(color="#4caf50").encode(
        x=alt.X("分数（%）:O", title="签约可能性（每 5% 一档）"), y=alt.Y("accounts:Q", title="客户数"),
        color=alt.Color("评分方式:N", legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(range=["#2e7d32", "#9aa5b1"])),
        tooltip=["评分方式:N", "分数（%）:O", alt.Tooltip("accounts:Q", format=",d", title="客户数")]),
        width="stretch")
with right:
    c = st.columns(2)
    c[0].metric("已评分客户", ui.count(summary["accounts"]))
    c[1].metric("平均分", f"{summary['mean_score']:.1%}")
    ui.table(dist, "lead_score_distribution", f"线索评分分布_{ctx.filters.run_id}", height=260)

# ------------------------------------------------------------------ each rep's list
st.subheader("客户经理拨打清单")
options = ctx.query("filter_options").filter(pl.col("filter") == "sales_rep")["value"].to_list()
if ctx.filters.sales_reps:
    options = [o for o in options if o in ctx.filters.sales_reps]
ALL = "__all__"
ui._keep_valid("lead_rep", [ALL] + options, multi=False)
rep = st.selectbox("客户经理", [ALL] + options, key="lead_rep",
                   format_func=lambda v: "全部客户经理（前 200 户）" if v == ALL else labels.label("sales_rep", v or None))
calls = ctx.query("lead_list", rep=None if rep == ALL else rep, limit=200)
templates = load_templates()
names = labels.segments()
listing = calls.with_columns(
    pl.Series("reasons", [reason_text(r, templates, names) for r in calls["reasons"].to_list()], dtype=pl.String),
    pl.col("open_triggers").map_elements(
        lambda v: "、".join(labels.TRIGGERS.get(t, t) for t in v.split(",")), return_dtype=pl.String,
        skip_nulls=True),
    pl.when(pl.col("model_version") == "rule").then(pl.lit("规则")).otherwise(pl.col("model_version"))
    .alias("model_version"))
if listing.height == 0:
    st.info("这位客户经理在当前筛选下没有已评分的客户。")
else:
    ui.table(listing, "lead_list", f"拨打清单_{ctx.filters.run_id}", height=420)
