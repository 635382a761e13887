"""The closed loop: editions data, assignment, A/B statistics, CRM response import, funnel and triggers.

Real DuckDB warehouses (written through the warehouse's own run API) and real import files
(CSV in GBK, XLSX, Parquet); offers rows are generated as a run stores them, without PDFs."""
from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from core.datafiles import DataFileError
from intake.errors import InputFileError
from synthetic.responses import simulate_responses, to_crm_export
from loop.assign import assign_arms, assign_editions, unit_hash
from loop.config import load_loop_config, parse_loop_config
from loop.responses import import_responses
from loop.stats import compare_arms, wilson_interval
from loop.views import edition_stats_frame
from offers.offer_number import check_code, make_offer_no, response_code
from warehouse import run_query

from loop_support import ISSUED, demo_history, offers_for, simulator_accounts, write_run

TODAY = dt.date(2026, 12, 1)


def _config(**over) -> dict:
    doc = {"version": "t",
           "editions": {"value_oriented": {"a": {"framing": "savings", "section_order": ["plan", "today"]},
                                           "b": {"framing": "brand"}}},
           "experiments": {"x": {"segment": "value_oriented", "starts_on": "2026-01-01",
                                 "arms": {"control": 0.2, "a": 0.4, "b": 0.4}}}}
    doc.update(over)
    return doc


# ------------------------------------------------------------------------------------------ editions data

def test_bundled_editions_file_loads_and_is_recorded():
    cfg = load_loop_config()
    assert cfg.record()["sha256"] == cfg.sha256 and len(cfg.sha256) == 64
    assert cfg.experiment_for("value_oriented", TODAY).name == "value-editions-2026"


@pytest.mark.parametrize("change, where, what", [
    ({"editions": {"exporters": {"a": {"framing": "savings"}}}}, "editions.exporters", "unknown segment"),
    ({"experiments": {"x": {"segment": "value_oriented", "starts_on": "2026-01-01",
                            "arms": {"control": 0.2, "a": 0.4, "b": 0.3}}}}, "experiments.x.arms", "sum to 0.9"),
    ({"editions": {"value_oriented": {"a": {"framing": "savings", "section_order": ["plan", "appendix"]},
                                      "b": {"framing": "brand"}}}},
     "editions.value_oriented.a.section_order[1]", "unknown template section 'appendix'"),
    ({"experiments": {"x": {"segment": "value_oriented", "starts_on": "2026-01-01",
                            "arms": {"control": 0.5, "c": 0.5}}}}, "experiments.x.arms.c", "unknown edition"),
    ({"editions": {"value_oriented": {"a": {"framing": "loud"}}}}, "editions.value_oriented.a.framing", "loud"),
])
def test_bad_editions_file_names_the_key(tmp_path, change, where, what):
    with pytest.raises(DataFileError) as err:
        parse_loop_config(tmp_path / "editions.yaml", _config(**change))
    assert f"editions.yaml: {where}:" in str(err.value) and what in str(err.value)


# ------------------------------------------------------------------------------------------ assignment

def test_assignment_is_stable_across_runs_and_lists():
    cfg = parse_loop_config(Path("e.yaml"), _config())
    ids = [f"A{i:05d}" for i in range(5000)]
    seg = pl.DataFrame({"account_id": ids, "segment": "value_oriented"})
    first = assign_editions(seg, cfg, TODAY)
    # another night, the list shuffled and half of it gone: everyone keeps their arm
    later = assign_editions(seg.sample(fraction=0.5, seed=3, shuffle=True), cfg, TODAY + dt.timedelta(days=1))
    joined = later.join(first, on="account_id", suffix="_before")
    assert joined.height == later.height
    assert (joined["edition"].fill_null("control") == joined["edition_before"].fill_null("control")).all()
    shares = first.group_by(pl.col("edition").fill_null("control")).len().sort("edition")
    assert dict(shares.iter_rows()) == pytest.approx({"control": 1000, "a": 2000, "b": 2000}, rel=0.08)
    assert first.filter(pl.col("held_out"))["edition"].null_count() == first["held_out"].sum()


def test_reweighting_moves_only_the_accounts_it_must():
    ids = [f"A{i:06d}" for i in range(20000)]
    before = assign_arms("x", [("control", 0.2), ("a", 0.4), ("b", 0.4)], ids)
    after = assign_arms("x", [("control", 0.1), ("a", 0.5), ("b", 0.4)], ids)   # 0.1 from control to a
    moved = [(b, a) for b, a in zip(before, after) if b != a]
    assert {m for m in moved} == {("control", "a")}           # nobody else moves
    u = [unit_hash("x", i) for i in ids]
    expected = sum(0.1 <= x < 0.2 for x in u)                 # exactly those between old and new boundary
    assert len(moved) == expected
    assert abs(len(moved) / len(ids) - 0.1) < 0.01            # = the weight moved (the minimum possible)


@settings(max_examples=30, deadline=None)
@given(w=st.floats(0.05, 0.95), dw=st.floats(-0.04, 0.04))
def test_property_two_arm_reweighting_moves_exactly_the_weight_moved(w, dw):
    ids = [f"K{i}" for i in range(3000)]
    u = np.array([unit_hash("p", i) for i in ids])
    before = np.array(assign_arms("p", [("control", w), ("a", 1 - w)], ids))
    after = np.array(assign_arms("p", [("control", w + dw), ("a", 1 - w - dw)], ids))
    lo, hi = sorted((w, w + dw))
    assert ((before != after) == ((u >= lo) & (u < hi))).all()


# ------------------------------------------------------------------------------------------ statistics

def test_wilson_interval_is_scipys():
    for x, n in [(0, 10), (3, 10), (10, 10), (512, 20000)]:
        ci = stats.binomtest(x, n).proportion_ci(method="wilson")
        assert wilson_interval(x, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def _draw(n: int, rates: dict[str, float], seed: int) -> list[tuple[str, int, int]]:
    rng = np.random.default_rng(seed)
    return [(arm, n, int(rng.binomial(n, p))) for arm, p in rates.items()]


def test_ab_finds_planted_five_points_at_20000_per_arm_and_no_winner_at_200():
    planted = {"control": 0.10, "brand_first": 0.15}
    big = compare_arms(_draw(20000, planted, seed=11), "control")[1]
    assert big.significant and big.winner == "brand_first" and big.p_value < 1e-6
    assert big.difference_low < 0.05 < big.difference_high
    assert big.offers_needed_per_arm is None and big.more_offers_needed is None
    # over 100 / 200 replications: 20,000 per arm always names the edition; 200 per arm has ~25 % power
    # (Fleiss: ~680 per arm are needed for 80 %), so mostly names no winner, and never the wrong one
    big_wins = [compare_arms(_draw(20000, planted, s), "control")[1].winner for s in range(100)]
    small = [compare_arms(_draw(200, planted, s), "control")[1] for s in range(200)]
    assert big_wins.count("brand_first") == 100
    named = [r.winner for r in small if r.winner]
    assert len(named) < 0.4 * len(small) and set(named) <= {"brand_first"}
    quiet = next(r for r in small if not r.significant)
    assert quiet.winner is None and quiet.p_value >= 0.05
    assert quiet.more_offers_needed > 0 and quiet.offers_needed_per_arm > 200
    # the test is the pooled two-proportion z-test
    n, xa, xr = 200, quiet.accepted, next(
        c for s in range(200) for c in [_draw(200, planted, s)] if c[1][2] == quiet.accepted
        and compare_arms(c, "control")[1] == quiet)[0][2]
    p = (xa + xr) / (2 * n)
    z = (xa / n - xr / n) / math.sqrt(p * (1 - p) * 2 / n)
    assert quiet.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


def test_edition_stats_from_planted_offers_and_responses(tmp_path):
    """The edition_results view over generated offers/responses: 20,000 per arm finds the planted
    effect among value-oriented exporters, 200 per arm does not claim it."""
    for per_arm, expect_winner in ((20000, True), (200, False)):
        db = tmp_path / f"ab{per_arm}.duckdb"
        ids = [f"V{i:06d}" for i in range(per_arm * 2)]
        arms = ["savings_first"] * per_arm + ["brand_first"] * per_arm
        offers = pl.DataFrame({"account_id": ids, "status": "rendered", "experiment": "value-editions-2026",
                               "edition": arms, "offer_no": [make_offer_no(i, "h", ISSUED) for i in ids],
                               "issued_on": ISSUED, "content_hash": "h"})
        segments = pl.DataFrame({"account_id": ids, "segment": "value_oriented"})
        write_run(db, None, segments, None, offers)
        acc = pl.DataFrame({"account_id": ids, "segment": "value_oriented", "is_exporter": True,
                            "bill_yuan": 100.0, "green_cost_low_yuan": 100.0, "annual_kwh": 1e6})
        sim = simulate_responses(offers, acc, seed=3, response_code=response_code, today=TODAY)
        path = tmp_path / f"crm{per_arm}.parquet"
        sim.with_columns(pl.col("responded_on").cast(pl.String)).write_parquet(path)
        result = import_responses(db, path, today=TODAY)
        assert result.rejected == 0 and result.accepted == sim.height
        rows = run_query(db, "SELECT * FROM edition_results").to_dicts()
        brand = next(r for r in rows if r["arm"] == "brand_first")
        assert brand["reference_arm"] == "savings_first"           # no control arm: the first arm
        assert (brand["winner"] == "brand_first") is expect_winner
        if expect_winner:
            assert brand["difference_low"] < 0.05 < brand["difference_high"]
        else:
            assert brand["more_offers_needed"] > 0


# ------------------------------------------------------------------------------------------ import and funnel

@pytest.fixture(scope="module")
def planted_file(tmp_path_factory) -> tuple[Path, dict]:
    db = tmp_path_factory.mktemp("planted") / "w.duckdb"
    return db, demo_history(db, n=120, seed=9)


@pytest.fixture
def planted(planted_file, tmp_path) -> tuple[Path, dict]:
    """A private copy of the planted warehouse (one real nightly run of 120 accounts)."""
    src, history = planted_file
    db = tmp_path / "w.duckdb"
    shutil.copyfile(src, db)
    return db, history


def _write(frame: pl.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    if path.suffix == ".xlsx":
        frame.write_excel(path)
    elif path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        path.write_bytes(frame.write_csv().encode(encoding))
    return path


def _sent(h: dict) -> pl.DataFrame:
    return h["offers"].filter(pl.col("status") == "rendered").join(h["segments"], on="account_id")


def test_exact_funnel_counts_on_a_planted_history(tmp_path, planted):
    db, h = planted
    sent = _sent(h)
    nos = sent["offer_no"].to_list()
    # a planted history: 5 accepted (2 after a meeting), 3 meetings then declined, 4 declined, 2 no_response rows
    rows = ([(response_code(o), "签约", "2026-11-20", "120000") for o in nos[0:5]]
            + [(response_code(o), "约见", "2026-11-05", None) for o in nos[0:2] + nos[5:8]]
            + [(response_code(o), "拒绝", "2026-11-25", None) for o in nos[5:8] + nos[8:12]]
            + [(response_code(o), "未回复", "2026-11-10", None) for o in nos[12:14]])
    frame = pl.DataFrame(rows, schema=["方案编号", "反馈结果", "反馈日期", "签约电量"], orient="row")
    result = import_responses(db, _write(frame, tmp_path / "crm.csv", "gbk"), today=TODAY)
    assert (result.rows_read, result.accepted, result.rejected) == (len(rows), len(rows), 0)
    f = run_query(db, "SELECT * FROM offer_funnel WHERE dimension = 'all'").to_dicts()[0]
    assert (f["sent"], f["responded"], f["meeting"], f["accepted"]) == (sent.height, 12, 8, 5)
    assert f["contracted_kwh"] == 5 * 120000
    ci = stats.binomtest(5, sent.height).proportion_ci(method="wilson")
    assert (f["conversion_low"], f["conversion_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    # by segment: the accepted offers' segments at issue
    by_seg = {r["value"]: r for r in run_query(db, "SELECT * FROM offer_funnel WHERE dimension = 'segment'").to_dicts()}
    want = sent.head(5).group_by("segment").len()
    for seg, n in want.iter_rows():
        assert by_seg[seg]["accepted"] == n
    assert sum(r["sent"] for r in by_seg.values()) == sent.height
    # every Wilson interval of the view equals scipy's
    for r in run_query(db, "SELECT sent, accepted, conversion_low, conversion_high FROM offer_funnel").to_dicts():
        ci = stats.binomtest(r["accepted"], r["sent"]).proportion_ci(method="wilson")
        assert (r["conversion_low"], r["conversion_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    # a later outcome supersedes, history kept
    cur = run_query(db, "SELECT outcome FROM responses_current WHERE offer_no = ?", [nos[5]])["outcome"].to_list()
    assert cur == ["declined"]
    assert run_query(db, "SELECT count(*) AS n FROM responses WHERE offer_no = ?", [nos[5]])["n"][0] == 2


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".csv"])
def test_import_formats_english_headers_and_reimport_adds_nothing(tmp_path, planted, suffix):
    db, h = planted
    sim = simulate_responses(h["offers"], simulator_accounts(h), seed=2, response_code=response_code, today=TODAY)
    path = _write(to_crm_export(sim, chinese=False), tmp_path / f"crm{suffix}")
    first = import_responses(db, path, today=TODAY)
    assert first.accepted == sim.height and first.rejected == 0
    snapshot = run_query(db, "SELECT * FROM responses ORDER BY offer_no, responded_on, outcome")
    again = import_responses(db, path, today=TODAY)
    assert again.already_imported == first.import_id and again.accepted == 0
    # the same rows in another file (a later export in GBK with Chinese headers): duplicates, nothing added
    other = _write(to_crm_export(sim, chinese=True), tmp_path / "again.csv", "gb18030")
    third = import_responses(db, other, today=TODAY)
    assert (third.accepted, third.duplicates, third.rejected) == (0, sim.height, 0)
    assert run_query(db, "SELECT * FROM responses ORDER BY offer_no, responded_on, outcome").equals(snapshot)


def test_control_accounts_organic_purchases_are_credited_by_account_and_date(tmp_path, planted):
    db, h = planted
    held = h["offers"].filter(pl.col("status") == "held_out")
    assert held.height > 0
    account = held["account_id"][0]
    frame = pl.DataFrame({"户号": [account], "反馈结果": ["签约"], "反馈日期": ["2026-11-15"], "备注": ["自行购买绿电"]})
    result = import_responses(db, _write(frame, tmp_path / "organic.xlsx"), today=TODAY)
    assert result.accepted == 1
    stats_rows = run_query(db, "SELECT arm, offers, accepted FROM edition_results WHERE arm = 'control'").to_dicts()
    assert stats_rows == [{"arm": "control", "offers": held.height, "accepted": 1}]


def test_bad_rows_become_rejects_and_nothing_else_changes(tmp_path, planted):
    db, h = planted
    sent = _sent(h)
    good_no = sent["offer_no"][0]
    other_no = sent["offer_no"][1]
    typo = good_no[:-1] + ("0" if good_no[-1] != "0" else "1")            # one wrong character
    wrong_check = good_no + "-" + ("ZZ" if check_code(good_no) != "ZZ" else "YY")
    unknown = make_offer_no("nobody", "x", ISSUED)
    rows = [
        (response_code(good_no), "签约", "2026-11-20", None),                                   # row 2: fine
        (response_code(unknown), "签约", "2026-11-20", None),                                   # 3 unknown offer
        (wrong_check, "签约", "2026-11-20", None),                                              # 4 wrong check code
        (typo + "-" + check_code(good_no), "签约", "2026-11-20", None),                         # 5 typo in number
        (response_code(other_no), "签约", "2026-10-01", None),                                  # 6 before the offer
        (response_code(other_no), "maybe", "2026-11-20", None),                                 # 7 unknown outcome
        (response_code(other_no), "约见", "2026-11-21", "<b>" + "长" * 297),                    # 8 300 chars + markup
    ]
    frame = pl.DataFrame(rows, schema=["方案编号", "反馈结果", "反馈日期", "备注"], orient="row")
    before = {t: run_query(db, f"SELECT * FROM {t} ORDER BY ALL") for t in ("offers", "runs", "segments")}
    result = import_responses(db, _write(frame, tmp_path / "bad.csv", "gb18030"), today=TODAY)
    assert (result.accepted, result.rejected) == (1, 6)
    rej = run_query(db, 'SELECT row_number, "column", value, reason FROM response_rejects ORDER BY row_number, reason')
    by_row = {}
    for r in rej.to_dicts():
        by_row.setdefault(r["row_number"], []).append((r["column"], r["reason"]))
    assert "unknown offer number" in by_row[3][0][1]
    assert "wrong check code" in by_row[4][0][1]
    assert by_row[5][0][0] == "offer_no"                       # the typo is caught, nobody is credited
    assert "before the offer was issued (2026-11-02)" in by_row[6][0][1]
    assert by_row[7] == [("outcome", by_row[7][0][1])] and "unknown outcome" in by_row[7][0][1]
    reasons8 = " | ".join(r for _, r in by_row[8])
    assert "note is 300 characters; at most 200" in reasons8 and "markup" in reasons8
    assert rej.filter(pl.col("row_number") == 8)["value"][0].startswith("<b>")
    assert 2 not in by_row
    # only the good row went in, credited to its own offer; nothing else changed
    resp = run_query(db, "SELECT offer_no, account_id FROM responses")
    assert resp.to_dicts() == [{"offer_no": good_no, "account_id": sent["account_id"][0]}]
    for t, frame_before in before.items():
        assert run_query(db, f"SELECT * FROM {t} ORDER BY ALL").equals(frame_before), t


def test_unreadable_response_file_is_one_clear_error(tmp_path, planted):
    db, _ = planted
    bad = tmp_path / "x.csv"
    bad.write_text("名称,金额\n甲,1\n", encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        import_responses(db, bad, today=TODAY)
    assert "x.csv" in str(err.value) and "missing column(s)" in str(err.value)


def test_responses_credit_the_offer_even_after_the_account_changed_segment(tmp_path, planted):
    db, h = planted
    sent = _sent(h)
    acc, no, seg = sent["account_id"][0], sent["offer_no"][0], sent["segment"][0]
    # next night: that account is in another segment and gets a new offer
    new_seg = "compliance_driven" if seg != "compliance_driven" else "responsibility_driven"
    segments = h["segments"].with_columns(
        pl.when(pl.col("account_id") == acc).then(pl.lit(new_seg)).otherwise(pl.col("segment")).alias("segment"))
    offers2 = offers_for(segments, load_loop_config(), ISSUED + dt.timedelta(days=1), tag="v2")
    write_run(db, h["accounts"], segments, h["results"], offers2)
    frame = pl.DataFrame({"offer_no": [response_code(no)], "outcome": ["accepted"], "date": ["2026-11-20"]})
    import_responses(db, _write(frame, tmp_path / "r.csv"), today=TODAY)
    row = run_query(db, "SELECT value FROM offer_funnel WHERE dimension = 'segment' AND accepted > 0")
    assert row["value"].to_list() == [seg]
    credited = run_query(db, "SELECT o.segment FROM responses_current c JOIN loop_offers o USING (offer_no)")
    assert credited["segment"].to_list() == [seg]
    assert run_query(db, "SELECT count(*) AS n FROM crm_triggers WHERE trigger = 'segment_changed' AND account_id = ?",
                     [acc])["n"][0] == 1


_CODE_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZabcilouILOU- ._ıſ"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.builds(lambda acc, cut, typo: (response_code(make_offer_no(acc, "h", ISSUED))[:cut] + typo
                                      + response_code(make_offer_no(acc, "h", ISSUED))[cut + len(typo):]),
              st.text(min_size=1, max_size=8), st.integers(0, 19), st.text(_CODE_CHARS, max_size=2)),
    st.text(_CODE_CHARS, max_size=22)), min_size=1, max_size=20))
def test_property_column_wise_offer_numbers_agree_with_offer_number_module(texts):
    """The import's column-wise parsing and check-code verification = offers.offer_number's, text by text."""
    from loop.responses import offer_numbers
    from offers.offer_number import OfferNumberError, parse_response_code

    got = {r["text"]: r for r in offer_numbers(pl.Series(texts, dtype=pl.String)).iter_rows(named=True)}
    for text in texts:
        try:
            offer_no, check = parse_response_code(text)
        except OfferNumberError:
            assert got[text]["problem"] is not None and got[text]["problem"].startswith("not an offer number")
            continue
        assert (got[text]["offer_no"], got[text]["check"]) == (offer_no, check)
        wrong = check is not None and check != check_code(offer_no)
        assert (got[text]["problem"] is not None) is wrong, text


def test_difference_interval_is_newcombes_and_agrees_with_the_test_on_small_arms():
    from loop.stats import difference_interval
    # Newcombe (1998) Table II, example (a): 56/70 vs 48/80 -> 0.2000, 95 % CI 0.0524 to 0.3339
    d, low, high = difference_interval(56, 70, 48, 80)
    assert (round(d, 4), round(low, 4), round(high, 4)) == (0.2, 0.0524, 0.3339)
    # the demo's case: 6/28 vs 0/8 is not significant, and the interval does not claim otherwise
    res = compare_arms([("control", 8, 0), ("a", 28, 6)], "control")[1]
    assert not res.significant and res.difference_low < 0 < res.difference_high


def test_an_edition_changes_emphasis_through_the_same_templates():
    """Headline, section order and promotion come from the edition's context; the markup is escaped."""
    from offers.context import build_offer, offer_meta
    from offers.demo import demo_run
    from offers.engine import render_offer_html
    from offers.plan import _with_edition

    run = demo_run(0)
    row = lambda frame: frame.filter(pl.col("account_id") == "GD-0002").to_dicts()[0]   # noqa: E731
    offer = build_offer(row(run.accounts), row(run.results),
                        run.scenarios.filter(pl.col("account_id") == "GD-0002").to_dicts(), row(run.segments),
                        run.playbooks, run.assumptions)
    meta = offer_meta("r", "v", "s", "ab" * 32, ISSUED)
    plain = render_offer_html({"offer": offer, "meta": meta})
    ctx = load_loop_config().edition_context("value_oriented", "brand_first")
    ctx = {**ctx, "headline": "<b>先看品牌</b>", "section_order": ["section_green", "section_today", "section_plan",
                                                                  "section_comparison", "section_pv", "section_method"]}
    html = render_offer_html({"offer": _with_edition(offer, ctx), "meta": meta})
    assert "&lt;b&gt;先看品牌&lt;/b&gt;" in html and "<b>先看品牌" not in html
    assert html.index('<section class="green">') < html.index('<section class="today">') < html.index(
        '<section class="plan">')
    assert plain.index('<section class="today">') < plain.index('<section class="green">')
    assert ctx["promotion"] in html and ctx["promotion"] not in plain


def test_crm_triggers_expiring_renewal_and_premium(planted, tmp_path):
    """Relative to today: an offer expiring in 5 days unanswered, an acceptance 340 days old, and a
    compliance customer whose green premium moved by more than 5 %."""
    db, h = planted                      # its run issued offers on 2026-11-02
    today = dt.date.today()
    config = load_loop_config()
    old = offers_for(h["segments"], config, today - dt.timedelta(days=345), tag="old")
    write_run(db, h["accounts"], h["segments"], h["results"], old)
    compliance = h["segments"].filter(pl.col("segment") == "compliance_driven")["account_id"][0]
    results = h["results"].with_columns(
        pl.when(pl.col("account_id") == compliance).then(pl.col("green_cost_low_yuan") + pl.col("bill_yuan") * 0.5 + 1e4)
        .otherwise(pl.col("green_cost_low_yuan")).alias("green_cost_low_yuan"))
    new = offers_for(h["segments"], config, today - dt.timedelta(days=25), tag="new")
    write_run(db, h["accounts"], h["segments"], results, new)
    sent_old = old.filter(pl.col("status") == "rendered")
    renewed, answered = sent_old["offer_no"][0], new.filter(pl.col("status") == "rendered")["offer_no"][0]
    frame = pl.DataFrame({"offer_no": [response_code(renewed), response_code(answered)],
                          "outcome": ["accepted", "declined"],
                          "responded_on": [(today - dt.timedelta(days=340)).isoformat(), today.isoformat()]})
    import_responses(db, _write(frame, tmp_path / "t.csv"), today=today)
    trig = run_query(db, "SELECT trigger, account_id, offer_no, due_on FROM crm_triggers")
    expiring = trig.filter(pl.col("trigger") == "offer_expiring")
    n_sent_new = new.filter(pl.col("status") == "rendered").height
    assert expiring.height == n_sent_new - 1 and answered not in expiring["offer_no"].to_list()
    assert (expiring["due_on"] == today + dt.timedelta(days=5)).all()
    renewal = trig.filter(pl.col("trigger") == "renewal_due")
    assert renewal.select("account_id", "offer_no").rows() == [(sent_old["account_id"][0], renewed)]
    assert renewal["due_on"][0] == today - dt.timedelta(days=5)
    assert trig.filter(pl.col("trigger") == "premium_changed")["account_id"].to_list() == [compliance]
