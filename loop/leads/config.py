"""``data/loop/leads.yaml``: the outcome threshold, retraining, the rule and the reasons' text, validated on load.

Every problem is one :class:`~core.datafiles.DataFileError` naming the file and the key
(``min_outcomes: must be at least 1``); the file's SHA-256 is kept with every model trained under it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from core.datafiles import DataFileError, data_dir, read_yaml
from core.reasons import LEADS_FILE, check_templates



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleSpec(_Strict):
    saving_share_span: float


class _File(_Strict):
    version: str
    source: str | None = None
    date: str | None = None
    min_outcomes: int
    retrain_new_outcomes: int
    min_period_outcomes: int
    period: Literal["month"]
    max_train_rows: int
    top_reasons: int
    rule: RuleSpec
    reasons: dict[str, str]


@dataclass(frozen=True)
class LeadsConfig:
    path: Path
    sha256: str
    version: str
    min_outcomes: int
    retrain_new_outcomes: int
    min_period_outcomes: int
    max_train_rows: int
    top_reasons: int
    saving_share_span: float
    reasons: dict[str, str]

    def record(self) -> dict:
        return {"file": self.path.name, "sha256": self.sha256, "version": self.version,
                "min_outcomes": self.min_outcomes}


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_leads_config(path: Path, content, sha256: str = "") -> LeadsConfig:
    if not isinstance(content, dict):
        raise DataFileError(f"{path}: (top level): expected a mapping")
    try:
        doc = _File.model_validate(content)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DataFileError(f"{path}: {_where(err['loc'])}: {err['msg']}") from None
    for key in ("min_outcomes", "retrain_new_outcomes", "min_period_outcomes", "max_train_rows", "top_reasons"):
        if getattr(doc, key) < 1:
            raise DataFileError(f"{path}: {key}: must be at least 1, got {getattr(doc, key)}")
    span = doc.rule.saving_share_span
    if not (math.isfinite(span) and 0 < span <= 1):
        raise DataFileError(f"{path}: rule.saving_share_span: must be in (0, 1], got {span!r}")
    reasons = check_templates(path, doc.reasons)
    return LeadsConfig(path=path, sha256=sha256, version=doc.version, min_outcomes=doc.min_outcomes,
                       retrain_new_outcomes=doc.retrain_new_outcomes, min_period_outcomes=doc.min_period_outcomes,
                       max_train_rows=doc.max_train_rows, top_reasons=doc.top_reasons,
                       saving_share_span=span, reasons=reasons)


def load_leads_config(path: str | Path | None = None) -> LeadsConfig:
    """Read and validate ``data/loop/leads.yaml`` (or ``path``)."""
    path = Path(path) if path else data_dir() / LEADS_FILE
    doc = read_yaml(path)
    return parse_leads_config(path, doc.content, doc.sha256)
