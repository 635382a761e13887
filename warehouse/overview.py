"""The dashboard's 总览 summed once per run, at commit: the ``overview_cube`` table.

A million-account run's first page would otherwise join accounts, results and segments and scan them
all on every first load after a publish. ``sql/tables/overview_cube.sql`` sums the run's accounts per
segment, province, customer type and sales rep — every filter 总览 offers, and the per-rep scope — so
the page sums a few thousand rows. Written in the run's commit transaction (a failed run leaves none),
pruned with the run's other rows by retention (it carries ``run_id``). A run whose ``results`` lack a
column the cube sums (a database from before those columns) gets no cube rows, and the dashboard reads
the accounts as before.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb

from .schema import table_columns

TABLE = "overview_cube"
SQL = Path(__file__).with_name("sql") / "tables" / f"{TABLE}.sql"


def _select() -> str:
    return SQL.read_text(encoding="utf-8").strip().rstrip(";")


def _needs() -> dict[str, set[str]]:
    """Columns of results (``r.``), accounts (``a.``) and segments (``s.``) the cube reads."""
    found: dict[str, set[str]] = {"r": set(), "a": set(), "s": set()}
    for alias, col in re.findall(r"\b([ras])\.([a-z_][a-z0-9_]*)", _select()):
        found[alias].add(col)
    return found


def record_overview(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Replace ``run_id``'s rows of ``overview_cube`` by its sums (in the caller's transaction). False, and
    no rows, when a table lacks a column the cube needs."""
    have = {alias: set(table_columns(con, table)) for alias, table in
            (("r", "results"), ("a", "accounts"), ("s", "segments"))}
    if any(need - have[alias] for alias, need in _needs().items()):
        return False
    select = _select().replace("$run_id", "$1")
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} AS SELECT * FROM ({select}) WHERE false", [run_id])
    con.execute(f"DELETE FROM {TABLE} WHERE run_id = $1", [run_id])
    con.execute(f"INSERT INTO {TABLE} BY NAME {select}", [run_id])
    return True
