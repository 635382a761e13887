"""The dashboard's only way into the warehouse: read-only snapshots of the published file, SQL from ``sql/``.

Every figure the pages show is computed by the SQL files in ``dashboard/sql/`` (layered: ``base.sql`` is
the filtered accounts of one run, ``segment_changes.sql`` builds on it, the page queries on those); the
pages only format. Python here composes the layers, binds parameters and guards the connection.

Locks and consistency (outputs.md "concurrent readers"):

- A snapshot opens the published file read-only on first use and is closed at the end of the page run,
  so the dashboard never holds a lock for long and never a write lock: a nightly run publishes by
  replacing the file (``os.replace``), which readers never block.
- Only successful runs are offered (``runs.status = 'succeeded'``); a run in progress lives in its own
  staging file and a failed one publishes no rows, so no half-written run can be shown.
- The file's identity (device, inode, size, mtime) is taken before connecting and checked after; results
  are cached under it, so a newly published file is a new identity: the next page load sees the new run
  without a restart. DuckDB shares one database instance per path within a process, so snapshots are
  serialised by a process-wide lock: a connection to the old file is closed before one to the new file opens.

Who sees what: :class:`Scope` is the one place a per-user restriction enters (the ``$scope_reps``
predicate and the ``$mask_residents`` name of ``base.sql``, which every account-level query and the offer
lookup go through; a role's scope comes from ``auth.scope_for``). A page must read accounts ``FROM base``
(or a layer built on it), never from the tables directly, to inherit it.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from warehouse.query import connect_read_only

SQL_DIR = Path(__file__).with_name("sql")

# layer name -> SQL file; a query that mentions a layer (FROM base / FROM changes) gets it as a CTE
LAYERS = {"base": "base.sql", "changes": "segment_changes.sql", "summable": "summable.sql"}
# the layer that stands in for `summable` when the run was summed at publish (warehouse/overview.py): 总览 and
# the filter choices then sum a few thousand rows of overview_cube instead of a million accounts
SUMMED = {"summable": "cube.sql"}
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_LEADING_COMMENTS = re.compile(r"^(\s*--[^\n]*\n)*\s*", re.S)

# columns a results table written before "Offers that sell" lacks, and what base.sql shows instead
COMPAT_COLUMNS = {
    "pv_best_mode": "r.pv_mode AS pv_best_mode",
    "pv_breakeven_year": "CAST(NULL AS INTEGER) AS pv_breakeven_year",
    "pv_third_party_npv_yuan": "CAST(NULL AS DOUBLE) AS pv_third_party_npv_yuan",
    "extra_cost_low_yuan": "r.green_cost_low_yuan - r.bill_yuan AS extra_cost_low_yuan",
    "extra_cost_high_yuan": "r.green_cost_high_yuan - r.bill_yuan AS extra_cost_high_yuan",
}

_SNAPSHOT_LOCK = threading.RLock()


class DashboardDataError(Exception):
    """A state of the warehouse the page explains to the user (no database, no successful run …)."""


@dataclass(frozen=True)
class Scope:
    """Who is looking (``auth.scope_for``: a user's role), applied in ``sql/base.sql`` so every page —
    and every page added later that reads ``FROM base`` — follows it.

    ``sales_reps``: only accounts whose ``sales_rep`` is one of these (None: every account);
    ``mask_resident_names``: residents' names shown as ``***``; ``offers``: may open offer PDFs."""

    sales_reps: tuple[str, ...] | None = None
    mask_resident_names: bool = False
    offers: bool = True


@dataclass(frozen=True)
class Filters:
    run_id: str
    segments: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    customer_types: tuple[str, ...] = ()
    sales_reps: tuple[str, ...] = ()
    scope: Scope = field(default_factory=Scope)

    def params(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "segments": list(self.segments), "provinces": list(self.provinces),
                "customer_types": list(self.customer_types), "sales_reps": list(self.sales_reps),
                "scope_reps": None if self.scope.sales_reps is None else list(self.scope.sales_reps),
                "mask_residents": self.scope.mask_resident_names}


@lru_cache(maxsize=None)
def sql_text(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _body(text: str) -> str:
    return _LEADING_COMMENTS.sub("", text, count=1).strip().rstrip(";")


def reads_layer(name: str, layer: str) -> bool:
    return re.search(rf"\b(FROM|JOIN)\s+{layer}\b", _body(sql_text(name)), re.I) is not None


def compose(name: str, compat: tuple[str, ...] = (), summed: bool = False) -> str:
    """The query ``name`` with the layers it reads prepended as CTEs (``compat``: base.sql's stand-ins
    for results columns the database lacks; ``summed``: the layers of ``SUMMED`` read the run's sums)."""
    body = _body(sql_text(name))
    files = {**LAYERS, **(SUMMED if summed else {})}
    needed: list[str] = []

    def need(text: str) -> None:
        for layer in LAYERS:
            if layer not in needed and re.search(rf"\b(FROM|JOIN)\s+{layer}\b", text, re.I):
                need(_body(sql_text(files[layer][:-4])))
                needed.append(layer)
    need(body)
    if not needed:
        return body
    ctes = []
    for layer in needed:
        text = _body(sql_text(files[layer][:-4]))
        if layer == "base" and compat:
            text = text.replace("SELECT r.*,", "SELECT r.*,\n       " + ",\n       ".join(compat) + ",", 1)
        ctes.append(f"{layer} AS (\n{text}\n)")
    if re.match(r"WITH\s", body, re.I):
        return "WITH " + ",\n".join(ctes) + ",\n" + body[4:].lstrip()
    return "WITH " + ",\n".join(ctes) + "\n" + body


def file_identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class FileChanged(Exception):
    """The published file was replaced while a page was being read: read it again."""


class Snapshot:
    """One page run's read-only view of the published file (opened lazily, closed by :meth:`close`)."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self.identity = file_identity(self.db_path)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._compat: tuple[str, ...] | None = None
        self._cube: dict[str, bool] = {}
        self._locked = False

    # ------------------------------------------------------------ connection
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self.identity is None:
                raise DashboardDataError(f"还没有数据库 {self.db_path}：请先运行夜间任务（gp run），或用 --db 指定已发布的数据库。")
            _SNAPSHOT_LOCK.acquire()
            self._locked = True
            try:
                self._con = connect_read_only(self.db_path)
            except Exception as e:  # noqa: BLE001 - a damaged or foreign file: say so on the page
                self.close()
                raise DashboardDataError(f"无法以只读方式打开数据库 {self.db_path}：{e}") from e
            if file_identity(self.db_path) != self.identity:
                self.close()
                raise FileChanged(str(self.db_path))
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._locked:
            self._locked = False
            _SNAPSHOT_LOCK.release()

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ queries
    def has_table(self, name: str) -> bool:
        con = self._connection()
        return con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
                           [name]).fetchall()[0][0] > 0    # fetched to the end: the connection is free again

    def has_relation(self, name: str) -> bool:
        """A table or a view of that name exists (the loop's views come with the first run after it)."""
        con = self._connection()
        return con.execute("SELECT count(*) FROM (SELECT table_name AS n FROM duckdb_tables() WHERE schema_name = 'main' "
                           "UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'main') WHERE n = ?",
                           [name]).fetchall()[0][0] > 0

    def compat(self) -> tuple[str, ...]:
        if self._compat is None:
            have = {r[0] for r in self._connection().execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = 'results'"
            ).fetchall()}
            self._compat = tuple(expr for col, expr in COMPAT_COLUMNS.items() if col not in have)
        return self._compat

    def has_cube(self, run_id: str) -> bool:
        """Whether ``run_id`` was summed into ``overview_cube`` at publish."""
        if run_id not in self._cube:
            self._cube[run_id] = self.has_table("overview_cube") and self._connection().execute(
                "SELECT count(*) > 0 FROM overview_cube WHERE run_id = ?", [run_id]).fetchall()[0][0]
        return self._cube[run_id]

    def query(self, name: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """Run ``sql/<name>.sql`` with the parameters it uses (others in ``params`` are ignored); a query on
        ``summable`` reads the run's sums (``SUMMED``) when the run has overview_cube rows."""
        summed = (reads_layer(name, "summable") and bool(params) and "run_id" in params
                  and self.has_cube(params["run_id"]))
        sql = compose(name, self.compat(), summed)
        used = set(_PARAM.findall(sql))
        missing = used - set(params or {})
        if missing:
            raise KeyError(f"{name}.sql needs parameters {sorted(missing)}")
        bound = {k: v for k, v in (params or {}).items() if k in used}
        return self._connection().sql(sql, params=bound or None).pl()


# ---------------------------------------------------------------- what the pages ask

@dataclass(frozen=True)
class WarehouseState:
    runs: pl.DataFrame              # successful runs, newest first (runs.sql)
    last_attempt: dict | None       # the newest run of any status (last_attempt.sql)

    @property
    def latest_run_id(self) -> str | None:
        latest = self.runs.filter(pl.col("is_latest"))
        if latest.height:
            return latest["run_id"][0]
        return self.runs["run_id"][0] if self.runs.height else None


def warehouse_state(snap: Snapshot) -> WarehouseState:
    """The runs the dashboard can show; raises :class:`DashboardDataError` with the reason when none."""
    if not snap.has_table("runs"):
        raise DashboardDataError(f"数据库 {snap.db_path} 中还没有任何运行记录：请先运行夜间任务（gp run）。")
    runs = snap.query("runs")
    last = snap.query("last_attempt")
    last_row = last.row(0, named=True) if last.height else None
    if runs.height == 0:
        if last_row is None:
            raise DashboardDataError(f"数据库 {snap.db_path} 中还没有任何运行记录：请先运行夜间任务（gp run）。")
        raise DashboardDataError(
            f"还没有成功的运行：最近一次运行 {last_row['run_id']}（{_when(last_row['started_at'])}）"
            f"状态为 {last_row['status']}" + (f"，原因：{last_row['error']}" if last_row.get("error") else "")
            + "。修复后重新运行，成功发布的结果会在这里显示。")
    return WarehouseState(runs=runs, last_attempt=last_row)


def _when(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M") if ts is not None else "时间未知"


def offer_pdf(snap: Snapshot, filters: Filters, account_id: str) -> tuple[str, bytes] | None:
    """The offer PDF of ``account_id`` in the filtered run: (file name, bytes), or None.

    Served only when the ``offers`` table records a rendered or unchanged file for this account and run,
    the account is visible under the filters and scope, the recorded path resolves to a regular file
    inside the run's output folder (no ``..``, no link leading out), and its SHA-256 is the recorded one."""
    if not filters.scope.offers:
        return None
    rows = snap.query("offer_file", {**filters.params(), "account_id": account_id})
    if rows.height != 1:
        return None
    row = rows.row(0, named=True)
    if not row["output_folder"] or not row["path"]:
        return None
    folder = Path(row["output_folder"]).resolve()
    target = (folder / row["path"]).resolve()
    if not target.is_relative_to(folder) or target.suffix.lower() != ".pdf" or not target.is_file():
        return None
    data = target.read_bytes()
    if row["sha256"] and hashlib.sha256(data).hexdigest() != row["sha256"]:
        return None
    return target.name, data


# ---------------------------------------------------------------- results cache and warm-up

def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


@lru_cache(maxsize=None)
def params_used(name: str) -> frozenset[str]:
    return frozenset(_PARAM.findall(compose(name)))


class ResultCache:
    """Query results per (published file identity, query, parameters it uses), least recently used out.
    A new publish is a new identity, so nothing stale is ever served; old entries age out."""

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            return None

    def put(self, key, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


CACHE = ResultCache()


def cached_query(snap: Snapshot, name: str, params: dict[str, Any]) -> pl.DataFrame:
    used = params_used(name)
    key = (snap.identity, name, _freeze({k: v for k, v in params.items() if k in used}))
    hit = CACHE.get(key)
    if hit is None:
        hit = snap.query(name, params)
        CACHE.put(key, hit)
    return hit


def cached_state(snap: Snapshot) -> WarehouseState:
    key = (snap.identity, "__state__")
    hit = CACHE.get(key)
    if hit is None:
        hit = warehouse_state(snap)
        CACHE.put(key, hit)
    return hit


# what each page asks for when it opens: the latest run, no filter (ui.sidebar's defaults)
FIRST_LOAD = (("filter_options", {}), ("overview_segments", {}), ("run_summary", {}),
              ("opportunities_summary", {}), ("opportunities", {"order": "npv", "limit": 100}), ("regions", {}),
              ("segment_changes", {}), ("segment_changes_summary", {}), ("segment_transitions", {}))


def warm(db_path: Path, scope: Scope | None = None) -> bool:
    """Run every page's first-load queries on the published file into the cache (True when it did)."""
    snap = Snapshot(db_path)
    if snap.identity is None:
        return False
    try:
        state = cached_state(snap)
        filters = Filters(run_id=state.latest_run_id, scope=scope or Scope())
        for name, extra in FIRST_LOAD:
            cached_query(snap, name, {**filters.params(), **extra})
        return True
    except (DashboardDataError, FileChanged):
        return False
    finally:
        snap.close()


def keep_warm(db_path: Path, interval_s: float = 5.0, stop: threading.Event | None = None) -> None:
    """Warm the cache whenever the published file changes (a run published): the first manager to open
    a page after the nightly run gets it from the cache. Reads like a page does (read-only, briefly)."""
    stop = stop or threading.Event()
    seen = None
    while not stop.is_set():
        identity = file_identity(Path(db_path))
        if identity is not None and identity != seen:
            try:
                if warm(Path(db_path)):
                    seen = identity
            except Exception:  # noqa: BLE001 - warming is an optimisation; the page reports real errors
                seen = identity
        stop.wait(interval_s)
