"""The lead model against the warehouse: the ``lead_models`` and ``lead_scores`` tables, training from the
offer history, scoring a run's accounts.

Both run inside :func:`loop.store.loop_transaction` (writer lock, staging copy, atomic publish): after a
nightly run (:func:`after_run`, from the flow) and from ``gp leads train``.

* ``lead_models`` (no ``run_id``; kept across runs): one row per fitted model — version, when, the
  features used, the training window (first and last training period, the evaluation period), counts,
  AUC / Brier / top-decile lift on the latest period, the current model's AUC on that same period,
  whether it ``replaced`` the current model, the data file's hash, and the fitted model itself
  (``model_blob``, pickle, with ``model_sha256``: loaded only when the hash matches). The current model
  is the newest row with ``replaced``.
* ``lead_scores`` (``run_id``, pruned with its run): per account of a scored run, ``score``,
  ``model_version`` (a model's version or ``'rule'``), ``reasons`` (code, value, label) and ``scored_on``.

A retrain replaces the current model only when its AUC on the latest period is at least the current
model's AUC on the same offers; otherwise it is recorded with ``replaced = false`` and scoring keeps the
current one.
"""
from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from loop.leads.config import LeadsConfig
from loop.leads.features import FEATURES, build_features, check_as_of, labelled_offers
from loop.leads.model import LeadModel, Metrics, ModelBlobError, TrainResult, load_model, time_split_train
from loop.leads.reasons import RULE, REASON, rule_contributions, rule_scores, top_reasons
from loop.leads.tables import ensure_lead_tables
from warehouse.schema import table_columns

ALGORITHM = "LogisticRegression + CalibratedClassifierCV(sigmoid, cv=3), scikit-learn"

# a results table from before "Offers that sell" lacks some figures: NULL stands in (features handle NULL)
FIGURES = ("bill_yuan", "green_cost_low_yuan", "pv_npv_yuan", "pv_breakeven_year", "pv_irr", "gec_cost_yuan")
PROFILE = """
SELECT {keys}, s.segment, s.secondary_segments, a.customer_type, a.industry_group, a.province, a.annual_kwh,
       a.is_exporter, a.is_listed, a.re100_member, a.has_esg_report, {figures}
FROM {source}
JOIN accounts a ON a.run_id = x.run_id AND a.account_id = x.account_id
LEFT JOIN segments s ON s.run_id = x.run_id AND s.account_id = x.account_id
LEFT JOIN results r ON r.run_id = x.run_id AND r.account_id = x.account_id"""
# offers_issued (loop/sql/10_loop_offers.sql): every offer document once, with the run that first issued it
OFFERS_SQL = """SELECT offer_no, account_id, run_id, edition, issued_on, valid_until, status = 'held_out' AS held_out
FROM offers_issued"""
RESPONSES_SQL = """SELECT offer_no, account_id, outcome, responded_on FROM responses"""


def _figures(con: duckdb.DuckDBPyConnection) -> str:
    have = table_columns(con, "results")
    return ", ".join(f"r.{c}" if c in have else f"CAST(NULL AS DOUBLE) AS {c}" for c in FIGURES)


def history(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every offer ever issued (``offers_issued``) and every response with its account (the offer's)."""
    if not table_columns(con, "offers_issued"):
        empty_o = pl.DataFrame(schema={"offer_no": pl.String, "account_id": pl.String, "run_id": pl.String,
                                       "edition": pl.String, "issued_on": pl.Date, "valid_until": pl.Date,
                                       "held_out": pl.Boolean})
        empty_r = pl.DataFrame(schema={"offer_no": pl.String, "account_id": pl.String, "outcome": pl.String,
                                       "responded_on": pl.Date})
        return empty_o, empty_r
    offers, responses = con.sql(OFFERS_SQL).pl(), con.sql(RESPONSES_SQL).pl()
    owner = offers.select("offer_no", pl.col("account_id").alias("_owner"))
    responses = (responses.join(owner, on="offer_no", how="left")
                 .with_columns(pl.coalesce("_owner", "account_id").alias("account_id")).drop("_owner"))
    return offers, responses


History = tuple[pl.DataFrame, pl.DataFrame]


def training_features(con: duckdb.DuckDBPyConnection, today: dt.date, hist: History | None = None) -> pl.DataFrame:
    """The offers with a known outcome on ``today`` with their features as of their issue date (checked
    for leaks). ``hist``: :func:`history`'s frames when the caller has them."""
    offers, responses = hist or history(con)
    labelled = labelled_offers(offers, responses, today)
    con.register("_lead_x", labelled.select("offer_no", "account_id", "run_id").to_arrow())
    try:
        profile = con.sql(PROFILE.format(keys="x.offer_no", figures=_figures(con), source="_lead_x x")).pl()
    finally:
        con.unregister("_lead_x")
    examples = labelled.join(profile, on="offer_no", how="inner")
    feats = build_features(examples, offers, responses)
    check_as_of(feats, responses, offers)
    return feats


# ---------------------------------------------------------------- models

@dataclass(frozen=True)
class CurrentModel:
    version: str
    outcomes: int
    model: LeadModel | None         # None: the blob did not match its hash
    problem: str | None = None


def current_model(con: duckdb.DuckDBPyConnection) -> CurrentModel | None:
    """The newest model that replaced its predecessor (None when none was ever accepted)."""
    if not table_columns(con, "lead_models"):
        return None
    row = con.execute("""SELECT model_version, outcomes, model_blob, model_sha256 FROM lead_models
                         WHERE replaced ORDER BY trained_at DESC, model_version DESC LIMIT 1""").fetchall()
    if not row:
        return None
    version, outcomes, blob, sha = row[0]
    try:
        return CurrentModel(version, int(outcomes), load_model(bytes(blob), sha))
    except ModelBlobError as e:
        return CurrentModel(version, int(outcomes), None, str(e))


def new_version(at: dt.datetime) -> str:
    return f"lead-{at:%Y%m%dT%H%M%S}Z-{secrets.token_hex(2)}"


@dataclass
class TrainOutcome:
    result: TrainResult
    version: str | None
    replaced: bool
    current_version: str | None
    current_auc: float | None

    def describe(self) -> str:
        r = self.result
        if not r.trained:
            return f"no model trained: {r.reason}; scores use the rule"
        m = r.metrics
        text = (f"model {self.version}: trained on {r.train_from}..{r.train_to} ({r.train_rows:,} offers, "
                f"{r.train_positives:,} accepted), checked on {r.eval_period} ({r.eval_rows:,} offers, "
                f"{r.eval_positives:,} accepted): AUC {m.auc:.3f}, Brier {m.brier:.4f}, top-decile lift {m.lift:.2f}")
        if self.current_version is None:
            return text + "; it is the first model and is now current"
        verdict = "replaces" if self.replaced else "does not replace"
        return text + f"; {verdict} {self.current_version} (AUC {self.current_auc:.3f} on the same offers)"


def train(con: duckdb.DuckDBPyConnection, config: LeadsConfig, today: dt.date, *,
          max_iter: int = 300, at: dt.datetime | None = None, hist: History | None = None) -> TrainOutcome:
    """Train on the history, compare with the current model on the latest period, record the model."""
    ensure_lead_tables(con)
    at = at or dt.datetime.now(dt.timezone.utc)
    feats = training_features(con, today, hist)
    version = new_version(at)
    result = time_split_train(feats, version=version, min_outcomes=config.min_outcomes,
                              min_period_outcomes=config.min_period_outcomes, max_train_rows=config.max_train_rows,
                              max_iter=max_iter)
    if not result.trained:
        return TrainOutcome(result, None, False, None, None)
    current = current_model(con)
    current_auc = None
    if current is not None and current.model is not None:
        test = feats.filter(pl.col("period") == result.eval_period)
        current_auc = Metrics.of(current.model.predict(test), test["label"].to_numpy()).auc
    replaced = current is None or current.model is None or current_auc is None or result.metrics.auc >= current_auc
    blob, sha = result.model.to_blob()
    m = result.metrics
    con.execute("""INSERT INTO lead_models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [version, at, ALGORITHM, list(FEATURES), result.train_from, result.train_to, result.eval_period,
                 result.outcomes, result.train_rows, result.train_positives, result.eval_rows, result.eval_positives,
                 m.auc, m.brier, m.lift, current.version if current else None, current_auc, replaced,
                 config.sha256, sha, blob])
    return TrainOutcome(result, version, replaced, current.version if current else None, current_auc)


def retrain_due(con: duckdb.DuckDBPyConnection, config: LeadsConfig, today: dt.date, hist: History) -> bool:
    """Enough outcomes for a first model, or enough new ones since the current model was trained."""
    outcomes = labelled_offers(*hist, today).height
    current = current_model(con)
    if current is None:
        if not table_columns(con, "lead_models"):
            return outcomes >= config.min_outcomes
        ((last,),) = con.execute("SELECT max(outcomes) FROM lead_models").fetchall()
        return outcomes >= config.min_outcomes and (last is None or outcomes - last >= config.retrain_new_outcomes)
    return outcomes - current.outcomes >= config.retrain_new_outcomes


# ---------------------------------------------------------------- scoring

def scoring_examples(con: duckdb.DuckDBPyConnection, run_id: str, today: dt.date, offers: pl.DataFrame) -> pl.DataFrame:
    """The run's accounts with their profile and figures, the edition of their latest offer issued by
    ``today`` (``offers``: :func:`history`'s) and ``as_of = today``."""
    profile = con.sql(PROFILE.format(keys="x.account_id", figures=_figures(con),
                                     source="(SELECT run_id, account_id FROM accounts WHERE run_id = $run_id) x"),
                      params={"run_id": run_id}).pl()
    editions = (offers.filter((pl.col("issued_on") <= today) & ~pl.col("held_out").fill_null(False))
                .group_by("account_id").agg(pl.col("edition").sort_by("issued_on", "offer_no").last()))
    return (profile.join(editions, on="account_id", how="left")
            .with_columns(pl.lit(today, pl.Date).alias("as_of")))


def score_frame(features: pl.DataFrame, config: LeadsConfig, model: LeadModel | None) -> pl.DataFrame:
    """account_id, score, model_version, reasons for feature rows (the model's, or the rule's)."""
    if model is None:
        scores, contrib, version = rule_scores(features, config), rule_contributions(features), RULE
    else:
        (scores, contrib), version = model.predict_explained(features), model.version
    return pl.DataFrame({"account_id": features["account_id"], "score": np.asarray(scores, dtype=np.float64),
                         "model_version": pl.Series([version] * features.height, dtype=pl.String)}).with_columns(
        top_reasons(features, contrib, config.top_reasons))


def score_run(con: duckdb.DuckDBPyConnection, config: LeadsConfig, run_id: str, today: dt.date,
              timings: dict[str, float] | None = None, hist: History | None = None) -> pl.DataFrame:
    """Score every account of ``run_id`` as of ``today`` into ``lead_scores`` (replacing that run's rows).

    ``timings``: filled with the seconds each step took (read, features, check, score, store)."""
    clock = _Clock(timings)
    ensure_lead_tables(con)
    offers, responses = hist or history(con)
    examples = scoring_examples(con, run_id, today, offers)
    current = current_model(con)
    clock.lap("read")
    feats = build_features(examples, offers, responses)
    clock.lap("features")
    check_as_of(feats, responses, offers, recount=False)   # one as_of for all: the dates suffice
    clock.lap("check")
    scored = score_frame(feats, config, current.model if current is not None else None)
    clock.lap("score")
    write_scores(con, scored, run_id, today)
    clock.lap("store")
    return scored


class _Clock:
    def __init__(self, into: dict[str, float] | None):
        self.into, self.last = into, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.into is not None:
            self.into[name] = now - self.last
        self.last = now


def write_scores(con: duckdb.DuckDBPyConnection, scored: pl.DataFrame, run_id: str, today: dt.date) -> None:
    frame = scored.with_columns(pl.lit(run_id).alias("run_id"), pl.lit(today, pl.Date).alias("scored_on"),
                                pl.col("reasons").cast(pl.List(REASON)))
    con.execute("DELETE FROM lead_scores WHERE run_id = ?", [run_id])
    con.register("_lead_scores", frame.to_arrow(compat_level=pl.CompatLevel.newest()))   # string views, no copy
    try:
        con.execute("INSERT INTO lead_scores BY NAME SELECT * FROM _lead_scores")
    finally:
        con.unregister("_lead_scores")


def latest_full_run(con: duckdb.DuckDBPyConnection) -> tuple[str, dt.date] | None:
    """The run the nightly scores: the latest successful nightly/adhoc run, and its date (Asia/Shanghai)."""
    row = con.execute("""SELECT run_id, CAST(timezone('Asia/Shanghai', started_at) AS DATE) FROM runs
                         WHERE status = 'succeeded' AND kind <> 'campaign'
                         ORDER BY started_at DESC, run_id DESC LIMIT 1""").fetchall()
    return (row[0][0], row[0][1]) if row else None


@dataclass
class LeadsReport:
    run_id: str | None
    scored: int
    model_version: str | None
    training: TrainOutcome | None

    def describe(self) -> str:
        lines = [self.training.describe()] if self.training is not None else []
        if self.run_id is not None:
            lines.append(f"scored {self.scored:,} accounts of run {self.run_id} with "
                         + ("the rule (no model yet)" if self.model_version == RULE else f"model {self.model_version}"))
        return "\n".join(lines)


def train_and_score(con: duckdb.DuckDBPyConnection, config: LeadsConfig, *, force_train: bool,
                    today: dt.date | None = None, max_iter: int = 300) -> LeadsReport:
    """Train (when asked, or when due) and score the latest full run (inside the caller's transaction)."""
    ensure_lead_tables(con)
    latest = latest_full_run(con)
    day = today or (latest[1] if latest else dt.date.today())
    hist = history(con)
    due = force_train or retrain_due(con, config, day, hist)
    training = train(con, config, day, max_iter=max_iter, hist=hist) if due else None
    if latest is None:
        return LeadsReport(None, 0, None, training)
    scored = score_run(con, config, latest[0], day, hist=hist)
    version = scored["model_version"][0] if scored.height else None
    return LeadsReport(latest[0], scored.height, version, training)


def after_run(db_path: str | Path, loop_config, leads_config: LeadsConfig, *, refresh_views: bool,
              lock_timeout_s: float = 600) -> LeadsReport:
    """After a run published: the loop's views and statistics (when the run made offers), training when
    due and the latest run's lead scores — one staging copy and one publish."""
    from loop.store import loop_transaction
    from loop.views import create_loop_views, refresh

    with loop_transaction(db_path, what="loop refresh", lock_timeout_s=lock_timeout_s) as con:
        if refresh_views:
            refresh(con, loop_config)
        elif not table_columns(con, "offers_issued"):
            create_loop_views(con, loop_config)
        return train_and_score(con, leads_config, force_train=False)


def train_command(db_path: str | Path, loop_config, leads_config: LeadsConfig, *,
                  lock_timeout_s: float = 600) -> LeadsReport:
    """``gp leads train``: train now (whatever the count of new outcomes) and rescore the latest run."""
    from loop.store import loop_transaction
    from loop.views import create_loop_views

    with loop_transaction(db_path, what="leads train", lock_timeout_s=lock_timeout_s) as con:
        if not table_columns(con, "offers_issued"):
            create_loop_views(con, loop_config)
        return train_and_score(con, leads_config, force_train=True)
