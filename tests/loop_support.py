"""A real warehouse with a planted offer history for the loop's tests (no PDFs: the offers rows are
what a run with PDFs would store — offer numbers, editions, held-out control accounts)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from loop.assign import plan_editions
from loop.config import LoopConfig, load_loop_config
from offers.offer_number import make_offer_no
from warehouse import Warehouse

ISSUED = dt.date(2026, 11, 2)


def offers_for(segments: pl.DataFrame, config: LoopConfig, day: dt.date, tag: str = "") -> pl.DataFrame:
    """The offers rows a run on ``day`` stores for these accounts (editions assigned for real)."""
    plan = plan_editions(segments, config, day)
    rows = []
    for account_id in segments["account_id"].to_list():
        a = plan.get(account_id, {})
        if a.get("held_out"):
            rows.append({"account_id": account_id, "status": "held_out", "offer_no": a["held_out_no"],
                         "experiment": a["experiment"], "edition": None, "issued_on": day, "valid_until": None})
        else:
            rows.append({"account_id": account_id, "status": "rendered", "path": f"{account_id}.pdf",
                         "content_hash": f"hash-{account_id}{tag}",
                         "offer_no": make_offer_no(account_id, f"hash-{account_id}{tag}", day),
                         "experiment": a.get("experiment"), "edition": a.get("edition"), "issued_on": day,
                         "valid_until": day + dt.timedelta(days=30)})
    return pl.DataFrame(rows, schema={"account_id": pl.String, "status": pl.String, "path": pl.String,
                                      "content_hash": pl.String, "offer_no": pl.String, "experiment": pl.String,
                                      "edition": pl.String, "issued_on": pl.Date, "valid_until": pl.Date})


def write_run(db: Path, accounts: pl.DataFrame | None, segments: pl.DataFrame, results: pl.DataFrame | None,
              offers: pl.DataFrame, campaign: str | None = None) -> str:
    with Warehouse(db).start_run(kind="campaign" if campaign else "nightly", campaign=campaign, input_path=None,
                                 input_sha256=None, assumptions={}, rules_version="test-rules",
                                 code_version="test") as run:
        if accounts is not None:
            run.write("accounts", accounts)
        run.write("segments", segments)
        if results is not None:
            run.write("results", results)
        run.write("offers", offers)
        return run.run_id


def pipeline_frames(n: int, seed: int = 5) -> dict:
    """Synthetic accounts taken through validation, segmentation and the cost model, as a run stores them."""
    from flows.frames import stored_accounts, stored_segments, with_segment_columns
    from gpengine.assumptions import load_assumptions
    from gpengine.model import compute
    from gpengine.reference import load_reference
    from intake import table_from_frame, validate_accounts
    from synthetic import generate_customers
    from segmentation import load_segmentation_config, segment_accounts

    checked = validate_accounts(table_from_frame(generate_customers(n, seed=seed).cast(pl.Utf8), "synthetic"))
    seg_config = load_segmentation_config()
    segments = segment_accounts(checked.accounts, seg_config)
    enriched = with_segment_columns(checked.accounts, segments)
    model = compute(enriched, load_reference(), load_assumptions(), run_id="x")
    return {"accounts": stored_accounts(enriched), "segments": stored_segments(segments, seg_config.rules_version),
            "results": model.results.drop("run_id", strict=False)}


def demo_history(db: Path, n: int = 300, seed: int = 5, day: dt.date = ISSUED,
                 config: LoopConfig | None = None) -> dict:
    """One nightly run of ``n`` synthetic accounts computed for real, with its offers rows."""
    config = config or load_loop_config()
    frames = pipeline_frames(n, seed)
    offers = offers_for(frames["segments"], config, day)
    run_id = write_run(db, frames["accounts"], frames["segments"], frames["results"], offers)
    return {"run_id": run_id, **frames, "offers": offers}


def simulator_accounts(history: dict) -> pl.DataFrame:
    """What the response simulator needs per account."""
    return (history["accounts"].select("account_id", "is_exporter", "annual_kwh")
            .join(history["segments"].select("account_id", "segment"), on="account_id")
            .join(history["results"].select("account_id", "bill_yuan", "green_cost_low_yuan"), on="account_id"))
