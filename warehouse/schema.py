"""What the warehouse's tables hold and the checks a frame passes before it is stored.

Every data table carries ``run_id`` as its first column: history is kept by run. The tables
whose columns the contract fixes (accounts, rejects, segments, offers) are created up front;
``results`` and ``scenarios`` start with their key columns and grow from the frames the cost
model hands over (``ALTER TABLE ADD COLUMN`` for a column a later version adds; rows are inserted
``BY NAME``), so a new results column never breaks an existing database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
import polars as pl

from core.vocabulary import OFFER_STATUS_CODES
from intake.schema import ACCOUNT_SCHEMA, REJECT_SCHEMA

from .errors import FrameError, WarehouseError

SCHEMA_VERSION = 1

RUN_KINDS = ("nightly", "campaign", "adhoc")
RUN_STATUSES = ("running", "succeeded", "failed", "cancelled")
COUNT_COLUMNS = ("rows_read", "rows_accepted", "rows_rejected",
                 "offers_rendered", "offers_skipped", "offers_failed")
OFFER_STATUSES = OFFER_STATUS_CODES   # held_out: an experiment's control arm, no PDF

# runs: one row per run attempt. Timestamps are TIMESTAMPTZ (shown in the session's time zone).
RUNS_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "kind": "VARCHAR",
    "campaign": "VARCHAR",
    "started_at": "TIMESTAMPTZ",
    "finished_at": "TIMESTAMPTZ",
    "status": "VARCHAR",
    "input_path": "VARCHAR",
    "input_sha256": "VARCHAR",
    "rows_read": "BIGINT",
    "rows_accepted": "BIGINT",
    "rows_rejected": "BIGINT",
    "assumptions": "JSON",
    "rules_version": "VARCHAR",
    "code_version": "VARCHAR",
    "offers_rendered": "BIGINT",
    "offers_skipped": "BIGINT",
    "offers_failed": "BIGINT",
    "error": "VARCHAR",
    # beyond outputs.md: where the offers went (incremental rendering) and who ran it
    "output_folder": "VARCHAR",
    "host": "VARCHAR",
    "pid": "BIGINT",
    "storage_version": "VARCHAR",   # DuckDB storage version the run published in (storage.py)
}

REASON = pl.Struct({"code": pl.String, "text": pl.String})


@dataclass(frozen=True)
class TableSpec:
    key: tuple[str, ...] = ()                  # unique within one run_id; never NULL
    base: dict[str, pl.DataType] = field(default_factory=dict)   # created up front, in this order
    required: tuple[str, ...] = ()             # every frame must carry these


TABLES: dict[str, TableSpec] = {
    "accounts": TableSpec(
        key=("account_id",),
        base={**{k: v[0] for k, v in ACCOUNT_SCHEMA.items()},
              "industry_group": pl.String, "industry_family": pl.String},
        required=(*ACCOUNT_SCHEMA, "industry_group")),
    "rejects": TableSpec(base=dict(REJECT_SCHEMA), required=tuple(REJECT_SCHEMA)),
    # results/scenarios: only the key columns are fixed here; the rest comes from the frames
    "results": TableSpec(
        key=("account_id",),
        base={"account_id": pl.String, "province": pl.String, "customer_type": pl.String},
        required=("account_id",)),
    "scenarios": TableSpec(
        key=("account_id", "pv_mode"),
        base={"account_id": pl.String, "pv_mode": pl.String},
        required=("account_id", "pv_mode")),
    "segments": TableSpec(
        key=("account_id",),
        base={"account_id": pl.String, "segment": pl.String,
              "secondary_segments": pl.List(pl.String), "reasons": pl.List(REASON),
              "rules_version": pl.String},
        required=("account_id", "segment")),
    "offers": TableSpec(
        key=("account_id",),
        base={"account_id": pl.String, "path": pl.String, "sha256": pl.String, "bytes": pl.Int64,
              "pages": pl.Int64, "content_hash": pl.String, "status": pl.String, "error": pl.String,
              # the closed loop (loop.md): experiment arm, and the document's number and dates
              "experiment": pl.String, "edition": pl.String, "offer_no": pl.String,
              "issued_on": pl.Date, "valid_until": pl.Date,
              # incremental rendering: the offer's input hash and its file's mtime (offers/inputhash.py)
              "input_hash": pl.String, "file_mtime_ns": pl.Int64},
        required=("account_id", "status")),
}

INTERNAL_TABLES = ("runs", "warehouse_meta")
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def spec_for(table: str, view_names: tuple[str, ...]) -> TableSpec:
    if table in TABLES:
        return TABLES[table]
    if not TABLE_NAME.match(table) or table in INTERNAL_TABLES or table in view_names:
        raise FrameError(f"cannot write table {table!r}: use one of {', '.join(TABLES)} "
                         "or a new lower_case name that is not runs, warehouse_meta or a view")
    return TableSpec()  # an extra table the pipeline adds later: created from its frame


# ---------------------------------------------------------------- database side

def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table or view in ``main``; empty when there is none.

    Checks existence first: inside a transaction a failed lookup would abort the transaction."""
    found = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = $1 UNION ALL SELECT 1 FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND view_name = $1", [table]).fetchone()
    if not found:
        return {}
    literal = "'" + table.replace("'", "''") + "'"  # pragma_table_info: ~10x faster than information_schema
    return {name: typ for name, typ, *_ in con.execute(f"SELECT name, type FROM pragma_table_info({literal})").fetchall()}


def base_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT temporary ORDER BY table_name").fetchall()]


def run_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Data tables keyed by run (everything with a run_id column except runs)."""
    return [t for t in base_tables(con) if t not in INTERNAL_TABLES and "run_id" in table_columns(con, t)]


def all_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Lower-cased column names of every table in ``main`` (one catalog query)."""
    out: dict[str, set[str]] = {}
    for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main'").fetchall():
        out.setdefault(table, set()).add(column.lower())
    return out


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade the fixed part of the schema (idempotent; cheap when nothing is missing)."""
    have = all_columns(con)
    if "warehouse_meta" not in have:
        con.execute("CREATE TABLE warehouse_meta (key VARCHAR, value VARCHAR)")
    if check_schema_version(con) is None:
        con.execute("INSERT INTO warehouse_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    if "runs" not in have:
        cols = ", ".join(f"{q(c)} {t}" for c, t in RUNS_COLUMNS.items())
        con.execute(f"CREATE TABLE runs ({cols})")
    else:
        for c, t in RUNS_COLUMNS.items():
            if c not in have["runs"]:
                con.execute(f"ALTER TABLE runs ADD COLUMN {q(c)} {t}")
    for name, spec in TABLES.items():
        if name in have and {"run_id", *spec.base} <= have[name]:
            continue
        empty = pl.DataFrame(schema={"run_id": pl.String, **spec.base})
        con.register("_wh_base", empty)
        try:
            if name not in have:
                con.execute(f"CREATE TABLE {q(name)} AS SELECT * FROM _wh_base")
            else:
                add_missing_columns(con, name, "_wh_base")
        finally:
            con.unregister("_wh_base")


def check_schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The file's schema version (None when not recorded); refuses one newer than this code."""
    row = con.execute("SELECT value FROM warehouse_meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise WarehouseError(f"the warehouse has schema version {row[0]}, newer than this code "
                             f"understands ({SCHEMA_VERSION}); upgrade greenpower")
    return None if row is None else int(row[0])


def add_missing_columns(con: duckdb.DuckDBPyConnection, table: str, relation: str,
                        have: dict[str, str] | None = None) -> list[str]:
    """ALTER TABLE ADD COLUMN for every column of ``relation`` that ``table`` lacks."""
    have_lower = {c.lower() for c in (have if have is not None else table_columns(con, table))}
    incoming = [d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]
    if all(c.lower() in have_lower for c in incoming):
        return []
    added = []
    for name, typ, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall():
        if name.lower() in have_lower:
            continue
        if typ.strip('"') == "NULL":
            raise FrameError(f"{table}: new column {name!r} has no type (all values null, dtype Null); "
                             "cast it to its real dtype before writing")
        con.execute(f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {typ}")
        added.append(name)
    return added


# ---------------------------------------------------------------- frame side

def _examples(frame: pl.DataFrame, mask: pl.Expr, key: tuple[str, ...]) -> str:
    cols = [c for c in (key or ("account_id", "row_number")) if c in frame.columns] or frame.columns[:1]
    rows = frame.filter(mask).select(cols).head(5).rows()
    return ", ".join(str(r[0]) if len(r) == 1 else str(r) for r in rows)


def prepare_frame(table: str, frame: pl.DataFrame, run_id: str, spec: TableSpec) -> pl.DataFrame:
    """Validate ``frame`` for ``table`` and return it with ``run_id`` as its first column."""
    if not isinstance(frame, pl.DataFrame):
        raise FrameError(f"{table}: expected a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        raise FrameError(f"{table}: frame lacks required column(s) {', '.join(missing)}")
    lowered: dict[str, str] = {}
    for c in frame.columns:
        if c.lower() in lowered:  # DuckDB identifiers ignore case
            raise FrameError(f"{table}: columns {lowered[c.lower()]!r} and {c!r} differ only in case")
        lowered[c.lower()] = c
    if "run_id" in frame.columns:
        other = frame.filter(pl.col("run_id") != run_id)["run_id"].unique().head(3).to_list()
        if other or frame["run_id"].null_count():
            raise FrameError(f"{table}: frame has run_id values {other or [None]} but is written by run {run_id}")
        frame = frame.drop("run_id")
    frame = frame.select(pl.lit(run_id, dtype=pl.String).alias("run_id"), pl.all())
    if frame.height == 0:
        return frame

    if spec.key:
        nulls = [k for k in spec.key if frame[k].null_count()]
        if nulls:
            raise FrameError(f"{table}: key column(s) {', '.join(nulls)} have NULL values")
        key = pl.struct(list(spec.key))
        # distinct hashes prove distinct keys (fast); only equal hashes need the exact check
        n_dup = 0
        if frame.select(key.hash(seed=0).n_unique()).item() < frame.height:
            dup = key.is_duplicated()
            n_dup = frame.select(dup.sum()).item()
        if n_dup:
            raise FrameError(f"{table}: {n_dup} rows share a key ({', '.join(spec.key)}) within run {run_id}, "
                             f"e.g. {_examples(frame, dup, spec.key)}")

    floats = [c for c, t in frame.schema.items() if t in (pl.Float32, pl.Float64)]
    if floats:
        counts = frame.select((~pl.col(c).is_finite()).sum().alias(c) for c in floats).row(0, named=True)
        bad = {c: n for c, n in counts.items() if n}
        if bad:
            c0 = next(iter(bad))
            raise FrameError(
                f"{table}: NaN/inf in float column(s) "
                + ", ".join(f"{c} ({n} rows)" for c, n in bad.items())
                + f"; e.g. {c0} at {_examples(frame, ~pl.col(c0).is_finite(), spec.key)}. "
                "Store NULL with a flag instead.")

    if table == "offers":
        bad_status = frame.filter(~pl.col("status").is_in(OFFER_STATUSES) | pl.col("status").is_null())
        if bad_status.height:
            raise FrameError(f"offers: status must be one of {', '.join(OFFER_STATUSES)}; got "
                             f"{bad_status['status'].unique().head(3).to_list()}")
    return frame
