"""Validate a customer list: every row ends as an account or as a reject with a reason.

The rules are those of spec ``input.md``; the output is exactly ``intake.schema.ACCOUNT_SCHEMA``
(accepted accounts) and ``REJECT_SCHEMA`` (rejected rows), and ``rows_read`` = accepted + rejected.

How it works: each rule is one Polars expression over whole columns, evaluated together in
one lazy query — no Python loop per row, so a million rows validate in seconds. Only cheap
work touches every row: trimming, a numeric cast, range tests, a boolean flag per rule.
Coded columns (province, customer type, yes/no, PV mode, repayment) have few distinct values,
which are normalised once each in Python (the same functions that read columns.yaml) and
mapped back. Reason texts are built for the rejected rows only.

We decided against pandera: its Polars backend reports which checks fail, but the work here
is parsing messy text (``1,234,567``, ``30%``, ``是/否``, 大工业, province short names and
pinyin) into typed values with a row-level reason an analyst can act on, and plain per-rule
Polars expressions do that directly and fast.

Decisions:

* **One reject row per rejected input row.** ``column`` and ``value`` name the first problem (in
  contract column order); ``reason`` lists every problem of the row, separated by "; ", so the
  analyst can fix the row in one go. Hence ``len(rejects)`` is the number of rejected rows.
* Reasons are English and name the column both by its contract name and by the header the
  file used (``annual_kwh ("年用电量")``), quoting the offending text (cut at 60 characters).
* Text is trimmed; an empty cell, or one of ``missing_values`` in ``columns.yaml`` ("-", "/",
  "N/A", ...), is missing. ``nan``/``inf`` are never missing values: they are rejected.
* Numbers: optional sign, digits with optional thousands commas (``1,234,567``), decimals and
  exponent; full-width digits and punctuation are read as half-width. Fractions also take
  ``30%``. A value of 30 for a fraction is rejected, not guessed to mean 30%.
* TOU shares: all four missing -> flat only (0, 0, 1, 0). Any given -> missing ones are 0,
  each must be in [0, 1], the sum within 0.01 of 1; then they are divided by the sum.
* Defaults filled here (fixed by ``input.md``): existing_pv_kwh 0, roof_area_m2 0, booleans
  false except roof_owned true. Columns whose default is decided downstream stay NULL
  (annual_bill_yuan, high_energy, renewable_target, pv_mode, loan_*, repayment,
  third_party_discount, market_share), as ``schema.py`` says.
* Plausibility ceilings: annual_kwh ≤ 1e12, annual_bill_yuan ≤ 1e13, roof_area_m2 ≤ 1e8 (a finite
  1e308 would overflow the model's products to infinity; no real account comes near these).
* Duplicate ``account_id`` (compared after trimming, case-sensitive): the first row in the
  file keeps the ID — even when that first row is itself rejected — and every later row is
  rejected naming the first row's number.
* A CSV row with more fields than the header is rejected as a whole (see ``load.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from core.provinces import load_province_aliases
from intake.columns import (FULLWIDTH, HALFWIDTH, INPUT_COLUMNS, REQUIRED_COLUMNS, ColumnMap, fold_value,
                            load_column_map)
from intake.columns import value_key as _vkey
from intake.errors import InputFileError
from intake.load import SURPLUS_COLUMN, RawTable, read_customer_file, table_from_frame
from intake.schema import ACCOUNT_SCHEMA, REJECT_SCHEMA

_HALFWIDTH = str.maketrans(dict(zip(FULLWIDTH, HALFWIDTH)))

_THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?$"   # 1,234,567.89
_QUOTE_LIMIT = 60
# Plausibility ceilings (input.md gives none): far above any real account, low enough that no product
# in the cost model can overflow to infinity. 1e12 kWh is a tenth of China's whole annual consumption.
MAX_ANNUAL_KWH = 1e12
MAX_BILL_YUAN = 1e13
MAX_ROOF_M2 = 1e8

NUMBERS = ("annual_kwh", "annual_bill_yuan", "existing_pv_kwh", "roof_area_m2", "loan_years")
SHARES = ("share_sharp", "share_peak", "share_flat", "share_valley")
_FLAT_ONLY = {"share_sharp": 0.0, "share_peak": 0.0, "share_flat": 1.0, "share_valley": 0.0}
# column -> default when missing (False/True); None = stays NULL (decided downstream)
BOOLEAN_DEFAULTS = {"high_energy": None, "is_exporter": False, "is_listed": False, "has_esg_report": False,
                    "re100_member": False, "buys_green_power": False, "roof_owned": True}
# fraction column -> (low, low inclusive, high, wording of the allowed range)
FRACTIONS = {
    "renewable_target": (0.0, True, 1.0, "a fraction between 0 and 1 (e.g. 0.3 or 30%)"),
    "loan_ratio": (0.0, True, 1.0, "a fraction between 0 and 1 (e.g. 0.7 or 70%)"),
    "loan_rate": (0.0, True, 0.5, "a yearly rate between 0 and 0.5 (e.g. 0.045 or 4.5%)"),
    "third_party_discount": (0.0, False, 1.0, "a fraction above 0 and at most 1 (e.g. 0.85 or 85%)"),
    "market_share": (0.0, True, 1.0, "a fraction between 0 and 1 (e.g. 0.6 or 60%)"),
}
FREE_TEXT = ("account_id", "name", "industry", "sales_rep")
ROW_COLUMN = "(row)"        # reject.column for problems of the whole row
SHARES_COLUMN = "shares"    # reject.column when the four TOU shares do not add up


@dataclass(frozen=True)
class Validated:
    accounts: pl.DataFrame          # exactly ACCOUNT_SCHEMA
    rejects: pl.DataFrame           # exactly REJECT_SCHEMA, one row per rejected input row
    rows_read: int                  # = accounts.height + rejects.height
    source: str = ""
    data_files: dict[str, str] = field(default_factory=dict)   # data file -> sha256 used
    input_sha256: str = ""          # of the bytes actually read (not of the file as it is later)


def _province_lookup() -> dict[str, str]:
    """Province alias (trimmed, casefolded) -> full name, from the province table (``core.provinces``)."""
    return load_province_aliases()


# --- duplicate account ids, also across the chunks of a streamed list ----------------------------

FIRST_ROW_COLUMN = "_first_row"     # on a raw frame: the row that first had this row's account_id (else NULL)


class AccountIds:
    """The account ids seen so far in one customer list, so that a duplicate is caught in whatever chunk
    it comes (``intake.stream``): :meth:`mark` adds ``_first_row`` to a raw frame, the number of the row
    that first had the row's id (NULL for that first row itself and for rows without an id).

    Ids are compared as validation compares them (trimmed, full-width read as half-width, missing markers
    are no id). Memory: the distinct ids with their first row and a 64-bit hash (≈ 40 bytes per account);
    a chunk's ids are looked up by hash first and the few matches compared exactly.
    """

    def __init__(self, colmap: ColumnMap | None = None):
        colmap = colmap or load_column_map()
        self._missing = _case_variants(colmap.missing_values)
        self._seen = pl.DataFrame(schema={"_h": pl.UInt64, "_key": pl.Utf8, "_row": pl.Int64})
        self._parts = 0

    def _key(self, frame: pl.DataFrame) -> pl.Expr:
        text = pl.col("account_id")
        if frame.select((text.str.len_bytes() != text.str.len_chars()).any()).item():
            text = text.str.replace_many(FULLWIDTH, HALFWIDTH)
        text = text.str.strip_chars()
        return pl.when((text != "") & ~text.is_in(self._missing)).then(text)

    def mark(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (``row_number``, ``account_id``, … in file order, after every earlier chunk) with
        ``_first_row``."""
        keys = frame.select(pl.col("row_number"), self._key(frame).alias("_key"))
        firsts = (keys.filter(pl.col("_key").is_not_null()).group_by("_key", maintain_order=True)
                  .agg(pl.col("row_number").first().alias("_first"))
                  .with_columns(pl.col("_key").hash(seed=0).alias("_h")))
        earlier = self._seen.filter(pl.col("_h").is_in(firsts["_h"].implode())) if self._seen.height else None
        if earlier is not None and earlier.height:
            firsts = (firsts.join(earlier.select("_key", "_row"), on="_key", how="left", maintain_order="left")
                      .with_columns(pl.coalesce("_row", "_first").alias("_first")))
            new = firsts.filter(pl.col("_row").is_null())
        else:
            new = firsts
        self._seen.vstack(new.select("_h", "_key", pl.col("_first").alias("_row")), in_place=True)
        self._parts += 1
        if self._parts % 32 == 0:
            self._seen = self._seen.rechunk()
        first = keys.join(firsts.select("_key", "_first"), on="_key", how="left", maintain_order="left")["_first"]
        return frame.with_columns(first.alias(FIRST_ROW_COLUMN)).with_columns(
            pl.when(pl.col(FIRST_ROW_COLUMN) != pl.col("row_number")).then(pl.col(FIRST_ROW_COLUMN))
            .cast(pl.Int64).alias(FIRST_ROW_COLUMN))


# --- expression helpers --------------------------------------------------------------------

def _t(column: str) -> pl.Expr:
    """The trimmed text of a column (NULL when missing); computed once per column."""
    return pl.col(f"_t_{column}")


def _v(column: str) -> pl.Expr:
    """The parsed value of a column (NULL when missing or unreadable)."""
    return pl.col(f"_v_{column}")


def _quoted(text: pl.Expr) -> pl.Expr:
    short = pl.when(text.str.len_chars() > _QUOTE_LIMIT).then(
        text.str.slice(0, _QUOTE_LIMIT) + pl.lit("…")).otherwise(text)
    return pl.lit('"') + short.fill_null("") + pl.lit('"')


def _case_variants(words) -> list[str]:
    """Every upper/lower-case spelling of each word ("n/a" -> "N/A", "n/A", ...).

    Comparing against these avoids lower-casing a million cells just to spot "N/A".
    """
    out: set[str] = set()
    for word in words:
        spellings = [""]
        for ch in word:
            forms = {ch.lower(), ch.upper()} if len(spellings) < 256 else {ch}
            spellings = [s + f for s in spellings for f in forms]
        out.update(spellings)
    return sorted(out)


def _number(text: pl.Expr, has_comma: bool) -> pl.Expr:
    """Half-width trimmed text as a finite float; NULL when it is not a plain number.

    Polars' own cast reads the common forms; thousands separators (1,234,567) are removed
    only where the column has commas at all, and only in that exact grouping (1,5 stays bad).
    """
    value = text.cast(pl.Float64, strict=False)
    if has_comma:
        grouped = text.str.contains(_THOUSANDS)
        value = pl.when(grouped).then(text.str.replace_all(",", "", literal=True)
                                      .cast(pl.Float64, strict=False)).otherwise(value)
    return pl.when(value.is_finite()).then(value)


def _fraction(text: pl.Expr, has_comma: bool, has_percent: bool) -> pl.Expr:
    """Like ``_number`` but ``30%`` reads as 0.3."""
    if not has_percent:
        return _number(text, has_comma)
    percent = text.str.ends_with("%")
    body = pl.when(percent).then(text.str.strip_suffix("%").str.strip_chars()).otherwise(text)
    value = _number(body, has_comma)
    return pl.when(percent).then(value / 100.0).otherwise(value)


@dataclass
class _Rule:
    column: str           # reject.column
    bad: pl.Expr          # true where the row breaks the rule (never NULL)
    value: pl.Expr        # the offending value as text
    reason: pl.Expr       # analyst wording


class _Rules:
    """Collects the rules. ``flags`` run on every row (cheap booleans); ``summary`` runs only
    on rejected rows and builds column/value (first failing rule) and reason (all of them)."""

    def __init__(self, headers: dict[str, str]):
        self.headers = headers
        self.rules: list[_Rule] = []

    def label(self, column: str) -> str:
        header = self.headers.get(column)
        return column if not header or header == column else f'{column} ("{header}")'

    def add(self, column: str, bad: pl.Expr, reason: pl.Expr, value: pl.Expr | None = None) -> None:
        value = pl.col(column) if value is None else value
        self.rules.append(_Rule(column, bad.fill_null(False), value.fill_null(""), reason))

    def value_rule(self, column: str, bad: pl.Expr, wording: str) -> None:
        """``<label> must be <wording>, got "<text>"``."""
        self.add(column, bad, pl.lit(f"{self.label(column)} must be {wording}, got ") + _quoted(_t(column)))

    def required(self, column: str) -> None:
        self.add(column, _t(column).is_null(), pl.lit(f"{self.label(column)} is required but empty"))

    def flags(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Adds ``_bad_<i>`` per rule and ``_bad`` (any rule broken)."""
        lf = lf.with_columns([r.bad.alias(f"_bad_{i}") for i, r in enumerate(self.rules)])
        return lf.with_columns(pl.any_horizontal([pl.col(f"_bad_{i}") for i in range(len(self.rules))]).alias("_bad"))

    def summary(self) -> list[pl.Expr]:
        bad = [pl.col(f"_bad_{i}") for i in range(len(self.rules))]
        return [
            pl.coalesce([pl.when(b).then(pl.lit(r.column)) for b, r in zip(bad, self.rules)]).alias("column"),
            pl.coalesce([pl.when(b).then(r.value) for b, r in zip(bad, self.rules)]).alias("value"),
            pl.concat_str([pl.when(b).then(r.reason) for b, r in zip(bad, self.rules)],
                          separator="; ", ignore_nulls=True).alias("reason"),
        ]


# --- validation ------------------------------------------------------------------------------

def _as_raw_table(raw, source_name: str | None, colmap: ColumnMap) -> RawTable:
    if isinstance(raw, RawTable):
        return raw
    if isinstance(raw, pl.DataFrame):
        return table_from_frame(raw, source_name or "(data frame)", colmap=colmap)
    raise TypeError(f"validate_accounts expects a RawTable or a polars DataFrame, got {type(raw).__name__}")


def _coded(frame: pl.DataFrame, column: str, lookup, missing: frozenset[str], dtype) -> tuple[pl.Expr, pl.Expr]:
    """(trimmed text, parsed value) of a coded column, worked out once per distinct value.

    Coded columns (province, customer_type, yes/no, pv_mode, repayment) hold a handful of
    distinct values, so normalising those in Python and mapping back is both exact (the same
    ``fold_value`` as columns.yaml) and far cheaper than string functions on every cell.
    """
    texts: dict[str, str | None] = {}
    values: dict[str, object] = {}
    for raw in frame[column].unique().drop_nulls().to_list():
        folded = fold_value(raw)
        if folded == "" or folded in missing:
            texts[raw] = None
            continue
        texts[raw] = raw.translate(_HALFWIDTH).strip()
        values[raw] = lookup(folded)
    col = pl.col(column)
    return (col.replace_strict(texts, default=None, return_dtype=pl.Utf8).alias(f"_t_{column}"),
            col.replace_strict(values, default=None, return_dtype=dtype).alias(f"_v_{column}"))


def validate_accounts(raw: RawTable | pl.DataFrame, source_name: str | None = None, *,
                      colmap: ColumnMap | None = None) -> Validated:
    """Split a customer list into accepted accounts and rejected rows (module docstring).

    ``raw``: a :class:`RawTable` from :func:`read_customer_file`, or a DataFrame whose column
    names are headers (English or aliases) and whose values are of any type.
    ``source_name``: how messages name the input (default: the RawTable's source).
    """
    colmap = colmap or load_column_map()
    table = _as_raw_table(raw, source_name, colmap)
    source = source_name or table.source
    missing = [c for c in REQUIRED_COLUMNS if c not in table.frame.columns]
    if missing:
        raise InputFileError(source, "missing required column(s): " +
                             "; ".join(colmap.describe_column(c) for c in missing))
    provinces = _province_lookup()
    frame = table.frame
    if FIRST_ROW_COLUMN not in frame.columns:     # a whole list: its duplicates are found within it
        frame = AccountIds(colmap).mark(frame)
    # Columns the file does not have are all-missing text, so one code path serves every file.
    frame = frame.with_columns([pl.lit(None, dtype=pl.Utf8).alias(c) for c in INPUT_COLUMNS
                                if c not in frame.columns])
    rules = _Rules(table.headers)
    missing_spellings = _case_variants(colmap.missing_values)

    # What each numeric column needs (non-ASCII -> half-width pass; commas; percent signs),
    # decided once per column so the common clean file takes the fast path.
    numeric = (*NUMBERS, *SHARES, *FRACTIONS)
    marks = [",", "，", "%", "％"]
    probe = frame.select(
        *[(pl.col(c).str.len_bytes() != pl.col(c).str.len_chars()).any().alias(f"{c}|wide") for c in numeric],
        *[pl.col(c).str.contains_any(marks).any().alias(f"{c}|marks") for c in numeric],
    ).row(0, named=True)
    marked = [c for c in numeric if probe[f"{c}|marks"]]
    if marked:     # rare: tell commas from percent signs, for those columns only
        probe.update(frame.select(
            *[pl.col(c).str.contains_any([",", "，"]).any().alias(f"{c}|comma") for c in marked],
            *[pl.col(c).str.contains_any(["%", "％"]).any().alias(f"{c}|pct") for c in marked],
        ).row(0, named=True))

    # Stage 1: trimmed text (NULL when missing) and the coded values. Trimming is its own
    # step so the missing-marker test reads the trimmed column instead of trimming again.
    def trimmed(column: str) -> pl.Expr:
        text = pl.col(column)
        if probe.get(f"{column}|wide"):
            text = text.str.replace_many(FULLWIDTH, HALFWIDTH)
        return text.str.strip_chars().alias(f"_t_{column}")

    def present(column: str) -> pl.Expr:
        text = _t(column)
        return pl.when((text != "") & ~text.is_in(missing_spellings)).then(text).alias(f"_t_{column}")

    stage1 = [trimmed(c) for c in (*FREE_TEXT, *numeric)]
    mv = colmap.missing_values
    for column, lookup, dtype in (
        ("province", lambda k: provinces.get(k.casefold()), pl.Utf8),
        ("customer_type", lambda k: colmap.customer_types.get(_vkey(k)), pl.Utf8),
        ("pv_mode", lambda k: colmap.pv_modes.get(_vkey(k)), pl.Utf8),
        ("repayment", lambda k: colmap.repayments.get(_vkey(k)), pl.Utf8),
        *[(c, lambda k: colmap.booleans.get(_vkey(k)), pl.Boolean) for c in BOOLEAN_DEFAULTS],
    ):
        stage1 += _coded(frame, column, lookup, mv, dtype)
    lf = frame.lazy().with_columns(stage1).with_columns([present(c) for c in (*FREE_TEXT, *numeric)])

    # Stage 2: parsed numbers.
    parsed = [_number(_t(c), probe.get(f"{c}|comma", False)).alias(f"_v_{c}") for c in NUMBERS]
    parsed += [_fraction(_t(c), probe.get(f"{c}|comma", False), probe.get(f"{c}|pct", False)).alias(f"_v_{c}")
               for c in (*SHARES, *FRACTIONS)]
    lf = lf.with_columns(parsed)

    def given(column: str) -> pl.Expr:
        return _t(column).is_not_null()

    def unparsed(column: str) -> pl.Expr:
        return given(column) & _v(column).is_null()

    # Stage 3: the rules, in contract column order.
    if SURPLUS_COLUMN in frame.columns:
        rules.add(ROW_COLUMN, pl.col(SURPLUS_COLUMN).is_not_null(),
                  pl.lit("the row has more fields than the header (extra ") + _quoted(pl.col(SURPLUS_COLUMN)) +
                  pl.lit(" after the last column): a value probably contains an unquoted comma, "
                         "which shifts the columns"),
                  value=pl.col(SURPLUS_COLUMN))
    rules.required("account_id")
    rules.required("name")
    rules.required("province")
    rules.value_rule("province", unparsed("province"),
                     "one of the 31 mainland provinces, as full name (江苏省), short name (江苏) or pinyin (Jiangsu)")
    rules.required("customer_type")
    rules.value_rule("customer_type", unparsed("customer_type"),
                     "large_industrial (大工业), general_commercial (一般工商业) or residential (居民)")
    rules.required("annual_kwh")
    kwh_ok = (_v("annual_kwh") > 0).fill_null(False) & (_v("annual_kwh") <= MAX_ANNUAL_KWH).fill_null(False)
    rules.value_rule("annual_kwh", given("annual_kwh") & ~kwh_ok, f"a number > 0 and at most {MAX_ANNUAL_KWH:.0e}")
    rules.value_rule("annual_bill_yuan", given("annual_bill_yuan")
                     & ~((_v("annual_bill_yuan") >= 0) & (_v("annual_bill_yuan") <= MAX_BILL_YUAN)).fill_null(False),
                     f"a number >= 0 and at most {MAX_BILL_YUAN:.0e}")
    pv_ok = (_v("existing_pv_kwh") >= 0).fill_null(False)
    rules.value_rule("existing_pv_kwh", given("existing_pv_kwh") & ~pv_ok, "a number >= 0")
    rules.add("existing_pv_kwh", pv_ok & kwh_ok & (_v("existing_pv_kwh") > _v("annual_kwh")),
              pl.lit(f"{rules.label('existing_pv_kwh')} must not exceed annual_kwh (") + _quoted(_t("annual_kwh"))
              + pl.lit("), got ") + _quoted(_t("existing_pv_kwh")))

    share_ok = {c: ((_v(c) >= 0) & (_v(c) <= 1)).fill_null(False) for c in SHARES}
    for c in SHARES:
        rules.value_rule(c, given(c) & ~share_ok[c], "a fraction between 0 and 1 (e.g. 0.3 or 30%)")
    any_share = pl.any_horizontal([given(c) for c in SHARES])
    all_shares_ok = pl.all_horizontal([~given(c) | share_ok[c] for c in SHARES])
    share_sum = pl.sum_horizontal([_v(c).fill_null(0.0) for c in SHARES])
    rules.add(SHARES_COLUMN, any_share & all_shares_ok & ((share_sum - 1.0).abs() > 0.01),
              pl.lit("the TOU shares (sharp + peak + flat + valley) must add up to 1 (±0.01), got a sum of ")
              + share_sum.round(4).cast(pl.Utf8),
              value=pl.concat_str([pl.lit(f"{c.removeprefix('share_')}=") + _t(c).fill_null("")
                                   for c in SHARES], separator=", "))

    for c in BOOLEAN_DEFAULTS:
        rules.value_rule(c, unparsed(c), "yes or no (true/false, 1/0, Y/N, 是/否)")
    for c, (low, low_inclusive, high, wording) in FRACTIONS.items():
        above_low = (_v(c) >= low) if low_inclusive else (_v(c) > low)
        rules.value_rule(c, given(c) & ~(above_low & (_v(c) <= high)).fill_null(False), wording)
    rules.value_rule("roof_area_m2", given("roof_area_m2")
                     & ~((_v("roof_area_m2") >= 0) & (_v("roof_area_m2") <= MAX_ROOF_M2)).fill_null(False),
                     f"a number >= 0 and at most {MAX_ROOF_M2:.0e}")
    rules.value_rule("pv_mode", unparsed("pv_mode"), "self (自投), third_party (第三方) or none (无)")
    years = _v("loan_years")
    years_ok = (years == years.round(0)) & (years >= 1) & (years <= 25)
    rules.value_rule("loan_years", given("loan_years") & ~years_ok.fill_null(False),
                     "a whole number of years from 1 to 25")
    rules.value_rule("repayment", unparsed("repayment"), "annuity (等额本息) or interest_only (先息后本)")
    duplicate = pl.col(FIRST_ROW_COLUMN).is_not_null()
    rules.add("account_id", duplicate,
              pl.lit("duplicate account_id ") + _quoted(_t("account_id")) + pl.lit(": first seen in row ")
              + pl.col("_first_row").cast(pl.Utf8) + pl.lit(", which is kept; this row is ignored"))

    checked = rules.flags(lf).collect()

    # Reasons are built for the rejected rows only: on a clean million-row file that is nothing.
    accounts = (checked.lazy().filter(~pl.col("_bad")).select(_account_columns())
                .select([pl.col(c).cast(dtype) for c, (dtype, _) in ACCOUNT_SCHEMA.items()]).collect())
    failed = checked.filter(pl.col("_bad")) if checked["_bad"].any() else checked.clear()
    rejects = failed.select(pl.col("row_number"), pl.col("account_id").fill_null(""), *rules.summary())
    rejects = rejects.select([pl.col(c).cast(dtype) for c, dtype in REJECT_SCHEMA.items()])
    files = {"input/columns.yaml": colmap.sha256} if colmap.sha256 else {}
    return Validated(accounts=accounts, rejects=rejects, rows_read=frame.height, source=source, data_files=files,
                     input_sha256=table.sha256)


def _account_columns() -> list[pl.Expr]:
    """The accepted accounts in ACCOUNT_SCHEMA order, defaults filled (module docstring)."""
    v = _v

    def number(c: str) -> pl.Expr:
        return v(c) + 0.0          # + 0.0 turns a parsed "-0" into 0.0

    share_sum = pl.sum_horizontal([v(c).fill_null(0.0) for c in SHARES])
    any_share = pl.any_horizontal([_t(c).is_not_null() for c in SHARES])
    exprs = [
        pl.col("row_number"),
        _t("account_id").alias("account_id"),
        _t("name").alias("name"),
        v("province").alias("province"),
        v("customer_type").alias("customer_type"),
        _t("industry").alias("industry"),
        number("annual_kwh").alias("annual_kwh"),
        number("annual_bill_yuan").alias("annual_bill_yuan"),
        number("existing_pv_kwh").fill_null(0.0).alias("existing_pv_kwh"),
    ]
    exprs += [pl.when(any_share).then(v(c).fill_null(0.0) / share_sum).otherwise(pl.lit(_FLAT_ONLY[c]))
              .alias(c) for c in SHARES]
    exprs += [(v(c) if default is None else v(c).fill_null(default)).alias(c)
              for c, default in BOOLEAN_DEFAULTS.items()]
    exprs += [
        number("renewable_target").alias("renewable_target"),
        number("roof_area_m2").fill_null(0.0).alias("roof_area_m2"),
        v("pv_mode").alias("pv_mode"),
        number("loan_ratio").alias("loan_ratio"),
        number("loan_rate").alias("loan_rate"),
        v("loan_years").cast(pl.Int64).alias("loan_years"),
        v("repayment").alias("repayment"),
        number("third_party_discount").alias("third_party_discount"),
        number("market_share").alias("market_share"),
        _t("sales_rep").alias("sales_rep"),
    ]
    return exprs


def load_accounts(path: str | Path, sheet: str | int | None = None) -> Validated:
    """Read and validate one customer file; raises :class:`InputFileError` if it is unreadable."""
    colmap = load_column_map()
    return validate_accounts(read_customer_file(path, sheet, colmap=colmap), colmap=colmap)
