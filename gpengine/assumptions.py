"""Assumption sets (cost-model.md "Assumption sets"): versioned YAML files in ``data/assumptions/``.

Each value carries its source and date. ``wri-2023`` reproduces the WRI note; the default is the
newest documented set (latest ``published``). A run records :meth:`AssumptionSet.record`.
"""
from __future__ import annotations

from core.vocabulary import REPAYMENT_CODES

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.datafiles import DataFileError, data_dir, read_yaml

PremiumRange = tuple[float, float]


class AssumptionValues(BaseModel):
    """The values the cost model uses, with their valid ranges."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gec_price_yuan_per_certificate: float = Field(ge=0, allow_inf_nan=False)
    pv_capex_yuan_per_w: float = Field(gt=0, allow_inf_nan=False)
    roof_m2_per_kw: float = Field(gt=0, allow_inf_nan=False)
    pv_first_year_factor: float = Field(gt=0, le=1)
    pv_degradation_per_year: float = Field(ge=0, lt=1)
    pv_lifetime_years: int = Field(ge=1, le=50)
    third_party_discount: float = Field(gt=0, le=1)
    premium_default_yuan_per_kwh: PremiumRange
    premium_by_province_yuan_per_kwh: dict[str, PremiumRange] = {}
    loan_ratio: float = Field(ge=0, le=1)
    loan_rate: float = Field(ge=0, le=0.5)
    loan_years: int = Field(ge=1, le=25)
    repayment: Literal[REPAYMENT_CODES]
    hurdle_rate: float = Field(gt=-1, le=1)

    @field_validator("gec_price_yuan_per_certificate", "pv_capex_yuan_per_w", "roof_m2_per_kw", "pv_first_year_factor",
                     "pv_degradation_per_year", "pv_lifetime_years", "third_party_discount", "loan_ratio", "loan_rate",
                     "loan_years", "hurdle_rate", mode="before")
    @classmethod
    def _a_number(cls, v):
        return _number(v)

    @field_validator("premium_default_yuan_per_kwh", mode="before")
    @classmethod
    def _range_numbers(cls, v):
        return [_number(x) for x in v] if isinstance(v, (list, tuple)) else v

    @field_validator("premium_by_province_yuan_per_kwh", mode="before")
    @classmethod
    def _ranges_numbers(cls, v):
        if not isinstance(v, dict):
            return v
        return {k: [_number(x) for x in r] if isinstance(r, (list, tuple)) else r for k, r in v.items()}

    @field_validator("premium_default_yuan_per_kwh")
    @classmethod
    def _range(cls, v: PremiumRange) -> PremiumRange:
        return _check_range(v)

    @field_validator("premium_by_province_yuan_per_kwh")
    @classmethod
    def _ranges(cls, v: dict[str, PremiumRange]) -> dict[str, PremiumRange]:
        return {k: _check_range(r) for k, r in v.items()}

    @model_validator(mode="after")
    def _modules_never_negative(self):
        last = self.pv_first_year_factor - self.pv_degradation_per_year * (self.pv_lifetime_years - 1)
        if last < 0:
            raise ValueError("pv_first_year_factor − pv_degradation_per_year × (lifetime − 1) is negative")
        return self


def _number(v):
    """A YAML number. YAML reads ``yes``/``on`` as true and quoted figures as text: a value meant as a number
    must not silently become 1.0 (a 100 % loan) or be parsed from text."""
    if isinstance(v, (bool, str)):
        raise ValueError(f"expected a number, got {v!r}")
    return v


def _check_range(v: PremiumRange) -> PremiumRange:
    low, high = v
    if not (0 <= low <= high < 10):
        raise ValueError(f"premium range must satisfy 0 ≤ low ≤ high, got {list(v)}")
    return (float(low), float(high))


@dataclass(frozen=True)
class AssumptionSet:
    name: str
    title: str
    published: str
    values: AssumptionValues
    sources: dict[str, dict] = field(default_factory=dict)
    sha256: str = ""
    overrides: dict = field(default_factory=dict)

    def with_overrides(self, **changes) -> "AssumptionSet":
        """A copy with some values replaced (campaign overrides); the overrides are recorded."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        try:
            values = AssumptionValues(**{**self.values.model_dump(), **changes})
        except ValidationError as exc:
            raise DataFileError(f"assumption override: {_explain(exc)}") from None
        return AssumptionSet(self.name, self.title, self.published, values, self.sources, self.sha256,
                             {**self.overrides, **changes})

    def record(self) -> dict:
        """Every value the run used, with sources: stored as ``runs.assumptions``."""
        return {
            "name": self.name, "title": self.title, "published": self.published, "sha256": self.sha256,
            "values": self.values.model_dump(mode="json"), "overrides": self.overrides, "sources": self.sources,
        }


def _explain(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'values'}: {e['msg'].removeprefix('Value error, ')}"
                     for e in exc.errors())


def _check_provinces(path: Path, values: AssumptionValues) -> None:
    """Premiums for a province the reference data does not know would be silently ignored (the model looks
    provinces up by their full name): refuse them, naming the key."""
    from gpengine.reference import load_reference
    reference = load_reference()
    known = set(reference.provinces["province"].to_list())
    for name in values.premium_by_province_yuan_per_kwh:
        if name not in known:
            full = reference.aliases.get(str(name).strip().casefold())
            hint = f"; write its full name {full!r}" if full else ""
            raise DataFileError(f"{path}: premium_by_province_yuan_per_kwh.{name}: unknown province {name!r}{hint}")


def available_sets(directory: Path | None = None) -> dict[str, Path]:
    base = Path(directory) if directory else data_dir()
    return {p.stem: p for p in sorted((base / "assumptions").glob("*.yaml"))}


def load_assumption_file(path: Path) -> AssumptionSet:
    doc = read_yaml(path)
    content = doc.content
    if not isinstance(content, dict) or not isinstance(content.get("values"), dict):
        raise DataFileError(f"{path}: expected keys 'name' and 'values'")
    raw_values, sources = {}, {}
    for key, entry in content["values"].items():
        if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
            raise DataFileError(f"{path}: values.{key} needs 'value' and 'source' (and 'date')")
        raw_values[key] = entry["value"]
        sources[key] = {"source": entry["source"], "date": str(entry.get("date", ""))}
    try:
        values = AssumptionValues(**raw_values)
    except ValidationError as exc:
        raise DataFileError(f"{path}: {_explain(exc)}") from None
    _check_provinces(path, values)
    return AssumptionSet(str(content.get("name") or path.stem), str(content.get("title", "")),
                         str(content.get("published", "")), values, sources, doc.sha256)


def default_set_name(directory: Path | None = None) -> str:
    """The newest documented set: the latest ``published`` among the bundled files."""
    sets = {name: load_assumption_file(p) for name, p in available_sets(directory).items()}
    if not sets:
        raise DataFileError("no assumption set found in data/assumptions/")
    return max(sets.values(), key=lambda s: s.published).name


def load_assumptions(name_or_file: str | Path | None = None, directory: Path | None = None) -> AssumptionSet:
    """A bundled set by name (``wri-2023``), a YAML file path, or the default set when None."""
    if name_or_file is None:
        name_or_file = default_set_name(directory)
    candidate = Path(name_or_file)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return load_assumption_file(candidate)
    sets = available_sets(directory)
    if str(name_or_file) not in sets:
        raise DataFileError(f"unknown assumption set {str(name_or_file)!r}; available: {', '.join(sets)} "
                            "(or give the path of a YAML file)")
    return load_assumption_file(sets[str(name_or_file)])
