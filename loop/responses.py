"""Import a CRM export of offer outcomes: every row ends in ``responses`` or ``response_rejects``.

A file (CSV in UTF-8/GBK/GB18030 — the customer list's strict encoding detection —, ``.xlsx`` or
Parquet; the first row names the columns, Chinese or English: ``data/loop/response_columns.yaml``)
holds per row the offer it answers — its response code ``GP-XXXX-XXXX-XXXX-CC`` (offer number and
check code, as printed on the PDF and carried by the QR code), or the account (户号) and the date,
which credits the account's latest offer issued on or before that date (how a control account's
organic purchase comes in) — and ``outcome`` (accepted / meeting / declined / no_response, or the
Chinese words), ``responded_on``, optional ``contracted_kwh``, ``package`` and ``note``.

A row is refused, with file, row, column, value and reason for each problem, when: the offer number
is malformed or unknown, its check code is wrong (a typo must not credit somebody else's offer), it
has no check code and no matching account beside it, it belongs to another account than the row
names, no offer went to the account by that date, the date is not a date, lies before the offer was
issued or in the future, the outcome is unknown, the kWh is not a number ≥ 0, or the note is longer
than the limit or contains markup. Refused rows change nothing else.

Idempotent by content: a file already imported (same SHA-256) adds nothing, and a row whose content
(offer, outcome, date, kWh, package, note) is already stored is counted as a duplicate and skipped.
A later response for the same offer supersedes the earlier one in ``responses_current``; both stay in
``responses``. The import is one transaction published atomically (``loop.store``), after which the
loop's views and ``edition_stats`` are refreshed in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from core.datafiles import DataFileError, data_dir, read_yaml
from intake.columns import header_key, value_key
from intake.encoding import decode_text
from intake.errors import InputFileError
from intake.load import _kind as file_kind          # the customer list's format sniffing (magic bytes)
from intake.load import _first_line, _reraise_unless_library_failure, read_input_bytes
from loop.config import LoopConfig, load_loop_config
from loop.store import loop_transaction, new_import_id
from loop.views import create_loop_views, refresh

COLUMNS_FILE = Path("loop") / "response_columns.yaml"
FIELDS = ("offer_no", "account_id", "outcome", "responded_on", "contracted_kwh", "package", "note")
OUTCOMES = ("accepted", "meeting", "declined", "no_response")
_MARKUP = r"<[^>]*>|&[#A-Za-z0-9]+;"
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_VALUE_MAX = 500
REJECT_SCHEMA = {"row_number": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}


@dataclass(frozen=True)
class ResponseColumns:
    headers: dict[str, str]          # header_key -> field
    outcomes: dict[str, str]         # value_key -> outcome code
    outcome_words: dict[str, list[str]]
    note_chars: int
    package_chars: int
    sha256: str


def load_response_columns(path: str | Path | None = None) -> ResponseColumns:
    """Read and validate ``data/loop/response_columns.yaml``; errors name the file and key."""
    path = Path(path) if path else data_dir() / COLUMNS_FILE
    doc = read_yaml(path)
    c = doc.content
    if not isinstance(c, dict) or not isinstance(c.get("columns"), dict) or not isinstance(c.get("outcomes"), dict):
        raise DataFileError(f"{path}: must be a mapping with columns, outcomes and limits")
    headers: dict[str, str] = {}
    for name, words in c["columns"].items():
        if name not in FIELDS:
            raise DataFileError(f"{path}: columns.{name}: unknown column; use {', '.join(FIELDS)}")
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise DataFileError(f"{path}: columns.{name}: must be a list of header words (text)")
        for w in [name, *words]:
            if headers.setdefault(header_key(w), name) != name:
                raise DataFileError(f"{path}: columns.{name}: {w!r} already names {headers[header_key(w)]}")
    outcomes: dict[str, str] = {}
    for code, words in c["outcomes"].items():
        if code not in OUTCOMES:
            raise DataFileError(f"{path}: outcomes.{code}: unknown outcome; use {', '.join(OUTCOMES)}")
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise DataFileError(f"{path}: outcomes.{code}: must be a list of words (text; quote yes/no)")
        for w in [code, *words]:
            if outcomes.setdefault(value_key(w), code) != code:
                raise DataFileError(f"{path}: outcomes.{code}: {w!r} already means {outcomes[value_key(w)]}")
    limits = c.get("limits") or {}
    for key in ("note_chars", "package_chars"):
        if not isinstance(limits.get(key, 1), int) or limits.get(key, 1) < 1:
            raise DataFileError(f"{path}: limits.{key}: must be a whole number >= 1")
    return ResponseColumns(headers, outcomes, {k: list(v) for k, v in c["outcomes"].items()},
                           int(limits.get("note_chars", 200)), int(limits.get("package_chars", 100)), doc.sha256)


# ------------------------------------------------------------------------------------------------ reading

def _separator(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max((",", "\t", ";", "|"), key=first.count)


def read_response_file(path: str | Path, colmap: ResponseColumns) -> tuple[pl.DataFrame, str, str]:
    """(frame of text cells with ``row_number`` and the fields found, file SHA-256, format).

    ``row_number`` counts like a spreadsheet: the header is row 1, the first data row is row 2.
    Raises :class:`InputFileError` naming the file when it cannot be read as a response table.
    """
    import hashlib

    path = Path(path)
    raw = read_input_bytes(path)
    kind = file_kind(raw)
    try:
        if kind == "excel":
            frame = pl.read_excel(io.BytesIO(raw), engine="calamine", infer_schema_length=0)
        elif kind == "parquet":
            frame = pl.read_parquet(io.BytesIO(raw))
        else:
            text = decode_text(raw, path).text
            frame = pl.read_csv(text.encode("utf-8"), separator=_separator(text), infer_schema=False,
                                truncate_ragged_lines=True)
    except InputFileError:
        raise
    except BaseException as exc:  # noqa: BLE001 - a reader's error or panic about the file, on one line;
        _reraise_unless_library_failure(exc)   # a cancelled import or a bug passes through (as for customer lists)
        raise InputFileError(path, f"it is not a readable {kind} table: {_first_line(exc)}") from None
    found: dict[str, str] = {}
    for name in frame.columns:
        key = header_key(re.sub(r"[(（\[【].*$", "", name)) or header_key(name)
        field = colmap.headers.get(header_key(name)) or colmap.headers.get(key)
        if field is None:
            continue
        if field in found:
            raise InputFileError(path, f'columns "{found[field]}" and "{name}" both mean {field}; keep only one')
        found[field] = name
    missing = [f for f in ("outcome", "responded_on") if f not in found]
    if "offer_no" not in found and "account_id" not in found:
        missing.insert(0, "offer_no (方案编号) or account_id (户号)")
    if missing:
        raise InputFileError(path, f"missing column(s): {', '.join(missing)}. Headers found: "
                                   + ", ".join(f'"{c}"' for c in frame.columns))
    cols = [pl.col(found[f]).cast(pl.String).alias(f) if f in found else pl.lit(None, pl.String).alias(f)
            for f in FIELDS]
    out = frame.select(cols).with_row_index("row_number", offset=2).with_columns(pl.col("row_number").cast(pl.Int64))
    out = out.with_columns(pl.col(f).str.strip_chars().replace("", None) for f in FIELDS)
    blank = pl.all_horizontal(pl.col(f).is_null() for f in FIELDS)
    return out.filter(~blank), hashlib.sha256(raw).hexdigest(), kind


# ------------------------------------------------------------------------------------------------ checking

def _parse_dates(col: pl.Expr) -> pl.Expr:
    text = (col.str.replace_all(r"[年月/.]", "-").str.replace_all("日", "")
            .str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})", 1))
    compact = col.str.extract(r"^(\d{8})$", 1).str.to_date("%Y%m%d", strict=False)
    return pl.coalesce(text.str.to_date("%Y-%m-%d", strict=False), compact)


_ISO = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ISO_VALUE = {c: i for i, c in enumerate(_ISO)}
_ISO_CHAR = {i: c for i, c in enumerate(_ISO)}


def offer_numbers(texts: pl.Series) -> pl.DataFrame:
    """Per distinct text: ``offer_no``, ``check`` (as given, or NULL) and ``problem`` — column-wise, the
    same answers as :func:`offers.offer_number.parse_response_code` plus the check-code verification
    (tested against it), so that a million codes take a fraction of a second instead of ten."""
    df = pl.DataFrame({"text": texts.unique()})
    compact = pl.col("text").str.to_uppercase().str.replace_all(r"[\s\-_.]", "")
    body = compact.str.extract(r"^GP([0-9A-Z]{12})(?:[0-9A-Z]{2})?$", 1)
    df = df.with_columns(body.alias("_raw"), compact.str.extract(r"^GP[0-9A-Z]{12}([0-9A-Z]{2})$", 1).alias("check"))
    df = df.with_columns(pl.col("_raw").str.replace_all("O", "0").str.replace_all("I", "1").str.replace_all("L", "1")
                         .alias("_body"))
    b = pl.col("_body")
    df = df.with_columns(pl.concat_str([pl.lit("GP-"), b.str.slice(0, 4), pl.lit("-"), b.str.slice(4, 4), pl.lit("-"),
                                        b.str.slice(8, 4)]).alias("offer_no"))
    # ISO/IEC 7064 MOD 1271-36 over "GP" + body, as offers.offer_number.check_code: its recursion
    # p <- (p + v) * 36 over the 14 characters, then p <- p * 36, equals 36² · V (mod 1271) where V is the
    # text read as one base-36 number (character values are the base-36 digits); V is read in two halves
    # of 7 digits to stay within 64 bits
    text = pl.lit("GP") + b
    hi = text.str.slice(0, 7).str.to_integer(base=36, strict=False)
    lo = text.str.slice(7, 7).str.to_integer(base=36, strict=False)
    v_mod = ((hi % 1271) * (36**7 % 1271) + lo % 1271) % 1271
    expected = (1272 - (v_mod * 1296) % 1271) % 1271
    df = df.with_columns(pl.concat_str([(expected // 36).replace_strict(_ISO_CHAR, return_dtype=pl.String),
                                        (expected % 36).replace_strict(_ISO_CHAR, return_dtype=pl.String)])
                         .alias("_expected"))
    problem = (pl.when(pl.col("_raw").is_null())
               .then(pl.format("not an offer number: {} (expected GP-XXXX-XXXX-XXXX-CC)", pl.col("text")))
               .when(b.str.contains("U")).then(pl.lit("not an offer number: it never contains the letter U"))
               .when(pl.col("check").is_not_null() & (pl.col("check") != pl.col("_expected")))
               .then(pl.format("wrong check code {} (the number or the code has a typo); nothing was credited",
                               pl.col("check"))))
    return df.select("text", pl.when(pl.col("_raw").is_not_null()).then("offer_no").alias("offer_no"),
                     "check", problem.alias("problem"))


def check_rows(rows: pl.DataFrame, offers: pl.DataFrame, colmap: ResponseColumns,
               today: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split read rows into (accepted responses, rejects).

    ``offers``: every offer a response may answer (offer_no, account_id, issued_on) — ``loop_offers``.
    Accepted columns: row_number, offer_no, account_id (the offer's), outcome, responded_on,
    contracted_kwh, package, note. Rejects: row_number, column, value, reason (one line per problem).
    """
    df = rows.with_columns(
        pl.col("outcome").replace_strict({v: colmap.outcomes.get(value_key(v)) for v in
                                          rows["outcome"].drop_nulls().unique().to_list()},
                                         default=None, return_dtype=pl.String).alias("_outcome"),
        _parse_dates(pl.col("responded_on")).alias("_date"),
        pl.col("contracted_kwh").str.replace_all(r"[,，\s]", "").cast(pl.Float64, strict=False).alias("_kwh"),
    )
    # offer numbers: parsed once per distinct text, column-wise
    lookup = offer_numbers(df["offer_no"].drop_nulls()).select(
        pl.col("text").alias("offer_no"), pl.col("offer_no").alias("_no"), pl.col("check").alias("_check"),
        pl.col("problem").alias("_no_problem"))
    df = df.join(lookup, on="offer_no", how="left")
    known = offers.select(pl.col("offer_no").alias("_no"), pl.col("account_id").alias("_owner"),
                          pl.col("issued_on").alias("_issued"))
    df = df.join(known, on="_no", how="left")
    # rows without an offer number: the account's latest offer issued on or before the date
    by_account = (offers.filter(pl.col("issued_on").is_not_null())
                  .select(pl.col("account_id").alias("_acc"), pl.col("issued_on").alias("_date"),
                          pl.col("offer_no").alias("_asof_no"), pl.col("issued_on").alias("_asof_issued"))
                  .sort("_date"))        # globally by the as-of key, hence within every account too
    need = df.filter(pl.col("offer_no").is_null() & pl.col("account_id").is_not_null() & pl.col("_date").is_not_null())
    if need.height:
        matched = (need.select("row_number", pl.col("account_id").alias("_acc"), "_date").sort("_date")
                   .join_asof(by_account, on="_date", by="_acc", strategy="backward", check_sortedness=False)
                   .select("row_number", "_asof_no", "_asof_issued"))
        df = df.join(matched, on="row_number", how="left")
    else:
        df = df.with_columns(pl.lit(None, pl.String).alias("_asof_no"), pl.lit(None, pl.Date).alias("_asof_issued"))
    df = df.with_columns(
        pl.coalesce("_no", "_asof_no").alias("_offer"),
        pl.coalesce("_owner", pl.when(pl.col("_asof_no").is_not_null()).then(pl.col("account_id"))).alias("_owner"),
        pl.coalesce("_issued", "_asof_issued").alias("_issued"))

    note_len, pkg_len = colmap.note_chars, colmap.package_chars
    words = "/".join(w for code in OUTCOMES for w in [code, *colmap.outcome_words.get(code, [])[:1]])
    problems = [
        ("offer_no", pl.col("_no_problem").is_not_null(), pl.col("_no_problem")),
        ("offer_no", pl.col("_no").is_not_null() & pl.col("_no_problem").is_null() & pl.col("_owner").is_null(),
         pl.lit("unknown offer number: no offer with this number was issued")),
        ("offer_no", pl.col("_no").is_not_null() & pl.col("_no_problem").is_null() & pl.col("_owner").is_not_null()
         & pl.col("_check").is_null() & (pl.col("account_id").is_null() | (pl.col("account_id") != pl.col("_owner"))),
         pl.lit("check code missing: give the full response code GP-XXXX-XXXX-XXXX-CC printed on the offer, "
                "or the account (户号) beside the number")),
        ("account_id", pl.col("_no").is_not_null() & pl.col("_owner").is_not_null() & pl.col("_check").is_not_null()
         & pl.col("account_id").is_not_null() & (pl.col("account_id") != pl.col("_owner")),
         pl.lit("the offer was issued to another account")),
        ("account_id", pl.col("offer_no").is_null() & pl.col("account_id").is_null(),
         pl.lit("neither an offer number nor an account: the response cannot be credited")),
        ("account_id", pl.col("offer_no").is_null() & pl.col("account_id").is_not_null() & pl.col("_date").is_not_null()
         & pl.col("_asof_no").is_null(), pl.lit("no offer was issued to this account on or before this date")),
        ("outcome", pl.col("_outcome").is_null(), pl.lit(f"unknown outcome; use one of {words}")),
        ("responded_on", pl.col("_date").is_null(), pl.lit("not a date (use YYYY-MM-DD)")),
        ("responded_on", pl.col("_date").is_not_null() & pl.col("_issued").is_not_null()
         & (pl.col("_date") < pl.col("_issued")),
         pl.format("before the offer was issued ({})", pl.col("_issued").dt.to_string("%Y-%m-%d"))),
        ("responded_on", pl.col("_date") > pl.lit(today), pl.lit(f"in the future (today is {today.isoformat()})")),
        ("contracted_kwh", pl.col("contracted_kwh").is_not_null()
         & (pl.col("_kwh").is_null() | ~pl.col("_kwh").is_finite() | (pl.col("_kwh") < 0)),
         pl.lit("not a number of kWh >= 0")),
        ("package", pl.col("package").str.len_chars() > pkg_len,
         pl.format("package is {} characters; at most {}", pl.col("package").str.len_chars(), pl.lit(pkg_len))),
        ("note", pl.col("note").str.len_chars() > note_len,
         pl.format("note is {} characters; at most {}", pl.col("note").str.len_chars(), pl.lit(note_len))),
        ("note", pl.col("note").str.contains(_MARKUP), pl.lit("note contains markup (<…> or &…;); notes are plain text")),
        ("note", pl.col("note").str.contains(_CONTROL) | pl.col("package").str.contains(_CONTROL),
         pl.lit("contains control characters")),
    ]
    rejects = pl.concat([
        df.filter(cond.fill_null(False)).select(
            "row_number", pl.lit(column).alias("column"),
            pl.col(column).str.slice(0, _VALUE_MAX).alias("value"), reason.alias("reason"))
        for column, cond, reason in problems], how="vertical").cast(REJECT_SCHEMA).sort("row_number", "column")
    bad = rejects["row_number"].unique().implode()
    good = df.filter(~pl.col("row_number").is_in(bad)).select(
        "row_number", pl.col("_offer").alias("offer_no"), pl.col("_owner").alias("account_id"),
        pl.col("_outcome").alias("outcome"), pl.col("_date").alias("responded_on"),
        pl.col("_kwh").alias("contracted_kwh"), "package", "note")
    return good, rejects


# ------------------------------------------------------------------------------------------------ importing

@dataclass(frozen=True)
class ImportResult:
    import_id: str | None
    file: str
    rows_read: int
    accepted: int
    duplicates: int
    rejected: int                      # rows (a row with two problems has two reject lines)
    already_imported: str | None = None   # the earlier import of the same file, when nothing was added

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_responses(db_path: str | Path, path: str | Path, *, config: LoopConfig | None = None,
                     colmap: ResponseColumns | None = None, today: dt.date | None = None,
                     lock_timeout_s: float = 600) -> ImportResult:
    """Import one CRM export into the warehouse at ``db_path`` (see the module docstring)."""
    config = config or load_loop_config()
    colmap = colmap or load_response_columns()
    path = Path(path)
    rows, sha, _ = read_response_file(path, colmap)      # before the lock: a bad file costs no copy
    today = today or dt.date.today()
    with loop_transaction(db_path, what="responses import", lock_timeout_s=lock_timeout_s) as con:
        create_loop_views(con, config)                # loop_offers over every published run
        earlier = con.execute("SELECT import_id FROM response_imports WHERE sha256 = ? ORDER BY imported_at LIMIT 1",
                              [sha]).fetchall()
        if earlier:
            return ImportResult(None, str(path), rows.height, 0, 0, 0, already_imported=earlier[0][0])
        offers = con.sql("SELECT offer_no, account_id, issued_on FROM offers_issued").pl()
        good, rejects = check_rows(rows, offers, colmap, today)
        import_id = new_import_id()
        now = dt.datetime.now(dt.timezone.utc)
        added = _insert(con, good, import_id, now)
        if rejects.height:
            con.register("_loop_rej", rejects.to_arrow())
            try:
                con.execute("INSERT INTO response_rejects SELECT ?, ?, row_number, \"column\", value, reason "
                            "FROM _loop_rej", [import_id, str(path)]).fetchall()   # finish the statement
            finally:
                con.unregister("_loop_rej")
        n_rejected = rejects["row_number"].n_unique()
        con.execute("INSERT INTO response_imports VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [import_id, str(path), sha, now, rows.height, added, good.height - added, n_rejected]).fetchall()
        refresh(con, config)
    return ImportResult(import_id, str(path), rows.height, added, good.height - added, n_rejected)


_CONTENT_KEY = ("sha256(concat_ws(chr(31), offer_no, outcome, CAST(responded_on AS VARCHAR), "
                "coalesce(CAST(contracted_kwh AS VARCHAR), ''), coalesce(package, ''), coalesce(note, '')))")


def _insert(con: duckdb.DuckDBPyConnection, good: pl.DataFrame, import_id: str, now: dt.datetime) -> int:
    """Insert the rows whose content is new (not stored before, first occurrence in this file)."""
    if good.height == 0:
        return 0
    content = ["offer_no", "outcome", "responded_on", "contracted_kwh", "package", "note"]
    good = good.unique(subset=content, keep="first", maintain_order=True)   # first occurrence in the file
    con.register("_loop_new", good.to_arrow())
    try:
        before = con.execute("SELECT count(*) FROM responses").fetchall()[0][0]
        con.execute(f"""
            INSERT INTO responses BY NAME
            WITH n AS (SELECT *, {_CONTENT_KEY} AS content_key FROM _loop_new)
            SELECT ? AS import_id, n.row_number, n.offer_no, n.account_id, n.outcome, n.responded_on,
                   n.contracted_kwh, n.package, n.note, n.content_key, ? AS imported_at
            FROM n ANTI JOIN responses r ON r.content_key = n.content_key""", [import_id, now]).fetchall()
        return con.execute("SELECT count(*) FROM responses").fetchall()[0][0] - before
    finally:
        con.unregister("_loop_new")
