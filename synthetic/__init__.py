"""Synthetic customers: the one generator of plausible, deterministic customer lists.

Used by the product (``gp demo``'s offers, the sample in ``data/sample/``, and whatever needs made-up
customers later — ``synthetic.responses``, the CRM response simulator of ``gp demo``'s loop), by the
benchmarks and by the tests. It is a package of its own because it is none of the pipeline's stages: it *produces* input (``generate_customers``: the
customer list as a user would give it) and, through ``intake``'s validation, the accounts a run works
on (``accounts``). It sits just above ``intake`` in the layers, so every stage above may use it.

    python -m synthetic --rows 1000000 --seed 7 --out customers.parquet
"""
from __future__ import annotations

import polars as pl

from synthetic.customers import COLUMNS, generate_customers, write_customers

__all__ = ["COLUMNS", "accounts", "generate_customers", "write_customers"]


def accounts(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` validated accounts (``intake.schema.ACCOUNT_SCHEMA``): the generator's list, through intake."""
    from intake import table_from_frame, validate_accounts
    checked = validate_accounts(table_from_frame(generate_customers(n, seed=seed), "synthetic customers"))
    if checked.rejects.height:      # the generator's contract: every row validates
        raise RuntimeError(f"synthetic customers rejected: {checked.rejects.head(3).to_dicts()}")
    return checked.accounts
