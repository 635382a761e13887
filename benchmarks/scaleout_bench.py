"""Rendering on a Dask cluster: documents per second with 1, 2 … workers (performance.md "scale-out").

    gp bench scaleout [--docs 120] [--workers 1 2] [--json FILE]

For each worker count a local Dask cluster (one process per worker, one thread each) is started and the
same offers are rendered through the real scale-out path (``flows.scaleout.render_with_dask``: a Prefect
flow whose tasks run on the cluster, batches sized to the cluster). Each cluster first renders a few
documents untimed so that every worker has imported WeasyPrint and loaded its fonts, as a long-lived
cluster has. Beside it, the local process pool (``render_offers``) with the same number of processes on
the same documents: the price of going through Dask and Prefect.

A local cluster on one machine measures the scaling of the scheduling and batching, bounded by the
machine's cores (2 here): workers on separate machines each bring their own cores, so N workers there
scale as N workers here do while N ≤ cores, plus the shared file system's write speed.
"""
from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from pathlib import Path

DAY = dt.date(2026, 11, 22)


def _plan(run, folder: Path):
    from offers import plan_offers
    return plan_offers(run.accounts, run.results, run.scenarios, run.segments, run.playbooks, run.assumptions,
                       run.run_id, run.rules_version, folder, issue_date=DAY)


def _rendered(frame) -> int:
    return int((frame["status"] == "rendered").sum())


def measure(run, warm, workers: int, tmp: Path) -> dict:
    """Dask cluster of ``workers`` vs the local pool of as many processes, on the same documents."""
    from distributed import LocalCluster

    from flows.scaleout import batch_size_for, render_with_dask
    from offers import render_offers

    docs = run.accounts.height
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        render_with_dask(_plan(warm, tmp / f"warm-{workers}"), tmp / f"warm-{workers}", address, batch_size=1)
        plan = _plan(run, tmp / f"dask-{workers}")
        start = time.perf_counter()
        offers = render_with_dask(plan, tmp / f"dask-{workers}", address)
        dask_s = time.perf_counter() - start
    if _rendered(offers) != docs:
        raise RuntimeError(f"dask with {workers} workers rendered {_rendered(offers)} of {docs} offers")
    start = time.perf_counter()
    local = render_offers(run.accounts, run.results, run.scenarios, run.segments, run.playbooks, run.assumptions,
                          run.run_id, run.rules_version, tmp / f"local-{workers}", workers=workers, issue_date=DAY)
    local_s = time.perf_counter() - start
    if _rendered(local) != docs:
        raise RuntimeError(f"the local pool with {workers} processes rendered {_rendered(local)} of {docs} offers")
    return {"workers": workers, "docs": docs, "batch_size": batch_size_for(docs, workers),
            "dask_s": dask_s, "dask_docs_per_s": docs / dask_s,
            "local_s": local_s, "local_docs_per_s": docs / local_s}


def run(docs: int, workers: list[int]) -> dict:
    """:func:`compare` inside a Prefect test server started before timing (its start-up is not measured)."""
    import flows.environment  # noqa: F401
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        return compare(docs, workers)


def compare(docs: int, workers: list[int]) -> dict:
    """Every worker count on the same ``docs`` offers (needs a Prefect API: a server or a test harness)."""
    from offers.demo import demo_run

    batch = demo_run(n=max(0, docs - 4))                  # the four showcase accounts plus synthetic ones
    warm = demo_run(n=0)
    with tempfile.TemporaryDirectory(prefix="gp-scaleout-") as tmp:
        per = [measure(batch, warm, n, Path(tmp)) for n in workers]
    one = next((p for p in per if p["workers"] == 1), None)
    for p in per:
        p["speedup_vs_1"] = p["dask_docs_per_s"] / one["dask_docs_per_s"] if one else None
        p["efficiency"] = p["speedup_vs_1"] / p["workers"] if one else None
        p["dask_vs_local"] = p["dask_docs_per_s"] / p["local_docs_per_s"]
    return {"benchmark": "scaleout", "docs": batch.accounts.height, "per_workers": per,
            "goal": {"efficiency": "≈ 1 (N workers ≈ N × one worker)"}}


def report(result: dict) -> str:
    lines = [f"rendering on a local Dask cluster, {result['docs']:,} offers",
             f"  {'workers':>7}  {'batch':>5}  {'dask docs/s':>11}  {'× 1 worker':>10}  {'efficiency':>10}  "
             f"{'local pool docs/s':>17}  {'dask / local':>12}"]
    for p in result["per_workers"]:
        speed = f"{p['speedup_vs_1']:.2f}" if p["speedup_vs_1"] is not None else "-"
        eff = f"{p['efficiency']:.0%}" if p["efficiency"] is not None else "-"
        lines.append(f"  {p['workers']:>7}  {p['batch_size']:>5}  {p['dask_docs_per_s']:>11.2f}  {speed:>10}  "
                     f"{eff:>10}  {p['local_docs_per_s']:>17.2f}  {p['dask_vs_local']:>12.0%}")
    lines.append("  efficiency = (N-worker rate / 1-worker rate) / N; goal ≈ 100 % while N ≤ the machine's cores")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaleout_bench")
    parser.add_argument("--docs", type=int, default=120)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.docs, sorted(set(args.workers)))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
