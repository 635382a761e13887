"""The managers' dashboard (managers.md) through Streamlit's own harness (AppTest), on real DuckDB files
written by real nightly runs (the flow under the session's Prefect harness, real PDFs): the figures each
page shows equal the SQL over the same run, filters change them, the offer PDF is served only when the
run recorded it, and an empty database or one with only a failed run shows a message, not a traceback."""
from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import labels
from dashboard.command import DB_ENV
from dashboard.data import Filters, Scope, Snapshot, offer_pdf, warehouse_state
from dashboard.export import xlsx_bytes

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
PAGES = {"机会": "screens/opportunities.py", "地区": "screens/regions.py", "细分变化": "screens/segment_changes.py",
         "转化": "screens/conversion.py"}
N = 16     # accounts of the dashboard_warehouse fixture (conftest.py)


@pytest.fixture(scope="module")
def warehouse(dashboard_warehouse):
    """Two real nightly runs on N sample accounts: d1 without PDFs, d2 (a day later) with PDFs (conftest.py,
    shared with test_dashboard_access.py)."""
    return dashboard_warehouse


def sql(db: Path, query: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def app(db: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv(DB_ENV, str(db))
    return AppTest.from_file(str(APP), default_timeout=120).run()


def page(at: AppTest, title: str) -> AppTest:
    return at.switch_page(PAGES[title]).run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frame(at: AppTest, i: int) -> pl.DataFrame:
    return pl.from_pandas(at.dataframe[i].value)


def best_npv(db: Path) -> str:
    """The NPV of the best PV mode (cost-model.md §2: ``pv_best_mode``, ``pv_third_party_npv_yuan``); on results
    written before those columns existed, the recommended mode's, with no NPV for the third-party mode."""
    cols = {r[0] for r in sql(db, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'results'")}
    best = "pv_best_mode" if "pv_best_mode" in cols else "pv_mode"
    third = "pv_third_party_npv_yuan" if "pv_third_party_npv_yuan" in cols else "NULL"
    return f"(CASE {best} WHEN 'self' THEN pv_npv_yuan WHEN 'third_party' THEN {third} END)"


# ------------------------------------------------------------------ 总览

def test_overview_figures_equal_the_warehouse_views(warehouse, monkeypatch):
    at = app(warehouse, monkeypatch)
    no_errors(at)
    assert at.title[0].value == "总览"
    m = metrics(at)
    (n,) = sql(warehouse, "SELECT count(*) FROM latest_results")[0]
    assert n == N and m["客户数"] == f"{n:,}"
    # the segment table against the warehouse's own segment_summary view, summed over provinces
    expected = {r[0]: r[1:] for r in sql(warehouse, """
        SELECT segment, sum(accounts), sum(current_cost_yuan), sum(green_cost_low_yuan), sum(green_cost_high_yuan),
               sum(co2_reduction_t) FROM segment_summary GROUP BY segment""")}
    table = frame(at, 0)
    names = {v: k for k, v in labels.segments().items()}
    shown = {names.get(r["细分"], r["细分"]): r for r in table.iter_rows(named=True)}
    assert set(shown) == set(expected) | {"合计"}
    for seg, (accounts, cost, low, high, co2) in expected.items():
        row = shown[seg]
        assert row["客户数"] == accounts
        assert row["当前电费（元）"] == pytest.approx(cost, abs=0.51)
        assert row["绿电成本·低（元）"] == pytest.approx(low, abs=0.51)
        assert row["绿电成本·高（元）"] == pytest.approx(high, abs=0.51)
        assert row["减排量（吨CO2）"] == pytest.approx(co2, abs=0.051)
    assert shown["合计"]["客户数"] == N
    # how the run went: the runs row of the latest run
    read, accepted, rejected, rendered, skipped, failed, name = sql(warehouse, """
        SELECT rows_read, rows_accepted, rows_rejected, offers_rendered, offers_skipped, offers_failed,
               assumptions ->> 'name' FROM runs WHERE run_id = 'd2'""")[0]
    assert m["读取行数"] == f"{read:,}" and m["接受 / 拒绝"] == f"{accepted:,} / {rejected:,}"
    (held_out,) = sql(warehouse, "SELECT count(*) FROM offers WHERE run_id = 'd2' AND status = 'held_out'")[0]
    assert m["报价单 生成 / 未变 / 失败"] == f"{rendered:,} / {skipped:,} / {failed:,}" and rendered + held_out == N
    assert m["假设集"] == name
    assert "d2" in at.caption[0].value
    # every table has its Excel export
    assert len(at.get("download_button")) == len(at.dataframe) == 2


def test_filters_change_the_figures(warehouse, monkeypatch):
    at = app(warehouse, monkeypatch)
    province, n_prov = sql(warehouse, """SELECT province, count(*) FROM latest_results GROUP BY province
                                         ORDER BY count(*) DESC, province LIMIT 1""")[0]
    assert n_prov < N
    at.multiselect(key="f_province").set_value([province]).run()
    no_errors(at)
    (cost,) = sql(warehouse, "SELECT sum(bill_yuan) FROM latest_results WHERE province = ?", [province])[0]
    assert metrics(at)["客户数"] == f"{n_prov:,}"
    total = frame(at, 0).filter(pl.col("细分") == "合计").row(0, named=True)
    assert total["客户数"] == n_prov and total["当前电费（元）"] == pytest.approx(cost, abs=0.51)

    # a segment on top: both filters AND together
    segment = sql(warehouse, "SELECT segment FROM latest_results WHERE province = ? LIMIT 1", [province])[0][0]
    at.multiselect(key="f_segment").set_value([segment]).run()
    (n_both,) = sql(warehouse, "SELECT count(*) FROM latest_results WHERE province = ? AND segment = ?",
                    [province, segment])[0]
    assert metrics(at)["客户数"] == f"{n_both:,}"

    # the earlier run: its own figures, not the latest run's
    at.multiselect(key="f_province").set_value([]).run()
    at.multiselect(key="f_segment").set_value([]).run()
    at.selectbox(key="f_run").set_value("d1").run()
    no_errors(at)
    (n_d1_seg,) = sql(warehouse, "SELECT count(*) FROM segments WHERE run_id = 'd1' AND segment = ?", [segment])[0]
    table = frame(at, 0)
    shown = table.filter(pl.col("细分") == labels.label("segment", segment))
    assert shown["客户数"].to_list() == ([n_d1_seg] if n_d1_seg else [])
    assert "d1" in at.caption[0].value
    assert metrics(at)["报价单 生成 / 未变 / 失败"] == "未生成"      # d1 ran without PDFs


# ------------------------------------------------------------------ 机会

def test_opportunities_are_the_accounts_where_green_power_pays(warehouse, monkeypatch):
    at = page(app(warehouse, monkeypatch), "机会")
    no_errors(at)
    npv = best_npv(warehouse)
    expected = sql(warehouse, f"""
        SELECT account_id, {npv} AS npv FROM latest_results
        WHERE {npv} > 0 OR extra_cost_low_yuan < 0
        ORDER BY npv DESC NULLS LAST, -extra_cost_low_yuan DESC NULLS LAST, account_id""")
    (pv_pays,) = sql(warehouse, f"SELECT count(*) FROM latest_results WHERE {npv} > 0")[0]
    assert expected, "the sample has no opportunity: the page would prove nothing"
    m = metrics(at)
    assert m["机会客户"] == f"{len(expected):,}" and m["光伏有收益"] == f"{pv_pays:,}"
    table = frame(at, 0)
    assert table["户号"].to_list() == [a for a, _ in expected]           # ranked by NPV
    assert table["排名"].to_list() == list(range(1, len(expected) + 1))

    at.radio(key="opp_order").set_value("saving").run()
    by_saving = [r[0] for r in sql(warehouse, f"""
        SELECT account_id FROM latest_results WHERE {npv} > 0 OR extra_cost_low_yuan < 0
        ORDER BY -extra_cost_low_yuan DESC NULLS LAST, {npv} DESC NULLS LAST, account_id""")]
    assert frame(at, 0)["户号"].to_list() == by_saving

    # the offer PDF, one click away: the file the run recorded for the selected account
    button = [b for b in at.get("download_button") if b.proto.label == "打开报价单 PDF"]
    assert len(button) == 1
    account = at.selectbox(key="opp_offer").value
    # the first view selected the top account by NPV; re-sorting keeps the manager's selection
    assert account == expected[0][0]
    path, digest = sql(warehouse, "SELECT r.output_folder || '/' || o.path, o.sha256 FROM offers o "
                                  "JOIN runs r USING (run_id) WHERE o.run_id = 'd2' AND o.account_id = ?", [account])[0]
    with Snapshot(warehouse) as snap:
        name, data = offer_pdf(snap, Filters(run_id="d2"), account)
    assert hashlib.sha256(data).hexdigest() == digest and data == Path(path).read_bytes() and name.endswith(".pdf")


def test_offer_pdf_is_served_only_as_recorded(warehouse, tmp_path):
    """Only a file the offers table records for that run and account, inside the run's output folder,
    with its recorded SHA-256, and only for an account the filters (and later a user's scope) let through."""
    account, province = sql(warehouse, "SELECT account_id, province FROM latest_results ORDER BY account_id LIMIT 1")[0]
    other_province = sql(warehouse, "SELECT province FROM latest_results WHERE province <> ? LIMIT 1", [province])[0][0]
    with Snapshot(warehouse) as snap:
        assert offer_pdf(snap, Filters(run_id="d2"), account) is not None
        assert offer_pdf(snap, Filters(run_id="d1"), account) is None                 # d1 rendered nothing
        assert offer_pdf(snap, Filters(run_id="d2", provinces=(other_province,)), account) is None
        assert offer_pdf(snap, Filters(run_id="d2"), "no-such-account") is None

    def tampered(sql_text: str, params) -> Path:
        copy = tmp_path / f"t{len(list(tmp_path.iterdir()))}.duckdb"
        shutil.copy(warehouse, copy)
        with duckdb.connect(str(copy)) as con:
            con.execute(sql_text, params)
        return copy

    outside = tmp_path / "secret.pdf"
    outside.write_bytes(b"%PDF-1.4 not an offer")
    for db in (tampered("UPDATE offers SET path = ? WHERE run_id = 'd2' AND account_id = ?",
                        [f"../../../../../../../../{outside}", account]),
               tampered("UPDATE offers SET path = ? WHERE run_id = 'd2' AND account_id = ?", [str(outside), account]),
               tampered("UPDATE offers SET sha256 = ? WHERE run_id = 'd2' AND account_id = ?", ["0" * 64, account]),
               tampered("UPDATE offers SET status = 'failed' WHERE run_id = 'd2' AND account_id = ?", [account])):
        with Snapshot(db) as snap:
            assert offer_pdf(snap, Filters(run_id="d2"), account) is None


def test_a_scope_restricts_every_account_level_query(warehouse):
    """The one place a per-user account filter enters (``Scope`` → ``base.sql``): with it, every page's figures,
    the filter choices and the offer PDFs cover that rep's accounts only."""
    rep, n = sql(warehouse, """SELECT sales_rep, count(*) FROM latest_results WHERE sales_rep IS NOT NULL
                               GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""")[0]
    assert n < N
    other = sql(warehouse, "SELECT account_id FROM latest_results WHERE sales_rep IS DISTINCT FROM ? LIMIT 1",
                [rep])[0][0]
    scoped = Filters(run_id="d2", scope=Scope(sales_reps=(rep,)))
    with Snapshot(warehouse) as snap:
        assert snap.query("overview_segments", scoped.params()).filter(pl.col("is_total"))["accounts"][0] == n
        options = snap.query("filter_options", scoped.params())
        assert options.filter(pl.col("filter") == "sales_rep")["value"].to_list() == [rep]
        assert snap.query("regions", scoped.params())["accounts"].sum() == n
        shown = snap.query("opportunities", {**scoped.params(), "order": "npv", "limit": 1000})
        assert set(shown["sales_rep"].to_list()) <= {rep}
        assert offer_pdf(snap, Filters(run_id="d2"), other) is not None
        assert offer_pdf(snap, scoped, other) is None


def test_the_overview_summed_at_publish_equals_the_sums_over_the_accounts(warehouse, tmp_path):
    """总览 and the filter choices read the run's overview_cube rows (summed at commit); the same database
    without them reads the accounts: both answer alike for every filter, combined filters and a scope."""
    assert sql(warehouse, "SELECT count(DISTINCT run_id) FROM overview_cube") == [(2,)]
    without = tmp_path / "without-cube.duckdb"
    shutil.copy(warehouse, without)
    with duckdb.connect(str(without)) as con:
        con.execute("DROP TABLE overview_cube")
    seg, prov, ctype, rep = sql(warehouse, """SELECT segment, province, customer_type, sales_rep FROM latest_results
                                              WHERE sales_rep IS NOT NULL ORDER BY account_id LIMIT 1""")[0]
    cases = [Filters(run_id=run) for run in ("d1", "d2")] + [
        Filters(run_id="d2", segments=(seg,)), Filters(run_id="d2", provinces=(prov,), customer_types=(ctype,)),
        Filters(run_id="d2", sales_reps=(rep, "")), Filters(run_id="d2", scope=Scope(sales_reps=(rep,)))]
    for filters in cases:
        for name in ("overview_segments", "filter_options"):
            with Snapshot(warehouse) as snap:
                warehouse_state(snap)                           # as a page does first
                summed = snap.query(name, filters.params())
                assert snap.has_cube(filters.run_id)
            with Snapshot(without) as snap:
                warehouse_state(snap)
                direct = snap.query(name, filters.params())
                assert not snap.has_cube(filters.run_id)
            assert summed.columns == direct.columns and summed.height == direct.height > 0, (name, filters)
            for a, b in zip(summed.iter_rows(), direct.iter_rows()):
                assert list(a) == \
                    [pytest.approx(y, rel=1e-12) if isinstance(y, float) else y for y in b], (name, filters)


# ------------------------------------------------------------------ 地区 and 细分变化

def test_regions_equal_the_summary_by_province(warehouse, monkeypatch):
    at = page(app(warehouse, monkeypatch), "地区")
    no_errors(at)
    expected = {r[0]: r[1:] for r in sql(warehouse, """
        SELECT province, sum(accounts), sum(co2_reduction_t), sum(current_cost_yuan)
        FROM segment_summary GROUP BY province""")}
    table = frame(at, 0)
    assert sorted(table["省份"].to_list()) == sorted(expected)
    for row in table.iter_rows(named=True):
        accounts, co2, cost = expected[row["省份"]]
        assert row["客户数"] == accounts
        assert row["减排量（吨CO2）"] == pytest.approx(co2 or 0, abs=0.051) if co2 is not None else row["减排量（吨CO2）"] is None
        assert row["当前电费（元）"] == pytest.approx(cost, abs=0.51)
    # ranked by CO2 avoided, largest first
    co2 = [v for v in table["减排量（吨CO2）"].to_list() if v is not None]
    assert co2 == sorted(co2, reverse=True)
    assert len(at.get("download_button")) == 1

    at.multiselect(key="f_customer_type").set_value(["large_industrial"]).run()
    (n,) = sql(warehouse, "SELECT count(*) FROM latest_results WHERE customer_type = 'large_industrial'")[0]
    assert frame(at, 0)["客户数"].sum() == n < N


def test_segment_changes_equal_the_warehouse_view(warehouse, monkeypatch):
    at = page(app(warehouse, monkeypatch), "细分变化")
    no_errors(at)
    expected = sql(warehouse, "SELECT account_id, previous_segment, segment FROM segment_changes ORDER BY account_id")
    assert expected, "no account changed segment between the two nights: the page would prove nothing"
    assert metrics(at)["改变细分的客户"] == f"{len(expected):,}"
    moves, listing = frame(at, 0), frame(at, 1)
    assert listing["户号"].to_list() == [a for a, _, _ in expected]
    assert listing["原细分"].to_list() == [labels.label("segment", p) for _, p, _ in expected]
    assert listing["细分"].to_list() == [labels.label("segment", s) for _, _, s in expected]
    assert moves["客户数"].sum() == len(expected)
    assert len(at.get("download_button")) == 2

    at.selectbox(key="f_run").set_value("d1").run()           # the first night has nothing to compare with
    no_errors(at)
    assert any("第一次成功运行" in i.value for i in at.info)


# ------------------------------------------------------------------ Excel export, empty and failed warehouses

def test_excel_export_holds_the_table_as_shown(warehouse):
    with Snapshot(warehouse) as snap:
        df = snap.query("regions", Filters(run_id="d2").params())
    shown = labels.for_display(df)
    back = pl.read_excel(io.BytesIO(xlsx_bytes(shown)))
    assert back.columns == shown.columns and back.height == shown.height
    assert back["省份"].to_list() == shown["省份"].to_list()
    assert back["当前电费（元）"].to_list() == pytest.approx(shown["当前电费（元）"].to_list())


def test_missing_and_empty_database_show_a_message(tmp_path, monkeypatch):
    at = app(tmp_path / "none.duckdb", monkeypatch)
    no_errors(at)
    assert any("还没有数据库" in i.value for i in at.info)

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    at = app(empty, monkeypatch)
    no_errors(at)
    assert any("还没有任何运行记录" in i.value for i in at.info)
    for title in PAGES:
        at = page(at, title)
        no_errors(at)
        assert any("还没有任何运行记录" in i.value for i in at.info)


def test_only_a_failed_run_shows_why(tmp_path, monkeypatch):
    from warehouse.store import Warehouse
    db = tmp_path / "gp.duckdb"
    with pytest.raises(RuntimeError):
        with Warehouse(db).start_run(kind="nightly", campaign=None, input_path="customers.csv", input_sha256=None,
                                     assumptions={"name": "cn-2025"}, rules_version=None, code_version="0",
                                     run_id="bad-night") as run:
            raise RuntimeError("客户清单缺少户号列")
    assert sql(db, "SELECT status FROM runs") == [("failed",)]
    at = app(db, monkeypatch)
    no_errors(at)
    message = " ".join(i.value for i in at.info)
    assert "还没有成功的运行" in message and "bad-night" in message and "客户清单缺少户号列" in message
    at = page(at, "机会")
    no_errors(at)
    assert any("还没有成功的运行" in i.value for i in at.info)


def test_a_replaced_file_is_read_again_and_warming_fills_every_first_view(warehouse, tmp_path):
    """Publishing replaces the file (os.replace): the cache is keyed by the file, so the next read in the same
    process sees the new data; the warm-up prepares every page's first view without a page asking."""
    import os

    from dashboard.data import CACHE, FIRST_LOAD, cached_query, cached_state, params_used, warm
    from warehouse.overview import record_overview
    published, staged = tmp_path / "gp.duckdb", tmp_path / "gp.duckdb.staging"
    shutil.copy(warehouse, published)
    assert warm(published)
    with Snapshot(published) as snap:
        state = cached_state(snap)
        params = Filters(run_id=state.latest_run_id).params()
        for name, extra in FIRST_LOAD:       # every first view is served from the cache: no connection opened
            cached_query(snap, name, {**params, **extra})
        assert snap._con is None
        before = cached_query(snap, "overview_segments", params)
    assert before.filter(pl.col("is_total"))["accounts"][0] == N

    shutil.copy(warehouse, staged)
    with duckdb.connect(str(staged)) as con:       # the next night: three accounts fewer, summed again at commit
        con.execute("DELETE FROM results WHERE run_id = 'd2' AND account_id IN "
                    "(SELECT account_id FROM results WHERE run_id = 'd2' ORDER BY account_id LIMIT 3)")
        assert record_overview(con, "d2")
    os.replace(staged, published)
    with Snapshot(published) as snap:
        after = cached_query(snap, "overview_segments", params)
    assert after.filter(pl.col("is_total"))["accounts"][0] == N - 3
    assert "run_id" in params_used("overview_segments") and "order" not in params_used("overview_segments")
    CACHE.clear()


# ------------------------------------------------------------------ 转化

@pytest.fixture(scope="module")
def loop_warehouse(warehouse, tmp_path_factory):
    """The two nights, then the CRM's answers to d2's offers imported (simulated, planted effects)."""
    import datetime as dt

    from loop.responses import import_responses
    from offers.offer_number import response_code
    from synthetic.responses import simulate_responses, to_crm_export
    folder = tmp_path_factory.mktemp("dash-loop")
    db = folder / "gp.duckdb"
    shutil.copy(warehouse, db)
    offers = pl.DataFrame(sql(db, "SELECT account_id, status, edition, offer_no, issued_on FROM offers "
                                  "WHERE run_id = 'd2'"), orient="row",
                          schema=["account_id", "status", "edition", "offer_no", "issued_on"])
    accounts = pl.DataFrame(sql(db, "SELECT account_id, segment, is_exporter, annual_kwh, bill_yuan, "
                                    "green_cost_low_yuan FROM latest_results"),
                            orient="row", schema=["account_id", "segment", "is_exporter", "annual_kwh", "bill_yuan",
                                                  "green_cost_low_yuan"])
    answers = simulate_responses(offers, accounts, seed=4, response_code=response_code, today=dt.date.today(),
                                 edition_effect=0.3)
    export = folder / "crm.csv"
    export.write_bytes(to_crm_export(answers).write_csv().encode("gb18030"))
    assert import_responses(db, export).accepted == answers.height
    return db


def test_conversion_figures_equal_the_loop_views(loop_warehouse, monkeypatch):
    at = page(app(loop_warehouse, monkeypatch), "转化")
    no_errors(at)
    assert at.title[0].value == "转化"
    sent, responded, meeting, accepted = sql(loop_warehouse, """SELECT sent, responded, meeting, accepted
        FROM offer_funnel WHERE dimension = 'all'""")[0]
    assert sent > 0 and responded > 0
    m = metrics(at)
    assert (m["已发报价"], m["有反馈"], m["约见"], m["签约"]) == tuple(f"{x:,}" for x in (sent, responded, meeting, accepted))
    funnel = frame(at, 0)
    by_edition = {r[0]: r[1:] for r in sql(loop_warehouse, """SELECT value, sent, accepted, conversion_low
        FROM offer_funnel WHERE dimension = 'edition'""")}
    shown = {r["分组"]: r for r in funnel.filter(pl.col("维度") == "方案版本").iter_rows(named=True)}
    assert set(shown) == set(by_edition)
    for edition, (n, k, low) in by_edition.items():
        assert (shown[edition]["已发报价"], shown[edition]["签约"]) == (n, k)
        assert shown[edition]["签约率·下限"] == pytest.approx(low, abs=1e-12)
    # lead scores: the rule (16 accounts are far from 200 outcomes), said so; every account scored once
    assert any("评分方式：规则" in w.value for w in at.warning)
    (scored,) = sql(loop_warehouse, "SELECT count(*) FROM lead_scores WHERE run_id = 'd2' AND model_version = 'rule'")[0]
    assert scored == N and metrics(at)["已评分客户"] == f"{N:,}"
    listing = frame(at, len(at.dataframe) - 1)
    assert listing.height == N and listing["顺序"].to_list() == list(range(1, N + 1))
    assert listing["签约可能性"].to_list() == sorted(listing["签约可能性"].to_list(), reverse=True)
    assert set(listing["评分方式"]) == {"规则"}
    assert any("节省" in r for r in listing["理由"].drop_nulls().to_list())
    assert len(at.get("download_button")) == len(at.dataframe)


def test_conversion_follows_the_filters_and_the_rep_list(loop_warehouse, monkeypatch):
    at = page(app(loop_warehouse, monkeypatch), "转化")
    rep, n_rep = sql(loop_warehouse, """SELECT sales_rep, count(*) FROM latest_results WHERE sales_rep IS NOT NULL
        GROUP BY ALL ORDER BY count(*) DESC, sales_rep LIMIT 1""")[0]
    assert n_rep < N
    at.multiselect(key="f_sales_rep").set_value([rep]).run()
    no_errors(at)
    (sent,) = sql(loop_warehouse, """SELECT count(*) FROM offer_outcomes o WHERE o.account_id IN
        (SELECT account_id FROM accounts WHERE run_id = 'd2' AND sales_rep = ?)""", [rep])[0]
    assert metrics(at)["已发报价"] == f"{sent:,}" and metrics(at)["已评分客户"] == f"{n_rep:,}"
    listing = frame(at, len(at.dataframe) - 1)
    assert listing.height == n_rep and set(listing["客户经理"]) == {rep}
    # the page's own rep list: one rep among all
    at.multiselect(key="f_sales_rep").set_value([]).run()
    at.selectbox(key="lead_rep").set_value(rep).run()
    no_errors(at)
    assert frame(at, len(at.dataframe) - 1).height == n_rep


def test_conversion_without_responses_or_loop_says_so(warehouse, tmp_path, monkeypatch):
    at = page(app(warehouse, monkeypatch), "转化")      # offers sent, nothing answered yet
    no_errors(at)
    assert any("还没有客户反馈" in i.value for i in at.info)
    bare = tmp_path / "bare.duckdb"
    shutil.copy(warehouse, bare)
    with duckdb.connect(str(bare)) as con:            # a warehouse from before the loop
        for view in ("lead_calls", "crm_triggers", "edition_results", "offer_funnel", "offer_outcomes"):
            con.execute(f"DROP VIEW {view}")
        con.execute("DROP TABLE lead_scores")
    at = page(app(bare, monkeypatch), "转化")
    no_errors(at)
    assert any("还没有闭环数据" in i.value for i in at.info)
