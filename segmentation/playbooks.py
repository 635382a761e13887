"""Segment playbooks: what each segment is offered (paper 4.2, 4.3) and its model defaults.

One entry per segment in ``data/segmentation/playbooks.yaml``. The offer templates read
the wording (package, services, price design, promotions, offer points); the cost model
reads the defaults through :func:`segmentation.segment_accounts`' columns
``default_target_share`` / ``default_market_share`` / ``default_market_share_cheaper``.

Key names are a contract with the other packages; keys beyond the required ones are kept
(the templates may add their own), the required ones are checked on load.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from segmentation._files import check_metadata, fail, load_mapping, raise_validation
from segmentation.rules import SEGMENTS

FILE_NAME = "playbooks.yaml"

# Sentinels (segmentation.md "Playbooks" table).
MANDATED_RATIO = "mandated_ratio"    # target = mandated ratio for industry group + province, else fallback
CHEAPER_CHANNEL = "cheaper_channel"  # market share = 1 when π_low < g/1000 else 0, decided by the cost model


class Promotion(BaseModel):
    """A promotion (paper 4.3). ``only_if_not_buys_green_power``: for new green-power users only."""

    model_config = ConfigDict(extra="allow", strict=True)
    text: str
    only_if_not_buys_green_power: bool = False


def _share_or(v: Any, sentinel: str | None) -> Any:
    """A share in [0, 1] (a YAML number, not text), or the sentinel word."""
    if sentinel is not None and v == sentinel:
        return v
    expected = "a number between 0 and 1" + (f" or {sentinel!r}" if sentinel else "")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected {expected}, got {v!r}")
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"expected {expected}, got {v!r}")
    return float(v)


class Playbook(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    label_zh: str
    package_name: str
    package_summary: str
    services: list[str]
    price_design: str
    promotions: list[Promotion]
    offer_points: list[str]
    default_renewable_target: Any      # a share, or "mandated_ratio"
    fallback_renewable_target: Any = None
    default_market_share: Any          # a share, or "cheaper_channel"

    @field_validator("label_zh", "package_name", "package_summary", "price_design")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("services", "offer_points")
    @classmethod
    def _non_empty_list(cls, v: list[str]) -> list[str]:
        if not v or any(not s.strip() for s in v):
            raise ValueError("needs at least one entry, none of them empty")
        return v

    @field_validator("default_renewable_target")
    @classmethod
    def _target(cls, v: Any) -> Any:
        return _share_or(v, MANDATED_RATIO)

    @field_validator("default_market_share")
    @classmethod
    def _market(cls, v: Any) -> Any:
        return _share_or(v, CHEAPER_CHANNEL)

    @field_validator("fallback_renewable_target")
    @classmethod
    def _fallback_share(cls, v: Any) -> Any:
        return None if v is None else _share_or(v, None)

    @model_validator(mode="after")
    def _fallback(self) -> "Playbook":
        if self.default_renewable_target == MANDATED_RATIO and self.fallback_renewable_target is None:
            raise ValueError("fallback_renewable_target is required when default_renewable_target is mandated_ratio")
        return self


class _PlaybooksFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    source: Any
    date: Any
    playbooks: dict[str, Any]


def load_playbooks(path: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """Load and validate ``playbooks.yaml``: one entry for each of :data:`SEGMENTS`.

    Returns segment code -> the entry as a plain dict (defaults filled in, e.g. every
    promotion has ``only_if_not_buys_green_power``), and the file's SHA-256.
    """
    doc, content = load_mapping(path)
    check_metadata(path, content)
    try:
        parsed = _PlaybooksFile.model_validate(content)
    except ValidationError as exc:
        raise_validation(path, exc)
    for code in parsed.playbooks:
        if code not in SEGMENTS:
            fail(path, ("playbooks", code), f"unknown segment {code!r} (expected one of: {', '.join(SEGMENTS)})")
    out: dict[str, dict[str, Any]] = {}
    for code in SEGMENTS:
        if code not in parsed.playbooks:
            fail(path, ("playbooks", code), "required key is missing (every segment needs a playbook)")
        entry = parsed.playbooks[code]
        if not isinstance(entry, dict):
            fail(path, ("playbooks", code), "a playbook is a mapping of keys (label_zh, package_name, ...)")
        try:
            out[code] = Playbook.model_validate(entry).model_dump()
        except ValidationError as exc:
            raise_validation(path, exc, ("playbooks", code))
    return out, doc.sha256


def applicable_promotions(playbook: dict[str, Any], buys_green_power: bool) -> list[dict[str, Any]]:
    """The playbook's promotions that apply to an account (paper 4.3: the trial week is for new users)."""
    return [p for p in playbook["promotions"]
            if not (p.get("only_if_not_buys_green_power") and buys_green_power)]
