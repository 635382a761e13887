"""Decide a text file's encoding from its bytes, strictly, so names are never garbled.

Order: a byte-order mark (UTF-8, UTF-16) wins; otherwise the bytes must decode as strict
UTF-8; otherwise as strict GB18030 (a superset of GBK and GB2312, what Chinese Excel saves as
"CSV"). The extension is never consulted.

Strict decoding alone is not enough: Big5 (Taiwan/Hong Kong) and Shift-JIS bytes often
*decode* as GB18030 into nonsense characters. Real GBK text is overwhelmingly made of the
6,763 common GB2312 hanzi, while such mis-decodes land in rare or private-use code points, so
a GB18030 decode is accepted only when at least 80 % of its non-ASCII characters are GB2312
characters. charset-normalizer is not used to decide: on short or repetitive Chinese text it
guesses wrong (张三 alone reads as Korean, 华 as Big5, 啊×200 as Korean), which would refuse
valid files; it only words the message of a refused file. Known gap: EUC-KR and EUC-JP text
decodes into common hanzi and passes; its headers then usually fail to match.
A decoded text that contains U+FFFD (the replacement character, left behind by an earlier
wrong conversion) is refused too: loading it would put garbled names into offers.
"""
from __future__ import annotations

import codecs
from collections import Counter
from dataclasses import dataclass

import charset_normalizer

from intake.errors import InputFileError

# Share of non-ASCII characters that must be in GB2312 for a GB18030 decode to be believed.
_MIN_GB2312_SHARE = 0.8
_OTHER_CJK = ("big5", "cp950", "big5hkscs", "shift_jis", "cp932", "euc_jp", "euc_jis_2004",
              "euc_jisx0213", "iso2022_jp", "euc_kr", "cp949", "johab", "iso2022_kr")
_SAMPLE_BYTES = 256 * 1024


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str   # utf-8, utf-8-sig, utf-16, gb18030


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    return f"line {line}"


def _check_no_replacement(path, text: str, encoding: str) -> None:
    index = text.find("\ufffd")
    if index >= 0:
        raise InputFileError(path, (
            f"the text ({encoding}) contains the replacement character \ufffd at {_position(text, index)} "
            f"({text.count(chr(0xFFFD))} times): it was garbled by an earlier conversion. "
            "Export the list again from the source system"))


def _likely_encoding(raw: bytes) -> str:
    """charset-normalizer's guess, only to word an error message ("it looks like big5")."""
    best = charset_normalizer.from_bytes(raw[:_SAMPLE_BYTES]).best()
    return f"; it may be {best.encoding}" if best is not None and best.encoding in _OTHER_CJK else ""


def _looks_like_gbk(text: str) -> str | None:
    """None when the GB18030 reading is believable, else why not."""
    # A sample is representative and keeps this cheap on a million-row file.
    counts = {ch: n for ch, n in Counter(text[:_SAMPLE_BYTES]).items() if ord(ch) > 127}
    total = sum(counts.values())
    if total == 0:
        return None
    in_gb2312 = 0
    for ch, n in counts.items():
        try:
            ch.encode("gb2312")
            in_gb2312 += n
        except UnicodeEncodeError:
            pass
    if in_gb2312 / total < _MIN_GB2312_SHARE:
        return "most of its characters would be rare or private-use characters"
    return None


def decode_text(raw: bytes, path) -> DecodedText:
    """Decode a CSV file's bytes or raise :class:`InputFileError` naming the problem."""
    if raw.startswith(codecs.BOM_UTF8):
        try:
            text = raw[len(codecs.BOM_UTF8):].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFileError(path, f"it starts with a UTF-8 marker but byte {exc.start} is not UTF-8; "
                                       "save it again as UTF-8") from None
        _check_no_replacement(path, text, "utf-8")
        return DecodedText(text, "utf-8-sig")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputFileError(path, "it starts with a UTF-16 marker but is not valid UTF-16; "
                                       "save it as UTF-8 CSV") from None
        _check_no_replacement(path, text, "utf-16")
        return DecodedText(text, "utf-16")
    if b"\x00" in raw[:_SAMPLE_BYTES]:
        raise InputFileError(path, "it is a binary file, not a table (expected CSV text, .xlsx or Parquet)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise InputFileError(path, (
                f"its text encoding is not recognised: neither UTF-8 (byte {utf8_error.start} is invalid) "
                "nor GBK/GB18030. Save it as UTF-8 CSV")) from None
        doubt = _looks_like_gbk(text)
        if doubt:
            raise InputFileError(path, (
                f"its text encoding is not recognised: it is not UTF-8 and reading it as GBK/GB18030 would "
                f"garble the names ({doubt}{_likely_encoding(raw)}). Save it as UTF-8 CSV"))
        _check_no_replacement(path, text, "gb18030")
        return DecodedText(text, "gb18030")
    _check_no_replacement(path, text, "utf-8")
    return DecodedText(text, "utf-8")
