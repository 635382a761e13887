"""Benchmark of ``gp responses import``: a CRM export of N responses into a warehouse holding their offers.

    python -m benchmarks.responses_bench --responses 1000000 [--json FILE]

Set-up (not timed): a warehouse with one nightly run whose ``offers`` table holds an offer per
response (numbers from ``offers.offer_number``, editions of a 3-arm experiment), and a CRM export
written by the response simulator (``synthetic.responses``) as a GBK CSV with Chinese headers
and response codes (offer number + check code), as a Chinese CRM saves it. Timed: the whole
``loop.responses.import_responses`` call in this process — read and decode, header matching, the
checks of every row, the insert, the loop's views and A/B statistics refreshed, and the atomic publish
(staging copy, checkpoint, fsync, rename) — and peak resident memory.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl


def build(folder: Path, responses: int, seed: int = 0) -> tuple[Path, Path, int]:
    from synthetic.responses import simulate_responses, to_crm_export
    from offers.offer_number import make_offer_no, response_code
    from warehouse import Warehouse

    import numpy as np

    issued = dt.date(2026, 11, 2)
    n = responses
    ids = [f"B{i:08d}" for i in range(n)]
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "savings_first", "brand_first"], size=n, p=[0.1, 0.45, 0.45])
    offers = pl.DataFrame({
        "account_id": ids,
        "status": np.where(arm == "control", "held_out", "rendered"),
        "experiment": "value-editions-2026",
        "edition": np.where(arm == "control", None, arm),
        "offer_no": [make_offer_no(i, "bench", issued) for i in ids],
        "issued_on": issued, "valid_until": issued + dt.timedelta(days=30), "content_hash": "bench"})
    segments = pl.DataFrame({"account_id": ids, "segment": "value_oriented"})
    db = folder / "bench.duckdb"
    with Warehouse(db).start_run(kind="nightly", campaign=None, input_path=None, input_sha256=None, assumptions={},
                                 rules_version="bench", code_version="bench") as run:
        run.write("segments", segments)
        run.write("offers", offers)
    accounts = pl.DataFrame({"account_id": ids, "segment": "value_oriented",
                             "is_exporter": rng.random(n) < 0.5, "annual_kwh": 1e6,
                             "bill_yuan": 1e5, "green_cost_low_yuan": 1e5 * (1 + rng.normal(0, 0.1, n))})
    sim = simulate_responses(offers, accounts, seed=seed, response_code=response_code, no_response_rows=1.0,
                             organic_rate=0.5, today=dt.date(2026, 12, 1))
    sim = sim.head(responses)
    export = folder / "crm.csv"
    export.write_bytes(to_crm_export(sim).write_csv().encode("gb18030"))
    return db, export, sim.height


def run(responses: int) -> dict:
    from loop.responses import import_responses

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        db, export, rows = build(folder, responses)
        setup_s = time.perf_counter() - t0
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        result = import_responses(db, export, today=dt.date(2026, 12, 1))
        import_s = time.perf_counter() - t0
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"responses": rows, "file_mb": export.stat().st_size / 2**20, "setup_s": setup_s,
                "import_s": import_s, "rows_per_s": rows / import_s, "stored": result.accepted,
                "rejected": result.rejected, "duplicates": result.duplicates,
                "peak_rss_mib_before": rss_before, "peak_rss_mib": rss_after}


def report(r: dict) -> str:
    return (f"import of {r['responses']:,} responses ({r['file_mb']:.0f} MB GBK CSV): {r['import_s']:.1f} s "
            f"({r['rows_per_s']:,.0f} rows/s; goal < 30 s), stored {r['stored']:,}, duplicates {r['duplicates']:,}, "
            f"rejected {r['rejected']:,}; peak RSS {r['peak_rss_mib']:,.0f} MiB "
            f"(set-up {r['setup_s']:.0f} s, {r['peak_rss_mib_before']:,.0f} MiB before the import)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.responses)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
