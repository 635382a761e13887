"""``gp responses …``: the closed loop on the command line (registered in ``flows/cli.py``)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from core.filemodes import make_dirs, secure_file

responses_app = typer.Typer(no_args_is_help=True,
                            help="Responses from the CRM: import offer outcomes; see the funnel and A/B results.")


def print_loop(db: Path) -> None:
    """The funnel (overall, by segment, by edition) and the A/B results, as tables."""
    from rich.table import Table

    from flows.cli import out
    from flows.responses import edition_rows, funnel_rows

    funnel = Table(title="offer funnel (offer_funnel)", title_justify="left")
    for col in ("by", "value", "sent", "responded", "meeting", "accepted", "conversion", "95 % CI"):
        funnel.add_column(col, justify="left" if col in ("by", "value") else "right")
    for r in funnel_rows(db):
        funnel.add_row(r["dimension"], r["value"], f"{r['sent']:,}", f"{r['responded']:,}", f"{r['meeting']:,}",
                       f"{r['accepted']:,}", _pct(r["conversion"]),
                       f"{_pct(r['conversion_low'])}–{_pct(r['conversion_high'])}")
    out.print(funnel)
    ab = Table(title="A/B results (edition_results)", title_justify="left")
    for col in ("experiment", "segment", "arm", "vs", "offers", "accepted", "conversion", "difference (95 % CI)",
                "p", "winner / more offers needed"):
        ab.add_column(col, justify="left" if col in ("experiment", "segment", "arm", "vs") else "right")
    for r in edition_rows(db):
        diff = "—" if r["difference"] is None else (
            f"{100 * r['difference']:+.1f} ({100 * r['difference_low']:+.1f} … {100 * r['difference_high']:+.1f}) pt")
        verdict = r["winner"] or ("—" if r["more_offers_needed"] is None else f"none yet; {r['more_offers_needed']:,} more")
        ab.add_row(r["experiment"], r["segment"], r["arm"], r["reference_arm"], f"{r['offers']:,}", f"{r['accepted']:,}",
                   _pct(r["conversion"]), diff, "—" if r["p_value"] is None else f"{r['p_value']:.3g}",
                   verdict if r["arm"] != r["reference_arm"] else "(reference)")
    out.print(ab)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


@responses_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="CRM export: CSV (UTF-8/GBK), .xlsx or Parquet; headers 方案编号/户号/"
                                          "反馈结果/反馈日期/签约电量/备注 or offer_no/account_id/outcome/…"),
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file [default: data/warehouse/greenpower.duckdb]"),
    lock_timeout: float = typer.Option(600, "--lock-timeout", help="Seconds to wait for a run in progress"),
) -> None:
    """Import offer outcomes: every row is stored or rejected (see response_rejects); re-importing adds nothing."""
    from flows.cli import guarded, out
    from flows.parameters import default_db
    from flows.responses import import_file

    db = db or default_db()
    result = guarded(lambda: import_file(file, db, lock_timeout))
    if result["already_imported"]:
        out.print(f"{file} was already imported ({result['already_imported']}); nothing added")
    else:
        out.print(f"{file}: {result['rows_read']:,} rows read — stored {result['accepted']:,}, duplicates "
                  f"{result['duplicates']:,}, rejected {result['rejected']:,}"
                  + (" (SELECT * FROM response_rejects shows why)" if result["rejected"] else ""))
    print_loop(db)


def demo_loop(summary: dict, seed: int = 1) -> None:
    """``gp demo``'s loop: simulated CRM responses for the run's offers, imported; funnel and A/B printed."""
    import datetime as dt

    from flows.cli import out
    from flows.responses import import_file
    from synthetic.responses import simulate_responses, to_crm_export
    from offers.offer_number import response_code
    from warehouse import run_query

    db, run_id = Path(summary["db"]), summary["run_id"]
    offers = run_query(db, "SELECT account_id, status, edition, offer_no, issued_on FROM offers WHERE run_id = ?",
                       [run_id])
    accounts = run_query(db, "SELECT account_id, segment, is_exporter, annual_kwh, bill_yuan, green_cost_low_yuan "
                             "FROM latest_results")
    sim = simulate_responses(offers, accounts, seed=seed, response_code=response_code, today=dt.date.today())
    folder = Path(summary.get("offers_folder") or "out")
    make_dirs(folder)
    export = folder / "crm_responses_simulated.csv"
    export.write_bytes(to_crm_export(sim).write_csv().encode("gb18030"))     # as a Chinese CRM would save it
    secure_file(export)
    out.print(f"\n[bold]The loop[/]: {sim.height:,} simulated CRM responses (GBK CSV, Chinese headers) → {export}")
    result = import_file(export, db)
    out.print(f"imported: stored {result['accepted']:,}, duplicates {result['duplicates']:,}, "
              f"rejected {result['rejected']:,}" + (" (already imported before)" if result["already_imported"] else ""))
    print_loop(db)
    out.print("  ./gp responses import FILE   # a real CRM export; ./gp query \"SELECT * FROM crm_triggers\"")
