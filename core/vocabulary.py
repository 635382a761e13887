"""The project's codes, defined once. Each is a ``StrEnum``: a member *is* its code string
(``Segment.VALUE_ORIENTED == "value_oriented"``), so frames, SQL and YAML keep plain text.

The ``*_CODES`` tuples are the codes in their canonical order (the order of the enum), as plain
``str``: use them in Polars expressions (``is_in``, ``replace_strict``, ``pl.lit``). Polars turns a
Python ``Enum`` member into its own ``Enum`` dtype, which does not compare with text columns.
"""
from __future__ import annotations

from enum import StrEnum


class Segment(StrEnum):
    """Customer segments (segmentation.md), after the marketing paper."""
    COMPLIANCE_DRIVEN = "compliance_driven"
    VALUE_ORIENTED = "value_oriented"
    RESPONSIBILITY_DRIVEN = "responsibility_driven"


class PvMode(StrEnum):
    """Rooftop PV modes (cost-model.md §2); the order is the model's code 0/1/2."""
    NONE = "none"
    SELF = "self"
    THIRD_PARTY = "third_party"


class CustomerType(StrEnum):
    """Tariff classes of the input (input.md)."""
    LARGE_INDUSTRIAL = "large_industrial"
    GENERAL_COMMERCIAL = "general_commercial"
    RESIDENTIAL = "residential"


class Repayment(StrEnum):
    """Loan repayment schemes (cost-model.md): 等额本息 and 先息后本."""
    ANNUITY = "annuity"
    INTEREST_ONLY = "interest_only"


class OfferStatus(StrEnum):
    """``offers.status`` (outputs.md)."""
    RENDERED = "rendered"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    HELD_OUT = "held_out"     # a control account of an experiment: a row, a held-out number, no PDF (loop.md)


SEGMENT_CODES: tuple[str, ...] = tuple(s.value for s in Segment)
PV_MODE_CODES: tuple[str, ...] = tuple(m.value for m in PvMode)
CUSTOMER_TYPE_CODES: tuple[str, ...] = tuple(c.value for c in CustomerType)
REPAYMENT_CODES: tuple[str, ...] = tuple(r.value for r in Repayment)
OFFER_STATUS_CODES: tuple[str, ...] = tuple(s.value for s in OfferStatus)
