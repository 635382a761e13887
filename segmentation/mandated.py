"""Mandated green-electricity consumption ratios per industry group and province.

合规驱动型 enterprises must meet a mandatory consumption ratio (paper 2.3); the
compliance playbook's default renewable target is that ratio where a data file gives one
(segmentation.md "Playbooks"), else the playbook's fallback. The figures, each with its
document and date, live in ``data/segmentation/mandated_ratios.yaml``; only sourced
figures are listed there.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from core.provinces import check_province
from segmentation._files import check_metadata, date_text, fail, key_path, load_mapping, raise_validation
from segmentation.industry import IndustryGroups

FILE_NAME = "mandated_ratios.yaml"
_KEY_SEP = "\x1f"   # joins group and province into one lookup key; never in either


@dataclass(frozen=True)
class MandatedRatio:
    industry_group: str
    province: str
    ratio: float
    year: int
    document: str
    evidence: str | None


@dataclass(frozen=True)
class MandatedRatios:
    ratios: tuple[MandatedRatio, ...]
    documents: dict[str, dict[str, Any]]
    source: str
    date: str

    def current(self) -> dict[tuple[str, str], MandatedRatio]:
        """(industry group, province) -> the entry of the latest year."""
        out: dict[tuple[str, str], MandatedRatio] = {}
        for r in self.ratios:
            key = (r.industry_group, r.province)
            if key not in out or r.year > out[key].year:
                out[key] = r
        return out

    def lookup(self, industry_group: str | None, province: str | None) -> float | None:
        entry = self.current().get((industry_group or "", province or ""))
        return None if entry is None else entry.ratio

    def expr(self, group: pl.Expr, province: pl.Expr) -> pl.Expr:
        """Float64 expression: the current ratio for each row's group and province, else null."""
        current = self.current()
        if not current:
            return pl.lit(None, dtype=pl.Float64)
        keys = [g + _KEY_SEP + p for g, p in current]
        values = [r.ratio for r in current.values()]
        return (pl.concat_str([group, pl.lit(_KEY_SEP), province])
                .replace_strict(keys, values, default=None, return_dtype=pl.Float64))


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    title: str
    date: str
    note: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return date_text(v)


class _Ratio(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    industry_group: str
    province: str
    ratio: float
    year: int
    document: str
    evidence: str | None = None
    note: str | None = None

    @field_validator("ratio")
    @classmethod
    def _ratio(cls, v: float) -> float:
        if not 0.0 < v <= 1.0:
            raise ValueError(f"a ratio is a share in (0, 1], got {v!r} (write 21% as 0.21)")
        return v

    @field_validator("province")
    @classmethod
    def _province(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()


class _RatiosFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    source: Any
    date: Any
    documents: dict[str, _Document]
    ratios: list[_Ratio]


def load_mandated_ratios(path: Path, groups: IndustryGroups) -> tuple[MandatedRatios, str]:
    doc, content = load_mapping(path)
    meta = check_metadata(path, content)
    try:
        parsed = _RatiosFile.model_validate(content)
    except ValidationError as exc:
        raise_validation(path, exc)
    seen: set[tuple[str, str, int]] = set()
    ratios = []
    for i, r in enumerate(parsed.ratios):
        where = ("ratios", i)
        if r.industry_group not in groups.codes:
            fail(path, where + ("industry_group",),
                 f"unknown industry group {r.industry_group!r} (groups: {', '.join(groups.codes)})")
        if r.document not in parsed.documents:
            fail(path, where + ("document",),
                 f"unknown document {r.document!r} (declared under `documents`: {', '.join(parsed.documents)})")
        check_province(path, key_path(where + ("province",)), r.province)
        key = (r.industry_group, r.province, r.year)
        if key in seen:
            fail(path, where, f"duplicate entry for {r.industry_group} / {r.province} / {r.year}")
        seen.add(key)
        ratios.append(MandatedRatio(r.industry_group, r.province, r.ratio, r.year, r.document, r.evidence))
    documents = {k: d.model_dump() for k, d in parsed.documents.items()}
    return MandatedRatios(tuple(ratios), documents, meta.source, meta.date), doc.sha256
