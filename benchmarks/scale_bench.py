"""Province scale: a run without PDFs over millions of accounts, streamed in chunks (performance.md "Open").

    gp bench scale --accounts 1000000 10000000 [--chunk-rows 250000] [--input FILE] [--flow]
                   [--dask-workers 1 2] [--json FILE]

For each size the synthetic list (``synthetic``) is written as a CSV file (or ``--input`` is used), then
one fresh process runs the chunked chain exactly as ``gp run --no-pdf`` does (``flows.chunks``: read
and mark duplicate ids, validate, segment, cost model, persist, then publish) and reports wall time and
memory per stage: the stage times are added up over the chunks, and "raised peak" is how much the
process's peak resident memory grew while that stage ran (the stage that holds the peak raised it).
With ``--flow`` the same list also goes through ``gp run --no-pdf`` in its own process (Prefect's
temporary server included), whose wall time and peak memory (every process of the command) are reported.
With ``--dask-workers 1 2`` the chain also runs partition by partition on a local Dask cluster of 1, then
2 worker processes (``flows.scaleout.persist_on_dask``): the driver's partitioning, the cluster's stage
(rows/s: the per-worker figure the README's capacity plan uses) and the gathering into DuckDB.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = {"size": 10_000_000, "total_s": 300.0, "peak_mb": 6144, "ratio_to_1m": 1.3}
STAGES = ("read", "validate", "segment", "cost model", "persist", "publish")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(csv: Path, db: Path, chunk_rows: int) -> dict:
    """One chunked run in this process (a fresh one: the driver starts it as a child)."""
    from flows.chunks import StageClock, persist_in_chunks
    from flows.steps import load_configuration
    from intake.columns import load_column_map
    from intake.stream import read_in_chunks
    from warehouse import Warehouse

    start_mb, started = _peak_mb(), time.perf_counter()
    colmap = load_column_map()
    config = load_configuration.fn(None)
    chunks = read_in_chunks(csv, chunk_rows=chunk_rows, colmap=colmap)
    clock = StageClock()
    with clock.stage("persist"):
        run = Warehouse(db).start_run(kind="nightly", campaign=None, input_path=str(csv), input_sha256=None,
                                      assumptions=config.record(), rules_version=config.segmentation.rules_version,
                                      code_version="bench")
    done = persist_in_chunks(run, chunks, config, colmap, clock=clock)
    with clock.stage("persist"):
        run.update_counts(rows_read=done.rows_read, rows_accepted=done.rows_accepted,
                          rows_rejected=done.rows_rejected)
        run.set_input_sha256(chunks.sha256)
    with clock.stage("publish"):
        run.commit()
    return {"rows_read": done.rows_read, "accounts": done.rows_accepted, "chunks": done.chunks,
            "streamed": chunks.streamed, "seconds": clock.seconds, "cpu_seconds": clock.cpu_seconds,
            "raised_peak_mb": clock.grew_mb,
            "total_s": time.perf_counter() - started, "peak_mb": _peak_mb(), "start_mb": start_mb,
            "db_mb": db.stat().st_size / 2**20, "loadavg": os.getloadavg()[0]}


def measure_dask(csv: Path, db: Path, chunk_rows: int, workers: int) -> dict:
    """The same chain partition by partition on a local Dask cluster of ``workers`` processes (one thread
    each), through Prefect (a test server started before timing) as ``gp run --no-pdf --dask`` does."""
    import flows.environment  # noqa: F401
    from distributed import LocalCluster
    from prefect.testing.utilities import prefect_test_harness

    from flows.chunks import StageClock
    from flows.scaleout import persist_on_dask
    from flows.steps import load_configuration
    from intake.columns import load_column_map
    from intake.stream import read_in_chunks
    from warehouse import Warehouse

    colmap = load_column_map()
    config = load_configuration.fn(None)
    with prefect_test_harness(server_startup_timeout=180), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        chunks = read_in_chunks(csv, chunk_rows=chunk_rows, colmap=colmap)
        clock = StageClock()
        started = time.perf_counter()
        run = Warehouse(db).start_run(kind="nightly", campaign=None, input_path=str(csv), input_sha256=None,
                                      assumptions=config.record(), rules_version=config.segmentation.rules_version,
                                      code_version="bench")
        done = persist_on_dask(run, chunks, config, cluster.scheduler_address, clock=clock)
        run.update_counts(rows_read=done.rows_read, rows_accepted=done.rows_accepted,
                          rows_rejected=done.rows_rejected)
        with clock.stage("publish"):
            run.commit()
        total = time.perf_counter() - started
    return {"workers": workers, "rows_read": done.rows_read, "partitions": done.chunks, "seconds": clock.seconds,
            "total_s": total, "cluster_rows_per_s": done.rows_read / clock.seconds["cluster"],
            "loadavg": os.getloadavg()[0]}


def _child(*args: str) -> dict:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.scale_bench", *args], cwd=root, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def through_cli(csv: Path, db: Path, chunk_rows: int) -> dict:
    """``gp run --no-pdf`` in its own process: wall time and the peak of every process it started."""
    gp = Path(sys.executable).with_name("gp")
    started = time.perf_counter()
    proc = subprocess.run([str(gp), "run", str(csv), "--no-pdf", "--db", str(db), "--out", str(db.parent / "out")],
                          capture_output=True, text=True, env={**os.environ, "GP_CHUNK_ROWS": str(chunk_rows)})
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"gp run failed:\n{proc.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {"wall_s": wall, "peak_mb_any_process": peak}


def run(sizes: list[int], chunk_rows: int, *, input_file: Path | None = None, flow: bool = False,
        workdir: Path | None = None, dask_workers: list[int] | None = None) -> dict:
    from synthetic import generate_customers

    tmp = Path(tempfile.mkdtemp(prefix="gp-scale-bench-", dir=workdir))
    per: dict[str, dict] = {}
    load_start = os.getloadavg()
    try:
        for n in sizes:
            csv = input_file or tmp / f"customers-{n}.csv"
            if input_file is None:
                generate_customers(n, seed=0).write_csv(csv)
            db = tmp / f"run-{n}" / "greenpower.duckdb"
            db.parent.mkdir()
            result = _child("--measure", str(csv), "--db", str(db), "--chunk-rows", str(chunk_rows))
            shutil.rmtree(db.parent)
            if flow:
                db.parent.mkdir()
                result["cli"] = through_cli(csv, db, chunk_rows)
                shutil.rmtree(db.parent)
            result["dask"] = []
            for workers in dask_workers or []:
                db.parent.mkdir()
                result["dask"].append(_child("--measure-dask", str(csv), "--db", str(db), "--chunk-rows",
                                             str(chunk_rows), "--workers", str(workers)))
                shutil.rmtree(db.parent)
            if input_file is None:
                csv.unlink()
            per[str(result["rows_read"])] = result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"benchmark": "scale", "chunk_rows": chunk_rows, "cpus": os.cpu_count(), "loadavg_start": list(load_start),
            "loadavg_end": list(os.getloadavg()), "per_size": per, "goal": GOAL}


def report(result: dict) -> str:
    sizes = sorted(result["per_size"], key=int)
    per = {n: result["per_size"][n] for n in sizes}
    lines = [f"chunked run without PDFs, chunks of {result['chunk_rows']:,} rows, one fresh process per size; "
             f"{result['cpus']} CPUs, load average {result['loadavg_start'][0]:.1f} at start, "
             f"{result['loadavg_end'][0]:.1f} at end", ""]
    lines.append(f"{'stage':<12}" + "".join(f"{f'{int(n):,} rows':>28}" for n in sizes))
    lines.append(f"{'':<12}" + "".join(f"{'wall s':>8}{'CPU s':>7}{'rows/s':>10}{'+peak MB':>9}" for _ in sizes))
    for stage in STAGES:
        row = f"{stage:<12}"
        for n in sizes:
            s, c = per[n]["seconds"].get(stage, 0.0), per[n]["cpu_seconds"].get(stage, 0.0)
            row += (f"{s:>8.1f}{c:>7.1f}{int(n) / s if s else 0:>10,.0f}"
                    f"{per[n]['raised_peak_mb'].get(stage, 0.0):>9.0f}")
        lines.append(row)
    row = f"{'total':<12}"
    for n in sizes:
        cpu = sum(per[n]["cpu_seconds"].values())
        row += f"{per[n]['total_s']:>8.1f}{cpu:>7.1f}{int(n) / per[n]['total_s']:>10,.0f}{per[n]['peak_mb']:>9.0f}"
    lines.append(row)
    lines.append("")
    lines.append("+peak MB: how much the process's peak memory rose during the stage (total: the peak itself, "
                 "MB, including ≈ " + f"{per[sizes[0]]['start_mb']:.0f} MB of interpreter and libraries).")
    for n in sizes:
        p = per[n]
        cli = p.get("cli")
        lines.append(f"{int(n):>12,}: {p['chunks']} chunks ({'streamed' if p['streamed'] else 'read whole'}), "
                     f"file {p['db_mb']:,.0f} MB" + (f"; gp run --no-pdf {cli['wall_s']:.1f} s wall, peak "
                                                      f"{cli['peak_mb_any_process']:,.0f} MB" if cli else ""))
    for n in sizes:
        one = next((d for d in per[n].get("dask", []) if d["workers"] == 1), None)
        for d in per[n].get("dask", []):
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in d["seconds"].items())
            scale = f", {d['cluster_rows_per_s'] / one['cluster_rows_per_s']:.2f}x one worker" if one else ""
            lines.append(f"{int(n):>12,} on a local Dask cluster of {d['workers']} worker process(es), "
                         f"{d['partitions']} partitions: {d['total_s']:.1f} s ({stages}); cluster stage "
                         f"{d['cluster_rows_per_s']:,.0f} rows/s{scale}; load average {d['loadavg']:.1f}")
    g = result["goal"]
    if str(g["size"]) in per:
        big = per[str(g["size"])]
        wall = big["cli"]["wall_s"] if big.get("cli") else big["total_s"]
        lines.append(f"goal at {g['size']:,}: < {g['total_s']:.0f} s -> {wall:.1f} s; peak < {g['peak_mb']:,} MB -> "
                     f"{big['peak_mb']:,.0f} MB")
        small = per.get("1000000")
        if small:
            lines.append(f"peak at 10M / peak at 1M: {big['peak_mb'] / small['peak_mb']:.2f} (goal <= {g['ratio_to_1m']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--accounts", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--input", type=Path, help="an existing customer list instead of a synthetic one")
    parser.add_argument("--flow", action="store_true", help="also time `gp run --no-pdf` on the list")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary files go")
    parser.add_argument("--dask-workers", type=int, nargs="*", default=[],
                        help="also run the chain on a local Dask cluster of this many workers (e.g. 1 2)")
    parser.add_argument("--measure-dask", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.db, args.chunk_rows)))
        return
    if args.measure_dask:
        print(json.dumps(measure_dask(args.measure_dask, args.db, args.chunk_rows, args.workers)))
        return
    result = run(args.accounts if not args.input else [0], args.chunk_rows, input_file=args.input, flow=args.flow,
                 workdir=args.dir, dask_workers=args.dask_workers)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
