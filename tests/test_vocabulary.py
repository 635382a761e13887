"""One vocabulary: segment codes, PV modes, customer types, repayments and offer statuses are defined once,
in ``core/vocabulary.py``; no product module spells out the list again (it would drift: the PV modes were
once listed in two orders)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.vocabulary import (CUSTOMER_TYPE_CODES, OFFER_STATUS_CODES, PV_MODE_CODES, REPAYMENT_CODES,
                             SEGMENT_CODES, CustomerType, OfferStatus, PvMode, Segment)

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "intake", "gpengine", "segmentation", "synthetic", "offers", "warehouse", "loop", "flows")
VOCABULARIES = {"segments": SEGMENT_CODES, "PV modes": PV_MODE_CODES, "customer types": CUSTOMER_TYPE_CODES,
                "repayments": REPAYMENT_CODES, "offer statuses": OFFER_STATUS_CODES}


def literal_lists(path: Path):
    """(line, set of strings) of every tuple/list/set literal and every dict's keys made of strings only."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else \
            node.keys if isinstance(node, ast.Dict) else None
        if items and all(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items):
            yield node.lineno, {i.value for i in items}


def redefinitions() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "core" / "vocabulary.py":
                continue
            for line, values in literal_lists(path):
                for what, codes in VOCABULARIES.items():
                    if set(codes) <= values:
                        found.append(f"{path.relative_to(ROOT)}:{line} lists the {what} again")
    return found


def test_each_vocabulary_is_defined_once():
    assert redefinitions() == []


def test_codes_are_plain_strings_in_frames_and_sql():
    assert Segment.VALUE_ORIENTED == "value_oriented" and f"{PvMode.THIRD_PARTY}" == "third_party"
    assert PV_MODE_CODES == ("none", "self", "third_party")          # the model's codes 0/1/2
    assert [str(c) for c in CustomerType] == list(CUSTOMER_TYPE_CODES)
    assert OfferStatus("unchanged") is OfferStatus.UNCHANGED


@pytest.mark.parametrize("module, name, codes", [
    ("intake.schema", "CUSTOMER_TYPES", CUSTOMER_TYPE_CODES), ("intake.schema", "REPAYMENTS", REPAYMENT_CODES),
    ("segmentation", "SEGMENTS", SEGMENT_CODES), ("gpengine.model", "PV_MODES", PV_MODE_CODES),
    ("warehouse.schema", "OFFER_STATUSES", OFFER_STATUS_CODES)])
def test_the_old_names_are_the_vocabulary(module, name, codes):
    import importlib
    assert getattr(importlib.import_module(module), name) == codes
