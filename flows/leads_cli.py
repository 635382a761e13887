"""``gp leads train`` and ``gp calls``: the lead scores on the command line (registered in ``flows/cli.py``)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

leads_app = typer.Typer(no_args_is_help=True, help="Lead scores: train the conversion model now.")


@leads_app.command("train")
def train_command(
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file [default: data/warehouse/greenpower.duckdb]"),
    lock_timeout: float = typer.Option(600, "--lock-timeout", help="Seconds to wait for a run in progress"),
) -> None:
    """Train the conversion model on the offer history now, check it on the latest period, keep it only if it
    is not worse there than the current model, and rescore the latest nightly run."""
    from flows.cli import guarded, out
    from flows.parameters import default_db
    from loop.config import load_loop_config
    from loop.leads.config import load_leads_config
    from loop.leads.store import train_command as train

    db = db or default_db()
    report = guarded(lambda: train(db, load_loop_config(), load_leads_config(), lock_timeout_s=lock_timeout))
    out.print(report.describe(), highlight=False)


def calls_command(
    rep: str = typer.Option(..., "--rep", help="Sales rep, as written in the customer list's sales_rep column"),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Also write the call list to this Excel file"),
    limit: int = typer.Option(20, "--limit", min=1, help="Rows to print (the Excel file holds all)"),
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file [default: data/warehouse/greenpower.duckdb]"),
) -> None:
    """A rep's call list: account, score, reasons in Chinese, offer file, valid-until date, open CRM triggers."""
    from flows.cli import fail, guarded, out
    from flows.parameters import default_db
    from loop.leads.calls import call_list, write_call_list
    from loop.leads.config import load_leads_config
    from warehouse import format_table
    from warehouse.audit import record_export

    db = db or default_db()
    calls = guarded(lambda: call_list(db, rep, load_leads_config(), names=code_names()))
    if calls.height == 0:
        fail(f"no scored accounts for sales rep {rep!r} in the latest nightly run")
    kind = calls["score_kind"][0]
    out.print(f"{rep}: {calls.height:,} accounts, best first; scores: {kind}", highlight=False)
    from loop.leads.calls import HEADERS
    shown = calls.drop("score_kind").with_columns((calls["score"] * 100).round(1).alias("score"))
    out.print(format_table(shown.rename({**HEADERS, "score": "签约可能性 %"}, strict=False), max_rows=limit), highlight=False)
    if xlsx is not None:
        guarded(lambda: write_call_list(calls, xlsx))
        out.print(f"call list written to {xlsx}")
    # a call list is an export of customer data (reliability.md): who, when, whose list and how many rows
    record_export(db, what=f"gp calls --rep {rep}", rows=calls.height, via="call list",
                  target=str(xlsx) if xlsx is not None else None)


def code_names() -> dict[str, str]:
    """Chinese names of segment codes (the playbooks' label_zh) and of editions (their framing)."""
    from loop.config import load_loop_config
    from segmentation import load_segmentation_config

    names = {code: book["label_zh"] for code, book in load_segmentation_config().playbooks.items()}
    framing = {"savings": "省钱优先", "brand": "品牌优先", "co2": "减碳优先", "compliance": "合规优先"}
    for editions in load_loop_config().editions.values():
        names |= {name: framing.get(spec.framing, name) for name, spec in editions.items()}
    return names | {"standard": "标准"}
