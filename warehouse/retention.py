"""Retention: drop runs older than N days, never the run the managers' views show.

Protected whatever their age: the latest successful full run (what ``latest_*`` views show),
the latest successful run of any kind, and the run being committed. Failed runs age out like
any other. Deleting rows frees blocks inside the DuckDB file, which later runs reuse; the file
is rewritten (compacted) at publish when most of it is free space (see ``store.py``).
"""
from __future__ import annotations

import duckdb

from .schema import q, run_tables

PROTECTED = """
SELECT run_id FROM (SELECT run_id FROM runs WHERE status = 'succeeded' AND kind <> 'campaign'
                    ORDER BY started_at DESC, run_id DESC LIMIT 1)
UNION SELECT run_id FROM (SELECT run_id FROM runs WHERE status = 'succeeded'
                          ORDER BY started_at DESC, run_id DESC LIMIT 1)
UNION SELECT ?"""


def prune(con: duckdb.DuckDBPyConnection, retention_days: int, current_run_id: str) -> list[str]:
    """Delete every row of runs older than ``retention_days``; returns their run_ids."""
    if retention_days < 0:
        raise ValueError(f"retention_days must be >= 0, got {retention_days}")
    old = [r[0] for r in con.execute(
        f"""SELECT run_id FROM runs
            WHERE started_at < now() - to_days(CAST(? AS INTEGER))
              AND run_id NOT IN ({PROTECTED})
            ORDER BY started_at""", [retention_days, current_run_id]).fetchall()]
    if not old:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE _wh_prune AS SELECT unnest(?::VARCHAR[]) AS run_id", [old])
    for t in run_tables(con):
        con.execute(f"DELETE FROM {q(t)} WHERE run_id IN (SELECT run_id FROM _wh_prune)")
    con.execute("DELETE FROM runs WHERE run_id IN (SELECT run_id FROM _wh_prune)")
    con.execute("DROP TABLE _wh_prune")
    return old
