"""Offer numbers, their check codes and the response URL printed on every offer.

An offer number names one *document*: the same account, content and issue date give the same
number, so an ``unchanged`` offer (linked, not re-rendered) keeps the number printed on the PDF the
customer holds, and a rerun of the same night does not invent a new one.

Format: ``GP-XXXX-XXXX-XXXX`` — 60 bits of SHA-256 over (account_id, content_hash, issued_on) in
Crockford's base 32 (no I, L, O, U: nothing a rep can misread over the phone). Sixty bits keep the
chance that two of 100 million offers share a number below one in 200; the warehouse still
refuses a duplicate number for a different account.

The check code is two characters of ISO/IEC 7064 MOD 1271-36 (the pure system for alphanumeric
strings with two check characters): it detects every single wrong character and every swap of two
adjacent characters, so a typo in a CRM export cannot credit a response to somebody else's offer.
A response code is the offer number followed by its check code: ``GP-XXXX-XXXX-XXXX-CC``.

The response URL is built from a configured template and these two values only — never from
customer text (``offers.md``, Safety).
"""
from __future__ import annotations

import hashlib
import re
from datetime import date
from urllib.parse import quote

PREFIX = "GP"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ISO_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ISO_VALUE = {c: i for i, c in enumerate(_ISO_ALPHABET)}
_BODY_CHARS = 12
_MODULUS, _RADIX = 1271, 36
# Crockford decoding folds the letters people confuse with digits
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_RESPONSE_CODE = re.compile(r"^GP([0-9A-Z]{12})([0-9A-Z]{2})?$")


class OfferNumberError(ValueError):
    """A text that is not a well-formed offer number or response code."""


def make_offer_no(account_id: str, content_hash: str, issued_on: date) -> str:
    """The offer number of one document (deterministic; see the module docstring)."""
    digest = hashlib.sha256(f"{account_id}\x1f{content_hash}\x1f{issued_on.isoformat()}".encode("utf-8")).digest()
    bits = int.from_bytes(digest[:8], "big") >> (64 - 5 * _BODY_CHARS)
    body = "".join(_CROCKFORD[(bits >> (5 * (_BODY_CHARS - 1 - i))) & 31] for i in range(_BODY_CHARS))
    return f"{PREFIX}-{body[0:4]}-{body[4:8]}-{body[8:12]}"


def _compact(offer_no: str) -> str:
    return re.sub(r"[\s\-_.]", "", offer_no.upper())


def check_code(offer_no: str) -> str:
    """ISO/IEC 7064 MOD 1271-36 check characters (two) of an offer number."""
    text = _compact(offer_no)
    p = 0
    for char in text:
        if char not in _ISO_VALUE:
            raise OfferNumberError(f"offer number {offer_no!r}: character {char!r} is not a letter or digit")
        p = ((p + _ISO_VALUE[char]) * _RADIX) % _MODULUS
    p = (p * _RADIX) % _MODULUS
    check = (_MODULUS + 1 - p) % _MODULUS
    return _ISO_ALPHABET[check // _RADIX] + _ISO_ALPHABET[check % _RADIX]


def response_code(offer_no: str) -> str:
    """What the customer and the CRM quote: the offer number and its check code."""
    return f"{offer_no}-{check_code(offer_no)}"


def format_offer_no(body: str) -> str:
    return f"{PREFIX}-{body[0:4]}-{body[4:8]}-{body[8:12]}"


def parse_response_code(text: str) -> tuple[str, str | None]:
    """``(offer_no, check)`` from a typed or scanned code; ``check`` is None when only the number was given.

    Case, spaces and dashes are ignored, and O/I/L in the number are read as 0/1/1 (Crockford),
    since a number never contains those letters. Raises :class:`OfferNumberError` with what is wrong.
    """
    compact = _compact(str(text))
    match = _RESPONSE_CODE.match(compact)
    if not match:
        raise OfferNumberError(
            f"{text!r} is not an offer number (expected {PREFIX}-XXXX-XXXX-XXXX, optionally followed by a 2-character check code)")
    body = match.group(1).translate(_READ_AS)
    if any(c not in _CROCKFORD for c in body):
        raise OfferNumberError(f"{text!r}: an offer number never contains the letter U")
    return format_offer_no(body), match.group(2)


def verify_response_code(text: str) -> str:
    """The offer number of a response code whose check code is right; raises otherwise."""
    offer_no, check = parse_response_code(text)
    if check is None:
        raise OfferNumberError(f"{text!r}: the 2-character check code is missing")
    expected = check_code(offer_no)
    if check != expected:
        raise OfferNumberError(f"{text!r}: wrong check code {check!r} (a typo in the offer number or the code)")
    return offer_no


def response_url(template: str | None, offer_no: str) -> str | None:
    """The response URL from a configured template (``{offer_no}``, ``{check}``, ``{code}``), or None.

    Only the offer number and its check code are substituted, URL-quoted; no customer field ever is.
    """
    if not template:
        return None
    check = check_code(offer_no)
    return template.format(offer_no=quote(offer_no, safe=""), check=quote(check, safe=""),
                           code=quote(f"{offer_no}-{check}", safe=""))
