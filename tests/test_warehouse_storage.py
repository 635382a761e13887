"""Every database file the warehouse writes for readers opens in a DuckDB 1.x client.

The client is the real DuckDB CLI 1.5.6 from the package index (tests/clients.py), opening each file
read-only as a manager would: after a first run, after a run over a file an older version wrote in
DuckDB 2.0's own format, after compaction, after recording a failed run and after recovery.
"""
from __future__ import annotations

import shutil

import duckdb
import polars as pl
import pytest

from clients import cli_json, duckdb_cli
from warehouse import Warehouse
from warehouse.publish import write_journal
from warehouse.storage import DEFAULT_STORAGE_VERSION, ENV, file_storage_version

pytestmark = pytest.mark.slow  # a separate client process per check


@pytest.fixture(scope="module")
def cli():
    return duckdb_cli()


def frames(n: int = 5, seed: int = 0) -> dict[str, pl.DataFrame]:
    ids = [f"A{i:03d}" for i in range(n)]
    return {
        "results": pl.DataFrame({"account_id": ids, "province": ["江苏省"] * n, "customer_type": ["large_industrial"] * n,
                                 "bill_yuan": [1000.0 * (i + 1 + seed) for i in range(n)],
                                 "flags": [["no_pv"] if i % 2 else [] for i in range(n)]}),
        "segments": pl.DataFrame({"account_id": ids, "segment": ["value_oriented"] * n,
                                  "secondary_segments": [[] for _ in ids], "rules_version": ["r1"] * n}),
    }


def run(wh: Warehouse, seed: int = 0, fail: bool = False) -> str:
    with pytest.raises(RuntimeError) if fail else _nothing():
        with wh.start_run(kind="nightly", campaign=None, input_path="c.csv", input_sha256=None,
                          assumptions={"set": "cn-2025"}, rules_version="r1", code_version="0.1.0") as r:
            for table, frame in frames(seed=seed).items():
                r.write(table, frame)
            if fail:
                raise RuntimeError("boom")
    return r.run_id


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def tag(db) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return file_storage_version(con)


def assert_opens_in_1x(cli, db, runs: int, succeeded: int) -> None:
    got = cli_json(cli, db, "SELECT count(*) AS n, count(*) FILTER (status = 'succeeded') AS ok FROM runs;")
    assert got == [{"n": runs, "ok": succeeded}]
    assert cli_json(cli, db, "SELECT count(*) AS n FROM latest_results;") == [{"n": 5 if succeeded else 0}]
    meta = cli_json(cli, db, "SELECT value FROM warehouse_meta WHERE key = 'storage_version';")
    if succeeded:
        assert meta == [{"value": DEFAULT_STORAGE_VERSION}]
    assert tag(db) == "v1.0.0+"


def test_a_published_warehouse_opens_in_duckdb_1x_and_records_its_storage_version(cli, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    db = tmp_path / "greenpower.duckdb"
    wh = Warehouse(db)
    assert wh.storage_version == "v1.0.0"
    rid = run(wh)
    assert_opens_in_1x(cli, db, runs=1, succeeded=1)
    rows = cli_json(cli, db, f"SELECT storage_version FROM runs WHERE run_id = '{rid}';")
    assert rows == [{"storage_version": "v1.0.0"}]
    run(wh, seed=1)  # the second run writes into a copy of the first's file: still 1.x
    assert_opens_in_1x(cli, db, runs=2, succeeded=2)


def test_a_file_in_duckdb_2_format_is_rewritten_for_1x_at_the_next_publish(cli, tmp_path):
    db = tmp_path / "greenpower.duckdb"
    run(Warehouse(db, storage_version="v2.0.0"))  # what the code before this setting wrote
    assert tag(db) == "v2.0.0+"
    with pytest.raises(AssertionError, match="version number"):  # the managers' complaint, reproduced
        cli_json(cli, db, "SELECT 1;")
    run(Warehouse(db))
    assert_opens_in_1x(cli, db, runs=2, succeeded=2)
    # a failed run recorded over such a file converts it too
    other = tmp_path / "other.duckdb"
    run(Warehouse(other, storage_version="v2.0.0"))
    run(Warehouse(other), fail=True)
    assert tag(other) == "v1.0.0+"
    assert cli_json(cli, other, "SELECT status FROM runs ORDER BY started_at;") == [{"status": "succeeded"},
                                                                                   {"status": "failed"}]


def test_compaction_failed_runs_and_recovery_keep_the_storage_version(cli, tmp_path):
    db = tmp_path / "greenpower.duckdb"
    wh = Warehouse(db)
    run(wh, fail=True)          # nothing published yet: the failed run's record is a new file
    assert_opens_in_1x(cli, db, runs=1, succeeded=0)
    run(wh)
    run(wh, fail=True)
    assert_opens_in_1x(cli, db, runs=3, succeeded=1)
    write_journal(db, {"run_id": "r-killed", "kind": "nightly", "started_at": "2026-11-22T02:00:00+00:00",
                       "pid": 1, "host": "h"})
    assert wh.recover() == ["r-killed"]
    assert_opens_in_1x(cli, db, runs=4, succeeded=1)
    before, after = wh.compact()
    assert before > 0 and after > 0
    assert_opens_in_1x(cli, db, runs=4, succeeded=1)
    # an operator who converts an old file by hand: compaction writes the setting, whatever the source was
    old = tmp_path / "old.duckdb"
    run(Warehouse(old, storage_version="v2.0.0"))
    shutil.copyfile(old, db)
    Warehouse(db).compact()
    assert tag(db) == "v1.0.0+"


def test_the_setting_is_checked_and_names_itself(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, "v9.9")
    with pytest.raises(ValueError, match=f"{ENV}: 'v9.9' is not a DuckDB storage version.*v1.0.0"):
        Warehouse(tmp_path / "x.duckdb")
    monkeypatch.setenv(ENV, "v1.5.0")
    assert Warehouse(tmp_path / "x.duckdb").storage_version == "v1.5.0"
    assert Warehouse(tmp_path / "x.duckdb", storage_version="latest").storage_version == "latest"
    with pytest.raises(ValueError, match="'v1.0.0\\+' is not a DuckDB storage version"):
        Warehouse(tmp_path / "x.duckdb", storage_version="v1.0.0+")
