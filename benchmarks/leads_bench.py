"""Benchmark of lead scoring: features + predict + reasons + store for N accounts of one run.

    gp bench leads --accounts 1000000 [--periods 2] [--json FILE]

Set-up (not timed): N synthetic accounts taken through validation, segmentation and the cost model, one
nightly run per month in a real warehouse file holding every account's offer (``simulate_history``:
about 0.8 × N offers a month, planted converters), the simulated answers stored in ``responses``, the
loop's views created and a model trained on the history (at most ``max_train_rows`` offers). Timed:
``loop.leads.store.score_run`` on the latest run inside one transaction — reading the accounts, their
figures, offers and responses (SQL), building the features as of the scoring date, the leak check,
the calibrated model's probabilities and each account's top reasons, and writing ``lead_scores`` — then
the commit. Reported: wall seconds per step and in all, CPU seconds (user + sys) of the process, the
load average before and after (the machine is shared).
"""
from __future__ import annotations

import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def prepare(folder: Path, accounts: int, periods: int, seed: int = 3) -> tuple[Path, dict]:
    from flows.frames import stored_accounts, stored_segments, with_segment_columns
    from gpengine.assumptions import load_assumptions
    from gpengine.model import compute
    from gpengine.reference import load_reference
    from intake import table_from_frame, validate_accounts
    from loop.config import load_loop_config
    from loop.leads.config import load_leads_config
    from loop.leads.store import train
    from loop.store import ensure_loop_tables
    from loop.views import create_loop_views
    from segmentation import load_segmentation_config, segment_accounts
    from synthetic import generate_customers
    from synthetic.responses import simulate_history
    from warehouse import Warehouse

    started = time.perf_counter()
    checked = validate_accounts(table_from_frame(generate_customers(accounts, seed=seed).cast(pl.Utf8), "synthetic"))
    seg_config = load_segmentation_config()
    segments = segment_accounts(checked.accounts, seg_config)
    enriched = with_segment_columns(checked.accounts, segments)
    results = compute(enriched, load_reference(), load_assumptions(), run_id="x").results.drop("run_id", strict=False)
    frames = {"accounts": stored_accounts(enriched), "segments": stored_segments(segments, seg_config.rules_version),
              "results": results}
    sim = (frames["accounts"].select("account_id", "is_exporter", "re100_member", "is_listed")
           .join(frames["segments"].select("account_id", "segment"), on="account_id")
           .join(results.select("account_id", "bill_yuan", "green_cost_low_yuan"), on="account_id"))
    hist = simulate_history(sim, periods=periods, start=dt.date(2026, 9, 1), seed=seed)
    db = folder / "bench.duckdb"
    for k in range(periods):
        offers = (hist["offers"].filter(pl.col("period_index") == k)
                  .select("account_id", pl.lit("rendered").alias("status"), "edition", "offer_no", "issued_on",
                          "valid_until"))
        with Warehouse(db).start_run(kind="nightly", campaign=None, input_path=None, input_sha256=None,
                                     assumptions={}, rules_version="bench", code_version="bench") as run:
            for name, frame in frames.items():
                run.write(name, frame)
            run.write("offers", offers)
    con = duckdb.connect(str(db))
    ensure_loop_tables(con)
    create_loop_views(con, load_loop_config())
    responses = hist["responses"].with_columns(pl.lit("bench").alias("import_id"), pl.lit(0).alias("row_number"))
    con.register("_r", responses.to_arrow())
    con.execute("INSERT INTO responses BY NAME SELECT * FROM _r")
    con.unregister("_r")
    outcome = train(con, load_leads_config(), dt.date(2026, 12, 1))
    con.close()
    return db, {"prepare_seconds": time.perf_counter() - started, "offers": hist["offers"].height,
                "responses": hist["responses"].height, "model": outcome.describe()}


def run(accounts: int = 1_000_000, periods: int = 2) -> dict:
    from loop.leads.config import load_leads_config
    from loop.leads.store import latest_full_run, score_run

    with tempfile.TemporaryDirectory() as tmp:
        db, setup = prepare(Path(tmp), accounts, periods)
        con = duckdb.connect(str(db))
        run_id, _ = latest_full_run(con)
        load_before = os.getloadavg()
        timings: dict[str, float] = {}
        cpu0, t0 = _cpu(), time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        scored = score_run(con, load_leads_config(), run_id, dt.date(2026, 12, 1), timings)
        con.execute("COMMIT")
        seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
        timings["commit"] = seconds - sum(timings.values())
        load_after = os.getloadavg()
        con.close()
    return {"accounts": scored.height, "model_version": scored["model_version"][0], "seconds": seconds,
            "cpu_seconds": cpu, "steps": timings, "load_before": load_before[0], "load_after": load_after[0],
            "cores": os.cpu_count(), **setup}


def report(r: dict) -> str:
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in r["steps"].items())
    return (f"lead scoring of {r['accounts']:,} accounts ({r['model_version']}): {r['seconds']:.1f} s wall "
            f"(goal < 20 s), {r['cpu_seconds']:.1f} s CPU (user+sys)\n  steps: {steps}\n"
            f"  history: {r['offers']:,} offers, {r['responses']:,} responses; {r['model']}\n"
            f"  load average {r['load_before']:.1f} before, {r['load_after']:.1f} after, on {r['cores']} cores; "
            f"set-up (not timed) {r['prepare_seconds']:.0f} s")
