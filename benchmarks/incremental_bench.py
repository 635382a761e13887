"""Incremental nightly runs: a full run, then the same list with 1 % of accounts changed.

    gp bench incremental [--accounts 1000] [--changed 0.01] [--workers 2] [--json FILE]

Both runs go through the real ``nightly`` flow (load, validate, segment, compute, persist, render, publish)
inside one Prefect test server started before timing, so Prefect's start-up is in neither figure. The
changed accounts get a 10 % higher bill, which changes their figures and so their offers; the others'
offers must come out ``unchanged`` (linked from the first run's folder, not rendered).
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import polars as pl


def run(accounts: int, changed: float, workers: int) -> dict:
    import flows.environment  # noqa: F401
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly
    from flows.parameters import NightlyParameters
    from synthetic import generate_customers

    with tempfile.TemporaryDirectory(prefix="gp-incremental-") as tmp:
        tmp = Path(tmp)
        base = generate_customers(accounts, seed=11)
        step = max(1, round(1 / changed))                 # every step-th account changes
        picked = pl.Series("picked", [i % step == 0 for i in range(accounts)])
        bill = pl.col("annual_bill_yuan").cast(pl.Float64, strict=False)
        edited = base.with_columns(
            pl.when(picked).then(pl.coalesce(bill, pl.col("annual_kwh").cast(pl.Float64) * 0.6) * 1.1)
            .otherwise(bill).alias("annual_bill_yuan"))
        first, second = tmp / "customers.csv", tmp / "customers-changed.csv"
        base.write_csv(first)
        edited.write_csv(second)
        timings = {}
        with prefect_test_harness(server_startup_timeout=120):
            for label, path in (("full", first), ("incremental", second)):
                params = NightlyParameters(customers=path, db=tmp / "gp.duckdb", out=tmp / "out", workers=workers)
                start = time.perf_counter()
                summary = nightly(params)
                timings[label] = {"seconds": time.perf_counter() - start, "offers": summary["offers"]}
    full, inc = timings["full"], timings["incremental"]
    rendered = inc["offers"].get("rendered", 0)
    return {
        "benchmark": "incremental", "accounts": accounts, "changed_accounts": int(picked.sum()), "workers": workers,
        "full_s": full["seconds"], "incremental_s": inc["seconds"], "time_ratio": inc["seconds"] / full["seconds"],
        "full_offers": full["offers"], "incremental_offers": inc["offers"],
        "rendered_share": rendered / accounts, "goal": {"time_ratio": 0.05},
    }


def report(result: dict) -> str:
    return "\n".join([
        f"incremental nightly, {result['accounts']:,} accounts, {result['changed_accounts']} changed "
        f"({result['workers']} render processes)",
        f"  full run         {result['full_s']:.1f} s   offers {result['full_offers']}",
        f"  incremental run  {result['incremental_s']:.1f} s   offers {result['incremental_offers']}",
        f"  time ratio       {result['time_ratio']:.1%} (goal < 5 %); offers rendered {result['rendered_share']:.1%}",
    ])


def main(argv: list[str] | None = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m benchmarks.incremental_bench")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.accounts, args.changed, args.workers)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
