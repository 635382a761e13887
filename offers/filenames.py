"""Safe, collision-free PDF file names derived from ``account_id`` (outputs.md "Offers on disk").

``<slug>-<hash>.pdf``:

- *slug*: the id reduced to lower-case ASCII letters, digits, ``-`` and ``_`` (every other run of
  characters becomes one ``_``), trimmed and cut to 40 characters, so a rep can still recognise
  the account; ``offer`` when nothing is left. It can never contain a path separator or ``..``.
- *hash*: the first 16 hex digits (64 bits) of SHA-256 of the exact id (UTF-8). Two ids that
  differ in any way — case, characters the slug dropped, a suffix past the cut — get different
  names, also on case-insensitive file systems because the whole name is lower-case.

Names are at most 61 characters, never a reserved device name (``CON``, ``NUL`` … are followed by
``-<hash>``), never start with a dot, and stay the same across runs and machines.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

SLUG_MAX = 40
HASH_HEX = 16
_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def id_hash(account_id: str) -> str:
    return hashlib.sha256(account_id.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_HEX]


def slug(account_id: str) -> str:
    text = unicodedata.normalize("NFKC", account_id).lower()
    text = _UNSAFE.sub("_", text.encode("ascii", "ignore").decode("ascii"))
    text = text.strip("_-")[:SLUG_MAX].strip("_-")
    return text or "offer"


def offer_filename(account_id: str) -> str:
    """The file name (no folder) of an account's offer PDF."""
    if not isinstance(account_id, str) or account_id == "":
        raise ValueError("account_id must be a non-empty string")
    return f"{slug(account_id)}-{id_hash(account_id)}.pdf"
