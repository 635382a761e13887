"""``gp``: the command line (flows.md "Command line"). Every command has ``--help``."""
from __future__ import annotations

import flows.environment  # noqa: F401  (Prefect settings before Prefect loads)

import errno
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.retention_options import Generations, KeepRuns, RetentionDays, retention_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="greenpower: green-power cost model, customer segments and PDF offers for a utility's customers.")
err = Console(stderr=True)
# cron, systemd, a pipe: no terminal width to fit, so never cut a figure ("5,632,419,315,…")
out = Console(width=None if sys.stdout.isatty() else 1_000)


def _default_db_text() -> str:
    from flows.parameters import default_db
    return str(default_db())


# plain parentheses: square brackets in Typer's rich help are markup and vanish
DB_HELP = f"DuckDB file (default: {_default_db_text()})"


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is meant for the user as it is (no traceback)."""
    from pydantic import ValidationError   # the command's parameters (flows/parameters.py), as typed

    from core.errors import UserError
    from warehouse.errors import WarehouseError
    return (UserError, WarehouseError, ValidationError, FileNotFoundError, PermissionError)


# The machine's state, not a bug: the message names the file and the cause, a traceback adds nothing.
_OPERATOR_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def _speaks_for_itself(exc: BaseException) -> bool:
    from flows.diskspace import is_disk_full
    return isinstance(exc, _user_errors()) or (isinstance(exc, OSError) and exc.errno in _OPERATOR_ERRNOS) \
        or is_disk_full(exc)


class _NoTracebackForUserErrors(logging.Filter):
    """Prefect logs a failed task with its traceback; for a user's mistake (an unreadable file, an invalid
    data file, a busy warehouse) the message says everything, so the traceback is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and _speaks_for_itself(record.exc_info[1]) \
                and not os.environ.get("GP_DEBUG"):
            record.exc_info, record.exc_text = None, None
        return True


class _OneMessagePerError(logging.Filter):
    """The command line prints a failure once, as its last line (``guarded``). Prefect's console lines that
    repeat it — a task or flow run "Finished in state Failed(…)", "Encountered exception during execution" —
    are dropped from the console; the Prefect server's run logs keep them, and so does GP_DEBUG=1."""

    RUN_LOGGERS = ("prefect.task_runs", "prefect.flow_runs")

    def filter(self, record: logging.LogRecord) -> bool:
        if os.environ.get("GP_DEBUG") or not record.name.startswith(self.RUN_LOGGERS):
            return True
        text = record.getMessage()
        if "Retry" in text:                 # a transient error about to be retried: worth seeing
            return True
        if record.levelno >= logging.ERROR:
            return False
        return not text.startswith(("Finished in state Failed", "Finished in state Crashed"))


def quiet_user_error_tracebacks() -> None:
    """Filter the console handlers only; the Prefect server's run logs keep the full traceback."""
    from prefect.logging import configuration
    if not configuration.PROCESS_LOGGING_CONFIG:
        configuration.setup_logging()
    for logger in (logging.getLogger(), logging.getLogger("prefect._internal")):
        for handler in logger.handlers:
            if not any(isinstance(f, _NoTracebackForUserErrors) for f in handler.filters):
                handler.addFilter(_NoTracebackForUserErrors())
            if not isinstance(handler, logging.FileHandler) and type(handler).__name__ != "APILogHandler" \
                    and not any(isinstance(f, _OneMessagePerError) for f in handler.filters):
                handler.addFilter(_OneMessagePerError())


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


_MAX_ERROR_CHARS = 1_000


def guarded(action):
    """Run ``action``; a failure prints one clear message (the traceback only with GP_DEBUG=1)."""
    try:
        from core.filemodes import configured_group, restrict_umask
        restrict_umask()              # files DuckDB makes itself (a write-ahead log) are not world-readable either
        configured_group()            # a GREENPOWER_GROUP that names no group is refused before anything is done
        quiet_user_error_tracebacks()
        return action()
    except typer.Exit:
        raise
    except SystemExit as exc:          # a script run in-process (gp bench render) ends with sys.exit
        if exc.code in (0, None):
            return None
        raise typer.Exit(exc.code if isinstance(exc.code, int) else 1)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BaseException as exc:  # noqa: BLE001 - the command line must explain every failure
        if os.environ.get("GP_DEBUG"):
            traceback.print_exc()
        from flows.exitnoise import release_frames
        release_frames(exc)               # no "nanobind: leaked" lines from DuckDB at exit
        if _speaks_for_itself(exc):
            fail(str(exc))
        text = str(exc)
        if len(text) > _MAX_ERROR_CHARS:       # some libraries echo whole payloads in their messages
            text = f"{text[:_MAX_ERROR_CHARS]} … [{len(text) - _MAX_ERROR_CHARS:,} more characters]"
        fail(f"{type(exc).__name__}: {text} (set GP_DEBUG=1 for the full traceback)")


def print_summary(summary: dict) -> None:
    table = Table(title=f"run {summary['run_id']} ({summary['kind']}"
                        f"{' ' + summary['campaign'] if summary.get('campaign') else ''})", title_justify="left")
    for col in ("segment", "accounts", "grid kWh", "bill 元", "green cost low 元", "green cost high 元", "CO2 avoided t"):
        table.add_column(col, justify="left" if col == "segment" else "right")
    for row in summary["segments"]:
        table.add_row(row["segment"], f"{row['accounts']:,}", f"{row['grid_kwh']:,.0f}", f"{row['bill_yuan']:,.0f}",
                      f"{row['green_cost_low_yuan']:,.0f}", f"{row['green_cost_high_yuan']:,.0f}",
                      f"{(row['co2_reduction_t'] or 0):,.1f}")
    out.print(table)
    out.print(f"rows read {summary['rows_read']:,}: accepted {summary['rows_accepted']:,}, "
              f"rejected {summary['rows_rejected']:,}")
    if summary.get("offers_folder"):
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(summary["offers"].items())) or "none"
        out.print(f"offers: {counts} → {summary['offers_folder']}")
    out.print(f"database: {summary['db']}")


@app.command()
def run(
    customers: Path = typer.Argument(..., help="Customer list: CSV (UTF-8/GBK), .xlsx or Parquet"),
    db: Optional[Path] = typer.Option(None, "--db", help=DB_HELP),
    out_dir: Path = typer.Option(Path("out"), "--out", help="Folder for the offers"),
    assumptions: Optional[str] = typer.Option(None, "--assumptions", help="Assumption set name or YAML file"),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Skip rendering the PDF offers"),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Run id (default: generated)"),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet (default: the first)"),
    workers: int = typer.Option(2, "--workers", min=1, help="Processes rendering PDFs"),
    wait: float = typer.Option(0, "--wait", min=0, help="Seconds to wait if another run holds the database"),
    dask: Optional[str] = typer.Option(None, "--dask", help="Dask cluster (scheduler address): renders the PDFs there; with --no-pdf, processes the list's chunks there"),
    retention_days: Optional[int] = RetentionDays, keep_runs: int = KeepRuns, generations: int = Generations,
) -> None:
    """Run the nightly pipeline once, now, on CUSTOMERS (through the Prefect flow)."""
    if not customers.exists():
        fail(f"{customers}: no such file")

    def action():
        from flows.nightly import nightly
        from flows.parameters import NightlyParameters
        params = NightlyParameters(customers=customers, sheet=sheet, out=out_dir, assumptions=assumptions,
                                   render_pdf=not no_pdf, run_id=run_id, workers=workers, lock_timeout_s=wait,
                                   progress=sys.stderr.isatty(), dask_address=dask, **({"db": db} if db else {}),
                                   **retention_settings(retention_days, keep_runs, generations))
        return nightly(params)

    print_summary(guarded(action))


DEMO_QUERIES = (
    ("Accounts per segment and province, with the green cost range",
     "SELECT segment, province, accounts, round(green_cost_low_yuan / 1e4) AS green_low_wan "
     "FROM segment_summary ORDER BY accounts DESC LIMIT 10"),
    ("Value-oriented exporters whose self-owned PV pays off (NPV ≥ 0)",
     "SELECT name, province, round(pv_capacity_kw) AS kw, round(pv_irr * 100, 1) AS irr_pct, "
     "round(pv_npv_yuan / 1e4) AS npv_wan FROM latest_results WHERE segment = 'value_oriented' "
     "AND pv_npv_yuan >= 0 ORDER BY pv_npv_yuan DESC LIMIT 10"),
    ("CO2 the responsibility-driven segment avoids at its default target",
     "SELECT count(*) AS accounts, round(sum(co2_reduction_t)) AS co2_avoided_t FROM latest_results "
     "WHERE segment = 'responsibility_driven'"),
)


@app.command()
def demo(
    workers: int = typer.Option(2, "--workers", min=1, help="Processes rendering PDFs"),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Skip rendering the PDF offers"),
) -> None:
    """Run the whole nightly pipeline on the bundled sample, then show where everything is."""
    from flows.parameters import default_db
    from core.datafiles import data_dir

    sample = data_dir() / "sample" / "customers.csv"
    db = default_db()

    def action():
        from flows.nightly import nightly
        from flows.parameters import NightlyParameters
        return nightly(NightlyParameters(customers=sample, db=db, out=Path("out"), render_pdf=not no_pdf,
                                         workers=workers, progress=sys.stderr.isatty()))

    out.print(f"[bold]greenpower demo[/]: nightly pipeline on the bundled sample {sample}")
    summary = guarded(action)
    print_summary(summary)
    out.print("\n[bold]Where things are[/]")
    if summary.get("offers_folder"):
        out.print(f"  PDF offers  {Path(summary['offers_folder']).resolve()}/ (manifest.csv lists them)")
    out.print(f"  database    {Path(summary['db']).resolve()}")
    out.print("\n[bold]Three queries to try[/]")
    for title, sql in DEMO_QUERIES:
        out.print(f"  # {title}\n  ./gp query \"{sql}\"", highlight=False, soft_wrap=True)
    if summary.get("offers_folder"):
        from flows.responses_cli import demo_loop
        guarded(lambda: demo_loop(summary))


@app.command()
def campaign(
    name: str = typer.Argument(..., help="Campaign name; its offers go to OUT/NAME/"),
    customers: Optional[Path] = typer.Option(None, "--customers", help="Customer list (default: the accounts of "
                                                                      "the latest successful run)"),
    segment: list[str] = typer.Option([], "--segment", help="compliance_driven / value_oriented / "
                                                            "responsibility_driven (repeatable)"),
    province: list[str] = typer.Option([], "--province", help="Province as in the input (repeatable)"),
    customer_type: list[str] = typer.Option([], "--customer-type", help="large_industrial / general_commercial / "
                                                                        "residential (repeatable)"),
    industry_group: list[str] = typer.Option([], "--industry-group", help="Industry group code (repeatable)"),
    min_kwh: Optional[float] = typer.Option(None, "--min-kwh", min=0, help="Minimum annual kWh"),
    accounts: Optional[Path] = typer.Option(None, "--accounts", help="File of account ids (one per line)"),
    gec_price: Optional[float] = typer.Option(None, "--gec-price", min=0, help="GEC price override, 元/certificate"),
    top: Optional[int] = typer.Option(None, "--top", min=1, help="Only the N best of the selected accounts (--by)"),
    by: str = typer.Option("lead_score", "--by", help="What --top ranks by: lead_score (the latest nightly run's)"),
    assumptions: Optional[str] = typer.Option(None, "--assumptions", help="Assumption set name or YAML file"),
    db: Optional[Path] = typer.Option(None, "--db", help=DB_HELP),
    out_dir: Path = typer.Option(Path("out"), "--out", help="Folder for the offers"),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Skip rendering the PDF offers"),
    workers: int = typer.Option(2, "--workers", min=1, help="Processes rendering PDFs"),
    wait: float = typer.Option(0, "--wait", min=0, help="Seconds to wait if another run holds the database"),
    dask: Optional[str] = typer.Option(None, "--dask", help="Render on this Dask cluster (scheduler address)"),
    retention_days: Optional[int] = RetentionDays, keep_runs: int = KeepRuns, generations: int = Generations,
) -> None:
    """Run a campaign: a filtered subset of accounts (filters AND together; a repeated filter ORs its values)."""
    for path in (customers, accounts):
        if path is not None and not path.exists():
            fail(f"{path}: no such file")

    def action():
        from pydantic import ValidationError

        from flows.campaign import CampaignParameters, campaign as campaign_flow
        try:
            params = CampaignParameters(
                name=name, customers=customers, segments=segment, provinces=province, customer_types=customer_type,
                industry_groups=industry_group, min_kwh=min_kwh, accounts_file=accounts, gec_price=gec_price,
                top=top, by=by, assumptions=assumptions, out=out_dir, render_pdf=not no_pdf, workers=workers, lock_timeout_s=wait,
                progress=sys.stderr.isatty(), dask_address=dask, **({"db": db} if db else {}),
                **retention_settings(retention_days, keep_runs, generations))
        except ValidationError as exc:
            fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))
        return campaign_flow(params)

    print_summary(guarded(action))


@app.command()
def serve(
    customers: Path = typer.Option(..., "--customers", help="Customer list the nightly run reads"),
    db: Optional[Path] = typer.Option(None, "--db", help=DB_HELP),
    out_dir: Path = typer.Option(Path("out"), "--out", help="Folder for the offers"),
    assumptions: Optional[str] = typer.Option(None, "--assumptions", help="Assumption set name or YAML file"),
    cron: str = typer.Option("0 2 * * *", "--cron", help="When to run (cron, in --timezone)"),
    timezone: str = typer.Option("Asia/Shanghai", "--timezone", help="Time zone of the cron schedule"),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Skip rendering the PDF offers"),
    workers: int = typer.Option(2, "--workers", min=1, help="Processes rendering PDFs"),
    retention_days: Optional[int] = RetentionDays, keep_runs: int = KeepRuns, generations: int = Generations,
) -> None:
    """Serve the scheduled nightly run and the campaign form: registers the deployments `nightly/nightly` and
    `campaign/campaign` and runs their flow runs until stopped.

    Needs a running Prefect server (PREFECT_API_URL); see the README's "Scheduling the nightly run".
    """
    from flows.serving import wait_for_prefect_server
    problem = wait_for_prefect_server()
    if problem:
        fail(problem)

    def action():
        from flows.deployment import serve_deployments
        from flows.parameters import NightlyParameters
        params = NightlyParameters(customers=customers, out=out_dir, assumptions=assumptions, render_pdf=not no_pdf,
                                   workers=workers, lock_timeout_s=600, **({"db": db} if db else {}),
                                   **retention_settings(retention_days, keep_runs, generations))
        serve_deployments(params, cron=cron, timezone=timezone)

    guarded(action)


@app.command()
def query(
    sql: Optional[str] = typer.Argument(None, help="One SQL statement (read-only); or use --file"),
    file: Optional[str] = typer.Option(None, "--file", "-f", help="Read the statement from this .sql file "
                                                                 "('-': standard input), e.g. docs/questions/*.sql"),
    db: Optional[Path] = typer.Option(None, "--db", help=DB_HELP),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Write the result to this CSV file"),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Write the result to this Excel file (filter row, "
                                                             "percentages as %, widths that fit Chinese)"),
    chinese_headers: bool = typer.Option(False, "--chinese-headers", help="Chinese column headers (企业名称, "
                                                                          "年用电量 (kWh) …) in the table or file"),
    max_rows: int = typer.Option(50, "--max-rows", help="Rows to print"),
    audit: bool = typer.Option(False, "--audit", help="Query the warehouse's audit log (table audit_log: "
                                                       "exports and deletions) instead of the warehouse"),
) -> None:
    """Run one SQL statement on a read-only connection and print the result (or write CSV/Excel; a written
    file is recorded in the audit log)."""
    from flows.parameters import default_db
    from flows.query_command import query as run_query_command

    guarded(lambda: run_query_command(sql, file, db or default_db(), csv, xlsx, max_rows, chinese_headers,
                                      echo=lambda text: out.print(text, highlight=False), audit=audit))


from dashboard.command import dashboard as _dashboard_command  # noqa: E402  (managers' web dashboard)
app.command("dashboard")(_dashboard_command)
from dashboard.command import user_app as _dashboard_users  # noqa: E402
app.add_typer(_dashboard_users, name="dashboard-user")

from flows import cli_operations  # noqa: E402
cli_operations.register(app)   # gp backup, gp restore

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: time and memory, side by side with baselines.")
app.add_typer(bench_app, name="bench")
from flows.responses_cli import responses_app  # noqa: E402  (gp responses …: the closed loop)
app.add_typer(responses_app, name="responses")
from flows.leads_cli import calls_command, leads_app  # noqa: E402  (gp leads …, gp calls: lead scores)
app.add_typer(leads_app, name="leads")
app.command("calls")(calls_command)


def _bench(module, json_out: Optional[Path], *args, **kwargs) -> None:
    """Run ``module.run(*args, **kwargs)``, print ``module.report`` of it, and write the JSON if asked."""
    def action():
        result = module.run(*args, **kwargs)
        out.print(module.report(result), highlight=False)
        if json_out:
            json_out.write_text(__import__("json").dumps(result, indent=2))

    guarded(action)


@bench_app.command("engine")
def bench_engine(
    rows: int = typer.Option(1_000_000, "--rows", min=1, help="Synthetic accounts"),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Fresh processes to time (median reported)"),
    assumptions: Optional[str] = typer.Option(None, "--assumptions", help="Assumption set"),
    naive_accounts: int = typer.Option(2000, "--naive-accounts", min=10, help="Accounts for the naive baseline"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the figures as JSON"),
) -> None:
    """The cost model alone: time and peak memory for ROWS accounts, and the speed-up over a naive loop."""
    from flows.benchmarks import benchmark_module
    engine_bench = benchmark_module("engine_bench")
    _bench(engine_bench, json_out, rows, repeats, assumptions, naive_accounts)


@bench_app.command("pipeline")
def bench_pipeline(
    sizes: list[int] = typer.Option([10_000, 100_000, 1_000_000], "--size", help="Accounts (repeatable)"),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Fresh processes per size (median reported)"),
    history: int = typer.Option(0, "--history", min=0, help="Earlier runs already in the warehouse"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the figures as JSON"),
) -> None:
    """Every stage (load+validate, segment, cost model, persist, publish): time, accounts/s, peak memory,
    linearity from the smallest to the largest size, beside naive baselines."""
    from flows.benchmarks import benchmark_module
    pipeline_bench = benchmark_module("pipeline_bench")
    _bench(pipeline_bench, json_out, sorted(sizes), repeats, history=history)


@bench_app.command("scale")
def bench_scale(
    accounts: list[int] = typer.Option([1_000_000], "--accounts", min=1, help="Synthetic accounts (repeatable)"),
    chunk_rows: int = typer.Option(250_000, "--chunk-rows", min=1, help="Rows per chunk"),
    input_file: Optional[Path] = typer.Option(None, "--input", help="An existing customer list instead"),
    flow: bool = typer.Option(False, "--flow", help="Also time `gp run --no-pdf` (Prefect included) on the list"),
    dask_workers: list[int] = typer.Option([], "--dask-workers", help="Also on a local Dask cluster of N workers "
                                                                      "(repeatable)"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the figures as JSON"),
) -> None:
    """Province scale: a run without PDFs streamed in chunks — wall time and peak memory per stage."""
    from flows.benchmarks import benchmark_module
    scale_bench = benchmark_module("scale_bench")
    _bench(scale_bench, json_out, [0] if input_file else accounts, chunk_rows, input_file=input_file, flow=flow,
           dask_workers=dask_workers)


@bench_app.command("render", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_render(ctx: typer.Context) -> None:
    """PDF rendering: documents/s with 1 and 2 processes, memory per worker, PDF size, and WeasyPrint alone on
    the same HTML (options: --docs N --workers 1 2 --json FILE)."""
    import runpy

    from flows.benchmarks import benchmark_script

    def action():
        script = benchmark_script("render_bench")
        sys.argv = [str(script), *ctx.args]
        return runpy.run_path(str(script), run_name="__main__")

    guarded(action)


@bench_app.command("incremental")
def bench_incremental(
    accounts: int = typer.Option(1000, "--accounts", min=10, help="Synthetic accounts (each full render ≈ 0.2–0.4 s)"),
    changed: float = typer.Option(0.01, "--changed", min=0.0001, max=1, help="Share of accounts changed"),
    workers: int = typer.Option(2, "--workers", min=1, help="Render processes"),
    seeded: bool = typer.Option(False, "--seeded", help="Seed the first run's documents (one real PDF linked under "
                                                        "every name) and time deciding, linking, rendering"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the figures as JSON"),
) -> None:
    """A full nightly run, then one with a share of accounts changed: time ratio and offers rendered. With
    --seeded (e.g. --accounts 100000): deciding, linking and rendering times and their projection to 1M."""
    from flows.benchmarks import benchmark_module
    incremental_bench = benchmark_module("incremental_bench")
    if seeded:
        def action():
            result = incremental_bench.run_seeded(accounts, changed, workers)
            out.print(incremental_bench.report_seeded(result), highlight=False)
            if json_out:
                json_out.write_text(__import__("json").dumps(result, indent=2, default=str))
        guarded(action)
        return
    _bench(incremental_bench, json_out, accounts, changed, workers)


@bench_app.command("scaleout")
def bench_scaleout(
    docs: int = typer.Option(120, "--docs", min=4, help="Offers to render per worker count"),
    workers: list[int] = typer.Option([1, 2], "--workers", min=1, help="Dask workers (repeatable)"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the figures as JSON"),
) -> None:
    """Rendering on a local Dask cluster with 1, 2 … workers: documents/s, scaling, and the local pool beside."""
    from flows.benchmarks import benchmark_module
    scaleout_bench = benchmark_module("scaleout_bench")
    _bench(scaleout_bench, json_out, docs, sorted(set(workers)))


@bench_app.command("leads")
def bench_leads(
    accounts: int = typer.Option(1_000_000, "--accounts", min=100, help="Accounts to score"),
    periods: int = typer.Option(2, "--periods", min=2, help="Months of offer history before the scored run"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the figures as JSON"),
) -> None:
    """Lead scoring: features + predict + reasons + store for ACCOUNTS accounts of one run (goal < 20 s at 1M)."""
    from flows.benchmarks import benchmark_module
    _bench(benchmark_module("leads_bench"), json_out, accounts, periods)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
