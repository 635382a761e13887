"""Accounts joined with what segmentation derived for them: the input the cost model needs."""
from __future__ import annotations

import polars as pl

SEGMENT_DEFAULT_COLUMNS = ("default_target_share", "default_market_share", "default_market_share_cheaper")


def with_segment_columns(accounts: pl.DataFrame, segments: pl.DataFrame) -> pl.DataFrame:
    """Accounts with the derived ``industry_group``/``industry_family``, resolved ``high_energy`` and the
    segment defaults the cost model needs (segments come back in the accounts' order)."""
    if segments.height != accounts.height or not segments["account_id"].equals(accounts["account_id"]):
        raise RuntimeError("segmentation returned accounts in another order")
    return accounts.rename({"high_energy": "high_energy_input"}).hstack(
        segments.select("industry_group", "industry_family", "high_energy", *SEGMENT_DEFAULT_COLUMNS))
