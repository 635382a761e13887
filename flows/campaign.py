"""The ``campaign`` flow: a named subset of accounts, optional assumption overrides, its own offers folder.

Filters combine with AND; repeated values of one filter with OR (flows.md). They are applied to the
account frame as typed, validated values — no SQL text is ever built from them.
"""
from __future__ import annotations

import flows.environment  # noqa: F401  (Prefect settings before Prefect loads)

import re
from pathlib import Path
from typing import Literal

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field, field_validator

from core.errors import UserError
from flows import steps
from flows.frames import accounts_for_rerun
from flows.parameters import RunSettings, from_base_dir
from flows.pipeline import process
from flows.preflight import wait_for_writer_lock
from flows.runcontrol import RunCancelled, ended_by_cancellation
from intake.schema import CUSTOMER_TYPES, empty_rejects
from segmentation import SEGMENTS
from warehouse import Warehouse

CAMPAIGN_NAME = re.compile(r"^[^\W_][\w.-]{0,79}$")     # letters (Chinese too), digits, . _ -; becomes a folder


class CampaignParameters(RunSettings):
    name: str = Field(description="Campaign name (letters, digits, '.', '_', '-'); names the offers folder")
    customers: Path | None = Field(default=None, description="Customer list; default: the accounts of the latest "
                                                             "successful run in the database")
    sheet: str | None = Field(default=None, description="Excel sheet name")
    segments: list[str] = Field(default_factory=list, description="Only these segments")
    provinces: list[str] = Field(default_factory=list, description="Only these provinces (names as in the input)")
    customer_types: list[str] = Field(default_factory=list, description="Only these customer types")
    industry_groups: list[str] = Field(default_factory=list, description="Only these industry groups")
    min_kwh: float | None = Field(default=None, ge=0, description="Only accounts with at least this annual kWh")
    accounts_file: Path | None = Field(default=None, description="Only the account ids listed in this file "
                                                                 "(one per line, or a CSV with an account_id column)")
    gec_price: float | None = Field(default=None, ge=0, description="Override the GEC price (元 per certificate)")
    top: int | None = Field(default=None, ge=1, description="Only the N best accounts of the selection by `by`")
    by: Literal["lead_score"] = Field(default="lead_score", description="What --top ranks by: the lead score of "
                                                                        "the latest nightly run")

    @field_validator("customers", "accounts_file")
    @classmethod
    def _relative_to_base(cls, v: Path | None) -> Path | None:
        return from_base_dir(v)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not CAMPAIGN_NAME.match(v):
            raise ValueError(f"campaign name {v!r}: use up to 80 letters, digits, '.', '_' or '-', starting with "
                             "a letter or digit (it names a folder)")
        return v

    @field_validator("segments")
    @classmethod
    def _segments(cls, v: list[str]) -> list[str]:
        return _known(v, SEGMENTS, "segment")

    @field_validator("customer_types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        return _known(v, CUSTOMER_TYPES, "customer type")


class UnknownCode(UserError, ValueError):
    """A filter names a code that does not exist (a ValueError too, so parameter validation reports it)."""


def _known(values: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    unknown = [s for s in values if s not in allowed]
    if unknown:
        raise UnknownCode(f"unknown {what} {unknown[0]!r}; choose from {', '.join(allowed)}")
    return values


def read_account_list(path: Path) -> list[str]:
    """Account ids from a text file (one per line) or a CSV with an ``account_id`` column."""
    text = Path(path).read_text(encoding="utf-8-sig")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and "," in lines[0] and "account_id" in [c.strip() for c in lines[0].split(",")]:
        return pl.read_csv(path, infer_schema=False).get_column("account_id").drop_nulls().to_list()
    return [line for line in lines if line != "account_id"]


def select_accounts(accounts: pl.DataFrame, segments: pl.DataFrame, params: CampaignParameters,
                    config: steps.Configuration) -> pl.DataFrame:
    """The accounts the campaign's filters keep (AND across filters, OR within one)."""
    keep = pl.lit(True)
    if params.segments:
        keep &= pl.Series(segments.get_column("segment").is_in(params.segments))
    if params.industry_groups:
        _known(params.industry_groups, config.segmentation.group_codes, "industry group")
        keep &= pl.Series(segments.get_column("industry_group").is_in(params.industry_groups).fill_null(False))
    if params.provinces:
        full = []
        for name in params.provinces:
            key = name.strip().casefold()
            if key not in config.reference.aliases:
                raise UserError(f"unknown province {name!r}")
            full.append(config.reference.aliases[key])
        keep &= pl.col("province").is_in(full)
    if params.customer_types:
        keep &= pl.col("customer_type").is_in(params.customer_types)
    if params.min_kwh is not None:
        keep &= pl.col("annual_kwh") >= params.min_kwh
    if params.accounts_file is not None:
        keep &= pl.col("account_id").is_in(read_account_list(params.accounts_file))
    selected = accounts.filter(keep)
    if params.top is not None:
        selected = top_by_lead_score(selected, params.db, params.top)
    return selected


LEAD_SCORES_SQL = """SELECT l.account_id, l.score FROM lead_scores l JOIN latest_run r ON r.run_id = l.run_id"""


def top_by_lead_score(accounts: pl.DataFrame, db: Path, n: int) -> pl.DataFrame:
    """The ``n`` accounts with the highest lead score of the latest nightly run (ties: account id);
    accounts that run did not score come last."""
    from warehouse import run_query
    from warehouse.errors import QueryError
    try:
        scores = run_query(db, LEAD_SCORES_SQL)
    except QueryError as e:
        raise UserError(f"{db}: no lead scores to rank by (run the nightly job first): {e}") from None
    if scores.height == 0:
        raise UserError(f"{db}: the latest nightly run has no lead scores; run the nightly job (or gp leads train)")
    return (accounts.join(scores, on="account_id", how="left")
            .sort(["score", "account_id"], descending=[True, False], nulls_last=True).head(n).drop("score"))


@task(name="latest accounts", cache_policy=NO_CACHE)
def latest_accounts(db: Path) -> pl.DataFrame:
    stored = Warehouse(db).latest_accounts()
    if stored.height == 0:
        raise UserError(f"{db}: no successful run to take accounts from; run the nightly job first "
                         "or give --customers")
    return accounts_for_rerun(stored)


@flow(name="campaign", description="Offers for a filtered subset of accounts, with optional assumption overrides.")
def campaign(params: CampaignParameters) -> dict:
    log = get_run_logger()
    wait_for_writer_lock(params.db, params.lock_timeout_s, log)   # refuse before loading anything
    config = steps.load_configuration(params.assumptions, {"gec_price_yuan_per_certificate": params.gec_price})
    if params.customers is not None:
        checked = steps.load_customers(params.customers, params.sheet)
        accounts, rejects, rows_read = checked.accounts, checked.rejects, checked.rows_read
        input_path, sha, input_files = str(params.customers), checked.input_sha256, checked.data_files
    else:   # the accounts of the latest successful run: already validated, nothing rejected
        accounts = latest_accounts(params.db)
        rejects, rows_read, input_path, sha, input_files = empty_rejects(), accounts.height, None, None, {}
    selected = select_accounts(accounts, steps.segment(accounts, config), params, config)
    log.info("campaign %s: %d of %d accounts selected", params.name, selected.height, accounts.height)
    try:
        summary = process(selected, rejects, rows_read, config, params, kind="campaign", campaign=params.name,
                          input_path=input_path, input_sha256=sha, rows_accepted=accounts.height,
                          input_files=input_files)
    except RunCancelled as exc:
        return ended_by_cancellation(exc)
    return summary.as_dict()
