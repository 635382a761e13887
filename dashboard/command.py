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


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def is_loopback(host: str) -> bool:
    """Only this machine can connect to ``host`` (127.0.0.0/8, ::1, localhost)."""
    import ipaddress
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def streamlit_command(db: Path, host: str, port: int, users: Path | None = None) -> tuple[list[str], dict[str, str]]:
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
    from dashboard.auth import USERS_ENV
    env.pop(USERS_ENV, None)
    if users is not None:
        env[USERS_ENV] = str(users)
    return argv, env


def dashboard(
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file [default: data/warehouse/greenpower.duckdb]"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to listen on"),
    users: Optional[Path] = typer.Option(None, "--users", envvar="GREENPOWER_DASHBOARD_USERS",
                                         help="Users file (YAML, hashed passwords; see `gp dashboard-user add`): "
                                              "sign-in required, each user sees what their role allows"),
) -> None:
    """Serve the managers' dashboard (read-only, in Chinese) on http://HOST:PORT until stopped.

    Without --users it listens only on this machine (127.0.0.1) and shows everything to whoever opens it;
    any other --host needs --users."""
    from core.errors import UserError
    from core.filemodes import configured_group, restrict_umask
    restrict_umask()
    try:
        configured_group()
    except UserError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    if users is None and not is_loopback(host):
        typer.echo(f"error: refusing to listen on {host} without sign-in: anyone who can reach it would see every "
                   "customer; give --users FILE (add users with `gp dashboard-user add`), or listen on 127.0.0.1",
                   err=True)
        raise typer.Exit(2)
    if users is not None:
        from dashboard.auth import load_users
        users = users.expanduser().resolve()
        try:
            if not load_users(users):
                raise UserError(f"{users}: lists no users (add one with `gp dashboard-user add`)")
        except UserError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2)
    if db is None:
        from gpengine.datafiles import data_dir
        db = data_dir() / "warehouse" / "greenpower.duckdb"
    db = db.expanduser().resolve()
    if db.exists() and not db.is_file():
        typer.echo(f"error: {db} is not a file (pass the DuckDB warehouse with --db)", err=True)
        raise typer.Exit(1)
    if not db.exists():
        typer.echo(f"note: {db} does not exist yet; the dashboard says so until a run publishes it", err=True)
    argv, env = streamlit_command(db, host, port, users)
    typer.echo(f"dashboard on http://{host}:{port}/ over {db} (read-only"
               + (f", sign-in with the users of {users.name}" if users else ", no sign-in: this machine only")
               + "); stop with Ctrl-C", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)


user_app = typer.Typer(no_args_is_help=True, help="Dashboard users: names, roles and hashed passwords.")


@user_app.command("add")
def add_user(
    name: str = typer.Argument(..., help="User name (letters, digits, '.', '_', '@', '-')"),
    role: str = typer.Option(..., "--role", help="manager (everything), rep (own accounts only) or analyst "
                                                 "(figures, residents' names masked, no PDFs)"),
    sales_rep: Optional[str] = typer.Option(None, "--sales-rep", help="For a rep: their name as in the customer "
                                                                      "list's sales_rep column"),
    users: Path = typer.Option(..., "--users", envvar="GREENPOWER_DASHBOARD_USERS", help="Users file (YAML)"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input "
                                                                         "(first line) instead of asking"),
) -> None:
    """Add a dashboard user (or replace one) with an Argon2 hash of the password; the password is asked twice."""
    from core.errors import UserError
    from dashboard.auth import ROLES, add_user as add
    if role not in ROLES:
        typer.echo(f"error: --role {role!r}: use one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        add(users, name, role, password, sales_rep)
    except UserError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{name} ({role}{', ' + sales_rep if sales_rep and role == 'rep' else ''}) written to {users}")
