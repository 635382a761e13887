"""Number and date formatting for Chinese readers, registered as Jinja filters.

Storage never rounds (cost-model.md); the offer does, here and only here. Every filter takes
``None`` (NULL in the database) and returns the em dash "—", so a template never has to test
for missing values just to print them.

Money, energy and CO2 come with a *unit* chosen once per document (:func:`money_unit` …), so a
column of a table never mixes 元 and 万元.
"""
from __future__ import annotations

import datetime as _dt
import functools
import math
from collections.abc import Callable
from typing import Any

DASH = "—"
MINUS = "\u2212"      # typographic minus: "−12.30", not a hyphen
RANGE = "～"           # ranges the Chinese way: "0.03～0.07"

# unit label -> divisor
MONEY_UNITS = {"元": 1.0, "万元": 1e4, "亿元": 1e8}
ENERGY_UNITS = {"kWh": 1.0, "万kWh": 1e4, "亿kWh": 1e8}
CO2_UNITS = {"吨": 1.0, "万吨": 1e4}
# a unit is used from this magnitude on: 10 万 rather than 1.2 万 keeps small bills in 元 / kWh
_THRESHOLD = {1.0: 0.0, 1e4: 1e5, 1e8: 1e8}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def dash_if_missing(fmt: Callable[..., str]) -> Callable[..., str]:
    """NULL, NaN and ±inf print as the em dash; ``fmt`` only ever sees a real number."""
    @functools.wraps(fmt)
    def wrapper(value: Any, *args, **kwargs) -> str:
        return DASH if _missing(value) else fmt(value, *args, **kwargs)
    return wrapper


@dash_if_missing
def num(value: Any, digits: int = 0) -> str:
    """Thousands separators, fixed decimals: 1234567.8 -> "1,234,568"; -0 is printed as 0."""
    text = f"{float(value):,.{digits}f}"
    if text.startswith("-"):
        text = text[1:] if text.strip("-0.,") == "" else MINUS + text[1:]
    return text


def _pick_unit(value: float | None, units: dict[str, float]) -> str:
    """The largest unit whose threshold |value| reaches (the base unit for 0 and NULL)."""
    names = list(units)
    if _missing(value):
        return names[0]
    chosen = names[0]
    for name in names:
        if abs(value) >= _THRESHOLD[units[name]]:
            chosen = name
    return chosen


def money_unit(reference_yuan: float | None) -> str:
    """元 / 万元 / 亿元 for a document, from its largest typical amount (the annual bill)."""
    return _pick_unit(reference_yuan, MONEY_UNITS)


def energy_unit(reference_kwh: float | None) -> str:
    return _pick_unit(reference_kwh, ENERGY_UNITS)


def co2_unit(reference_t: float | None) -> str:
    return _pick_unit(reference_t, CO2_UNITS)


@dash_if_missing
def _scaled(value: Any, unit: str, table: dict[str, float], small_digits: int, big_digits: int) -> str:
    divisor = table[unit]
    return num(float(value) / divisor, small_digits if divisor == 1.0 else big_digits)


def money(value: Any, unit: str = "元") -> str:
    """Amount in the document's money unit, number only: money(1234567, "万元") -> "123.46"."""
    return _scaled(value, unit, MONEY_UNITS, 0, 2)


def energy(value: Any, unit: str = "kWh") -> str:
    return _scaled(value, unit, ENERGY_UNITS, 0, 2)


def co2(value: Any, unit: str = "吨") -> str:
    return _scaled(value, unit, CO2_UNITS, 1, 2)


@dash_if_missing
def yuan(value: Any) -> str:
    """Amount with its own unit, for prose: 8500 -> "8,500 元", 1234567 -> "123.46 万元"."""
    unit = _pick_unit(value, MONEY_UNITS)
    return f"{money(value, unit)} {unit}"


@dash_if_missing
def kwh(value: Any) -> str:
    unit = _pick_unit(value, ENERGY_UNITS)
    return f"{energy(value, unit)} {unit}"


@dash_if_missing
def tonnes(value: Any) -> str:
    unit = _pick_unit(value, CO2_UNITS)
    return f"{co2(value, unit)} {unit}"


@dash_if_missing
def pct(value: Any, digits: int = 1) -> str:
    """Share as a percentage with one decimal: 0.3 -> "30.0%"."""
    return f"{num(float(value) * 100, digits)}%"


@dash_if_missing
def price(value: Any, digits: int = 3) -> str:
    """A price per kWh, number only: 0.61234 -> "0.612"."""
    return num(value, digits)


def signed(text: str) -> str:
    """Prefix a plus sign to a formatted positive number ("12.30" -> "+12.30")."""
    if text == DASH or text.startswith(MINUS) or text.strip("0.,") == "":
        return text
    return "+" + text


def span(low_text: str, high_text: str) -> str:
    """A low–high range of two formatted values; one value when both print the same."""
    if low_text == high_text:
        return low_text
    return f"{low_text}{RANGE}{high_text}"


@dash_if_missing
def years(value: Any) -> str:
    return f"{num(value, 1)} 年"


@dash_if_missing
def kw(value: Any) -> str:
    return f"{num(value, 0)} kW"


@dash_if_missing
def factor(value: Any) -> str:
    """An emission factor in t/MWh, as the appendix prints it (4 decimals)."""
    return f"{float(value):.4f}"


def date_zh(value: Any) -> str:
    """2025-11-22 -> "2025年11月22日"."""
    if value is None:
        return DASH
    if isinstance(value, str):
        value = _dt.date.fromisoformat(value[:10])
    return f"{value.year}年{value.month}月{value.day}日"


@dash_if_missing
def count(value: Any) -> str:
    """A whole number of items (certificates)."""
    return num(value, 0)


def coord(value: Any) -> str:
    """A drawing coordinate for SVG: plain decimals, no separators."""
    return f"{float(value or 0.0):.2f}"


FILTERS = {
    "num": num, "money": money, "energy": energy, "co2": co2, "yuan": yuan, "kwh": kwh,
    "tonnes": tonnes, "pct": pct, "price": price, "signed": signed, "years": years, "kw": kw,
    "factor": factor, "date_zh": date_zh, "count": count, "coord": coord, "span": span,
}
