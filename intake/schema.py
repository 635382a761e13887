"""The normalised account table: what validation hands to segmentation and the cost model.

This is the contract between ``intake`` (load + validate), ``segmentation``, ``gpengine``
and ``warehouse`` (the ``accounts`` table). Column meanings: spec ``input.md``.

Nullable columns are NULL when the input did not give a value and the default depends on
something downstream (assumption set, segment playbook, industry group); columns with a
fixed default from ``input.md`` are filled by validation.
"""
from __future__ import annotations

from core.vocabulary import CUSTOMER_TYPE_CODES, PV_MODE_CODES, REPAYMENT_CODES

import polars as pl

# name -> (dtype, nullable)
ACCOUNT_SCHEMA: dict[str, tuple[pl.DataType, bool]] = {
    "row_number": (pl.Int64, False),          # 1-based line of the row in the file, header = row 1
    "account_id": (pl.Utf8, False),
    "name": (pl.Utf8, False),
    "province": (pl.Utf8, False),             # full Chinese name, e.g. 江苏省
    "customer_type": (pl.Utf8, False),        # large_industrial / general_commercial / residential
    "industry": (pl.Utf8, True),
    "annual_kwh": (pl.Float64, False),        # > 0
    "annual_bill_yuan": (pl.Float64, True),   # NULL -> estimated by the model
    "existing_pv_kwh": (pl.Float64, False),   # default 0
    "share_sharp": (pl.Float64, False),       # normalised to sum 1; all missing -> flat only
    "share_peak": (pl.Float64, False),
    "share_flat": (pl.Float64, False),
    "share_valley": (pl.Float64, False),
    "high_energy": (pl.Boolean, True),        # NULL -> from the industry group (segmentation)
    "is_exporter": (pl.Boolean, False),
    "is_listed": (pl.Boolean, False),
    "has_esg_report": (pl.Boolean, False),
    "re100_member": (pl.Boolean, False),
    "buys_green_power": (pl.Boolean, False),
    "roof_owned": (pl.Boolean, False),        # default true
    "renewable_target": (pl.Float64, True),   # NULL -> segment playbook default
    "roof_area_m2": (pl.Float64, False),      # default 0
    "pv_mode": (pl.Utf8, True),               # self / third_party / none; NULL -> recommended
    "loan_ratio": (pl.Float64, True),         # NULL -> assumption set
    "loan_rate": (pl.Float64, True),
    "loan_years": (pl.Int64, True),
    "repayment": (pl.Utf8, True),             # annuity / interest_only; NULL -> assumption set
    "third_party_discount": (pl.Float64, True),
    "market_share": (pl.Float64, True),       # NULL -> segment playbook default
    "sales_rep": (pl.Utf8, True),
}

ACCOUNT_COLUMNS = list(ACCOUNT_SCHEMA)

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "row_number": pl.Int64,
    "account_id": pl.Utf8,   # as given in the file (may be empty)
    "column": pl.Utf8,
    "value": pl.Utf8,        # the offending value as text
    "reason": pl.Utf8,
}

# the codes, defined once in core.vocabulary (kept under these names for the modules that import them)
CUSTOMER_TYPES = CUSTOMER_TYPE_CODES
PV_MODES = PV_MODE_CODES
REPAYMENTS = REPAYMENT_CODES


def empty_accounts() -> pl.DataFrame:
    return pl.DataFrame(schema={k: v[0] for k, v in ACCOUNT_SCHEMA.items()})


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)
