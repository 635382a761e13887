"""The managers' views, rebuilt at every publish from the SQL files in ``warehouse/sql/``.

Layered as dbt projects are: ``sql/staging/`` selects the latest run's rows of each table
(``latest_run``, ``latest_scenarios``, ``latest_offers``, ``rejects_latest``,
``latest_campaign_results``); ``sql/reporting/`` joins and aggregates them for managers
(``latest_results``, ``segment_summary``, ``segment_changes``). One view per file, named after it;
each file is one ``SELECT`` (a Jinja template, as a dbt model is) that may use

- ``{{ ref('view') }}``: another view — it is created first, so files load in dependency order;
  staging files refer to tables and other staging views only;
- ``columns('table')``: the table's (or an already created view's) current column names, for views
  whose columns follow the tables' (``latest_results`` carries every results column);
- ``| q``: quote an identifier.

"Latest" means the latest *successful full* run: ``status = 'succeeded'`` and ``kind`` nightly
or adhoc, newest ``started_at`` (``run_id`` breaks ties). The views must bind in DuckDB 1.x
clients too (managers' tools): ``tests/test_warehouse_readers.py`` runs every one in the DuckDB
1.5.6 CLI and pins each view's columns and types.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb
import jinja2

from .schema import q, table_columns

SQL_DIR = Path(__file__).with_name("sql")
LAYERS = ("staging", "reporting")

VIEW_NAMES = ("latest_run", "latest_results", "latest_scenarios", "latest_offers", "segment_summary",
              "segment_changes", "rejects_latest", "latest_campaign_results")


def view_files() -> dict[str, Path]:
    """View name -> its SQL file, staging before reporting, by name within a layer."""
    found: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((SQL_DIR / layer).glob("*.sql")):
            if path.stem in found:
                raise RuntimeError(f"view {path.stem} is defined twice: {found[path.stem]} and {path}")
            found[path.stem] = path
    return found


@lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(SQL_DIR), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True)
    env.filters["q"] = q
    return env


def _unquote(name: str) -> str:
    """``columns(ref('v'))`` gets the quoted name ``ref`` returns."""
    return name[1:-1].replace('""', '"') if len(name) > 1 and name[0] == name[-1] == '"' else name


def render_views(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Render every view's SELECT against the tables ``con`` holds and create it (after the views it
    refers to). Returns view name -> SQL, in creation order."""
    files = view_files()
    done: dict[str, str] = {}

    def build(name: str, stack: tuple[str, ...]) -> str:
        if name in done:
            return q(name)
        if name in stack:
            raise RuntimeError(f"views refer to each other in a circle: {' -> '.join((*stack, name))}")
        if name not in files:
            raise RuntimeError(f"{files[stack[-1]].name if stack else 'a view'} refers to {name!r}, which is "
                               f"neither a view in {SQL_DIR.name}/ nor created before it")
        path = files[name]
        template = _environment().get_template(f"{path.parent.name}/{path.name}")
        sql = template.render(ref=lambda other: build(other, (*stack, name)),
                              columns=lambda relation: list(table_columns(con, _unquote(relation)))).strip().rstrip(";")
        con.execute(f"CREATE OR REPLACE VIEW {q(name)} AS\n{sql}")
        done[name] = sql
        return q(name)

    for name in files:
        build(name, ())
    return done


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view; call after the tables reached their final columns for this run."""
    missing = set(VIEW_NAMES) - set(view_files())
    if missing:
        raise RuntimeError(f"no SQL file for view(s) {', '.join(sorted(missing))} in {SQL_DIR}")
    render_views(con)
