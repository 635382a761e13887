"""Operating the command line and the runs: one message per error, a busy warehouse refused before loading,
the summary uncut without a terminal, the default database in --help, cancellation recorded as such, and
the run summary artifact a manager can read. (The served deployments against a real Prefect server are in
``test_served.py``.)"""
from __future__ import annotations

import csv
import os

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from gpengine.datafiles import data_dir
from warehouse import RunCancelled, Warehouse, run_query
from warehouse.lock import RunLock
from warehouse.publish import lock_path

SAMPLE = data_dir() / "sample" / "customers.csv"


@pytest.fixture
def runner(prefect_harness):
    return CliRunner()


def test_help_shows_the_default_database(monkeypatch):
    from flows.parameters import default_db
    monkeypatch.setenv("COLUMNS", "400")
    result = CliRunner().invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    assert f"(default: {default_db()})" in result.output


def test_an_error_is_printed_once(runner, tmp_path, capfd):
    bad = tmp_path / "list.csv"
    bad.write_text("account_id,name,province\nA1,甲,江苏\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(bad), "--db", str(tmp_path / "gp.duckdb"), "--no-pdf"])
    captured = capfd.readouterr()
    everything = result.output + captured.out + captured.err
    assert result.exit_code == 1
    assert everything.count("missing required column") == 1, everything


def test_a_busy_warehouse_is_refused_before_the_list_is_read(runner, tmp_path):
    db = tmp_path / "gp.duckdb"
    unreadable = tmp_path / "customers.csv"
    unreadable.write_bytes(b"\x00\x01\x02PNG\xff\xfe" * 50)        # would fail loading if it got that far
    lock = RunLock(lock_path(db))
    lock.acquire(0, {"run_id": "other-run", "pid": 1, "host": "elsewhere", "started_at": "2026-01-01T02:00:00"})
    try:
        result = runner.invoke(app, ["run", str(unreadable), "--db", str(db), "--no-pdf"])
    finally:
        lock.release()
    assert result.exit_code == 1
    assert "another run is writing" in result.output and "other-run" in result.output
    assert "--wait SECONDS" in result.output and "lock timeout" not in result.output
    assert "customers.csv" not in result.output.replace(str(db), "")     # the list was never read


def test_the_summary_is_not_cut_when_output_is_not_a_terminal(runner, tmp_path):
    db = tmp_path / "gp.duckdb"
    result = runner.invoke(app, ["run", str(SAMPLE), "--db", str(db), "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    per_segment = run_query(db, "SELECT sum(bill_yuan) AS b FROM latest_results GROUP BY segment")["b"]
    for bill in per_segment:
        assert f"{bill:,.0f}" in result.output      # the whole figure, not "5,632,419,…"


def test_a_cancelled_run_is_recorded_cancelled_and_the_previous_run_stays_published(tmp_path):
    db = tmp_path / "gp.duckdb"
    wh = Warehouse(db)
    args = dict(kind="nightly", campaign=None, input_path="customers.csv", input_sha256="ab" * 32,
                assumptions={"set": "wri-2023"}, rules_version="rules-1", code_version="0.1.0")
    rejects = pl.DataFrame({"row_number": [2], "account_id": ["X"], "column": ["annual_kwh"], "value": ["-1"],
                            "reason": ["negative"]})
    with wh.start_run(**args, run_id="first") as run:
        run.write("rejects", rejects)
    with pytest.raises(RunCancelled):
        with wh.start_run(**args, run_id="second") as run:
            run.write("rejects", rejects)
            raise RunCancelled("cancelled from Prefect: stopped by the operator")
    runs = run_query(db, "SELECT run_id, status, error FROM runs ORDER BY run_id").rows()
    assert runs == [("first", "succeeded", None),
                    ("second", "cancelled", "cancelled from Prefect: stopped by the operator")]
    assert run_query(db, "SELECT run_id FROM latest_run").rows() == [("first",)]
    assert run_query(db, "SELECT count(*) FROM rejects WHERE run_id = 'second'").rows() == [(0,)]


def test_a_cancelled_run_takes_back_only_the_offers_it_wrote(tmp_path):
    from flows.runcontrol import OutputGuard
    new = OutputGuard()
    new.writing_to(tmp_path / "run-2")
    (tmp_path / "run-2").mkdir()
    (tmp_path / "run-2" / "a.pdf").write_bytes(b"%PDF")
    assert new.remove_partial() == 1 and not (tmp_path / "run-2").exists()

    campaign = tmp_path / "summer"
    campaign.mkdir()
    old = campaign / "old.pdf"
    old.write_bytes(b"%PDF old")
    os.utime(old, (1_600_000_000, 1_600_000_000))
    guard = OutputGuard()
    guard.writing_to(campaign)
    (campaign / "new.pdf").write_bytes(b"%PDF new")
    assert guard.remove_partial() == 1
    assert sorted(p.name for p in campaign.iterdir()) == ["old.pdf"]


def test_the_run_summary_artifact_is_a_managers_receipt(prefect_harness, tmp_path):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.nightly import nightly
    from flows.parameters import NightlyParameters
    summary = nightly(NightlyParameters(customers=SAMPLE, db=tmp_path / "gp.duckdb", out=tmp_path / "out",
                                        render_pdf=False))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["nightly-summary"])))
    [markdown] = [a.data for a in artifacts if summary["run_id"] in (a.description or "")]
    for text in ("合规驱动型", "价值导向型", "责任驱动型", "达标年成本变化", "重点客户", "细分变化", "拒收原因", "看板"):
        assert text in markdown, text
    assert "万元" in markdown or "亿元" in markdown
    assert str(tmp_path) not in markdown and "/" not in markdown.replace("http://", "")
    with open(SAMPLE, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:                        # no customer's name, consumption or bill
        assert row["name"] not in markdown
        assert f"{int(row['annual_kwh']):,}" not in markdown
    top = run_query(tmp_path / "gp.duckdb", "SELECT account_id FROM latest_results "
                                            "ORDER BY extra_cost_low_yuan, account_id LIMIT 1")["account_id"][0]
    assert f"| {top} |" in markdown
