"""Measure what atomic publishing costs: copy, write, checkpoint + publish, per run.

    python -m benchmarks.warehouse_bench --accounts 100000 --runs 2 [--dir DIR]

Each run copies the whole published file, so its fixed cost grows with the history kept. The copy
runs in the background from ``start_run`` on; here the writes follow at once, so "write" includes
waiting for it (a pipeline computes meanwhile). The figures printed here are quoted in README.md.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks import warehouse_frames as _frames
from warehouse.query import run_query
from warehouse.store import Warehouse

synthetic = _frames()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=None, help="folder for the database (default: a temporary one)")
    args = ap.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="gp-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.duckdb"
    for p in folder.glob("bench.duckdb*"):
        p.unlink()

    t = time.perf_counter()
    frames = [synthetic.run_frames(args.accounts, seed=i, variant=0.001 * i, n_rejects=100)
              for i in range(min(args.runs, 2))]
    rows = sum(f.height for f in frames[0].values())
    print(f"synthetic frames: {args.accounts:,} accounts, {rows:,} rows per run ({time.perf_counter() - t:.1f} s)")
    print(f"{'run':>3} {'start s':>15} {'copy+write s':>12} {'commit s':>9} {'total s':>8} {'file MB':>8}")
    wh = Warehouse(db)
    for i in range(args.runs):
        t0 = time.perf_counter()
        run = wh.start_run(kind="nightly", campaign=None, input_path="bench.csv", input_sha256=None,
                           assumptions={"bench": True}, rules_version="bench", code_version="bench")
        t1 = time.perf_counter()
        for table, frame in frames[i % len(frames)].items():
            run.write(table, frame)
        t2 = time.perf_counter()
        run.commit()
        t3 = time.perf_counter()
        print(f"{i + 1:>3} {t1 - t0:>15.2f} {t2 - t1:>12.2f} {t3 - t2:>9.2f} {t3 - t0:>8.2f} "
              f"{db.stat().st_size / 2**20:>8.1f}")

    size = db.stat().st_size
    t = time.perf_counter()
    shutil.copyfile(db, folder / "copy.duckdb")
    copy_s = time.perf_counter() - t
    (folder / "copy.duckdb").unlink()
    print(f"plain copy of the {size / 2**20:.1f} MB file: {copy_s:.2f} s ({size / 2**20 / max(copy_s, 1e-9):.0f} MB/s)")
    t = time.perf_counter()
    n = run_query(db, "SELECT count(*) AS n FROM latest_results").item()
    print(f"read-only query of latest_results ({n:,} rows): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    before, after = wh.compact()
    print(f"compact (rewrite): {before / 2**20:.1f} MB -> {after / 2**20:.1f} MB in {time.perf_counter() - t:.2f} s")
    if args.dir is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
