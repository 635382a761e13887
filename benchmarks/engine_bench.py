"""Benchmark of the cost model alone: time and peak memory for N accounts, beside the naive baseline.

    gp bench engine --rows 1000000 --repeats 3 [--json FILE]

Accounts come from the synthetic generator (``synthetic``), validated and segmented as in a run,
and are written once to a Parquet file. Each repeat then runs in a fresh process that reads them and times
``gpengine.model.compute`` only; its peak memory is the process's maximum resident set size (input frame
included), reported beside the resident size before the model ran. The naive baseline
(``tests/naive_model.py``, the engine's test oracle: a Python loop with ``numpy_financial.irr`` per account) runs on a subset and
is compared as accounts per second.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl


def prepare_accounts(rows: int, seed: int = 0) -> pl.DataFrame:
    """Synthetic customers, validated and segmented: what the model receives in a real run."""
    from flows.frames import with_segment_columns
    from intake.load import table_from_frame
    from synthetic import generate_customers
    from intake.validate import validate_accounts
    from segmentation import load_segmentation_config, segment_accounts

    checked = validate_accounts(table_from_frame(generate_customers(rows, seed=seed)))
    segments = segment_accounts(checked.accounts, load_segmentation_config())
    return with_segment_columns(checked.accounts, segments)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(parquet: Path, assumptions: str | None) -> dict:
    """One timed run of the model in this (fresh) process."""
    import psutil

    from gpengine.assumptions import load_assumptions
    from gpengine.model import compute
    from gpengine.reference import load_reference

    accounts = pl.read_parquet(parquet)
    reference, chosen = load_reference(), load_assumptions(assumptions)
    before = psutil.Process().memory_info().rss / 2**20
    start = time.perf_counter()
    out = compute(accounts, reference, chosen, run_id="bench")
    seconds = time.perf_counter() - start
    return {"accounts": accounts.height, "scenarios": out.scenarios.height, "seconds": seconds,
            "rss_before_mb": before, "peak_rss_mb": _peak_rss_mb()}


def naive_rate(accounts: pl.DataFrame, assumptions: str | None, limit: int = 2000) -> dict:
    """Accounts per second of the plain per-account implementation on a subset."""
    from benchmarks import naive_model
    plain = naive_model().plain
    from gpengine.assumptions import load_assumptions
    from gpengine.reference import load_reference

    reference, chosen = load_reference(), load_assumptions(assumptions)
    rows = accounts.head(limit).with_columns(
        pl.col("renewable_target").fill_null(pl.col("default_target_share")),
        pl.col("market_share").fill_null(pl.col("default_market_share")).fill_null(0.0),
        pl.col("high_energy").fill_null(False)).to_dicts()
    start = time.perf_counter()
    for row in rows:
        plain(row, chosen, reference)
    seconds = time.perf_counter() - start
    return {"accounts": len(rows), "seconds": seconds, "accounts_per_s": len(rows) / seconds}


def run(rows: int, repeats: int, assumptions: str | None, naive_accounts: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="gp-bench-") as tmp:
        parquet = Path(tmp) / "accounts.parquet"
        start = time.perf_counter()
        accounts = prepare_accounts(rows)
        accounts.write_parquet(parquet)
        prepared_s = time.perf_counter() - start
        trials = []
        for _ in range(repeats):
            proc = subprocess.run([sys.executable, "-m", "benchmarks.engine_bench", "--measure", str(parquet)]
                                  + (["--assumptions", assumptions] if assumptions else []),
                                  capture_output=True, text=True, check=True)
            trials.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        naive = naive_rate(accounts, assumptions, naive_accounts)
    median_s = statistics.median(t["seconds"] for t in trials)
    engine_rate = rows / median_s
    return {
        "benchmark": "engine", "rows": rows, "repeats": repeats, "prepare_s": prepared_s,
        "engine_median_s": median_s, "engine_accounts_per_s": engine_rate,
        "engine_peak_rss_mb": max(t["peak_rss_mb"] for t in trials),
        "engine_rss_before_mb": statistics.median(t["rss_before_mb"] for t in trials),
        "trials": trials, "naive": naive, "speedup_vs_naive": engine_rate / naive["accounts_per_s"],
        "goal": {"seconds": 5.0, "peak_mb": 2048, "speedup": 100},
    }


def report(result: dict) -> str:
    lines = [
        f"cost model, {result['rows']:,} accounts, median of {result['repeats']} fresh processes",
        f"  time            {result['engine_median_s']:.2f} s   ({result['engine_accounts_per_s']:,.0f} accounts/s; goal < 5 s)",
        f"  peak memory     {result['engine_peak_rss_mb']:,.0f} MB  (process RSS incl. the input frame, "
        f"{result['engine_rss_before_mb']:,.0f} MB before the model; goal < 2048 MB)",
        f"  naive baseline  {result['naive']['accounts_per_s']:,.0f} accounts/s on {result['naive']['accounts']:,} accounts"
        f" -> engine is {result['speedup_vs_naive']:,.0f}x faster (goal >= 100x)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_bench")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--assumptions", default=None)
    parser.add_argument("--naive-accounts", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.assumptions)))
        return
    result = run(args.rows, args.repeats, args.assumptions, args.naive_accounts)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
