"""Lead scores and call lists (loop.md): the model on the simulator's planted history and on one with no
signal (time split, held-out latest month), the leak check on a planted leak, the rule below the outcome
threshold, a worse retrain that does not replace the current model, a damaged stored model, and the
call list and ``--top`` campaign selection on a real warehouse."""
from __future__ import annotations

import datetime as dt
import math
import shutil

import duckdb
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from leads_support import history_warehouse, profiles
from loop.config import load_loop_config
from loop.leads import model as lead_model
from loop.leads import store
from loop.leads.config import load_leads_config, parse_leads_config
from loop.leads.features import LeakError, build_features, check_as_of, labelled_offers
from loop.leads.model import time_split_train
from core.reasons import reason_text
from loop_support import pipeline_frames
from synthetic.responses import simulate_history

N_ACCOUNTS = 6000     # × 5 months × 0.8 = 24,000 offers; the latest month (≈ 4,800) is held out
PERIODS = 5
TODAY = dt.date(2026, 7, 1)
CONFIG = load_leads_config()


@pytest.fixture(scope="module")
def frames():
    return pipeline_frames(N_ACCOUNTS, seed=11)


@pytest.fixture(scope="module")
def account_profiles(frames):
    return (frames["accounts"].select("account_id", "customer_type", "industry_group", "province", "annual_kwh",
                                      "is_exporter", "is_listed", "re100_member", "has_esg_report")
            .join(frames["segments"].select("account_id", "segment", "secondary_segments"), on="account_id")
            .join(frames["results"].select("account_id", "bill_yuan", "green_cost_low_yuan", "pv_npv_yuan",
                                           "pv_breakeven_year", "pv_irr", "gec_cost_yuan"), on="account_id"))


def trained(account_profiles, signal: bool, seed: int = 3):
    hist = simulate_history(account_profiles, periods=PERIODS, seed=seed, signal=signal)
    labelled = labelled_offers(hist["offers"], hist["responses"], TODAY)
    feats = build_features(labelled.join(account_profiles, on="account_id"), hist["offers"], hist["responses"])
    check_as_of(feats, hist["responses"], hist["offers"])
    result = time_split_train(feats, version="test", min_outcomes=CONFIG.min_outcomes,
                              min_period_outcomes=CONFIG.min_period_outcomes, max_train_rows=CONFIG.max_train_rows,
                              max_iter=100)
    return hist, feats, result


# ------------------------------------------------------------------ the model on planted / no signal

def test_the_model_ranks_planted_converters_well_above_chance_on_the_held_out_latest_month(account_profiles):
    hist, feats, r = trained(account_profiles, signal=True)
    assert hist["offers"].height >= 20_000                       # tens of thousands of offers
    assert r.trained and r.eval_period == "2026-05" and r.train_to == "2026-04"
    assert r.eval_rows == feats.filter(pl.col("period") == "2026-05").height > 4000
    assert r.metrics.auc >= 0.70 and r.metrics.lift >= 2.0, r.metrics
    assert 0 < r.metrics.brier < 0.15


def test_without_a_planted_signal_the_lift_stays_near_one(account_profiles):
    """Every offer converts at 8 %: the top decile's rate is binomial noise around the overall rate.
    With n = eval offers and p ≈ 8 %, the top decile (m = n/10 offers) has an acceptance count with
    sd = sqrt(m p (1-p)); the lift's sd is sd / (m p) ≈ 0.16 at n ≈ 4,800. Bounds: 1 ± 3.5 sd (≈ [0.45, 1.55]);
    the AUC's sd under no signal is sqrt((n1 + n0 + 1) / (12 n1 n0)) ≈ 0.016: 0.5 ± 3.5 sd."""
    _, _, r = trained(account_profiles, signal=False)
    assert r.trained
    n, pos = r.eval_rows, r.eval_positives
    p, m = pos / n, math.ceil(n / 10)
    lift_sd = math.sqrt(m * p * (1 - p)) / (m * p)
    auc_sd = math.sqrt((n + 1) / (12 * pos * (n - pos)))
    assert abs(r.metrics.lift - 1) <= 3.5 * lift_sd, (r.metrics, lift_sd)
    assert abs(r.metrics.auc - 0.5) <= 3.5 * auc_sd, (r.metrics, auc_sd)
    assert r.metrics.lift < 2.0 and r.metrics.auc < 0.70      # what the planted test demands is out of reach


def test_the_simulator_is_deterministic_and_plants_what_it_says(account_profiles):
    a = simulate_history(account_profiles.head(500), periods=2, seed=5)
    b = simulate_history(account_profiles.head(500), periods=2, seed=5)
    assert a["offers"].equals(b["offers"]) and a["responses"].equals(b["responses"])
    hist = simulate_history(account_profiles, periods=3, seed=5)
    acc = labelled_offers(hist["offers"], hist["responses"], TODAY).join(account_profiles, on="account_id")
    converter = (pl.any_horizontal("is_exporter", "re100_member", "is_listed")
                 & (pl.col("bill_yuan") > pl.col("green_cost_low_yuan")))
    rates = acc.group_by(converter.alias("converter")).agg(pl.col("label").mean()).sort("converter")["label"]
    assert rates[1] - rates[0] > 0.25        # + 35 points planted, on top of the segment base rates


# ------------------------------------------------------------------ hygiene: the as-of date

def test_the_check_catches_a_planted_leak_and_future_responses_never_enter_the_features(account_profiles):
    hist = simulate_history(account_profiles.head(800), periods=3, seed=9)
    labelled = labelled_offers(hist["offers"], hist["responses"], TODAY)
    examples = labelled.join(account_profiles, on="account_id")
    honest = build_features(examples, hist["offers"], hist["responses"])
    check_as_of(honest, hist["responses"], hist["offers"])
    # the account's own future: a response a year after every offer changes nothing
    future = hist["responses"].with_columns(pl.col("responded_on") + pl.duration(days=365))
    padded = build_features(examples, hist["offers"], pl.concat([hist["responses"], future]))
    assert padded.select("meetings_before", "accepted_before", "declined_before").equals(
        honest.select("meetings_before", "accepted_before", "declined_before"))
    # a planted leak: features taken 40 days after the issue date, then labelled with the issue date
    leaky = build_features(examples.with_columns(pl.col("as_of") + pl.duration(days=40)), hist["offers"],
                           hist["responses"]).with_columns(as_of=examples["as_of"])
    with pytest.raises(LeakError, match="used a response of"):
        check_as_of(leaky, hist["responses"], hist["offers"])
    # a subtler one: the counts inflated by the offer's own answer, no date left behind
    inflated = honest.with_columns(pl.col("accepted_before") + pl.col("label"), evidence_until=None)
    with pytest.raises(LeakError, match="accepted_before"):
        check_as_of(inflated, hist["responses"], hist["offers"])


# ------------------------------------------------------------------ the warehouse: rule, model, replacement

@pytest.fixture(scope="module")
def warehouse(frames, tmp_path_factory):
    """Four monthly runs over 1,500 of the accounts, their offers and the CRM's answers imported."""
    db = tmp_path_factory.mktemp("leads") / "gp.duckdb"
    small = {k: v.filter(pl.col("account_id").is_in(frames["accounts"]["account_id"].head(1500).implode()))
             for k, v in frames.items()}
    built = history_warehouse(db, 1500, 4, frames=small)
    return db, built


def copy_of(db, tmp_path):
    target = tmp_path / "gp.duckdb"
    shutil.copy(db, target)
    return target


def rows(db, sql, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_below_the_threshold_the_score_is_the_rule_and_says_so(warehouse, tmp_path):
    db = copy_of(warehouse[0], tmp_path)
    config = parse_leads_config(CONFIG.path, {**_doc(), "min_outcomes": 1_000_000}, "x")
    report = store.train_command(db, load_loop_config(), config)
    assert not report.training.result.trained and "fewer than 1000000" in report.training.result.reason
    assert report.model_version == "rule" and "rule" in report.describe()
    (n, versions, lo, hi), = rows(db, "SELECT count(*), list(DISTINCT model_version), min(score), max(score) "
                                      "FROM lead_scores")
    assert n == 1500 and versions == ["rule"] and 0 <= lo < hi <= 1
    assert rows(db, "SELECT count(*) FROM lead_models") == [(0,)]
    # the rule: the offer's value to the customer (0.5 = costs nothing extra)
    (score, bill, green), = rows(db, """SELECT l.score, r.bill_yuan, r.green_cost_low_yuan FROM lead_scores l
        JOIN results r USING (run_id, account_id) ORDER BY l.account_id LIMIT 1""")
    share = max(-1, min(1, (bill - green) / bill))
    assert score == pytest.approx(min(1, max(0, 0.5 + share / (2 * config.saving_share_span))))
    # the call list says so
    rep = rows(db, "SELECT sales_rep FROM lead_calls WHERE sales_rep IS NOT NULL LIMIT 1")[0][0]
    from flows.cli import app
    result = CliRunner().invoke(app, ["calls", "--rep", rep, "--db", str(db), "--xlsx", str(tmp_path / "c.xlsx")])
    assert result.exit_code == 0, result.output
    assert "规则（结果不足，未训练模型）" in result.output
    sheet = pl.read_excel(tmp_path / "c.xlsx")
    assert set(sheet["评分方式"]) == {"规则（结果不足，未训练模型）"}
    assert sheet["顺序"].to_list() == list(range(1, sheet.height + 1))
    # a call list is an audited export: who, which list, how many rows, the file's name — not the rows
    from warehouse.audit import audit_path
    (via, what, n_rows, target), = rows(audit_path(db), "SELECT via, what, rows, target FROM audit_log")
    assert (via, what, n_rows) == ("call list", f"gp calls --rep {rep}", sheet.height)
    assert target.endswith("c.xlsx")


def _doc() -> dict:
    import yaml
    return yaml.safe_load(CONFIG.path.read_text(encoding="utf-8"))


def test_a_model_is_trained_recorded_and_a_worse_retrain_does_not_replace_it(warehouse, tmp_path, monkeypatch):
    db = copy_of(warehouse[0], tmp_path)
    first = store.train_command(db, load_loop_config(), CONFIG)
    assert first.training.replaced and first.model_version == first.training.version
    (version, features, auc, brier, lift, replaced, outcomes, sha, blob), = rows(db, """
        SELECT model_version, features, auc, brier, top_decile_lift, replaced, outcomes, model_sha256, model_blob
        FROM lead_models""")
    assert replaced and auc > 0.6 and 0 < brier < 0.2 and lift > 1.5 and outcomes > 1000
    assert "saving_share" in features and "days_since_sent" in features and "edition" in features
    assert __import__("hashlib").sha256(blob).hexdigest() == sha
    # a retrain on scrambled labels is worse on the latest month: recorded, not current
    real_fit = lead_model.fit_model
    monkeypatch.setattr(lead_model, "fit_model", lambda f, y, v, max_iter=300: real_fit(
        f, np.random.default_rng(0).permutation(y), v, max_iter))
    worse = store.train_command(db, load_loop_config(), CONFIG)
    assert not worse.training.replaced and worse.training.current_version == version
    assert worse.training.result.metrics.auc < worse.training.current_auc
    assert worse.model_version == version and "does not replace" in worse.describe()
    assert rows(db, "SELECT model_version, replaced FROM lead_models ORDER BY trained_at") == [
        (version, True), (worse.training.version, False)]
    assert rows(db, "SELECT DISTINCT model_version FROM lead_scores") == [(version,)]
    # a good retrain (same data, same fit) is not worse: it replaces
    monkeypatch.setattr(lead_model, "fit_model", real_fit)
    again = store.train_command(db, load_loop_config(), CONFIG)
    assert again.training.replaced and again.model_version == again.training.version


def test_the_nightly_step_trains_once_enough_outcomes_arrived_then_waits_for_new_ones(warehouse, tmp_path):
    db = copy_of(warehouse[0], tmp_path)
    first = store.after_run(db, load_loop_config(), CONFIG, refresh_views=False)
    assert first.training is not None and first.training.replaced and first.model_version == first.training.version
    second = store.after_run(db, load_loop_config(), CONFIG, refresh_views=True)
    assert second.training is None and second.model_version == first.model_version   # no new outcomes
    assert rows(db, "SELECT count(*) FROM lead_models") == [(1,)]
    assert rows(db, "SELECT count(DISTINCT run_id), count(*) FROM lead_scores") == [(1, 1500)]


def test_a_stored_model_whose_bytes_changed_is_not_loaded(warehouse, tmp_path):
    db = copy_of(warehouse[0], tmp_path)
    store.train_command(db, load_loop_config(), CONFIG)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE lead_models SET model_blob = model_blob || '\\x00'::BLOB")
        current = store.current_model(con)
        assert current.model is None and "SHA-256" in current.problem
        scored = store.score_run(con, CONFIG, *store.latest_full_run(con))
    assert set(scored["model_version"]) == {"rule"}


def test_the_call_list_gives_reasons_in_chinese_and_top_n_takes_the_best_scores(warehouse, tmp_path):
    db = copy_of(warehouse[0], tmp_path)
    store.train_command(db, load_loop_config(), CONFIG)
    rep, = rows(db, "SELECT sales_rep FROM lead_calls WHERE sales_rep IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC, sales_rep LIMIT 1")[0]
    from flows.leads_cli import code_names
    from loop.leads.calls import call_list
    calls = call_list(db, rep, CONFIG, code_names())
    assert calls["score"].to_list() == sorted(calls["score"].to_list(), reverse=True)
    assert calls["score_kind"][0].startswith("模型 lead-")
    reasons = calls["reasons"].to_list()
    assert all(reasons[:5]) and sum(map(bool, reasons)) >= len(reasons) / 2, reasons   # the best have a why
    assert any("万元/年" in r for r in calls["reasons"].to_list())
    assert calls["valid_until"].null_count() == 0 and calls["offer_no"].str.starts_with("GP-").all()
    # reasons are data; the text is made where shown
    assert reason_text([{"code": "saving", "value": 630_000.0, "label": None},
                        {"code": "exporter_re100", "value": None, "label": None}], CONFIG.reasons) == "节省 63 万元/年；出口企业，RE100 需求"
    # --top N: the N best scores of the selection
    from flows.campaign import top_by_lead_score
    accounts = pl.DataFrame({"account_id": [r[0] for r in rows(db, "SELECT account_id FROM lead_scores")]})
    best = top_by_lead_score(accounts, db, 10)
    expected = [r[0] for r in rows(db, """SELECT l.account_id FROM lead_scores l JOIN latest_run r USING (run_id)
                                          ORDER BY score DESC, account_id LIMIT 10""")]
    assert best["account_id"].to_list() == expected and accounts.height == 1500


def test_the_data_file_is_validated_naming_the_key():
    from core.datafiles import DataFileError
    with pytest.raises(DataFileError, match=r"leads\.yaml: min_outcomes: must be at least 1"):
        parse_leads_config(CONFIG.path, {**_doc(), "min_outcomes": 0})
    doc = _doc()
    del doc["reasons"]["saving"]
    with pytest.raises(DataFileError, match=r"reasons\.saving: missing"):
        parse_leads_config(CONFIG.path, doc)
    assert CONFIG.min_outcomes == 200


# ------------------------------------------------------------------ the new views' columns are pinned

LEAD_VIEWS = ("offer_outcomes", "lead_calls")


def test_the_new_views_columns_are_pinned_and_labelled(warehouse):
    import json
    import os
    from pathlib import Path

    from flows.query_command import load_column_labels
    pins = Path(__file__).parent / "pins" / "view_columns.json"
    with duckdb.connect(str(warehouse[0]), read_only=True) as con:
        got = {v: [[n, t] for n, t, *_ in con.execute(f"DESCRIBE {v}").fetchall()] for v in LEAD_VIEWS}
    pinned = json.loads(pins.read_text(encoding="utf-8"))
    if os.environ.get("GP_UPDATE_VIEW_PINS"):
        pins.write_text(json.dumps({**pinned, **got}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        pinned = {**pinned, **got}
    for view in LEAD_VIEWS:
        assert got[view] == pinned.get(view), f"view {view} changed its columns (GP_UPDATE_VIEW_PINS=1 to accept)"
    headers = load_column_labels().headers()
    assert [c for v in LEAD_VIEWS for c, _ in got[v] if c not in headers] == []


def test_a_campaign_with_top_n_by_lead_score_keeps_the_best_of_its_selection(warehouse, tmp_path):
    from flows import steps
    from flows.campaign import CampaignParameters, select_accounts
    db = copy_of(warehouse[0], tmp_path)
    store.train_command(db, load_loop_config(), CONFIG)
    frames = warehouse[1]["frames"]
    config = steps.load_configuration.fn(None)
    params = CampaignParameters(name="top", db=db, segments=["value_oriented"], top=7)
    chosen = select_accounts(frames["accounts"], frames["segments"].join(
        frames["accounts"].select("account_id", "industry_group"), on="account_id"), params, config)
    expected = [r[0] for r in rows(db, """SELECT l.account_id FROM lead_scores l JOIN latest_run r USING (run_id)
        JOIN segments s USING (run_id, account_id) WHERE s.segment = 'value_oriented'
        ORDER BY l.score DESC, l.account_id LIMIT 7""")]
    assert chosen["account_id"].to_list() == expected
    with pytest.raises(Exception, match="lead_score"):
        CampaignParameters(name="top", db=db, top=7, by="npv")


def test_reasons_are_the_largest_positive_contributions_whose_fact_holds():
    from loop.leads.reasons import top_reasons
    f = pl.DataFrame({"saving_yuan": [1e5, -1.0, 5.0], "pv_npv_yuan": [1.0, None, -3.0], "is_exporter": [1.0, 0, 1],
                      "re100_member": [1.0, 1, 0], "is_listed": [0.0, 0, 0], "has_esg_report": [0.0, 0, 0],
                      "meetings_before": [0.0, 0, 1], "accepted_before": [0.0, 0, 0],
                      "edition": ["brand_first", "standard", "standard"], "segment": ["value_oriented", "a", "b"],
                      "annual_kwh": [1e6, 0, 5]})
    contrib = {"saving_share": np.array([0.9, 2.0, -1.0]), "pv_npv_log": np.array([0.5, 2.0, -1.0]),
               "is_exporter": np.array([0.3, 0.0, -1.0]), "re100_member": np.array([0.2, 0.7, -1.0]),
               "edition": np.array([0.6, 5.0, -1.0]), "segment": np.array([0.1, 0.1, -1.0])}
    got = [[(r["code"], r["value"], r["label"]) for r in row] for row in top_reasons(f, contrib, 3).to_list()]
    # row 0: saving 0.9 > edition 0.6 > exporter+RE100 0.5 = pv 0.5 (file order breaks the tie); each counted once
    assert got[0] == [("saving", 1e5, None), ("edition", None, "brand_first"), ("pv_npv", 1.0, None)]
    # row 1: no saving, no PV value, standard edition: the facts that hold and raised the score
    assert got[1] == [("re100", None, None), ("segment", None, "a")]
    assert got[2] == []                      # nothing raised the score: no reason invented
