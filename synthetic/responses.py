"""A deterministic CRM response simulator with planted effects (for the demo, the tests and the benchmark).

Given a run's offers (``offer_no, account_id, status, edition, issued_on``) and the accounts'
segment, exporter flag, bill and green cost, it writes what a CRM export would hold: one or two
rows per offer that got an answer, and organic purchases of held-out (control) accounts reported by
account and date. The same inputs and seed always give the same rows.

Planted effects (probabilities of an accepted outcome):

* base rate by segment: compliance-driven 8 %, value-oriented 10 %, responsibility-driven 4 %;
* **value to the customer**: + 10 points × s, where s = (bill − green cost low) / bill is the share of
  today's bill the offer saves, clipped to [−0.3, 0.3] (so between −3 and +3 points);
* **edition**: the ``brand_first`` edition converts **+5 points** better among value-oriented exporters
  (``edition_effect``);
* **control arm**: a held-out account buys green power on its own with probability 2 % (``organic_rate``);
  its row names the account (户号) and the date, not an offer number.

Other answers: a quarter of the non-accepting offers decline, a tenth get a meeting that is then
declined (two rows: the later supersedes), the rest do not answer (no row, or with probability
``no_response_rows`` an explicit 未回复 row). An accepted offer has a meeting row first half the time.
Dates fall 1–25 days after the issue date.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import polars as pl

from core.vocabulary import Segment

BASE_RATE = {Segment.COMPLIANCE_DRIVEN.value: 0.08, Segment.VALUE_ORIENTED.value: 0.10,
             Segment.RESPONSIBILITY_DRIVEN.value: 0.04}
VALUE_SLOPE = 0.10
EDITION = "brand_first"
EDITION_EFFECT = 0.05
ORGANIC_RATE = 0.02
HEADERS_ZH = {"offer_no": "方案编号", "account_id": "户号", "outcome": "反馈结果", "responded_on": "反馈日期",
              "contracted_kwh": "签约电量", "note": "备注"}
OUTCOME_ZH = {"accepted": "签约", "meeting": "约见", "declined": "拒绝", "no_response": "未回复"}


def acceptance_probability(segment: pl.Expr, saving_share: pl.Expr, edition: pl.Expr, exporter: pl.Expr,
                           edition_effect: float = EDITION_EFFECT) -> pl.Expr:
    """The planted probability that an offer is accepted (see the module docstring)."""
    base = segment.replace_strict(BASE_RATE, default=0.05, return_dtype=pl.Float64)
    value = VALUE_SLOPE * saving_share.fill_null(0).clip(-0.3, 0.3)
    boost = pl.when((segment == "value_oriented") & exporter.fill_null(False) & (edition == EDITION)) \
        .then(edition_effect).otherwise(0.0)
    return (base + value + boost).clip(0.0, 1.0)


def simulate_responses(offers: pl.DataFrame, accounts: pl.DataFrame, *, seed: int = 0,
                       today: dt.date | None = None, edition_effect: float = EDITION_EFFECT,
                       organic_rate: float = ORGANIC_RATE, no_response_rows: float = 0.2,
                       response_code: Callable[[str], str] | None = None) -> pl.DataFrame:
    """CRM rows for ``offers`` (rendered/unchanged/held_out rows with ``offer_no``).

    ``accounts``: account_id, segment, is_exporter, bill_yuan, green_cost_low_yuan (one row each).
    Returns English-named text-free columns (offer_no, account_id, outcome, responded_on,
    contracted_kwh, note); ``response_code`` (e.g. ``offers.offer_number.response_code``) turns the
    offer number into what the CRM quotes, with its check code. Dates after ``today`` are moved back
    to ``today``.
    """
    acc = accounts.select("account_id", "segment", "is_exporter", "bill_yuan", "green_cost_low_yuan",
                          *[c for c in ("annual_kwh",) if c in accounts.columns]).unique("account_id", keep="first")
    df = (offers.filter(pl.col("offer_no").is_not_null() & pl.col("status").is_in(["rendered", "unchanged", "held_out"]))
          .unique("offer_no", keep="first").sort("offer_no")
          .join(acc, on="account_id", how="left"))
    if "annual_kwh" not in df.columns:
        df = df.with_columns(pl.lit(None, pl.Float64).alias("annual_kwh"))
    n = df.height
    rng = np.random.default_rng(seed)
    u_outcome, u_kind, u_days, u_days2, u_extra = (rng.random(n) for _ in range(5))
    saving = ((pl.col("bill_yuan") - pl.col("green_cost_low_yuan")) / pl.col("bill_yuan"))
    df = df.with_columns(
        pl.when(pl.col("status") == "held_out").then(pl.lit(organic_rate))
        .otherwise(acceptance_probability(pl.col("segment"), saving, pl.col("edition"), pl.col("is_exporter"),
                                          edition_effect)).alias("_p"),
        pl.Series("_u", u_outcome), pl.Series("_k", u_kind), pl.Series("_d", u_days), pl.Series("_d2", u_days2),
        pl.Series("_x", u_extra))
    held = pl.col("status") == "held_out"
    accepted = pl.col("_u") < pl.col("_p")
    rest = (pl.col("_u") - pl.col("_p")) / (1 - pl.col("_p"))      # uniform again among the non-accepting
    df = df.with_columns(
        pl.when(accepted).then(pl.lit("accepted"))
        .when(held).then(pl.lit(None, pl.String))
        .when(rest < 0.25).then(pl.lit("declined"))
        .when(rest < 0.35).then(pl.lit("meeting_declined"))
        .when(rest < 0.35 + 0.65 * no_response_rows).then(pl.lit("no_response"))
        .otherwise(pl.lit(None, pl.String)).alias("_story"),
        (pl.col("issued_on") + pl.duration(days=(1 + pl.col("_d") * 12).cast(pl.Int64))).alias("_first"),
        (pl.col("issued_on") + pl.duration(days=(13 + pl.col("_d2") * 12).cast(pl.Int64))).alias("_second"))
    df = df.filter(pl.col("_story").is_not_null())
    codes = [response_code(o) for o in df["offer_no"].to_list()] if response_code else df["offer_no"].to_list()
    df = df.with_columns(pl.Series("_code", codes, dtype=pl.String))
    kwh = (pl.col("annual_kwh") * 0.3).round(0)
    ident_offer = pl.when(held).then(pl.lit(None, pl.String)).otherwise(pl.col("_code"))
    ident_account = pl.when(held).then(pl.col("account_id")).otherwise(pl.lit(None, pl.String))
    first = df.filter(pl.col("_story").is_in(["declined", "no_response", "meeting_declined"])
                      | ((pl.col("_story") == "accepted") & (pl.col("_x") < 0.5) & ~held)).select(
        ident_offer.alias("offer_no"), ident_account.alias("account_id"),
        pl.when(pl.col("_story").is_in(["meeting_declined", "accepted"])).then(pl.lit("meeting"))
        .otherwise(pl.col("_story")).alias("outcome"),
        pl.col("_first").alias("responded_on"), pl.lit(None, pl.Float64).alias("contracted_kwh"),
        pl.lit(None, pl.String).alias("note"))
    second = df.filter(pl.col("_story").is_in(["accepted", "meeting_declined"])).select(
        ident_offer.alias("offer_no"), ident_account.alias("account_id"),
        pl.when(pl.col("_story") == "accepted").then(pl.lit("accepted")).otherwise(pl.lit("declined")).alias("outcome"),
        pl.col("_second").alias("responded_on"),
        pl.when(pl.col("_story") == "accepted").then(kwh).alias("contracted_kwh"),
        pl.when(held).then(pl.lit("自行购买绿电")).otherwise(pl.lit(None, pl.String)).alias("note"))
    out = pl.concat([first, second]).sort("responded_on", "offer_no", "account_id", nulls_last=True)
    if today is not None:
        out = out.with_columns(pl.min_horizontal(pl.col("responded_on"), pl.lit(today)).alias("responded_on"))
    return out


def to_crm_export(responses: pl.DataFrame, chinese: bool = True) -> pl.DataFrame:
    """The simulator's rows as a CRM export: Chinese headers and outcome words (or English ones), text cells."""
    out = responses.with_columns(pl.col("responded_on").dt.to_string("%Y-%m-%d"),
                                 pl.col("contracted_kwh").cast(pl.Int64).cast(pl.String))
    if chinese:
        out = out.with_columns(pl.col("outcome").replace(OUTCOME_ZH)).rename(HEADERS_ZH)
    return out


# ---------------------------------------------------------------- offer histories for the lead model

CONVERTER_BOOST = 0.35
MEETING_BOOST = 0.10
FLAT_RATE = 0.08


def simulate_history(accounts: pl.DataFrame, *, periods: int = 5, start: dt.date = dt.date(2026, 1, 1),
                     seed: int = 0, signal: bool = True, offer_share: float = 0.8,
                     offer_no: Callable[[str, int, dt.date], str] | None = None) -> dict[str, pl.DataFrame]:
    """Several months of offers and their CRM outcomes for the lead model's tests and benchmark.

    ``accounts``: account_id, segment, is_exporter, re100_member, is_listed, bill_yuan, green_cost_low_yuan (one
    row each). Each month (``periods`` of them from ``start``) every account gets an offer with
    probability ``offer_share``, issued on day 1–10; value-oriented accounts get the ``savings_first``
    or ``brand_first`` edition at random. Deterministic for the same inputs and seed.

    With ``signal`` the acceptance probability is :func:`acceptance_probability` (segment base rate,
    value to the customer, the edition effect) plus the **planted converters**: + 35 points for an
    exporter, RE100 member or listed company whose offer saves money (``CONVERTER_BOOST``), + 10 points for an account
    that had a meeting on an earlier offer before this one was issued (``MEETING_BOOST``). Without
    ``signal`` every offer is accepted with the same probability (``FLAT_RATE``, 8 %), whatever the
    account: a model can find nothing there.

    Outcomes as :func:`simulate_responses`: a quarter of the non-accepting offers decline, a tenth get
    a meeting then decline, the rest do not answer; an accepted offer has a meeting first half the time.
    First answers come 1–12 days after issue, second answers 13–25 days after.

    ``offer_no(account_id, period_index, issued_on)`` numbers the offers (e.g. with
    ``offers.offer_number.make_offer_no``); by default ``H<period>-<account_id>``.

    Returns ``offers`` (offer_no, account_id, issued_on, valid_until, edition, held_out, period_index) and
    ``responses`` (offer_no, account_id, outcome, responded_on).
    """
    acc = accounts.select("account_id", "segment", "is_exporter", "re100_member", "is_listed", "bill_yuan",
                          "green_cost_low_yuan").unique("account_id", keep="first").sort("account_id")
    n = acc.height
    rng = np.random.default_rng(seed)
    saving = ((pl.col("bill_yuan") - pl.col("green_cost_low_yuan")) / pl.col("bill_yuan"))
    ids = acc["account_id"].to_numpy()
    value = acc["segment"].to_numpy() == "value_oriented"
    converter = acc.select((pl.any_horizontal(pl.col("is_exporter", "re100_member", "is_listed").fill_null(False))
                            & (saving > 0).fill_null(False)).alias("c"))["c"].to_numpy()
    met_by = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")   # first meeting date so far
    offers, responses = [], []
    for k in range(periods):
        month = dt.date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1)
        sent = rng.random(n) < offer_share
        issued = np.datetime64(month) + rng.integers(0, 10, n).astype("timedelta64[D]")
        edition = np.where(value, np.where(rng.random(n) < 0.5, "savings_first", EDITION), None)
        u, kind, d1, d2, extra = (rng.random(n) for _ in range(5))
        frame = acc.with_columns(pl.Series("edition", edition.tolist(), dtype=pl.String))
        if signal:
            p = frame.select(acceptance_probability(pl.col("segment"), saving, pl.col("edition"),
                                                    pl.col("is_exporter")).alias("p"))["p"].to_numpy()
            p = p + CONVERTER_BOOST * converter + MEETING_BOOST * (met_by < issued)
        else:
            p = np.full(n, FLAT_RATE)
        p = np.clip(p, 0, 1)
        accepted = u < p
        rest = (u - p) / np.where(p < 1, 1 - p, 1)
        declined = ~accepted & (rest < 0.25)
        met_declined = ~accepted & (rest >= 0.25) & (rest < 0.35)
        first = issued + (1 + d1 * 12).astype("timedelta64[D]")
        second = issued + (13 + d2 * 12).astype("timedelta64[D]")
        days = issued.astype(dt.date)
        numbers = np.array([offer_no(a, k, d) if offer_no else f"H{k:02d}-{a}" for a, d in zip(ids, days)],
                           dtype=object)
        for mask, outcome, day in ((sent & declined, "declined", first), (sent & met_declined, "meeting", first),
                                   (sent & met_declined, "declined", second),
                                   (sent & accepted & (extra < 0.5), "meeting", first),
                                   (sent & accepted, "accepted", second)):
            responses.append(pl.DataFrame({"offer_no": numbers[mask].tolist(), "account_id": ids[mask],
                                           "outcome": outcome, "responded_on": day[mask]}))
        had_meeting = sent & (met_declined | (accepted & (extra < 0.5)))
        met_by = np.where(had_meeting & np.isnat(met_by), first, met_by)
        offers.append(pl.DataFrame({"offer_no": numbers[sent].tolist(), "account_id": ids[sent], "issued_on": issued[sent],
                                    "valid_until": issued[sent] + np.timedelta64(30, "D"),
                                    "edition": pl.Series(edition[sent].tolist(), dtype=pl.String),
                                    "period_index": k}))
    out_offers = pl.concat(offers).with_columns(pl.col("issued_on", "valid_until").cast(pl.Date),
                                                pl.lit(False).alias("held_out"))
    out_responses = (pl.concat(responses).with_columns(pl.col("responded_on").cast(pl.Date))
                     .sort("responded_on", "offer_no"))
    return {"offers": out_offers, "responses": out_responses}
