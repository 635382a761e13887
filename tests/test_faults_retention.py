"""Retention as one policy (issue 11 bug 6): old runs' rows and their offer folders go together, never the
newest runs kept, never a file a kept offer links to; the deployment carries the setting. Real `gp run`
commands (in this process, under Prefect's test harness) with real PDFs."""
from __future__ import annotations

import hashlib

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from reliability_support import PICK, Gp, api_url, customers, q, run_rows  # noqa: F401
from warehouse.generations import generation_paths

pytestmark = pytest.mark.slow


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pruned_runs_take_their_offer_folders_and_kept_offers_stay_whole(tmp_path, api_url):
    gp = Gp(tmp_path, api_url)
    plain = customers(tmp_path)
    gp.run_here(plain, "r1")                     # renders 6 offers
    gp.run_here(plain, "r2")                     # unchanged: hard links to r1's files
    gp.run_here(plain, "r3")
    assert {p.name for p in gp.out.iterdir()} == {"r1", "r2", "r3"}
    assert len(generation_paths(gp.db)) == 2     # the files r2 and r3 replaced

    gp.run_here(plain, "r4", "--retention-days", "0", "--keep-runs", "2", "--generations", "1")
    runs = run_rows(gp.db)
    assert sorted(runs) == ["r3", "r4"]
    for table in ("accounts", "results", "segments", "offers"):
        assert {r[0] for r in q(gp.db, f"SELECT DISTINCT run_id FROM {table}")} == {"r3", "r4"}, table
    assert {p.name for p in gp.out.iterdir()} == {"r3", "r4"}           # r1's and r2's folders went with them
    assert len(generation_paths(gp.db)) == 1                             # the same policy prunes generations
    # every kept offer row points to a whole file with its recorded checksum (r1's PDFs live on as links)
    # (held-out accounts of the shipped experiment's control arm have a row and no file)
    rows = q(gp.db, "SELECT o.run_id, o.path, o.sha256, o.status FROM offers o "
                    "WHERE o.status NOT IN ('failed', 'held_out')")
    held_out = q(gp.db, "SELECT count(*) FROM offers WHERE status = 'held_out'")[0][0]
    assert len(rows) + held_out == 2 * len(PICK) and {r[3] for r in rows if r[0] == "r4"} == {"unchanged"}
    for run_id, path, digest, _ in rows:
        assert sha(gp.out / run_id / path) == digest, (run_id, path)

    # a damaged block in the published file: the next run refuses naming `gp restore`; after it, runs go on
    damage_a_results_block(gp.db)
    result = CliRunner().invoke(app, ["run", str(plain), "--db", str(gp.db), "--out", str(gp.out), "--run-id", "r5"])
    assert result.exit_code == 1 and "block at location" in result.output and "gp restore --db" in result.output, \
        result.output
    assert not (gp.out / "r5").exists()
    result = CliRunner().invoke(app, ["restore", "--db", str(gp.db)])
    assert result.exit_code == 0 and "holds run r3" in result.output, result.output
    gp.run_here(plain, "r5")
    assert [(r, v["status"]) for r, v in sorted(run_rows(gp.db).items())] == [
        ("r1", "succeeded"), ("r2", "succeeded"), ("r3", "succeeded"), ("r5", "succeeded")]
    assert q(gp.db, "SELECT count(*) FROM results WHERE run_id IN ('r1', 'r2', 'r3')") == [(3 * len(PICK),)]


def damage_a_results_block(db) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        block, size = con.execute("SELECT max(block_id), (SELECT block_size FROM pragma_database_size()) "
                                  "FROM pragma_storage_info('results') WHERE block_id >= 0").fetchone()
    finally:
        con.close()
    with open(db, "r+b") as f:
        f.seek(3 * 4096 + block * size)
        f.write(b"\xff" * 65536)


def test_the_deployment_and_serve_carry_the_retention_policy(tmp_path):
    from flows.deployment import nightly_deployment
    from flows.parameters import NightlyParameters
    params = NightlyParameters(customers=tmp_path / "c.csv", retention_days=90, keep_runs=5, generations=2)
    deployment = nightly_deployment(params)
    got = deployment.parameters["params"]
    assert (got["retention_days"], got["keep_runs"], got["generations"]) == (90, 5, 2)
    assert NightlyParameters(customers=tmp_path / "c.csv").generations == 3
