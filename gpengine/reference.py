"""Per-province reference data and the reference time-of-use tariff, validated on load.

Files: ``data/reference/provinces.yaml`` (WRI 2023 appendix: emission factor, PV full-load
hours; coal benchmark; punitive surcharge) and ``data/reference/tariff.yaml`` (reference
time-of-use tariff for accounts without a bill). Each value's source is in the file.
"""
from __future__ import annotations

from core.vocabulary import CUSTOMER_TYPE_CODES

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.datafiles import DataFileError, data_dir, read_yaml
from core.provinces import aliases_from_entries

TOU_PERIODS = ("sharp", "peak", "flat", "valley")
_CUSTOMER_TYPES = CUSTOMER_TYPE_CODES

PROVINCE_COLUMNS = {
    "province": pl.Utf8,
    "emission_factor_t_per_mwh": pl.Float64,   # NULL: 西藏 (暂缺 in the appendix)
    "pv_full_load_hours": pl.Float64,
    "coal_benchmark_yuan_per_kwh": pl.Float64,
    "punitive_surcharge_yuan_per_kwh": pl.Float64,
}


@dataclass(frozen=True)
class Reference:
    provinces: pl.DataFrame                       # PROVINCE_COLUMNS, one row per province
    aliases: dict[str, str]                       # casefolded alias -> full name
    tou_multipliers: dict[str, float]             # period -> factor of the flat tariff
    network_adder_yuan_per_kwh: dict[str, float]  # customer_type -> adder over the coal benchmark
    versions: dict[str, str]                      # file name -> sha256

    def describe(self) -> dict:
        """What a run records about the reference data it used."""
        return {
            "files": self.versions,
            "provinces": self.provinces.to_dicts(),
            "tou_multipliers": self.tou_multipliers,
            "network_and_levies_yuan_per_kwh": self.network_adder_yuan_per_kwh,
        }


def _number(path: Path, key: str, value, *, minimum: float = 0.0, allow_null: bool = False) -> float | None:
    if value is None and allow_null:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataFileError(f"{path}: {key} must be a number, got {value!r}")
    if value < minimum:
        raise DataFileError(f"{path}: {key} must be ≥ {minimum}, got {value!r}")
    return float(value)


def _load_provinces(path: Path) -> tuple[pl.DataFrame, dict[str, str], str]:
    doc = read_yaml(path)
    entries = (doc.content or {}).get("provinces") if isinstance(doc.content, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DataFileError(f"{path}: missing list 'provinces'")
    aliases = aliases_from_entries(path, entries)
    rows = []
    for i, entry in enumerate(entries):
        where = f"provinces[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise DataFileError(f"{path}: {where}.name must be text")
        name = entry["name"]
        rows.append({
            "province": name,
            "emission_factor_t_per_mwh": _number(path, f"{where}.emission_factor_t_per_mwh ({name})",
                                                 entry.get("emission_factor_t_per_mwh"), allow_null=True),
            "pv_full_load_hours": _number(path, f"{where}.pv_full_load_hours ({name})", entry.get("pv_full_load_hours")),
            "coal_benchmark_yuan_per_kwh": _number(path, f"{where}.coal_benchmark_yuan_per_kwh ({name})",
                                                   entry.get("coal_benchmark_yuan_per_kwh")),
            "punitive_surcharge_yuan_per_kwh": _number(path, f"{where}.punitive_surcharge_yuan_per_kwh ({name})",
                                                       entry.get("punitive_surcharge_yuan_per_kwh", 0.0)),
        })
    frame = pl.DataFrame(rows, schema=PROVINCE_COLUMNS)
    if frame["province"].n_unique() != frame.height:
        raise DataFileError(f"{path}: a province is listed twice")
    return frame, aliases, doc.sha256


def _load_tariff(path: Path) -> tuple[dict[str, float], dict[str, float], str]:
    doc = read_yaml(path)
    content = doc.content if isinstance(doc.content, dict) else {}
    mult = content.get("multipliers") or {}
    adders = content.get("network_and_levies_yuan_per_kwh") or {}
    for period in TOU_PERIODS:
        if period not in mult:
            raise DataFileError(f"{path}: multipliers.{period} is missing")
    for ctype in _CUSTOMER_TYPES:
        if ctype not in adders:
            raise DataFileError(f"{path}: network_and_levies_yuan_per_kwh.{ctype} is missing")
    multipliers = {p: _number(path, f"multipliers.{p}", mult[p]) for p in TOU_PERIODS}
    adder = {c: _number(path, f"network_and_levies_yuan_per_kwh.{c}", adders[c]) for c in _CUSTOMER_TYPES}
    if multipliers["peak"] < 3 * multipliers["valley"]:
        raise DataFileError(f"{path}: multipliers: peak/valley must be at least 3:1 (发改价格〔2021〕1093号)")
    if multipliers["sharp"] < 1.2 * multipliers["peak"] - 1e-12:
        raise DataFileError(f"{path}: multipliers: sharp must be at least 20% above peak (发改价格〔2021〕1093号)")
    return multipliers, adder, doc.sha256


def load_reference(directory: Path | None = None) -> Reference:
    """Load and validate ``reference/provinces.yaml`` and ``reference/tariff.yaml``."""
    base = Path(directory) if directory else data_dir()
    provinces, aliases, prov_sha = _load_provinces(base / "reference" / "provinces.yaml")
    multipliers, adders, tariff_sha = _load_tariff(base / "reference" / "tariff.yaml")
    return Reference(provinces, aliases, multipliers, adders,
                     {"reference/provinces.yaml": prov_sha, "reference/tariff.yaml": tariff_sha})


def province_aliases(reference: Reference | None = None) -> dict[str, str]:
    """Alias (full name, short name, pinyin, extra aliases; ``strip().casefold()``) -> full name."""
    return (reference or load_reference()).aliases
