"""The render step on a Dask cluster (local, multi-process) gives the same offers as the local pool."""
from __future__ import annotations

import datetime as dt
import subprocess

import polars as pl
import pytest

from gpengine.assumptions import load_assumptions
from gpengine.model import compute
from gpengine.reference import load_reference
from core.datafiles import data_dir
from intake import load_accounts
from segmentation import load_segmentation_config, segment_accounts
from flows.frames import with_segment_columns

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frames():
    checked = load_accounts(data_dir() / "sample" / "customers.csv")
    accounts = checked.accounts.head(8)
    config = load_segmentation_config()
    segments = segment_accounts(accounts, config)
    enriched = with_segment_columns(accounts, segments)
    model = compute(enriched, load_reference(), load_assumptions())
    return enriched, model, segments, config


@pytest.fixture(scope="module")
def cluster_address():
    """One local cluster of two worker processes for the module (starting one costs seconds)."""
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_dask_cluster_renders_the_same_offers_as_local_processes(prefect_harness, frames, tmp_path, cluster_address):
    from flows.scaleout import render_with_dask
    from offers import plan_offers, render_offers

    accounts, model, segments, config = frames
    day = dt.date(2026, 11, 22)
    args = (accounts, model.results, model.scenarios, segments, config.playbooks,
            load_assumptions().record(), "run-x", config.rules_version)
    local = render_offers(*args, tmp_path / "local", workers=2, issue_date=day)
    plan = plan_offers(*args, tmp_path / "dask", issue_date=day)
    # ~1 MB of jobs in all (a real run's few hundred offers): more than Prefect accepts as a flow
    # run's parameters, so the jobs must travel as files, not as parameters
    for job in plan.jobs:
        job.context["offer"]["unused_padding"] = "绿" * 40_000
    remote = render_with_dask(plan, tmp_path / "dask", cluster_address)   # batches for 2 workers
    assert remote["status"].to_list() == ["rendered"] * accounts.height, remote["error"].to_list()
    assert not (tmp_path / "dask" / ".jobs.jsonl").exists(), "the jobs file is removed when the step ends"
    keys = ["account_id", "path", "content_hash", "status", "pages"]
    assert remote.select(keys).equals(local.select(keys))
    # the same text in every PDF, written by the cluster's workers into the shared folder
    for name in remote["path"]:
        text = {where: subprocess.run(["pdftotext", str(tmp_path / where / name), "-"], capture_output=True,
                                      text=True, check=True).stdout for where in ("local", "dask")}
        assert text["local"] == text["dask"] and len(text["dask"]) > 500


def test_batches_are_bounded_and_give_every_worker_several():
    from flows.scaleout import BATCHES_PER_WORKER, MAX_BATCH, batch_size_for
    assert batch_size_for(8, 2) == 1
    assert batch_size_for(1, 16) == 1
    assert batch_size_for(1_000, 2) == 125                    # 8 batches: 4 per worker
    assert batch_size_for(1_000_000, 2) == MAX_BATCH
    for jobs in (1, 7, 99, 1_000, 123_457):
        for workers in (1, 2, 3, 64):
            size = batch_size_for(jobs, workers)
            batches = -(-jobs // size)
            assert 1 <= size <= MAX_BATCH
            # rounding up the size may halve the count, never below two batches per worker
            assert batches >= min(jobs, 2 * workers) or size == MAX_BATCH
            assert size == 1 or batches <= BATCHES_PER_WORKER * workers or size == MAX_BATCH


def test_scaleout_benchmark_renders_every_offer_on_the_cluster_and_locally(prefect_harness):
    from flows.benchmarks import benchmark_module
    scaleout_bench = benchmark_module("scaleout_bench")
    result = scaleout_bench.compare(docs=4, workers=[1])
    (one,) = result["per_workers"]
    assert one["docs"] == 4 and one["dask_docs_per_s"] > 0 and one["local_docs_per_s"] > 0
    assert one["speedup_vs_1"] == 1.0
    assert "efficiency" in scaleout_bench.report(result)


def test_nightly_flow_renders_on_the_cluster_and_a_rerun_links_every_offer(prefect_harness, tmp_path, cluster_address):
    """``gp run --dask``: the whole flow with the render step on a cluster, then the same input again."""
    import duckdb

    from flows.nightly import nightly
    from flows.parameters import NightlyParameters

    customers = tmp_path / "customers.csv"
    pl.read_csv(data_dir() / "sample" / "customers.csv", infer_schema_length=0).head(6).write_csv(customers)
    summaries = [nightly(NightlyParameters(customers=customers, db=tmp_path / "gp.duckdb", out=tmp_path / "out",
                                           run_id=run_id, dask_address=cluster_address))
                 for run_id in ("first", "again")]
    # the shipped experiment holds one of the six out as its control arm (data/loop/editions.yaml): no PDF
    assert [s["offers"] for s in summaries] == [{"held_out": 1, "rendered": 5}, {"held_out": 1, "unchanged": 5}]
    with duckdb.connect(str(tmp_path / "gp.duckdb"), read_only=True) as con:
        assert con.execute("SELECT run_id, status, count(*) FROM offers GROUP BY ALL ORDER BY 1, 2").fetchall() == [
            ("again", "held_out", 1), ("again", "unchanged", 5), ("first", "held_out", 1), ("first", "rendered", 5)]
    for run_id in ("first", "again"):
        folder = tmp_path / "out" / run_id
        assert len(list(folder.glob("*.pdf"))) == 5 and not (folder / ".jobs.jsonl").exists()
