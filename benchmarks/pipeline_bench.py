"""Benchmark of a run's stages without Prefect: time and peak memory per stage for N accounts.

    gp bench pipeline --sizes 10000 100000 1000000 --repeats 3 [--history 3] [--json FILE]
    python -m benchmarks.pipeline_bench --sizes 10000 100000 1000000 --repeats 3 --json FILE

For each size the synthetic customer list (``synthetic``) is written once as a CSV file. Each repeat
then runs in a fresh process and times the stages exactly as a run does them: load + validate, segment,
cost model, persist (``Warehouse.start_run``, called before segmenting as the flow does, plus the writes;
the first write waits for the staging copy of the published file if it is not done yet) and publish
(``commit``). Memory is the process's maximum resident set size after each stage (it only grows, so the
stage that raised it is the one where the figure jumps). ``history`` prior runs of the same input are
published first, untimed, so that a run pays for copying them as a nightly run does.

Two baselines run in the same invocation and are compared as ratios: the naive per-account cost model
(``tests/naive_model.py``, the engine's test oracle: a Python loop with ``numpy_financial.irr`` per account) and row-by-row
inserts (``executemany`` of ``results`` rows into a scratch DuckDB file), each on a subset.
Prefect is not imported: the flow's own overhead is measured separately.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("load_validate", "segment", "cost_model", "persist", "publish")
LABELS = {"load_validate": "load + validate", "segment": "segment", "cost_model": "cost model",
          "persist": "persist", "publish": "publish"}
GOAL = {"total_s": 30.0, "peak_mb": 4096, "size": 1_000_000}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(*args: str) -> dict:
    """Run this module in a fresh process; it prints one JSON line last."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.pipeline_bench", *args], cwd=root, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- one repeat (fresh process)

def measure(csv: Path, db: Path) -> dict:
    """One run of every stage in this process, as the pipeline does it."""
    from flows.frames import stored_accounts, stored_segments, with_segment_columns
    from gpengine.assumptions import load_assumptions
    from gpengine.model import compute
    from gpengine.reference import load_reference
    from intake import load_accounts
    from segmentation import load_segmentation_config, segment_accounts
    from warehouse import Warehouse

    seconds: dict[str, float] = {}
    rss: dict[str, float] = {"start": _peak_rss_mb()}
    detail: dict[str, float] = {}
    load_before = os.getloadavg()[0]

    t = time.perf_counter()
    checked = load_accounts(csv)
    seconds["load_validate"] = time.perf_counter() - t
    rss["load_validate"] = _peak_rss_mb()

    # configuration first and the run started before segmenting, as the flow does (its staging copy of
    # the published file proceeds meanwhile); reading the configuration counts towards the stage using it,
    # start_run towards persist
    t = time.perf_counter()
    config = load_segmentation_config()
    seconds["segment"] = time.perf_counter() - t
    t = time.perf_counter()
    reference, assumptions = load_reference(), load_assumptions(None)
    seconds["cost_model"] = time.perf_counter() - t
    record = {**assumptions.record(), "reference": reference.describe(), "segmentation_files": config.files}
    t = time.perf_counter()
    run = Warehouse(db).start_run(kind="nightly", campaign=None, input_path=str(csv), input_sha256=None,
                                  assumptions=record, rules_version=config.rules_version, code_version="bench")
    detail["persist_start_s"] = time.perf_counter() - t

    t = time.perf_counter()
    segments = segment_accounts(checked.accounts, config)
    seconds["segment"] += time.perf_counter() - t
    rss["segment"] = _peak_rss_mb()

    t = time.perf_counter()
    enriched = with_segment_columns(checked.accounts, segments)
    model = compute(enriched, reference, assumptions, run_id=run.run_id)
    seconds["cost_model"] += time.perf_counter() - t
    rss["cost_model"] = _peak_rss_mb()

    t = time.perf_counter()
    run.update_counts(rows_read=checked.rows_read, rows_accepted=checked.accounts.height,
                      rows_rejected=checked.rejects.height)
    frames = {"accounts": stored_accounts(enriched), "rejects": checked.rejects,
              "segments": stored_segments(segments, config.rules_version),
              "results": model.results, "scenarios": model.scenarios}
    for name, frame in frames.items():
        w = time.perf_counter()
        run.write(name, frame)
        detail[f"write_{name}_s"] = time.perf_counter() - w
    seconds["persist"] = detail["persist_start_s"] + time.perf_counter() - t
    rss["persist"] = _peak_rss_mb()

    t = time.perf_counter()
    run.commit()
    seconds["publish"] = time.perf_counter() - t
    rss["publish"] = _peak_rss_mb()

    return {"accounts": checked.accounts.height, "rows_read": checked.rows_read,
            "rows_stored": {n: f.height for n, f in frames.items()}, "seconds": seconds,
            "total_s": sum(seconds.values()), "peak_rss_mb": rss, "detail": detail,
            "db_mb": db.stat().st_size / 2**20, "loadavg_before": load_before,
            "loadavg_after": os.getloadavg()[0]}


# ---------------------------------------------------------------- baselines (one fresh process)

def baselines(naive_accounts: int, naive_rows: int, scratch: Path) -> dict:
    """The naive per-account model and row-by-row inserts, each on a subset."""
    import duckdb

    from benchmarks.engine_bench import naive_rate, prepare_accounts
    from gpengine.assumptions import load_assumptions
    from gpengine.model import compute
    from gpengine.reference import load_reference

    accounts = prepare_accounts(max(naive_accounts, naive_rows))
    naive = naive_rate(accounts, None, naive_accounts)

    results = compute(accounts.head(naive_rows), load_reference(), load_assumptions(None), run_id="naive").results
    con = duckdb.connect(str(scratch))  # default settings: what straightforward code gets
    try:
        con.register("_r", results.head(0).to_arrow())
        con.execute("CREATE TABLE results AS SELECT * FROM _r")
        rows = results.rows()
        sql = f"INSERT INTO results VALUES ({', '.join('?' for _ in results.columns)})"
        t = time.perf_counter()
        con.executemany(sql, rows)
        seconds = time.perf_counter() - t
    finally:
        con.close()
        for p in (scratch, scratch.with_name(scratch.name + ".wal")):
            p.unlink(missing_ok=True)
    return {"naive_model": naive,
            "naive_insert": {"rows": len(rows), "columns": len(results.columns), "seconds": seconds,
                             "rows_per_s": len(rows) / seconds}}


# ---------------------------------------------------------------- driver

def _seed_history(csv: Path, db: Path, runs: int) -> None:
    for _ in range(runs):
        _child("--measure", str(csv), "--db", str(db))


def _summary(trials: list[dict], n: int) -> dict:
    stages = {}
    for s in STAGES:
        times = [t["seconds"][s] for t in trials]
        med = statistics.median(times)
        stages[s] = {"median_s": med, "min_s": min(times), "max_s": max(times),
                     "accounts_per_s": n / med if med > 0 else None,
                     "peak_rss_mb": max(t["peak_rss_mb"][s] for t in trials)}
    detail = {k: statistics.median(t["detail"][k] for t in trials) for k in trials[0]["detail"]}
    rows = sum(trials[0]["rows_stored"].values())
    persist_publish = stages["persist"]["median_s"] + stages["publish"]["median_s"]
    results_write = detail.get("write_results_s")
    return {"accounts": n, "stages": stages, "total_median_s": statistics.median(t["total_s"] for t in trials),
            "peak_rss_mb": max(max(t["peak_rss_mb"].values()) for t in trials), "detail": detail,
            "rows_stored": rows, "stored_rows_per_s": rows / persist_publish if persist_publish else None,
            "results_rows_per_s": trials[0]["rows_stored"]["results"] / results_write if results_write else None,
            "db_mb": statistics.median(t["db_mb"] for t in trials), "trials": trials}


def _ratio(per_size: dict[int, dict], lo: int, hi: int) -> dict:
    """Per stage: time ratio divided by size ratio from ``lo`` to ``hi`` accounts (1 = linear)."""
    a, b, size_ratio = per_size[lo], per_size[hi], hi / lo
    out = {"from": lo, "to": hi, "size_ratio": size_ratio}
    for s in STAGES:
        t0, t1 = a["stages"][s]["median_s"], b["stages"][s]["median_s"]
        out[s] = (t1 / t0) / size_ratio if t0 > 0 else None
    out["total"] = (b["total_median_s"] / a["total_median_s"]) / size_ratio
    return out


def _linearity(per_size: dict[int, dict]) -> dict:
    """Smallest to largest size, plus each step between neighbouring sizes (where fixed costs fade)."""
    sizes = sorted(per_size)
    if len(sizes) < 2:
        return {}
    return {**_ratio(per_size, sizes[0], sizes[-1]),
            "steps": [_ratio(per_size, lo, hi) for lo, hi in zip(sizes, sizes[1:])]}


def run(sizes: list[int], repeats: int, *, history: int = 0, naive_accounts: int = 2000,
        naive_rows: int = 1000, seed: int = 0, workdir: Path | None = None) -> dict:
    """Time every stage for each size (median of ``repeats`` fresh processes) beside the two baselines."""
    from synthetic import generate_customers

    if not sizes or repeats < 1 or history < 0:
        raise ValueError("need at least one size, repeats >= 1 and history >= 0")
    started = time.perf_counter()
    load_start = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="gp-pipeline-bench-", dir=workdir))
    per_size: dict[int, dict] = {}
    try:
        for n in sorted(set(sizes)):
            csv = tmp / f"customers-{n}.csv"
            generate_customers(n, seed=seed).write_csv(csv)
            seeded = tmp / f"seeded-{n}.duckdb"
            _seed_history(csv, seeded, history)
            trials = []
            for i in range(repeats):
                db = tmp / f"run-{n}-{i}" / "greenpower.duckdb"
                db.parent.mkdir()
                if history:
                    shutil.copyfile(seeded, db)
                trials.append(_child("--measure", str(csv), "--db", str(db)))
                shutil.rmtree(db.parent)
            for p in tmp.glob(f"seeded-{n}.duckdb*"):
                p.unlink()
            csv.unlink()
            per_size[n] = _summary(trials, n)
        base = _child("--baselines", str(naive_accounts), str(naive_rows), str(tmp / "naive.duckdb"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    largest = per_size[max(per_size)]
    engine_rate = largest["stages"]["cost_model"]["accounts_per_s"]
    base["naive_model"]["engine_accounts_per_s"] = engine_rate
    base["naive_model"]["speedup"] = engine_rate / base["naive_model"]["accounts_per_s"]
    bulk = largest["results_rows_per_s"]
    base["naive_insert"]["bulk_results_rows_per_s"] = bulk
    base["naive_insert"]["speedup"] = bulk / base["naive_insert"]["rows_per_s"] if bulk else None
    return {
        "benchmark": "pipeline", "sizes": sorted(per_size), "repeats": repeats, "history": history,
        "seed": seed, "cpus": os.cpu_count(), "loadavg_start": list(load_start),
        "loadavg_end": list(os.getloadavg()), "wall_s": time.perf_counter() - started,
        "per_size": {str(n): r for n, r in per_size.items()}, "linearity": _linearity(per_size),
        "baselines": base, "goal": GOAL,
    }


def _fmt_rate(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def report(result: dict) -> str:
    """A readable table of the result of :func:`run`."""
    sizes = result["sizes"]
    per = {n: result["per_size"][str(n)] for n in sizes}
    lin = result["linearity"]
    la, lb = result["loadavg_start"], result["loadavg_end"]
    lines = [f"pipeline stages without Prefect: median of {result['repeats']} fresh processes per size, "
             f"{result['history']} prior runs in the warehouse; {result['cpus']} CPUs, load average "
             f"{la[0]:.1f} at start, {lb[0]:.1f} at end", ""]
    head = f"{'stage':<16}" + "".join(f"{f'{n:,} accounts':>26}" for n in sizes)
    sub = f"{'':<16}" + "".join(f"{'s':>9}{'accounts/s':>12}{'MB':>5}" for _ in sizes)
    if lin:
        head += f"{'linearity':>11}"
        sub += f"{'':>11}"
    lines += [head, sub]
    for s in STAGES:
        row = f"{LABELS[s]:<16}"
        for n in sizes:
            st = per[n]["stages"][s]
            row += f"{st['median_s']:>9.2f}{_fmt_rate(st['accounts_per_s']):>12}{st['peak_rss_mb']:>5.0f}"
        if lin:
            row += f"{lin[s]:>11.2f}" if lin.get(s) is not None else f"{'-':>11}"
        lines.append(row)
    row = f"{'total':<16}"
    for n in sizes:
        tot = per[n]["total_median_s"]
        row += f"{tot:>9.2f}{_fmt_rate(n / tot):>12}{per[n]['peak_rss_mb']:>5.0f}"
    if lin:
        row += f"{lin['total']:>11.2f}"
    lines.append(row)
    lines.append("")
    lines.append("MB: process peak RSS after the stage (max over repeats). linearity: time ratio / size ratio "
                 f"from {sizes[0]:,} to {sizes[-1]:,} (1 = linear, below 1 = fixed costs dominate the small size).")
    steps = lin.get("steps", [])
    for step in steps if len(steps) > 1 else []:  # one step is the line above
        lines.append(f"  {step['from']:,} -> {step['to']:,}: " + ", ".join(
            f"{LABELS[s]} {step[s]:.2f}" for s in STAGES if step[s] is not None) + f", total {step['total']:.2f}")
    for n in sizes:
        d = per[n]["detail"]
        writes = ", ".join(f"{k[6:-2]} {v:.2f}" for k, v in d.items() if k.startswith("write_"))
        lines.append(f"{n:>12,}: persist = start_run {d['persist_start_s']:.2f} s + writes ({writes}) s; "
                     f"{per[n]['rows_stored']:,} rows, {_fmt_rate(per[n]['stored_rows_per_s'])} rows/s incl. "
                     f"publish; file {per[n]['db_mb']:,.0f} MB")
    g, big = result["goal"], per[sizes[-1]]
    if sizes[-1] >= g["size"]:
        ok = big["total_median_s"] < g["total_s"] and big["peak_rss_mb"] < g["peak_mb"]
        lines.append(f"goal at {sizes[-1]:,} accounts: < {g['total_s']:.0f} s and < {g['peak_mb']:,} MB -> "
                     f"{big['total_median_s']:.1f} s, {big['peak_rss_mb']:,.0f} MB: {'met' if ok else 'NOT met'}")
    b = result["baselines"]
    nm, ni = b["naive_model"], b["naive_insert"]
    lines += ["", "baselines, same invocation:",
              f"  naive cost model   {nm['accounts_per_s']:,.0f} accounts/s on {nm['accounts']:,} accounts; "
              f"engine {nm['engine_accounts_per_s']:,.0f} accounts/s at {sizes[-1]:,} -> {nm['speedup']:,.0f}x",
              f"  row-by-row insert  {ni['rows_per_s']:,.0f} results rows/s on {ni['rows']:,} rows "
              f"({ni['columns']} columns); bulk write {_fmt_rate(ni['bulk_results_rows_per_s'])} results rows/s "
              f"at {sizes[-1]:,} -> "
              + ("-" if ni["speedup"] is None else f"{ni['speedup']:,.0f}x")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--baselines", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--history", type=int, default=0, help="prior runs published before each timed run")
    parser.add_argument("--naive-accounts", type=int, default=2000)
    parser.add_argument("--naive-rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary files go (default: system temp)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.db)))
        return
    if args.baselines:
        accounts, rows, scratch = args.baselines
        print(json.dumps(baselines(int(accounts), int(rows), Path(scratch))))
        return
    result = run(args.sizes, args.repeats, history=args.history, naive_accounts=args.naive_accounts,
                 naive_rows=args.naive_rows, seed=args.seed, workdir=args.dir)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
