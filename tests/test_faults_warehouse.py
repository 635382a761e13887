"""A damaged published file, generations and ``gp restore``, portable backups, and retention as one policy
(issue 21 "Generations", "Backups"; issue 11 bug 6). Real DuckDB files, damaged as a bad sector would."""
from __future__ import annotations

import json
import os
import time

import duckdb
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from warehouse import Warehouse, WarehouseError
from warehouse.backup import backup, restore_backup
from warehouse.generations import generation_paths, restore_newest
from warehouse.integrity import DamagedWarehouse, check_whole

ROWS = 20_000          # a results table of several storage blocks, so that damage can hit one of its data blocks


def frames(seed: int, n: int = ROWS) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"A{i:07d}" for i in range(n)]
    return {
        "results": pl.DataFrame({"account_id": ids, "province": ["江苏省"] * n, "customer_type": ["large_industrial"] * n,
                                 "grid_kwh": rng.uniform(1e4, 1e7, n), "bill_yuan": rng.uniform(1e3, 1e6, n)}),
        "segments": pl.DataFrame({"account_id": ids, "segment": rng.choice(["value_oriented", "compliance_driven"], n)}),
    }


def do_run(wh: Warehouse, run_id: str, *, kind: str = "nightly", seed: int = 0, **kw) -> str:
    with wh.start_run(kind=kind, campaign="c" if kind == "campaign" else None, input_path="customers.csv",
                      input_sha256="ab" * 32, assumptions={"set": "wri-2023"}, rules_version="r1",
                      code_version="0.1.0", run_id=run_id, **kw) as run:
        for table, frame in frames(seed).items():
            run.write(table, frame)
    return run.run_id


def table(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def damage(path) -> int:
    """Overwrite 64 KB of a block holding table data, as a bad sector or a careless copy would."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        block, size = con.execute("SELECT max(block_id), (SELECT block_size FROM pragma_database_size()) "
                                  "FROM pragma_storage_info('results') WHERE column_name = 'grid_kwh'").fetchone()
    finally:
        con.close()
    offset = 3 * 4096 + block * size           # DuckDB's file: three 4 KB headers, then the blocks
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(np.random.default_rng(7).bytes(65536))
    return offset


def test_generations_are_kept_per_nightly_run_and_pruned_to_the_policy(tmp_path):
    db = tmp_path / "gp.duckdb"
    wh = Warehouse(db, generations=2)
    do_run(wh, "n1")
    assert generation_paths(db) == []                      # nothing was published before n1
    do_run(wh, "n2")
    do_run(wh, "c1", kind="campaign")                      # a campaign makes no generation
    assert len(generation_paths(db)) == 1
    do_run(wh, "n3")
    do_run(wh, "n4", seed=1)
    gens = generation_paths(db)
    assert len(gens) == 2                                  # pruned to the policy
    newest = table(gens[0], "SELECT run_id FROM runs WHERE status = 'succeeded' ORDER BY started_at DESC LIMIT 1")
    assert newest == [("n3",)]                             # the file n4 replaced
    for g in gens:
        check_whole(g)
    with pytest.raises(ValueError, match="generations"):
        Warehouse(db, generations=-1)


def test_a_damaged_published_file_is_refused_and_restore_brings_back_the_newest_good_generation(tmp_path):
    db = tmp_path / "gp.duckdb"
    wh = Warehouse(db)
    for i, rid in enumerate(("n1", "n2", "n3", "n4")):
        do_run(wh, rid, seed=i)
    gens = generation_paths(db)
    assert len(gens) == 3
    whole = {rid: table(db, f"SELECT count(*), sum(grid_kwh) FROM results WHERE run_id = '{rid}'")
             for rid in ("n1", "n2", "n3", "n4")}
    damage(db)
    damage(gens[0])                                        # the newest generation is damaged too
    with pytest.raises(DamagedWarehouse) as refused:
        do_run(wh, "n5")
    text = str(refused.value)
    assert "block at location" in text and f"gp restore --db {db}" in text, text
    assert "n5" not in str(list(tmp_path.iterdir()))       # no staging file, no journal of the refused run

    restored = restore_newest(db)
    assert restored.source == gens[1] and restored.skipped[0][0] == gens[0]
    assert restored.latest_run["run_id"] == "n2"
    assert restored.lost_runs is None or restored.lost_runs == ["n4", "n3"]
    check_whole(db)
    do_run(wh, "n5", seed=5)                               # the next run succeeds on the restored history
    runs = table(db, "SELECT run_id, status FROM runs ORDER BY started_at")
    assert runs == [("n1", "succeeded"), ("n2", "succeeded"), ("n5", "succeeded")]
    for rid in ("n1", "n2"):                               # history whole up to the restored run
        assert table(db, f"SELECT count(*), sum(grid_kwh) FROM results WHERE run_id = '{rid}'") == whole[rid]
    with pytest.raises(WarehouseError, match="reads back whole; nothing to restore"):
        restore_newest(db)


def test_damage_the_start_does_not_see_is_caught_before_publishing(tmp_path):
    """A bad sector changes no modification time: the run copies the damaged file, and the check of the
    finished file before publishing refuses it. The published file and the latest run stay as they were."""
    db = tmp_path / "gp.duckdb"
    wh = Warehouse(db)
    do_run(wh, "n1")
    do_run(wh, "n2", seed=1)
    st = db.stat()
    damage(db)
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns))     # silent: the file looks unchanged
    with pytest.raises(DamagedWarehouse, match="gp restore"):
        do_run(wh, "n3", seed=2)
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]
    restore_newest(db)
    assert table(db, "SELECT run_id FROM runs WHERE status = 'succeeded' ORDER BY started_at") == [("n1",)]


def test_backup_then_restore_gives_identical_tables(tmp_path):
    db = tmp_path / "gp.duckdb"
    wh = Warehouse(db)
    for i, rid in enumerate(("n1", "n2", "n3")):
        do_run(wh, rid, seed=i)
    do_run(wh, "c1", kind="campaign", seed=9)
    t0 = time.monotonic()
    manifest = backup(db, tmp_path / "bk")
    assert time.monotonic() - t0 < 60
    assert manifest["runs"] == 4 and manifest["tables"]["results"]["rows"] == 4 * ROWS
    assert {"schema.sql", "load.sql", "results.parquet"} <= set(manifest["files"])
    assert json.loads((tmp_path / "bk" / "manifest.json").read_text())["tables"] == manifest["tables"]

    other = tmp_path / "restored" / "gp.duckdb"
    loaded = restore_backup(other, tmp_path / "bk")
    assert loaded.lost_runs == [] and loaded.replaced_kept is None
    names = [r[0] for r in table(db, "SELECT table_name FROM duckdb_tables() ORDER BY 1")]
    assert names == [r[0] for r in table(other, "SELECT table_name FROM duckdb_tables() ORDER BY 1")]
    for name in names:
        sql = f"SELECT * FROM {name} ORDER BY ALL"
        assert table(db, sql) == table(other, sql), name
    assert table(other, "SELECT count(*) FROM latest_results") == [(ROWS,)]    # views come back too
    do_run(Warehouse(other), "n4", seed=4)                                     # and runs go on from it

    # a damaged backup file is refused before anything is replaced
    part = tmp_path / "bk" / "results.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    before = other.read_bytes()
    with pytest.raises(WarehouseError, match="does not match its checksum"):
        restore_backup(other, tmp_path / "bk")
    assert other.read_bytes() == before


def test_retention_keeps_the_newest_runs_and_returns_the_pruned_folders(tmp_path):
    db = tmp_path / "gp.duckdb"
    for i in range(5):
        with Warehouse(db).start_run(kind="nightly", campaign=None, input_path=None, input_sha256=None,
                                     assumptions={}, rules_version="r1", code_version="0.1.0", run_id=f"n{i}",
                                     output_folder=tmp_path / "out" / f"n{i}") as run:
            run.write("results", frames(i, 10)["results"])
    wh = Warehouse(db, retention_days=0, keep_runs=3)
    with wh.start_run(kind="nightly", campaign=None, input_path=None, input_sha256=None, assumptions={},
                      rules_version="r1", code_version="0.1.0", run_id="n5") as run:
        run.write("results", frames(5, 10)["results"])
    # the run committing is one of the three newest successful runs kept
    assert [r[0] for r in table(db, "SELECT run_id FROM runs ORDER BY started_at")] == ["n3", "n4", "n5"]
    assert sorted(r for r, _ in run.pruned) == ["n0", "n1", "n2"]
    assert {os.path.basename(f) for _, f in run.pruned} == {"n0", "n1", "n2"}


def test_gp_backup_and_restore_commands(tmp_path):
    from flows.cli import app
    db = tmp_path / "gp.duckdb"
    wh = Warehouse(db)
    for i, rid in enumerate(("n1", "n2", "n3")):
        do_run(wh, rid, seed=i)
    result = CliRunner().invoke(app, ["backup", str(tmp_path / "bk"), "--db", str(db)])
    assert result.exit_code == 0 and "3 runs" in result.output, result.output
    damage(db)
    result = CliRunner().invoke(app, ["restore", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "holds run n2" in result.output and "lost since: 1 run(s): n3" in result.output.replace("\n", " ") \
        or "lost since: unknown" in result.output, result.output
    result = CliRunner().invoke(app, ["restore", "--db", str(db), "--from", str(tmp_path / "bk")])
    assert result.exit_code == 0 and "holds run n3" in result.output, result.output
    assert table(db, "SELECT count(*) FROM runs") == [(3,)]
    result = CliRunner().invoke(app, ["restore", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and result.output.count("error:") == 1, result.output
