"""Industry groups: free-text industry -> group code and family, by keywords from a data file.

The marketing paper segments by motive, and the industry is the strongest signal of it:
high-energy industries are under mandatory green-consumption ratios (合规驱动型, paper 2.3),
while computer, communication-equipment and internet firms lead voluntary green
consumption (价值导向型, paper 2.2). The input's ``industry`` is free text (``钢铁冶炼``,
``计算机、通信和其他电子设备制造业``), so groups are matched by keywords contained in it
(segmentation.md "Industry groups").

Matching is column-wise, never a Python loop per account: each distinct text is normalised
and classified once with one literal multi-pattern pass (Polars ``str.extract_many``, an
Aho-Corasick search, so keywords need no regex escaping), and the result is mapped back onto
the accounts — customer lists repeat a few thousand industry texts over a million accounts.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from segmentation._files import check_metadata, fail, load_mapping, raise_validation

FILE_NAME = "industry_groups.yaml"
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# An explicit class, because Python's and Polars' (Rust's) \s differ on rare characters;
# NFKC has already turned ideographic and no-break spaces into plain ones.
_SPACE = r"[ \t\n\r\f\v]+"


def normalise_text(text: str) -> str:
    """The normalisation applied to industry texts and keywords alike (Python twin of :func:`normalise_expr`)."""
    return re.sub(_SPACE, "", unicodedata.normalize("NFKC", text).lower())


def normalise_expr(expr: pl.Expr) -> pl.Expr:
    """NFKC (full-width letters/punctuation -> half-width), lower case, no white space."""
    return expr.str.normalize("NFKC").str.to_lowercase().str.replace_all(_SPACE, "")


@dataclass(frozen=True)
class IndustryGroup:
    code: str
    family: str
    label_zh: str
    keywords: tuple[str, ...]   # normalised
    exclude: tuple[str, ...]    # normalised


@dataclass(frozen=True)
class IndustryGroups:
    groups: tuple[IndustryGroup, ...]
    families: dict[str, str]    # family code -> label_zh
    source: str
    date: str

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(g.code for g in self.groups)

    def by_code(self, code: str) -> IndustryGroup:
        for g in self.groups:
            if g.code == code:
                return g
        raise KeyError(code)


class _Family(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    label_zh: str


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    code: str
    family: str
    label_zh: str
    keywords: list[str]
    exclude: list[str] = []

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not _CODE_RE.match(v):
            raise ValueError("a group code is lower-case letters, digits and '_' (e.g. electrolytic_aluminium)")
        return v

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("a group needs at least one keyword")
        return v


class _GroupsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    source: Any
    date: Any
    families: dict[str, _Family]
    groups: list[_Group]


def load_industry_groups(path: Path) -> tuple[IndustryGroups, str]:
    """Load and validate ``industry_groups.yaml``; returns the groups and the file's SHA-256."""
    doc, content = load_mapping(path)
    meta = check_metadata(path, content)
    try:
        parsed = _GroupsFile.model_validate(content)
    except ValidationError as exc:
        raise_validation(path, exc)
    if not parsed.groups:
        fail(path, "groups", "at least one group is needed")
    seen_codes: set[str] = set()
    seen_keywords: dict[str, str] = {}
    groups: list[IndustryGroup] = []
    for i, g in enumerate(parsed.groups):
        where = ("groups", i)
        if g.code in seen_codes:
            fail(path, where + ("code",), f"duplicate group code {g.code!r}")
        seen_codes.add(g.code)
        if g.family not in parsed.families:
            fail(path, where + ("family",),
                 f"unknown family {g.family!r} (declared under `families`: {', '.join(parsed.families)})")
        keywords = []
        for j, kw in enumerate(g.keywords):
            norm = normalise_text(kw)
            if not norm:
                fail(path, where + ("keywords", j), "empty keyword")
            if norm in seen_keywords:
                fail(path, where + ("keywords", j),
                     f"keyword {kw!r} is already in group {seen_keywords[norm]!r} (the first group would always win)")
            seen_keywords[norm] = g.code
            keywords.append(norm)
        exclude = []
        for j, kw in enumerate(g.exclude):
            norm = normalise_text(kw)
            if not norm:
                fail(path, where + ("exclude", j), "empty exclude word")
            exclude.append(norm)
        groups.append(IndustryGroup(g.code, g.family, g.label_zh, tuple(keywords), tuple(exclude)))
    families = {code: f.label_zh for code, f in parsed.families.items()}
    return IndustryGroups(tuple(groups), families, meta.source, meta.date), doc.sha256


def classify_texts(texts: pl.Series, groups: IndustryGroups) -> pl.DataFrame:
    """Classify already-normalised texts: columns ``industry_group``, ``industry_family``, ``industry_label``.

    One Aho-Corasick pass finds every keyword and exclude word in every text
    (``str.extract_many``, overlapping, literal); a group matches a text when one of its
    keywords occurs and none of its exclude words; the first matching group in file order
    wins. Equivalent to a per-group ``str.contains_any`` followed by a first-true pick, in
    one pass instead of one per group.
    """
    n = len(groups.groups)
    # pattern -> every (group index, is_exclude) it stands for; an exclude word is usually
    # shared by several groups.
    pat_rows: dict[tuple[str, int, bool], None] = {}
    for i, g in enumerate(groups.groups):
        for kw in g.keywords:
            pat_rows[(kw, i, False)] = None
        for ex in g.exclude:
            pat_rows[(ex, i, True)] = None
    patterns = pl.DataFrame(
        [list(k) for k in pat_rows], schema={"pat": pl.Utf8, "g": pl.UInt32, "ex": pl.Boolean}, orient="row")
    distinct_patterns = patterns["pat"].unique(maintain_order=True).to_list()

    frame = pl.DataFrame({"text": texts.cast(pl.Utf8)}).with_row_index("row")
    # Every (text, group) pair found, as one integer key row * (n + 1) + group: a
    # single-column anti-join is much cheaper than grouping on two keys.
    stride = n + 1
    pairs = (
        frame.select("row", pat=pl.col("text").str.extract_many(distinct_patterns, overlapping=True))
        .explode("pat")
        .drop_nulls("pat")
        .join(patterns, on="pat", how="inner")
        .select(key=pl.col("row").cast(pl.UInt64) * stride + pl.col("g"), ex=pl.col("ex"))
    )
    found = (
        pairs.filter(~pl.col("ex"))
        .join(pairs.filter(pl.col("ex")), on="key", how="anti")
        .group_by(row=(pl.col("key") // stride).cast(pl.UInt32))
        .agg(g=(pl.col("key") % stride).min().cast(pl.UInt32))
    )
    index = (frame.select("row")
             .join(found, on="row", how="left", maintain_order="left")["g"]
             .fill_null(n))
    out = {}
    for col, attr in (("industry_group", "code"), ("industry_family", "family"), ("industry_label", "label_zh")):
        values = pl.Series([getattr(g, attr) for g in groups.groups] + [None], dtype=pl.Utf8)
        out[col] = values.gather(index)
    return pl.DataFrame(out)


def classify_industry(industry: pl.Series, groups: IndustryGroups) -> pl.DataFrame:
    """Per raw industry text, same length and order: ``industry_group``, ``industry_family``,
    ``industry_label`` and the normalised text ``industry_norm``.

    Distinct raw texts are normalised and classified once, then mapped back through their
    index (one hash lookup per account, then cheap gathers), so the cost grows with the
    number of distinct texts, not with the number of accounts.
    """
    raw = industry.cast(pl.Utf8)
    distinct = raw.drop_nulls().unique(maintain_order=True)
    normalised = pl.DataFrame({"t": distinct}).select(normalise_expr(pl.col("t")))["t"]
    classified = classify_texts(normalised, groups).with_columns(industry_norm=normalised)
    index = raw.replace_strict(distinct, pl.int_range(distinct.len(), dtype=pl.UInt32, eager=True),
                               default=None, return_dtype=pl.UInt32)
    return pl.DataFrame([classified[c].gather(index) for c in classified.columns])
