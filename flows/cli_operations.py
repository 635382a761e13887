"""``gp backup`` and ``gp restore``: an operator's commands for a damaged or lost warehouse (README:
"Backups and restore"), and the retention options that ``run``, ``campaign`` and ``serve`` share."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer



def _cli():
    from flows import cli
    return cli


def _db(db: Optional[Path]) -> Path:
    from flows.parameters import default_db
    return Path(db) if db else default_db()


def _run(when: str) -> str:
    return str(when)[:19]


def backup(
    folder: Path = typer.Argument(..., help="New (or empty) folder for the backup"),
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file [default: data/warehouse/greenpower.duckdb]"),
) -> None:
    """Back up the published warehouse as Parquet files plus a manifest (row counts, checksums), readable by
    any DuckDB version. Safe during a run: it reads the published file as it is."""
    cli = _cli()

    def action():
        from warehouse.operations import backup as do_backup
        t0 = time.monotonic()
        manifest = do_backup(_db(db), folder)
        rows = sum(t["rows"] for t in manifest["tables"].values())
        size = sum(f["bytes"] for f in manifest["files"].values())
        latest = manifest["latest_run"]
        cli.out.print(f"backup of {_db(db)} written to {folder}: {manifest['runs']} runs, {rows:,} rows in "
                      f"{len(manifest['tables'])} tables, {size / 2**20:,.1f} MB, in {time.monotonic() - t0:.1f} s"
                      + (f"; newest successful run {latest['run_id']}" if latest else ""), highlight=False)

    cli.guarded(action)


def restore(
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file [default: data/warehouse/greenpower.duckdb]"),
    from_dir: Optional[Path] = typer.Option(None, "--from", help="Restore this backup folder (from `gp backup`) "
                                                                 "instead of the newest good generation"),
    force: bool = typer.Option(False, "--force", help="Put back a generation even if the published file reads "
                                                      "back whole"),
    wait: float = typer.Option(0, "--wait", min=0, help="Seconds to wait if a run holds the database"),
) -> None:
    """Put back the newest earlier published file that reads back whole (or, with --from, a backup), and say
    which run it holds and what was lost since. The replaced file is kept beside it as <db>.replaced-<time>."""
    cli = _cli()
    path = _db(db)

    def action():
        from warehouse import operations
        t0 = time.monotonic()
        if from_dir is not None:
            if not from_dir.is_dir():
                cli.fail(f"{from_dir}: no such folder")
            done = operations.restore_backup(path, from_dir, timeout_s=wait)
            latest, lost, kept = done.manifest["latest_run"], done.lost_runs, done.replaced_kept
            source = f"backup {from_dir} (made {done.manifest['created_at']})"
        else:
            done = operations.restore_generation(path, force=force, timeout_s=wait)
            latest, lost, kept = done.latest_run, done.lost_runs, done.damaged_kept
            source = f"generation {done.source.name}"
            for gen, why in done.skipped:
                cli.err.print(f"[yellow]skipped[/] {gen.name}: does not read back whole ({why})", highlight=False)
        cli.out.print(f"restored {path} from {source} in {time.monotonic() - t0:.1f} s", highlight=False)
        if latest:
            cli.out.print(f"it holds run {latest['run_id']} ({latest['kind']}"
                          f"{' ' + latest['campaign'] if latest.get('campaign') else ''}, started "
                          f"{_run(latest['started_at'])}) as the newest successful run", highlight=False)
        if lost is None:
            cli.out.print("lost since: unknown (the replaced file could not be read); every run after the one "
                          "above must be run again", highlight=False)
        elif lost:
            cli.out.print(f"lost since: {len(lost)} run(s): {', '.join(lost)} — run the nightly job again "
                          "(offer files of those runs stay on disk)", highlight=False)
        else:
            cli.out.print("lost since: nothing", highlight=False)
        if kept is not None:
            cli.out.print(f"the replaced file is kept as {kept} (delete it when you no longer need it)",
                          highlight=False)

    cli.guarded(action)


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
    from flows.forget_command import forget
    app.command()(forget)
