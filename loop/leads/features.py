"""The lead model's features, computed *as of* a date: nothing an account did after that date enters them.

One row per example: an account with its profile and figures (from the run that issued its offer, or
the run being scored), its offer (edition) and the date the features are taken at (``as_of``).

* training: an example is an offer; ``as_of`` is its issue date; the label is whether it was accepted;
* scoring: an example is an account of the scored run; ``as_of`` is the scoring date.

History features use only responses with ``responded_on < as_of`` and offers with ``issued_on <= as_of``
(an offer's own answer always comes after its issue date, so the label never leaks into its features).
:func:`check_as_of` verifies it on every frame the model sees: each row carries the latest response
date it used (``evidence_until``) and the check recounts the history strictly before ``as_of``.

Features (names recorded with every model in ``lead_models.features``):

* profile: segment, secondary segments (one flag each), customer type, industry group, province,
  log annual kWh, exporter, listed, RE100 member, ESG report;
* figures: the share of today's bill reaching the target saves ``(bill - green cost low) / bill``
  (clipped to [-1, 1]) and the saving itself (元/year, signed log), self-owned PV NPV (signed log),
  break-even year and IRR (with a flag where undefined), certificate cost as a share of the bill;
* offer: edition (``standard`` when none), ``days_since_sent`` (days from the account's first offer to
  ``as_of``, 0 with ``has_offer`` false when none), earlier offers, and earlier responses: meetings,
  acceptances, declines.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from core.vocabulary import SEGMENT_CODES

CATEGORICAL = ("segment", "customer_type", "industry_group", "province", "edition")
NUMERIC = ("log_kwh", "is_exporter", "is_listed", "re100_member", "has_esg_report",
           *(f"secondary_{s}" for s in SEGMENT_CODES),
           "saving_share", "saving_log", "pv_npv_log", "pv_breakeven_year", "pv_breakeven_undefined", "pv_irr",
           "pv_irr_undefined", "gec_cost_share", "has_offer", "days_since_sent", "offers_before",
           "meetings_before", "accepted_before", "declined_before")
FEATURES = CATEGORICAL + NUMERIC

# what an example must carry (figures may be NULL: a run without a cost model result for the account)
EXAMPLE_COLUMNS = {"account_id": pl.String, "as_of": pl.Date, "edition": pl.String, "segment": pl.String,
                   "secondary_segments": pl.List(pl.String), "customer_type": pl.String,
                   "industry_group": pl.String, "province": pl.String, "annual_kwh": pl.Float64,
                   "is_exporter": pl.Boolean, "is_listed": pl.Boolean, "re100_member": pl.Boolean,
                   "has_esg_report": pl.Boolean, "bill_yuan": pl.Float64, "green_cost_low_yuan": pl.Float64,
                   "pv_npv_yuan": pl.Float64, "pv_breakeven_year": pl.Float64, "pv_irr": pl.Float64,
                   "gec_cost_yuan": pl.Float64}
OFFER_HISTORY = {"account_id": pl.String, "issued_on": pl.Date}
RESPONSE_HISTORY = {"account_id": pl.String, "outcome": pl.String, "responded_on": pl.Date}
HISTORY_COLUMNS = ("has_offer", "days_since_sent", "offers_before", "meetings_before", "accepted_before",
                   "declined_before")


class LeakError(Exception):
    """A feature row used history from on or after its ``as_of`` date."""


def _conform(df: pl.DataFrame, schema: dict) -> pl.DataFrame:
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise KeyError(f"lead features need column(s) {', '.join(missing)}")
    return df.with_columns(pl.col(c).cast(t) for c, t in schema.items())


def _signed_log(x: pl.Expr) -> pl.Expr:
    return x.sign() * (x.abs() / 1e4).log1p()


def history(examples: pl.DataFrame, offers: pl.DataFrame, responses: pl.DataFrame) -> pl.DataFrame:
    """Per example (``_row``): the account's offers issued up to ``as_of`` and responses before it.

    ``evidence_until`` is the latest response date counted (NULL when none)."""
    keys = examples.select("_row", "account_id", "as_of")
    o = (keys.join(offers.select("account_id", "issued_on"), on="account_id")
         .filter(pl.col("issued_on") <= pl.col("as_of"))
         .group_by("_row").agg(pl.col("issued_on").min().alias("_first"),
                               (pl.col("issued_on") < pl.col("as_of")).sum().alias("offers_before")))
    r = (keys.join(responses.select("account_id", "outcome", "responded_on"), on="account_id")
         .filter(pl.col("responded_on") < pl.col("as_of"))
         .group_by("_row").agg((pl.col("outcome") == "meeting").sum().alias("meetings_before"),
                               (pl.col("outcome") == "accepted").sum().alias("accepted_before"),
                               (pl.col("outcome") == "declined").sum().alias("declined_before"),
                               pl.col("responded_on").max().alias("evidence_until")))
    return (keys.select("_row", "as_of").join(o, on="_row", how="left").join(r, on="_row", how="left")
            .select("_row",
                    pl.col("_first").is_not_null().cast(pl.Float64).alias("has_offer"),
                    (pl.col("as_of") - pl.col("_first")).dt.total_days().fill_null(0).cast(pl.Float64)
                    .alias("days_since_sent"),
                    *[pl.col(c).fill_null(0).cast(pl.Float64) for c in ("offers_before", "meetings_before",
                                                                        "accepted_before", "declined_before")],
                    "evidence_until"))


def build_features(examples: pl.DataFrame, offers: pl.DataFrame, responses: pl.DataFrame) -> pl.DataFrame:
    """``examples`` (EXAMPLE_COLUMNS, plus anything else, kept) with every feature of FEATURES added,
    ``evidence_until`` and the reason figures (``saving_yuan``); row order kept."""
    ex = _conform(examples, EXAMPLE_COLUMNS).with_row_index("_row")
    hist = history(ex, _conform(offers, OFFER_HISTORY), _conform(responses, RESPONSE_HISTORY))
    saving = pl.col("bill_yuan") - pl.col("green_cost_low_yuan")
    flag = lambda c: pl.col(c).fill_null(False).cast(pl.Float64)  # noqa: E731
    out = ex.with_columns(
        *[pl.col(c).fill_null("unknown") for c in CATEGORICAL if c != "edition"],
        pl.col("edition").fill_null("standard"),
        pl.col("annual_kwh").fill_null(0).clip(0).log1p().alias("log_kwh"),
        *[flag(c) for c in ("is_exporter", "is_listed", "re100_member", "has_esg_report")],
        *[pl.col("secondary_segments").list.contains(s).fill_null(False).cast(pl.Float64).alias(f"secondary_{s}")
          for s in SEGMENT_CODES],
        pl.when(pl.col("bill_yuan") > 0).then(saving / pl.col("bill_yuan")).otherwise(0.0).fill_null(0.0)
        .clip(-1, 1).alias("saving_share"),
        _signed_log(saving).fill_null(0.0).alias("saving_log"),
        saving.alias("saving_yuan"),
        _signed_log(pl.col("pv_npv_yuan")).fill_null(0.0).fill_nan(0.0).alias("pv_npv_log"),
        pl.col("pv_breakeven_year").fill_nan(None).fill_null(30.0).clip(0, 30).alias("pv_breakeven_year"),
        pl.col("pv_breakeven_year").fill_nan(None).is_null().cast(pl.Float64).alias("pv_breakeven_undefined"),
        pl.col("pv_irr").fill_nan(None).fill_null(0.0).clip(-1, 1).alias("pv_irr"),
        pl.col("pv_irr").fill_nan(None).is_null().cast(pl.Float64).alias("pv_irr_undefined"),
        pl.when(pl.col("bill_yuan") > 0).then(pl.col("gec_cost_yuan") / pl.col("bill_yuan")).otherwise(0.0)
        .fill_null(0.0).fill_nan(0.0).clip(0, 1).alias("gec_cost_share"),
    ).drop([c for c in HISTORY_COLUMNS if c in ex.columns])
    return out.join(hist, on="_row", how="left").sort("_row").drop("_row")


def check_as_of(features: pl.DataFrame, responses: pl.DataFrame, offers: pl.DataFrame | None = None, *,
                recount: bool = True) -> None:
    """Raise :class:`LeakError` when any row used history from on or after its ``as_of``.

    Two checks: the latest response date a row used is before its ``as_of``, and (``recount``) its
    history counts equal a recount over only the responses (and offers) dated before ``as_of``. Training
    runs both (every offer has its own date); scoring, where every row has the same ``as_of``, the first."""
    late = features.filter(pl.col("evidence_until") >= pl.col("as_of"))
    if late.height:
        r = late.row(0, named=True)
        raise LeakError(f"account {r['account_id']}: features as of {r['as_of']} used a response of "
                        f"{r['evidence_until']} ({late.height} rows)")
    if not recount:
        return
    keys = features.select("account_id", "as_of").with_row_index("_row")
    empty_offers = pl.DataFrame(schema=OFFER_HISTORY)
    recount = history(keys, _conform(offers, OFFER_HISTORY) if offers is not None else empty_offers,
                      _conform(responses, RESPONSE_HISTORY)).sort("_row")
    columns = ["meetings_before", "accepted_before", "declined_before"]
    if offers is not None:
        columns += ["offers_before", "days_since_sent"]
    for c in columns:
        bad = np.flatnonzero(features[c].to_numpy() != recount[c].to_numpy())
        if bad.size:
            r = features.row(int(bad[0]), named=True)
            raise LeakError(f"account {r['account_id']}: {c} as of {r['as_of']} is {r[c]:g}, but only "
                            f"{recount[c][int(bad[0])]:g} before that date ({bad.size} rows differ)")


def period_of(day: pl.Expr) -> pl.Expr:
    """The period an offer belongs to for the time split: its issue month (``2026-11``)."""
    return day.dt.strftime("%Y-%m")


def as_date(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def labelled_offers(offers: pl.DataFrame, responses: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    """Offers (not held out) whose outcome is known on ``today``, with ``label`` (1 = accepted),
    ``as_of`` (the issue date) and ``period``.

    Known: the standing answer (the latest by ``responded_on`` up to ``today``) is accepted or declined,
    or the offer expired (``valid_until`` before ``today``) without being accepted. A meeting still open
    or an offer still valid and unanswered is not an outcome yet."""
    standing = (responses.filter(pl.col("responded_on") <= today)
                .sort("responded_on").group_by("offer_no").agg(pl.col("outcome").last().alias("_standing")))
    sent = offers.filter(~pl.col("held_out").fill_null(False)) if "held_out" in offers.columns else offers
    return (sent.join(standing, on="offer_no", how="left")
            .filter(pl.col("_standing").is_in(["accepted", "declined"]) | (pl.col("valid_until") < today))
            .with_columns((pl.col("_standing") == "accepted").fill_null(False).cast(pl.Int8).alias("label"),
                          pl.col("issued_on").alias("as_of"), period_of(pl.col("issued_on")).alias("period"))
            .drop("_standing"))
