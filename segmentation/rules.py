"""The rule language: fields, operators, ``any``/``all``, and their compilation to Polars.

Rules are data (``data/segmentation/rules.yaml``) so that the sales division can change
how customers are segmented without a release (segmentation.md "Rules"), and the CRM
can re-segment as customers change (paper 3.3: dynamic segmentation drives triggers).
The file is validated on load: an unknown field, segment or operator, a value of the
wrong type or a missing key stops the run with a message naming the file and key path.

A condition is either a *leaf* ``{field, op, value, code, text}`` or a combination
``{any: [...]}`` / ``{all: [...]}``. Every leaf carries the reason it gives (a short
``code`` and a Chinese ``text`` written for the customer: the offer says why its package
fits, offers.md; paper 4.2 asks for services matched to each customer's motive). A leaf *counts* — and its reason is recorded — when it is true and so is
every ``any``/``all`` above it, up to its rule. The full description for analysts is in
``segmentation/README.md``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from intake.schema import CUSTOMER_TYPES
from core.provinces import check_province
from core.vocabulary import SEGMENT_CODES
from segmentation._files import check_metadata, fail, key_path, load_mapping, raise_validation
from segmentation.industry import IndustryGroups, normalise_text

FILE_NAME = "rules.yaml"

SEGMENTS = SEGMENT_CODES

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


# --------------------------------------------------------------------------- fields

@dataclass(frozen=True)
class FieldSpec:
    """A field a condition can test. ``kind`` decides the operators and the value type."""

    name: str
    kind: str                        # bool | enum | text | number
    doc: str
    values: tuple[str, ...] | None = None   # allowed values of an enum (None: from the groups file)


# Column names in the frame the rules are evaluated on (built by segment.py): the input
# columns as in intake/schema.py plus the derived industry_* and high_energy_* columns.
FIELDS: dict[str, FieldSpec] = {f.name: f for f in (
    FieldSpec("customer_type", "enum", "large_industrial / general_commercial / residential", CUSTOMER_TYPES),
    FieldSpec("province", "text", "full Chinese province name, e.g. 江苏省"),
    FieldSpec("industry", "text", "the input's free-text industry (compared after normalisation)"),
    FieldSpec("industry_group", "enum", "industry group code from industry_groups.yaml, empty when none matched"),
    FieldSpec("industry_family", "enum", "high_energy / green_leading, empty when no group matched"),
    FieldSpec("high_energy", "bool", "resolved: the input flag when given, else industry_family = high_energy"),
    FieldSpec("high_energy_input", "bool", "the input flag as given: true / false / empty"),
    FieldSpec("high_energy_source", "enum",
              "why the account is high-energy: industry (its industry group is high-energy), "
              "input (only the input flag says so); empty when not high-energy",
              ("industry", "input")),
    FieldSpec("is_exporter", "bool", "exporter"),
    FieldSpec("is_listed", "bool", "listed company"),
    FieldSpec("has_esg_report", "bool", "publishes an ESG report"),
    FieldSpec("re100_member", "bool", "RE100 member"),
    FieldSpec("buys_green_power", "bool", "already buys green power"),
    FieldSpec("roof_owned", "bool", "owns its roof"),
    FieldSpec("annual_kwh", "number", "annual consumption, kWh"),
    FieldSpec("annual_bill_yuan", "number", "annual bill, 元 (empty when not given)"),
    FieldSpec("existing_pv_kwh", "number", "existing on-site PV generation, kWh"),
    FieldSpec("roof_area_m2", "number", "roof area usable for PV, m²"),
)}

# Input columns a field is computed from (the derived fields need industry/high_energy).
INPUT_COLUMNS_OF_FIELD: dict[str, tuple[str, ...]] = {
    "industry_group": ("industry",),
    "industry_family": ("industry",),
    "high_energy": ("industry", "high_energy"),
    "high_energy_input": ("high_energy",),
    "high_energy_source": ("industry", "high_energy"),
}

OPERATORS: dict[str, tuple[str, ...]] = {
    "bool": ("is_true", "is_false", "eq", "is_null", "not_null"),
    "enum": ("eq", "ne", "in", "not_in", "is_null", "not_null"),
    "text": ("eq", "ne", "in", "not_in", "contains", "is_null", "not_null"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "is_null", "not_null"),
}
NO_VALUE_OPS = frozenset({"is_true", "is_false", "is_null", "not_null"})

# Placeholders a reason text may use; filled per account, empty when the value is missing.
PLACEHOLDERS: dict[str, str] = {
    "industry_label": "the industry group's Chinese label (e.g. 电解铝)",
    "industry": "the input's industry text",
    "province": "the province",
}


# ----------------------------------------------------------------------- rule tree

@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any
    code: str
    text: str
    where: str      # key path in the rules file, for messages


@dataclass(frozen=True)
class AnyOf:
    children: tuple["Condition", ...]
    where: str


@dataclass(frozen=True)
class AllOf:
    children: tuple["Condition", ...]
    where: str


Condition = Union[Leaf, AnyOf, AllOf]


@dataclass(frozen=True)
class Rule:
    id: str
    segment: str
    when: Condition
    description: str | None = None

    def leaves(self) -> list[Leaf]:
        out: list[Leaf] = []

        def walk(c: Condition) -> None:
            if isinstance(c, Leaf):
                out.append(c)
            else:
                for ch in c.children:
                    walk(ch)

        walk(self.when)
        return out


@dataclass(frozen=True)
class Fallback:
    segment: str
    code: str
    text: str


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    fallback: Fallback
    source: str
    date: str

    def fields_used(self) -> set[str]:
        return {leaf.field for r in self.rules for leaf in r.leaves()}


# ----------------------------------------------------------------------- validation

def _check_segment(v: str) -> str:
    if v not in SEGMENTS:
        raise ValueError(f"unknown segment {v!r} (expected one of: {', '.join(SEGMENTS)})")
    return v


def _check_code(v: str) -> str:
    if not _CODE_RE.match(v):
        raise ValueError("a reason code is lower-case letters, digits and '_' (e.g. exporter)")
    return v


def _check_text(v: str) -> str:
    if not v.strip():
        raise ValueError("the reason text must not be empty")
    for name in _PLACEHOLDER_RE.findall(v):
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} (allowed: "
                             + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + ")")
    return v


class _LeafModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    field: str
    op: str
    value: Any = None
    code: str
    text: str

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        return _check_code(v)

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        return _check_text(v)


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str
    segment: str
    when: Any
    description: str | None = None

    @field_validator("segment")
    @classmethod
    def _segment(cls, v: str) -> str:
        return _check_segment(v)


class _FallbackModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    segment: str
    code: str
    text: str

    @field_validator("segment")
    @classmethod
    def _segment(cls, v: str) -> str:
        return _check_segment(v)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        return _check_code(v)

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        return _check_text(v)


class _RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    source: Any
    date: Any
    rules: list[Any]
    fallback: _FallbackModel


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    if v is None:
        return "nothing"
    return type(v).__name__


def _check_value(path: Path, where: tuple, spec: FieldSpec, op: str, value: Any,
                 allowed: tuple[str, ...] | None) -> Any:
    """Check (and normalise) a leaf's value for its field and operator."""
    vwhere = where + ("value",)
    if op in NO_VALUE_OPS:
        if value is not None:
            fail(path, vwhere, f"operator {op!r} takes no value")
        return None
    if value is None:
        fail(path, vwhere, f"operator {op!r} needs a value")

    def scalar(v: Any, at: tuple) -> Any:
        if spec.kind == "bool":
            if not isinstance(v, bool):
                fail(path, at, f"field {spec.name!r} is true/false; expected a boolean, got {_type_name(v)} {v!r}")
            return v
        if spec.kind == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                fail(path, at, f"field {spec.name!r} is a number; expected a number, got {_type_name(v)} {v!r}")
            return float(v)
        if not isinstance(v, str):
            fail(path, at, f"field {spec.name!r} is text; expected text, got {_type_name(v)} {v!r}")
        if spec.kind == "enum" and allowed is not None and v not in allowed:
            fail(path, at, f"unknown value {v!r} for field {spec.name!r} (expected one of: {', '.join(allowed)})")
        if spec.kind == "text":
            norm = normalise_text(v)
            if not norm:
                fail(path, at, "empty text")
            if spec.name == "province" and op != "contains":   # matched by full name: refuse what never matches
                return check_province(path, key_path(at), v.strip())
            return norm if spec.name == "industry" else v.strip()
        return v

    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            fail(path, vwhere, f"operator {op!r} needs a non-empty list, got {_type_name(value)} {value!r}")
        return tuple(scalar(v, vwhere + (i,)) for i, v in enumerate(value))
    if op == "contains":
        items = value if isinstance(value, list) else [value]
        if not items:
            fail(path, vwhere, "operator 'contains' needs text or a non-empty list of texts")
        return tuple(scalar(v, vwhere + ((i,) if isinstance(value, list) else ())) for i, v in enumerate(items))
    return scalar(value, vwhere)


def _parse_condition(path: Path, node: Any, where: tuple, enums: dict[str, tuple[str, ...] | None]) -> Condition:
    if not isinstance(node, dict):
        fail(path, where, f"a condition is a mapping ({{field, op, value, code, text}} or any/all), got {_type_name(node)}")
    combinators = [k for k in ("any", "all") if k in node]
    if combinators:
        if len(node) != 1:
            others = ", ".join(sorted(k for k in node if k not in combinators)) or combinators[1]
            fail(path, where, f"'{combinators[0]}' must stand alone in its mapping (also found: {others})")
        kind = combinators[0]
        items = node[kind]
        if not isinstance(items, list) or not items:
            fail(path, where + (kind,), f"'{kind}' needs a non-empty list of conditions")
        children = tuple(_parse_condition(path, ch, where + (kind, i), enums) for i, ch in enumerate(items))
        cls = AnyOf if kind == "any" else AllOf
        return cls(children, key_path(where))
    try:
        leaf = _LeafModel.model_validate(node)
    except ValidationError as exc:
        raise_validation(path, exc, where)
    spec = FIELDS.get(leaf.field)
    if spec is None:
        fail(path, where + ("field",), f"unknown field {leaf.field!r} (known fields: {', '.join(FIELDS)})")
    if leaf.op not in OPERATORS[spec.kind]:
        fail(path, where + ("op",), f"unknown operator {leaf.op!r} for field {leaf.field!r} "
                                    f"(allowed: {', '.join(OPERATORS[spec.kind])})")
    allowed = spec.values if spec.values is not None else enums.get(spec.name)
    value = _check_value(path, where, spec, leaf.op, leaf.value, allowed)
    return Leaf(leaf.field, leaf.op, value, leaf.code, leaf.text, key_path(where))


def load_rules(path: Path, groups: IndustryGroups) -> tuple[RuleSet, str]:
    """Load and validate ``rules.yaml`` against the field list and the industry groups."""
    doc, content = load_mapping(path)
    meta = check_metadata(path, content)
    try:
        parsed = _RulesFile.model_validate(content)
    except ValidationError as exc:
        raise_validation(path, exc)
    if not parsed.rules:
        fail(path, "rules", "at least one rule is needed")
    enums: dict[str, tuple[str, ...] | None] = {
        "industry_group": groups.codes,
        "industry_family": tuple(groups.families),
    }
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(parsed.rules):
        where = ("rules", i)
        if not isinstance(raw, dict):
            fail(path, where, f"a rule is a mapping with id, segment and when; got {_type_name(raw)}")
        try:
            r = _RuleModel.model_validate(raw)
        except ValidationError as exc:
            raise_validation(path, exc, where)
        if r.id in seen:
            fail(path, where + ("id",), f"duplicate rule id {r.id!r}")
        seen.add(r.id)
        when = _parse_condition(path, r.when, where + ("when",), enums)
        rules.append(Rule(r.id, r.segment, when, r.description))
    fb = parsed.fallback
    return RuleSet(tuple(rules), Fallback(fb.segment, fb.code, fb.text), meta.source, meta.date), doc.sha256


# ----------------------------------------------------------------------- compilation

def leaf_expr(leaf: Leaf) -> pl.Expr:
    """A leaf as a Boolean expression that is never null.

    An empty (null) value equals nothing: ``eq``/``in``/``contains``/comparisons are false
    on it, ``ne``/``not_in`` true, ``is_true``/``is_false`` false.
    """
    col = pl.col(leaf.field)
    op, v = leaf.op, leaf.value
    if op == "is_true":
        return col.fill_null(False)
    if op == "is_false":
        return (~col).fill_null(False)
    if op == "is_null":
        return col.is_null()
    if op == "not_null":
        return col.is_not_null()
    if op == "eq":
        return (col == pl.lit(v)).fill_null(False)
    if op == "ne":
        return (col != pl.lit(v)).fill_null(True)
    if op == "in":
        return col.is_in(list(v)).fill_null(False)
    if op == "not_in":
        return (~col.is_in(list(v))).fill_null(True)
    if op == "contains":
        return col.str.contains_any(list(v)).fill_null(False)
    if op in ("gt", "gte", "lt", "lte"):
        cmp = {"gt": col > v, "gte": col >= v, "lt": col < v, "lte": col <= v}[op]
        return cmp.fill_null(False)
    raise AssertionError(f"operator {op!r} passed validation but has no compilation")


def placeholders_in(text: str) -> list[str]:
    return _PLACEHOLDER_RE.findall(text)


def text_expr(text: str) -> pl.Expr:
    """A reason text with its placeholders filled from the account's columns."""
    parts: list[pl.Expr] = []
    pos = 0
    for m in _PLACEHOLDER_RE.finditer(text):
        if m.start() > pos:
            parts.append(pl.lit(text[pos:m.start()]))
        col = "industry_raw" if m.group(1) == "industry" else m.group(1)
        parts.append(pl.col(col).cast(pl.Utf8).fill_null(""))
        pos = m.end()
    if not parts:
        return pl.lit(text)
    if pos < len(text):
        parts.append(pl.lit(text[pos:]))
    return pl.concat_str(parts)


@dataclass(frozen=True)
class CompiledLeaf:
    leaf: Leaf
    counts: pl.Expr     # true when the leaf and every any/all above it (up to its rule) are true


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    matches: pl.Expr
    leaves: tuple[CompiledLeaf, ...]


def compile_rule(rule: Rule, leaf_columns: dict[int, str]) -> CompiledRule:
    """Compile a rule over precomputed leaf columns (``leaf_columns[id(leaf)]``)."""
    compiled: list[CompiledLeaf] = []

    def truth(c: Condition) -> pl.Expr:
        if isinstance(c, Leaf):
            return pl.col(leaf_columns[id(c)])
        exprs = [truth(ch) for ch in c.children]
        return pl.any_horizontal(exprs) if isinstance(c, AnyOf) else pl.all_horizontal(exprs)

    def walk(c: Condition, guards: list[pl.Expr]) -> None:
        if isinstance(c, Leaf):
            compiled.append(CompiledLeaf(c, pl.all_horizontal(guards + [truth(c)])))
            return
        for ch in c.children:
            walk(ch, guards + [truth(c)])

    walk(rule.when, [])
    return CompiledRule(rule, truth(rule.when), tuple(compiled))
