"""Retention: one policy for how much history the warehouse and the offers folders keep.

:class:`RetentionPolicy` holds it all — runs older than ``days`` are pruned (their rows in every run
table, and the caller removes their offer folders), but never the newest ``keep_runs`` successful
runs, and ``generations`` earlier published files are kept for ``gp restore`` (``generations.py``).

Protected whatever their age: the latest successful full run (what ``latest_*`` views show),
the latest successful run of any kind, the newest ``keep_runs`` successful runs, and the run being
committed. Failed runs age out like any other. Deleting rows frees blocks inside the DuckDB file,
which later runs reuse; the file is rewritten (compacted) at publish when most of it is free space
(see ``compaction.py`` and ``writer.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .schema import q, run_tables

DEFAULT_KEEP_RUNS = 3
DEFAULT_GENERATIONS = 3

PROTECTED = """
SELECT run_id FROM (SELECT run_id FROM runs WHERE status = 'succeeded' AND kind <> 'campaign'
                    ORDER BY started_at DESC, run_id DESC LIMIT 1)
UNION SELECT run_id FROM (SELECT run_id FROM runs WHERE status = 'succeeded'
                          ORDER BY started_at DESC, run_id DESC LIMIT greatest(1, CAST(? AS INTEGER)))
UNION SELECT ?"""


@dataclass(frozen=True)
class RetentionPolicy:
    """``days``: prune runs started more than this many days ago (None: keep every run);
    ``keep_runs``: never prune the newest this many successful runs; ``generations``: earlier
    published files kept for ``gp restore`` (0: none)."""
    days: int | None = None
    keep_runs: int = DEFAULT_KEEP_RUNS
    generations: int = DEFAULT_GENERATIONS

    def __post_init__(self):
        for name in ("keep_runs", "generations"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"retention: {name} must be a whole number >= 0, got {v!r}")
        if self.days is not None and (isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 0):
            raise ValueError(f"retention: days must be a whole number of days >= 0 or None, got {self.days!r}")


def prune(con: duckdb.DuckDBPyConnection, retention_days: int, current_run_id: str,
          keep_runs: int = DEFAULT_KEEP_RUNS) -> list[str]:
    """Delete every row of runs older than ``retention_days``; returns their run_ids."""
    return [r for r, _ in prune_runs(con, retention_days, current_run_id, keep_runs)]


def prune_runs(con: duckdb.DuckDBPyConnection, retention_days: int, current_run_id: str,
               keep_runs: int = DEFAULT_KEEP_RUNS) -> list[tuple[str, str | None]]:
    """Like :func:`prune`; returns ``(run_id, output_folder)`` of each pruned run."""
    if retention_days < 0:
        raise ValueError(f"retention_days must be >= 0, got {retention_days}")
    old = con.execute(
        f"""SELECT run_id, output_folder FROM runs
            WHERE started_at < now() - to_days(CAST(? AS INTEGER))
              AND run_id NOT IN ({PROTECTED})
            ORDER BY started_at""", [retention_days, keep_runs, current_run_id]).fetchall()
    if not old:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE _wh_prune AS SELECT unnest(?::VARCHAR[]) AS run_id",
                [[r for r, _ in old]])
    for t in run_tables(con):
        con.execute(f"DELETE FROM {q(t)} WHERE run_id IN (SELECT run_id FROM _wh_prune)")
    con.execute("DELETE FROM runs WHERE run_id IN (SELECT run_id FROM _wh_prune)")
    con.execute("DROP TABLE _wh_prune")
    return [(r, f) for r, f in old]
