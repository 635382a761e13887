"""The retention options of ``gp run``, ``gp campaign`` and ``gp serve`` (one policy: rows, offer folders
and database generations; ``warehouse.retention.RetentionPolicy``)."""
from __future__ import annotations

from typing import Optional

import typer

RetentionDays = typer.Option(None, "--retention-days", min=0, help="Prune runs older than this many days, with "
                                                                   "their offer folders (default: keep all)")
KeepRuns = typer.Option(3, "--keep-runs", min=0, help="Never prune the newest this many successful runs")
Generations = typer.Option(3, "--generations", min=0, help="Earlier published database files kept for "
                                                           "`gp restore` (one per nightly run)")


def retention_settings(retention_days: Optional[int], keep_runs: int, generations: int) -> dict:
    return {"retention_days": retention_days, "keep_runs": keep_runs, "generations": generations}
