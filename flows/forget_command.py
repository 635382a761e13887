"""``gp forget ACCOUNT_ID --reason TEXT``: delete one customer's data on request (PIPL's right to deletion).

Rows in every run's tables, the offers' PDFs in every run folder (hard links included) and their manifest
lines (``warehouse/forget.py``, ``offers/forget.py``), the earlier published files that hold them, and the
id and name wherever the audit log's descriptions repeat them; then one audit entry — who, when, the
reason and the counts, without the id or any other personal data. The next run adds the customer back
only if the customer list still holds them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def forget(
    account_id: str = typer.Argument(..., help="The customer's account id (户号)"),
    reason: str = typer.Option(..., "--reason", help="Why (e.g. the request's reference number); recorded in "
                                                     "the audit log — no personal data"),
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file [default: data/warehouse/greenpower.duckdb]"),
    out: list[Path] = typer.Option([], "--out", help="Also search this offers folder (repeatable); every run's "
                                                     "recorded output folder is always searched"),
    wait: float = typer.Option(0, "--wait", min=0, help="Seconds to wait if a run holds the database"),
) -> None:
    """Delete one customer from every run's tables, every offers folder (PDFs, hard links, manifest lines)
    and the earlier database files kept for restore; record the deletion (without personal data)."""
    from flows import cli
    from flows.parameters import default_db

    path = Path(db) if db else default_db()

    def action():
        from offers.forget import forget_offer_files
        from warehouse.audit import record, scrub
        from warehouse.forget import REPLACEMENT, forget_account

        removed = {}

        def remove_files(found):
            removed["files"] = forget_offer_files(account_id, found.offer_files, [*found.folders, *out])

        found = forget_account(path, account_id, remove_files=remove_files, lock_timeout_s=wait)
        gone = removed["files"]
        scrubbed = scrub(path, [account_id, *found.names])
        clean = reason
        for word in (account_id, *found.names):
            clean = clean.replace(word, REPLACEMENT)
        record(path, action="forget", rows=found.total_rows,
               what=f"reason: {clean}; {found.total_rows} rows in {len(found.rows)} tables, {found.cells} text "
                    f"cells, {len(gone.pdfs)} offer files, {len(gone.manifests)} manifests, "
                    f"{len(found.old_files_removed)} earlier database files")
        say = lambda text: cli.out.print(text, highlight=False)   # noqa: E731
        if not found.total_rows and not gone.pdfs and not gone.manifests:
            say(f"{path}: no rows or offer files held this account (nothing to delete); recorded in the audit log")
            return
        tables = ", ".join(f"{t} {n:,}" for t, n in sorted(found.rows.items())) or "none"
        say(f"deleted {found.total_rows:,} rows ({tables}) and published {path}")
        if found.cells:
            say(f"replaced the id or name in {found.cells:,} text cells (errors, reject values)")
        say(f"removed {len(gone.pdfs):,} offer files (hard links counted each) and the account's lines in "
            f"{len(gone.manifests):,} manifests")
        if found.old_files_removed:
            say(f"removed {len(found.old_files_removed)} earlier database files that held it (generations, "
                "replaced files); the next nightly run starts a new generation")
        if scrubbed:
            say(f"replaced the id or name in {scrubbed} audit log entries")
        say("backups made with `gp backup` before today still hold it: after restoring one, run gp forget again")

    cli.guarded(action)
