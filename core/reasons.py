"""The reasons of a lead score as text: codes and figures stored as data, Chinese text made where shown.

A stored reason is ``{code, value, label}`` (``lead_scores.reasons``): the code, its figure in base units
(元, kWh) or a name (segment, edition). The text of each code is data (``data/loop/leads.yaml``
``reasons``, e.g. ``"节省 {value} 万元/年"``); :func:`reason_text` fills it in — for the call list
(``loop``) and the dashboard alike, which is why it lives here, below both.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from core.datafiles import DataFileError, data_dir, read_yaml

LEADS_FILE = Path("loop") / "leads.yaml"
REASON_CODES = ("saving", "pv_npv", "exporter", "re100", "exporter_re100", "listed", "esg", "meeting_before",
                "accepted_before", "edition", "segment", "large_account")


def check_templates(path: Path, reasons: Any) -> dict[str, str]:
    """Every reason code has a text, no unknown code, only ``{value}`` used; errors name the key."""
    if not isinstance(reasons, dict):
        raise DataFileError(f"{path}: reasons: expected a mapping of reason code to text")
    missing = [c for c in REASON_CODES if c not in reasons]
    if missing:
        raise DataFileError(f"{path}: reasons.{missing[0]}: missing (every reason code needs its text)")
    unknown = [c for c in reasons if c not in REASON_CODES]
    if unknown:
        raise DataFileError(f"{path}: reasons.{unknown[0]}: unknown reason code; use one of {', '.join(REASON_CODES)}")
    for code, text in reasons.items():
        if not isinstance(text, str):
            raise DataFileError(f"{path}: reasons.{code}: expected text")
        try:
            text.format(value="1")
        except (KeyError, IndexError, ValueError) as exc:
            raise DataFileError(f"{path}: reasons.{code}: only {{value}} may be used ({exc})") from None
    return dict(reasons)


def load_templates(path: str | Path | None = None) -> dict[str, str]:
    """The reason texts of ``data/loop/leads.yaml`` (or ``path``), checked."""
    path = Path(path) if path else data_dir() / LEADS_FILE
    content = read_yaml(path).content
    return check_templates(path, (content or {}).get("reasons") if isinstance(content, dict) else None)


def _wan(x: float | None) -> str:
    if x is None:
        return "—"
    v = x / 1e4
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.1f}"


FORMATS: dict[str, Callable[[dict], str]] = {
    "saving": lambda r: _wan(r["value"]),
    "pv_npv": lambda r: _wan(r["value"]),
    "large_account": lambda r: _wan(r["value"]),
}


def reason_text(reasons: list[dict] | None, templates: dict[str, str], names: dict[str, str] | None = None) -> str:
    """The reasons of one score as one line ("节省 63 万元/年；出口企业，RE100 需求").

    ``names``: Chinese names for labels (segment and edition codes); a label without one is shown as is."""
    parts = []
    for r in reasons or []:
        template = templates.get(r["code"])
        if template is None:
            continue
        fmt = FORMATS.get(r["code"])
        value = fmt(r) if fmt else (names or {}).get(r.get("label") or "", r.get("label") or "")
        parts.append(template.format(value=value))
    return "；".join(parts)
