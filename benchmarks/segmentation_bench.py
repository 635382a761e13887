"""Speed check: segment a synthetic customer list (default one million accounts).

    python benchmarks/segmentation_bench.py [N] [--distinct-industries K]

The goal (performance.md, segmentation's share of the < 30 s million-account run) is about
a second for a million accounts. Kept out of the test suite on purpose: a timing
assertion on a shared CI machine is noise, and the suite must stay fast.
"""
from __future__ import annotations

import argparse
import time

import polars as pl

from segmentation import load_segmentation_config, segment_accounts
from synthetic import accounts

def synthetic_accounts(n: int, distinct_industries: int | None = None, seed: int = 7) -> pl.DataFrame:
    """Validated synthetic accounts (the ``synthetic`` package); with ``distinct_industries`` their industry
    texts are made K-fold distinct — the worst case for the per-distinct-text classification."""
    frame = accounts(n, seed=seed)
    if distinct_industries:
        frame = frame.with_columns(
            pl.concat_str([pl.col("industry").fill_null("其他"),
                           (pl.int_range(pl.len()) % distinct_industries).cast(pl.Utf8)]).alias("industry"))
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--distinct-industries", type=int, default=None)
    args = parser.parse_args()
    config = load_segmentation_config()
    accounts = synthetic_accounts(args.n, args.distinct_industries)
    segment_accounts(accounts.head(1000), config)   # warm-up
    start = time.perf_counter()
    out = segment_accounts(accounts, config)
    elapsed = time.perf_counter() - start
    print(f"segmented {out.height:,} accounts in {elapsed:.2f} s")
    print(out.group_by("segment").len().sort("segment"))


if __name__ == "__main__":
    main()
