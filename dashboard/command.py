"""``gp dashboard``: serve the managers' dashboard (Streamlit) over the published warehouse.

Registered in ``flows/cli.py``; imports nothing heavy, so ``gp --help`` stays fast. The command replaces
itself with the Streamlit server process (same pid: a service manager's stop signal reaches the server).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

APP = Path(__file__).with_name("app.py")
DB_ENV = "GREENPOWER_DASHBOARD_DB"   # read by dashboard.ui.db_path


def streamlit_command(db: Path, host: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The server's argv and environment: headless, no usage statistics, no file watcher, no developer menu."""
    argv = [sys.executable, "-m", "dashboard.server", "run", str(APP),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
            "--client.toolbarMode", "viewer", "--theme.base", "light", "--theme.primaryColor", "#2e7d32"]
    root = str(APP.parents[1])
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, DB_ENV: str(db), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "PYTHONPATH": root + (os.pathsep + path if path else "")}
    return argv, env


def dashboard(
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file [default: data/warehouse/greenpower.duckdb]"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to listen on"),
) -> None:
    """Serve the managers' dashboard (read-only, in Chinese) on http://HOST:PORT until stopped."""
    if db is None:
        from gpengine.datafiles import data_dir
        db = data_dir() / "warehouse" / "greenpower.duckdb"
    db = db.expanduser().resolve()
    if db.exists() and not db.is_file():
        typer.echo(f"error: {db} is not a file (pass the DuckDB warehouse with --db)", err=True)
        raise typer.Exit(1)
    if not db.exists():
        typer.echo(f"note: {db} does not exist yet; the dashboard says so until a run publishes it", err=True)
    argv, env = streamlit_command(db, host, port)
    typer.echo(f"dashboard on http://{host}:{port}/ over {db} (read-only); stop with Ctrl-C", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)
