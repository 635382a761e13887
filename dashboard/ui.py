"""What every page shares: the database setting, the page's snapshot, the sidebar filters, tables with
their Excel export and number formatting. Pages format; figures come from ``data.Snapshot.query``."""
from __future__ import annotations

import datetime as dt
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import polars as pl
import streamlit as st

from core.errors import UserError
from warehouse.audit import os_user, record_export

from . import auth, labels
from .data import (DashboardDataError, FileChanged, Filters, Scope, Snapshot, WarehouseState, cached_query,
                   cached_state, warehouse_state)
from .export import xlsx_bytes

from .command import DB_ENV  # noqa: E402
LATEST = "__latest__"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTERS = (("segment", "segments", "细分"), ("province", "provinces", "省份"),
           ("customer_type", "customer_types", "用电类别"), ("sales_rep", "sales_reps", "客户经理"))


def db_path() -> Path:
    """``gp dashboard --db`` passes the file through the environment; else the project's default warehouse."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    from gpengine.datafiles import data_dir
    return data_dir() / "warehouse" / "greenpower.duckdb"


SESSION_USER = "gp_user"
ROLE_LABELS = {"manager": "经理", "rep": "客户经理", "analyst": "分析员"}


@lru_cache(maxsize=4)
def _users(path: Path, mtime_ns: int) -> dict:
    return auth.load_users(path)


def users() -> dict | None:
    """The users of ``gp dashboard --users`` (re-read when the file changes); None: no sign-in configured.
    A file broken since the server started lets nobody in (and says why) until it is fixed."""
    path = auth.users_path()
    if path is None:
        return None
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0
    try:
        return _users(path, mtime)
    except UserError as e:
        st.error(f"用户文件有误，暂时无法登录：{e}")
        return {}


def signed_in() -> tuple[str, auth.User] | None:
    """The session's user (name, entry), while the users file still lists them."""
    found = users()
    name = st.session_state.get(SESSION_USER)
    if found is None or name not in found:
        return None
    return name, found[name]


def current_scope() -> Scope:
    """What this session may see: its user's role (``auth.scope_for``); without a users file (the local,
    single-user dashboard) everything; signed in as nobody: nothing."""
    if users() is None:
        return Scope()
    who = signed_in()
    return auth.scope_for(who[1]) if who else Scope(sales_reps=(), offers=False, mask_resident_names=True)


def who_is_looking() -> str:
    """The name the audit log records for this session's exports."""
    who = signed_in()
    return who[0] if who else f"{os_user()} (no sign-in)"


def login_gate() -> bool:
    """True when the session may see the pages: no users file, or a user signed in (shown in the sidebar
    with a sign-out button). Otherwise draws the sign-in form and returns False."""
    found = users()
    if found is None:
        return True
    who = signed_in()
    if who is not None:
        name, user = who
        st.sidebar.caption(f"已登录：{name}（{ROLE_LABELS[user.role]}"
                           + (f"，{user.sales_rep} 的客户" if user.role == "rep" else "") + "）")
        if st.sidebar.button("退出登录", key="gp_logout"):
            st.session_state.pop(SESSION_USER, None)
            st.rerun()
        return True
    st.title("绿电营销看板")
    with st.form("gp_login"):
        name = st.text_input("用户名")
        password = st.text_input("密码", type="password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        if auth.verify(found, name, password) is not None:
            for key in [k for k in st.session_state if k.startswith(("f_", "opp_"))]:
                del st.session_state[key]         # no filter chosen under another user survives a sign-in
            st.session_state[SESSION_USER] = name
            st.rerun()
        time.sleep(1.0)                           # slows down guessing
        st.error("用户名或密码不正确。")
    return False


def filters_summary(filters: Filters) -> str:
    """The filters of an export, for the audit log (codes and names of provinces and reps, never accounts)."""
    parts = [f"run {filters.run_id}"]
    for column, param, title in FILTERS:
        values = getattr(filters, param)
        if values:
            parts.append(f"{column}={'|'.join(values)}")
    return "; ".join(parts)


def audited(make: Callable[[], bytes], what: str, rows: int, target: str | None) -> Callable[[], bytes]:
    """A download's data, made when the button is clicked and recorded in the audit log then."""
    db, who = db_path(), who_is_looking()

    def data() -> bytes:
        payload = make()
        record_export(db, what=what, rows=rows, via="dashboard", who=who, target=target)
        return payload
    return data


# ---------------------------------------------------------------- cached queries

@dataclass
class PageContext:
    snap: Snapshot
    state: WarehouseState
    filters: Filters

    def query(self, name: str, **extra: Any) -> pl.DataFrame:
        """``sql/<name>.sql`` over the filtered run (cached per published file, run, filters and arguments)."""
        return cached_query(self.snap, name, {**self.filters.params(), **extra})

    @property
    def run(self) -> dict:
        return self.state.runs.filter(pl.col("run_id") == self.filters.run_id).row(0, named=True)


_local = threading.local()


def context() -> PageContext:
    """The page run's context, set up by ``app.py`` before the page runs."""
    return _local.ctx


def open_context() -> PageContext | None:
    """Open the snapshot, draw the sidebar, build the filters. None (after a clear message) when the
    warehouse has nothing to show yet."""
    snap = Snapshot(db_path())
    _local.snap = snap
    try:
        state = cached_state(snap) if snap.identity else warehouse_state(snap)
    except DashboardDataError as e:
        st.info(str(e), icon="ℹ️")
        return None
    filters = sidebar(snap, state)
    ctx = PageContext(snap, state, filters)
    _local.ctx = ctx
    return ctx


def close_context() -> None:
    snap = getattr(_local, "snap", None)
    if snap is not None:
        snap.close()
    _local.snap = _local.ctx = None


def run_page(page) -> None:
    """Run one navigation page inside a snapshot; a file published mid-page makes the page read again."""
    try:
        if open_context() is not None:
            failed_since(context())
            page.run()
    except FileChanged:
        close_context()
        st.rerun()
    except DashboardDataError as e:
        st.info(str(e), icon="ℹ️")
    finally:
        close_context()


# ---------------------------------------------------------------- sidebar

def _run_label(state: WarehouseState, run_id: str) -> str:
    if run_id == LATEST:
        return "最新成功运行（" + _run_label(state, state.latest_run_id) + "）"
    row = state.runs.filter(pl.col("run_id") == run_id).row(0, named=True)
    kind = labels.RUN_KINDS.get(row["kind"], row["kind"])
    name = f"{kind} {row['campaign']}" if row["campaign"] else kind
    return f"{run_id} · {name} · {when(row['started_at'])}"


def _keep_valid(key: str, options: list, multi: bool) -> None:
    if key in st.session_state:
        value = st.session_state[key]
        if multi:
            kept = [v for v in value if v in options]
            if kept != value:
                st.session_state[key] = kept
        elif value not in options:
            del st.session_state[key]


def sidebar(snap: Snapshot, state: WarehouseState) -> Filters:
    sb = st.sidebar
    sb.header("筛选")
    run_options = [LATEST] + state.runs["run_id"].to_list()
    _keep_valid("f_run", run_options, multi=False)
    choice = sb.selectbox("运行", run_options, key="f_run", format_func=lambda r: _run_label(state, r))
    run_id = state.latest_run_id if choice == LATEST else choice
    opts = cached_query(snap, "filter_options", Filters(run_id=run_id, scope=current_scope()).params())
    chosen: dict[str, tuple[str, ...]] = {}
    for column, param, title in FILTERS:
        rows = opts.filter(pl.col("filter") == column)
        values = rows["value"].to_list()
        counts = dict(zip(values, rows["accounts"].to_list()))
        key = f"f_{column}"
        _keep_valid(key, values, multi=True)
        picked = sb.multiselect(title, values, key=key, placeholder="全部",
                                format_func=lambda v, c=column, n=counts: f"{labels.label(c, v or None)}（{n[v]:,}）")
        chosen[param] = tuple(picked)
    sb.divider()
    ident_time = dt.datetime.fromtimestamp(snap.identity[3] / 1e9).strftime("%Y-%m-%d %H:%M:%S") \
        if snap.identity else "—"
    sb.caption(f"数据库：{snap.db_path.name}（发布于 {ident_time}，只读）。新发布的运行在刷新页面后显示。")
    return Filters(run_id=run_id, scope=current_scope(), **chosen)


def failed_since(ctx: PageContext) -> None:
    """Warn when the newest run attempt failed after the run on screen (last night did not publish)."""
    last = ctx.state.last_attempt
    if not last or last["status"] == "succeeded":
        return
    latest = ctx.state.runs.filter(pl.col("run_id") == ctx.state.latest_run_id).row(0, named=True)
    if last["started_at"] is not None and latest["started_at"] is not None and last["started_at"] > latest["started_at"]:
        st.warning(f"最近一次运行 {last['run_id']}（{when(last['started_at'])}）失败："
                   f"{last['error'] or '未记录原因'}。这里显示的是最近一次成功的运行 {latest['run_id']}。", icon="⚠️")


# ---------------------------------------------------------------- formatting

def when(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M") if ts is not None else "—"


UNITS = {"yuan": "元", "kwh": "千瓦时", "t": "吨"}


def scale_for(x: float | None) -> tuple[float, str]:
    """The divisor and prefix that keep a figure short: 亿 (1e8), 万 (1e4) or none."""
    a = abs(x or 0)
    return (1e8, "亿") if a >= 1e8 else (1e4, "万") if a >= 1e4 else (1.0, "")


def scaled(x: float | None, unit: str, like: float | None = None) -> tuple[str, str]:
    """(number, unit) for a metric: 42.20, 亿元. ``like``: take the scale of this figure instead."""
    if x is None:
        return "—", UNITS[unit]
    div, prefix = scale_for(like if like is not None else x)
    digits = 0 if div == 1 and unit != "t" else 2 if div == 1e8 else 1
    return f"{x / div:,.{digits}f}", prefix + UNITS[unit]


def metric(slot, label: str, x: float | None, unit: str, help: str | None = None) -> None:
    value, unit_text = scaled(x, unit)
    slot.metric(f"{label}（{unit_text}）", value, help=help)


def metric_range(slot, label: str, low: float | None, high: float | None, unit: str) -> None:
    big = max(abs(low or 0), abs(high or 0))
    lo, unit_text = scaled(low, unit, like=big)
    hi, _ = scaled(high, unit, like=big)
    slot.metric(f"{label}（{unit_text}）", f"{lo} – {hi}")


def yuan(x: float | None) -> str:
    value, unit = scaled(x, "yuan")
    return f"{value} {unit}"


def tonnes(x: float | None) -> str:
    value, unit = scaled(x, "t")
    return f"{value} {unit}"


def axis(values, unit: str, title: str = ""):
    """An Altair axis in 亿/万 of ``unit`` (Chinese managers read 亿元, not 2.5G)."""
    import altair as alt
    big = max((abs(v) for v in values if v is not None), default=0)
    div, prefix = scale_for(big)
    return alt.Axis(title=f"{title}（{prefix}{UNITS[unit]}）" if title else f"{prefix}{UNITS[unit]}",
                    labelExpr=f"format(datum.value / {div}, ',~r')")


def count(x: int | None) -> str:
    return "—" if x is None else f"{x:,}"


PERCENT_COLUMNS = {"pv_irr", "saving_share", "response_rate", "conversion", "conversion_low", "conversion_high",
                   "difference", "difference_low", "difference_high", "score", "score_low"}
INTEGER_COLUMNS = {"rank", "accounts", "opportunities", "pv_breakeven_year", "sent", "responded", "meeting",
                   "accepted", "offers", "call_rank", "more_offers_needed"}


def column_config(df: pl.DataFrame) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    for name, dtype in df.schema.items():
        heading = labels.COLUMNS.get(name, name)
        if name in PERCENT_COLUMNS:
            cfg[heading] = st.column_config.NumberColumn(heading, format="percent")
        elif name in INTEGER_COLUMNS:
            cfg[heading] = st.column_config.NumberColumn(heading, format="%d")
        elif dtype.is_float():
            cfg[heading] = st.column_config.NumberColumn(heading, format="localized")
    return cfg


ROUND_DIGITS = {"_t": 1, "_yuan": 0, "_kwh": 0, "_kw": 1, "_years": 1}


def rounded(df: pl.DataFrame) -> pl.DataFrame:
    """Screen precision: 元 and 千瓦时 whole, tonnes and kW to one decimal (the export keeps every digit)."""
    exprs = []
    for name, dtype in df.schema.items():
        digits = next((d for suffix, d in ROUND_DIGITS.items() if name.endswith(suffix)), None)
        if digits is not None and dtype.is_float():
            exprs.append(pl.col(name).round(digits))
    return df.with_columns(exprs) if exprs else df


def table(df: pl.DataFrame, key: str, file_name: str, *, height: int | str = "auto") -> None:
    """The table as the page shows it (Chinese headings and names) and an Excel export of the same rows
    and columns, at full precision."""
    exported = labels.for_display(df)
    st.dataframe(labels.for_display(rounded(df)), hide_index=True, column_config=column_config(df), key=key,
                 height=height)
    what = f"dashboard table {key}: " + filters_summary(context().filters)
    st.download_button("导出 Excel", data=audited(lambda: xlsx_bytes(exported), what, exported.height,
                                                 f"{file_name}.xlsx"),
                       file_name=f"{file_name}.xlsx", mime=XLSX_MIME, key=f"{key}_xlsx", on_click="ignore",
                       icon=":material/download:")


def page_header(title: str, ctx: PageContext, subtitle: str = "") -> None:
    st.title(title)
    run = ctx.run
    kind = labels.RUN_KINDS.get(run["kind"], run["kind"])
    parts = [f"运行 {run['run_id']}（{kind}，{when(run['started_at'])}，假设集 {run['assumption_set'] or '—'}）"]
    active = [title for column, param, title in FILTERS if getattr(ctx.filters, param)]
    parts.append("筛选：" + "、".join(active) if active else "全部客户")
    st.caption(" · ".join(parts) + (f" · {subtitle}" if subtitle else ""))
