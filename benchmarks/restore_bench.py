"""What a year of nightly runs costs on disk, and how long checks, backups and restores of it take.

    .venv/bin/gp run data/sample/customers.csv --db year/base.duckdb --no-pdf      # one real run
    .venv/bin/python benchmarks/restore_bench.py year/base.duckdb --runs 365

The newest successful run of the given warehouse is copied ``--runs - 1`` times under new run ids, a day
apart (one DuckDB transaction per run, as a nightly run adds them), into a scratch folder beside it. Then:
the size per run, a full integrity read (``check_whole``, what a run does before publishing), ``gp backup``,
a restore from that backup, and a restore of a generation of a damaged file. Copies of one run compress
better in Parquet than a year of real, slowly changing runs: read the backup size as a lower bound.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from warehouse import generations  # noqa: E402
from warehouse.backup import backup, restore_backup  # noqa: E402
from warehouse.integrity import check_whole  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path, help="a warehouse with at least one successful run")
    ap.add_argument("--runs", type=int, default=365)
    args = ap.parse_args()
    work = args.base.parent / "restore-bench"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "gp.duckdb"
    shutil.copyfile(args.base, db)
    con = duckdb.connect(str(db))
    run, accounts = con.execute("SELECT run_id, rows_accepted FROM runs WHERE status = 'succeeded' "
                                "ORDER BY started_at DESC LIMIT 1").fetchone()
    tables = [r[0] for r in con.execute(
        "SELECT DISTINCT c.table_name FROM duckdb_columns() c JOIN duckdb_tables() t USING (table_name) "
        "WHERE c.column_name = 'run_id' AND c.table_name <> 'runs'").fetchall()]
    first = os.path.getsize(db)
    for i in range(1, args.runs):
        con.execute("BEGIN")
        for t in tables:
            con.execute(f"INSERT INTO {t} SELECT * REPLACE ('copy{i:04d}' AS run_id) FROM {t} WHERE run_id = ?", [run])
        con.execute(f"INSERT INTO runs SELECT * REPLACE ('copy{i:04d}' AS run_id, started_at - INTERVAL {i} DAY "
                    "AS started_at) FROM runs WHERE run_id = ?", [run])
        con.execute("COMMIT")
    con.execute("CHECKPOINT")
    con.close()
    size = os.path.getsize(db)
    per_run = (size - first) / max(1, args.runs - 1)
    print(f"{args.runs} runs of {accounts:,} accounts: {size / 2**20:,.1f} MB; each run adds {per_run / 1024:,.0f} KB "
          f"= {per_run / accounts:,.0f} bytes per account")
    t = time.monotonic()
    check_whole(db)
    print(f"read back whole (every block checked): {time.monotonic() - t:.2f} s")
    t = time.monotonic()
    manifest = backup(db, work / "backup")
    print(f"gp backup: {time.monotonic() - t:.2f} s, "
          f"{sum(f['bytes'] for f in manifest['files'].values()) / 2**20:,.1f} MB of Parquet")
    t = time.monotonic()
    restore_backup(work / "restored" / "gp.duckdb", work / "backup")
    print(f"gp restore --from: {time.monotonic() - t:.2f} s "
          f"(restored file {os.path.getsize(work / 'restored' / 'gp.duckdb') / 2**20:,.1f} MB, compact)")
    shutil.copyfile(db, db.with_name(db.name + generations.TAG + "20000101T000000000000Z"))
    t = time.monotonic()
    generations.restore_newest(db, force=True)
    print(f"gp restore (a generation): {time.monotonic() - t:.2f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
