"""Warehouses with a simulated offer history for the lead model's tests: the accounts computed for real
(validation, segmentation, cost model), one nightly run per month holding that month's offers (real
offer numbers), and the CRM's answers imported through ``gp responses import``'s own code."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from loop.responses import import_responses
from loop_support import pipeline_frames, write_run
from offers.offer_number import make_offer_no, response_code
from synthetic.responses import simulate_history

START = dt.date(2026, 6, 1)


def profiles(frames: dict) -> pl.DataFrame:
    """What the simulator needs per account."""
    return (frames["accounts"].select("account_id", "is_exporter", "re100_member", "is_listed")
            .join(frames["segments"].select("account_id", "segment"), on="account_id")
            .join(frames["results"].select("account_id", "bill_yuan", "green_cost_low_yuan"), on="account_id"))


def history_warehouse(db: Path, n: int, periods: int, *, seed: int = 7, signal: bool = True,
                      frames: dict | None = None, start: dt.date = START) -> dict:
    """``periods`` monthly runs over ``n`` accounts with their offers, and the simulated answers imported."""
    frames = frames or pipeline_frames(n, seed=seed)
    hist = simulate_history(profiles(frames), periods=periods, start=start, seed=seed, signal=signal,
                            offer_no=lambda a, k, d: make_offer_no(a, f"sim-{k}", d))
    run_ids = []
    for k in range(periods):
        offers = (hist["offers"].filter(pl.col("period_index") == k)
                  .select("account_id", pl.lit("rendered").alias("status"),
                          (pl.col("account_id") + ".pdf").alias("path"), pl.lit(None, pl.String).alias("experiment"),
                          "edition", "offer_no", "issued_on", "valid_until"))
        run_ids.append(write_run(db, frames["accounts"], frames["segments"], frames["results"], offers))
    export = db.with_name(f"{db.stem}-crm.csv")
    hist["responses"].select(pl.col("offer_no").map_elements(response_code, return_dtype=pl.String),
                             "outcome", pl.col("responded_on").dt.to_string("%Y-%m-%d")).write_csv(export)
    result = import_responses(db, export)
    assert result.rejected == 0, result
    return {"frames": frames, "history": hist, "run_ids": run_ids}
