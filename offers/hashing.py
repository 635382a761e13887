"""Content hash of an offer, and the version of everything that turns content into a PDF.

``content_hash`` = SHA-256 of the canonical JSON of (offer content, assumptions, rules version,
template version). It decides incremental rendering: same hash and the file still on disk with
its recorded SHA-256 means the PDF would come out the same, so it is not rendered again.

Floats are written with 9 significant digits — more than any figure the offer prints (at most 8)
— so that last-bit noise between two runs of a vectorised model, amplified by the differences the
offer shows (green cost − bill), does not re-render a million offers.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import weasyprint

from offers.paths import TEMPLATES_DIR

_CODE_FILES = ("formatting.py", "context.py", "chart.py", "engine.py", "pdffonts.py")


_PLAIN = (str, int, bool, type(None))


def _canonical(value: Any) -> Any:
    # exact-type dispatch first: an offer has ~300 nodes, and ABC isinstance checks dominated planning
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): _canonical(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.9g}")
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)   # dates, decimals: their text form


def canonical_json(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def content_hasher(assumptions: Mapping, rules_version: str, template_version: str) -> Callable[[Mapping], str]:
    """``content_hash`` with the parts shared by every offer of a run canonicalised once.

    The text hashed is exactly ``canonical_json`` of the whole payload (keys sorted: assumptions,
    offer, rules_version, template_version), so the hash does not depend on which function made it.
    """
    dump = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    head = ('{"assumptions":' + dump(_canonical(assumptions)) + ',"offer":').encode("utf-8")
    tail = (',"rules_version":' + dump(_canonical(rules_version))
            + ',"template_version":' + dump(_canonical(template_version)) + "}").encode("utf-8")

    def offer_hash(offer: Mapping) -> str:
        h = hashlib.sha256(head)
        h.update(dump(_canonical(offer)).encode("utf-8"))
        h.update(tail)
        return h.hexdigest()

    return offer_hash


def content_hash(offer: Mapping, assumptions: Mapping, rules_version: str, template_version: str) -> str:
    payload = {"offer": offer, "assumptions": assumptions, "rules_version": rules_version,
               "template_version": template_version}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def template_version(branding_fingerprint: str = "") -> str:
    """Hash of the templates, stylesheet and assets, the code that formats and lays them out, the
    branding and the WeasyPrint version: change any and every offer is rendered again."""
    h = hashlib.sha256()
    files = sorted(p for p in TEMPLATES_DIR.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    here = Path(__file__).resolve().parent
    files += [here / name for name in _CODE_FILES]
    for path in files:
        rel = path.relative_to(TEMPLATES_DIR).as_posix() if path.is_relative_to(TEMPLATES_DIR) else path.name
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(f"weasyprint {weasyprint.__version__}\0branding {branding_fingerprint}".encode())
    return h.hexdigest()
