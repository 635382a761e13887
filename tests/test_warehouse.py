"""Warehouse tables, views, history, failures, retention and frame checks on real DuckDB files."""
from __future__ import annotations

import json
import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import warehouse_frames as synthetic
from warehouse import FrameError, Warehouse, WarehouseError, run_query
from warehouse.publish import journal_path, stale_staging
from warehouse.lock import is_locked

N = 12


def start(wh: Warehouse, **kw):
    args = dict(kind="nightly", campaign=None, input_path="customers.csv", input_sha256="ab" * 32,
                assumptions={"gec_price_yuan": 50, "set": "wri-2023"}, rules_version="rules-1",
                code_version="0.1.0")
    args.update(kw)
    return wh.start_run(**args)


def do_run(wh: Warehouse, frames: dict[str, pl.DataFrame], **kw) -> str:
    with start(wh, **kw) as run:
        for table, frame in frames.items():
            run.write(table, frame)
    return run.run_id


def q(db, sql, params=None) -> pl.DataFrame:
    return run_query(db, sql, params)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "wh" / "greenpower.duckdb"


def assert_clean(db):
    assert not journal_path(db).exists()
    assert stale_staging(db) == []
    assert not is_locked(db.with_name(db.name + ".lock"))


def test_tables_and_views_hold_one_run(db):
    frames = synthetic.run_frames(N)
    wh = Warehouse(db)
    rid = do_run(wh, frames, output_folder=db.parent / "out")
    assert_clean(db)

    run = q(db, "SELECT * FROM runs").to_dicts()
    assert len(run) == 1
    run = run[0]
    assert run["run_id"] == rid and run["status"] == "succeeded" and run["kind"] == "nightly"
    assert run["error"] is None and run["finished_at"] >= run["started_at"]
    assert json.loads(run["assumptions"]) == {"gec_price_yuan": 50, "set": "wri-2023"}
    assert (run["input_sha256"], run["rules_version"], run["code_version"]) == ("ab" * 32, "rules-1", "0.1.0")
    # counts the pipeline did not give come from what the run wrote
    assert (run["rows_accepted"], run["rows_rejected"], run["rows_read"]) == (N, 3, N + 3)
    assert (run["offers_rendered"], run["offers_skipped"], run["offers_failed"]) == (N, 0, 0)

    for table, frame in frames.items():
        stored = q(db, f"SELECT * FROM {table} ORDER BY ALL")
        assert stored.columns[0] == "run_id" and set(stored["run_id"]) == {rid}
        assert_frame_equal(stored.drop("run_id").select(frame.columns), frame, check_row_order=False,
                           check_dtypes=False)

    latest = q(db, "SELECT * FROM latest_results ORDER BY account_id")
    assert latest.height == N and set(latest["run_id"]) == {rid}
    assert latest.columns[:7] == ["run_id", "account_id", "name", "province", "customer_type", "segment",
                                  "secondary_segments"]
    seg = frames["segments"].sort("account_id")
    assert latest["segment"].to_list() == seg["segment"].to_list()
    assert latest["name"].to_list() == frames["accounts"].sort("account_id")["name"].to_list()

    summary = q(db, "SELECT * FROM segment_summary")
    expect = (frames["results"].join(seg, on="account_id")
              .join(frames["accounts"].select("account_id", "annual_kwh"), on="account_id")
              .group_by("segment", "province")
              .agg(accounts=pl.len(), annual_kwh=pl.col("annual_kwh").sum(),
                   current_cost_yuan=pl.col("bill_yuan").sum(),
                   green_cost_low_yuan=pl.col("green_cost_low_yuan").sum(),
                   green_cost_high_yuan=pl.col("green_cost_high_yuan").sum(),
                   co2_reduction_t=pl.col("co2_reduction_t").sum()))
    # SQL sums of nothing but NULL stay NULL: no emission factor (西藏) means no CO2 figure, not 0 t
    assert summary.filter(pl.col("province") == "西藏自治区")["co2_reduction_t"].null_count() > 0
    summary = summary.with_columns(pl.col("co2_reduction_t").fill_null(0.0))
    assert_frame_equal(summary.select(expect.columns), expect, check_row_order=False, check_dtypes=False)
    assert q(db, "SELECT count(*) FROM rejects_latest").item() == 3
    assert q(db, "SELECT count(*) FROM latest_scenarios").item() == frames["scenarios"].height
    assert q(db, "SELECT count(*) FROM segment_changes").item() == 0  # nothing to compare with yet

    assert wh.latest_successful_run()["run_id"] == rid
    assert wh.latest_successful_run()["assumptions"]["gec_price_yuan"] == 50
    assert_frame_equal(wh.latest_accounts(), frames["accounts"], check_dtypes=False)


def test_history_by_run_and_segment_changes_against_previous_run_with_the_account(db):
    wh = Warehouse(db)
    base = synthetic.run_frames(N)
    a = do_run(wh, base)
    # run B lacks the last two accounts; A0000010 changes segment in C (compared with A, which had it)
    b_frames = {t: (f.filter(~pl.col("account_id").is_in(["A0000010", "A0000011"])) if "account_id" in f.columns
                    and t != "rejects" else f) for t, f in base.items()}
    b = do_run(wh, b_frames)
    c_frames = dict(base, segments=synthetic.segments(base["accounts"], shift=5))  # rows 0, 5, 10 -> value_oriented
    c = do_run(wh, c_frames)

    counts = q(db, "SELECT run_id, count(*) AS n FROM results GROUP BY run_id").rows()
    assert dict(counts) == {a: N, b: N - 2, c: N}
    assert set(q(db, "SELECT DISTINCT run_id FROM latest_results")["run_id"]) == {c}

    changes = q(db, "SELECT * FROM segment_changes ORDER BY account_id")
    before = base["segments"].select("account_id", pl.col("segment").alias("previous_segment"))
    after = c_frames["segments"].select("account_id", "segment")
    expect = before.join(after, on="account_id").filter(pl.col("previous_segment") != pl.col("segment"))
    assert changes["account_id"].to_list() == expect["account_id"].to_list() != []
    prev_runs = dict(changes.select("account_id", "previous_run_id").rows())
    assert prev_runs.pop("A0000010") == a
    assert set(prev_runs.values()) == {b}
    assert set(changes["run_id"]) == {c}
    assert changes.filter(pl.col("account_id") == "A0000010")["name"].item() == "客户10有限公司"


def test_exception_inside_run_marks_it_failed_and_keeps_previous_results(db):
    wh = Warehouse(db)
    frames = synthetic.run_frames(N)
    good = do_run(wh, frames)
    before = q(db, "SELECT * FROM latest_results")

    with pytest.raises(RuntimeError, match="model exploded"):
        with start(wh) as run:
            run.write("accounts", frames["accounts"].head(3))
            run.write("results", synthetic.results(frames["accounts"].head(3), variant=0.5))
            run.update_counts(rows_read=99)
            raise RuntimeError("model exploded")
    bad = run.run_id
    assert run.status == "failed"
    assert_clean(db)

    runs = {r["run_id"]: r for r in q(db, "SELECT * FROM runs").to_dicts()}
    assert runs[good]["status"] == "succeeded"
    assert runs[bad]["status"] == "failed" and "model exploded" in runs[bad]["error"]
    assert runs[bad]["rows_read"] == 99 and runs[bad]["finished_at"] is not None
    assert q(db, "SELECT count(*) FROM results WHERE run_id = ?", [bad]).item() == 0
    assert q(db, "SELECT count(*) FROM accounts WHERE run_id = ?", [bad]).item() == 0
    assert_frame_equal(q(db, "SELECT * FROM latest_results"), before)
    assert wh.latest_successful_run()["run_id"] == good

    with start(wh) as run:  # explicit fail() does the same; nothing else is written after it
        run.write("accounts", frames["accounts"])
        run.fail("render service down")
        with pytest.raises(WarehouseError, match="failed"):
            run.write("results", frames["results"])
    assert q(db, "SELECT status, error FROM runs WHERE run_id = ?", [run.run_id]).row(0) == ("failed", "render service down")
    assert_frame_equal(q(db, "SELECT * FROM latest_results"), before)
    assert do_run(wh, frames)  # and the next run works


def test_a_failed_staging_copy_fails_the_run_and_keeps_the_published_one(db, monkeypatch):
    import warehouse.publish as files
    wh = Warehouse(db)
    frames = synthetic.run_frames(N)
    good = do_run(wh, frames)
    before = q(db, "SELECT * FROM latest_results")
    real_copy = files.copy_published

    def full_disk(src, dest):  # the background copy runs out of space half-way
        dest.write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "copy_published", full_disk)
    run = start(wh)  # returns at once; the copy's error surfaces where the run needs the copy
    run.update_counts(rows_read=5)  # recorded without waiting for the copy
    monkeypatch.setattr(files, "copy_published", real_copy)  # recording the failure copies again
    with pytest.raises(OSError, match="No space left"):
        with run:
            run.write("accounts", frames["accounts"])
    assert run.status == "failed"
    assert_clean(db)
    row = q(db, "SELECT status, error, rows_read FROM runs WHERE run_id = ?", [run.run_id]).row(0)
    assert row[0] == "failed" and "No space left" in row[1] and row[2] == 5
    assert_frame_equal(q(db, "SELECT * FROM latest_results"), before)
    assert wh.latest_successful_run()["run_id"] == good


def test_counts_and_output_folder_given_before_the_first_write_are_kept(db, tmp_path):
    wh = Warehouse(db)
    with start(wh) as run:
        run.set_output_folder(tmp_path / "out" / run.run_id)
        run.update_counts(rows_read=20, rows_rejected=2)
        run.write("accounts", synthetic.accounts(3))
        run.update_counts(offers_rendered=3)
    row = q(db, "SELECT * FROM runs").row(0, named=True)
    assert row["output_folder"] == str(tmp_path / "out" / run.run_id)
    assert (row["rows_read"], row["rows_rejected"], row["rows_accepted"], row["offers_rendered"]) == (20, 2, 3, 3)


def test_nan_and_inf_are_refused_before_storing(db):
    wh = Warehouse(db)
    frames = synthetic.run_frames(N)
    good = do_run(wh, frames)
    bad_results = frames["results"].with_columns(
        pl.when(pl.col("account_id") == "A0000004").then(float("nan")).otherwise(pl.col("pv_irr")).alias("pv_irr"))
    bad_accounts = frames["accounts"].with_columns(
        pl.when(pl.col("account_id") == "A0000002").then(float("inf")).otherwise(pl.col("annual_kwh")).alias("annual_kwh"))
    bad_scen = frames["scenarios"].with_columns(gec_cost_yuan=pl.lit(float("-inf")))
    with start(wh) as run:
        with pytest.raises(FrameError, match=r"results: NaN/inf.*pv_irr \(1 rows\).*A0000004"):
            run.write("results", bad_results)
        with pytest.raises(FrameError, match=r"accounts: NaN/inf.*annual_kwh.*A0000002"):
            run.write("accounts", bad_accounts)
        with pytest.raises(FrameError, match=r"scenarios: NaN/inf.*gec_cost_yuan"):
            run.write("scenarios", bad_scen)
        run.fail("bad numbers")
    assert q(db, "SELECT count(*) FROM results WHERE NOT isfinite(pv_irr)").item() == 0
    assert wh.latest_successful_run()["run_id"] == good

    with pytest.raises(FrameError):  # uncaught inside the block: the run is failed
        with start(wh) as run:
            run.write("results", bad_results)
    assert q(db, "SELECT status FROM runs WHERE run_id = ?", [run.run_id]).item() == "failed"


def test_keys_are_unique_within_a_run(db):
    wh = Warehouse(db)
    frames = synthetic.run_frames(N)
    with start(wh) as run:
        with pytest.raises(FrameError, match=r"results: 2 rows share a key \(account_id\).*A0000000"):
            run.write("results", pl.concat([frames["results"], frames["results"].head(1)]))
        with pytest.raises(FrameError, match=r"scenarios: .*share a key \(account_id, pv_mode\)"):
            run.write("scenarios", pl.concat([frames["scenarios"], frames["scenarios"].tail(1)]))
        with pytest.raises(FrameError, match="NULL"):
            run.write("segments", frames["segments"].with_columns(account_id=pl.lit(None, dtype=pl.String)))
        run.write("results", frames["results"].head(5))          # written in chunks ...
        run.write("results", frames["results"].slice(5))
        with pytest.raises(FrameError, match="already written.*A0000003"):   # ... but never twice
            run.write("results", frames["results"].slice(3, 2))
        with pytest.raises(FrameError, match="run_id"):
            run.write("segments", frames["segments"].with_columns(run_id=pl.lit("someone-else")))
        with pytest.raises(FrameError, match="lacks required column.*industry_group"):
            run.write("accounts", frames["accounts"].drop("industry_group"))
        with pytest.raises(FrameError, match="status must be one of"):
            run.write("offers", frames["offers"].with_columns(status=pl.lit("done")))
        with pytest.raises(FrameError, match="cannot write table 'runs'"):
            run.write("runs", frames["results"])
        with pytest.raises(FrameError, match="cannot write table 'latest_results'"):
            run.write("latest_results", frames["results"])
    dup = q(db, "SELECT account_id, count(*) FROM results GROUP BY ALL HAVING count(*) > 1")
    assert dup.height == 0 and q(db, "SELECT count(*) FROM results").item() == N


def test_same_input_twice_gives_identical_results(db):
    wh = Warehouse(db)
    a = do_run(wh, synthetic.run_frames(N))
    b = do_run(wh, synthetic.run_frames(N))
    for table in ("accounts", "results", "scenarios", "segments", "offers", "rejects"):
        ra = q(db, f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY ALL", [a])
        rb = q(db, f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY ALL", [b])
        assert_frame_equal(ra, rb)
    assert q(db, "SELECT count(*) FROM (SELECT run_id, account_id FROM results GROUP BY ALL HAVING count(*) > 1)").item() == 0


def test_a_new_results_column_does_not_break_an_existing_database(db):
    wh = Warehouse(db)
    frames = synthetic.run_frames(N)
    a = do_run(wh, frames)
    wider = frames["results"].with_columns(savings_25y_yuan=pl.col("bill_yuan") * 2.5)
    wider = wider.select(list(reversed(wider.columns)))  # column order does not matter: inserted by name
    b = do_run(wh, dict(frames, results=wider))
    c = do_run(wh, frames)  # and an older pipeline still writes
    got = q(db, "SELECT run_id, count(savings_25y_yuan) AS n FROM results GROUP BY run_id").rows()
    assert dict(got) == {a: 0, b: N, c: 0}
    assert "savings_25y_yuan" in q(db, "SELECT * FROM latest_results LIMIT 0").columns
    with pytest.raises(FrameError, match="dtype Null"):
        with start(wh) as run:
            run.write("results", frames["results"].with_columns(brand_new=pl.lit(None)))


def test_campaign_runs_are_not_the_latest_full_run(db):
    wh = Warehouse(db)
    frames = synthetic.run_frames(N)
    nightly = do_run(wh, frames)
    pick = ["A0000001", "A0000006"]
    subset = {t: f.filter(pl.col("account_id").is_in(pick)) for t, f in frames.items() if t != "rejects"}
    camp = do_run(wh, {t: subset[t] for t in ("results", "scenarios", "segments")}, kind="campaign",
                  campaign="jiangsu-exporters", assumptions={"gec_price_yuan": 5})
    assert wh.latest_successful_run()["run_id"] == nightly
    assert wh.latest_successful_run(campaign="jiangsu-exporters")["run_id"] == camp
    assert wh.latest_successful_run(campaign="other") is None
    assert wh.latest_accounts().height == N
    assert q(db, "SELECT count(*) FROM latest_results").item() == N
    got = q(db, "SELECT campaign, account_id FROM latest_campaign_results ORDER BY account_id").rows()
    assert got == [("jiangsu-exporters", a) for a in pick]
    run = q(db, "SELECT * FROM runs WHERE run_id = ?", [camp]).row(0, named=True)
    assert run["rows_accepted"] is None  # it wrote no accounts: no made-up counts
    with pytest.raises(ValueError, match="campaign name"):
        start(wh, kind="campaign")


def test_retention_never_prunes_the_latest_successful_run(db):
    frames = synthetic.run_frames(N)
    a = do_run(Warehouse(db), frames)
    with pytest.raises(RuntimeError):
        with start(Warehouse(db)) as run:
            raise RuntimeError("boom")
    failed = run.run_id
    # retention 0 days: everything older than now may go, except the latest full run (a)
    camp = do_run(Warehouse(db, retention_days=0), {"results": frames["results"].head(2)}, kind="campaign",
                  campaign="c1")
    assert set(q(db, "SELECT run_id FROM runs")["run_id"]) == {a, camp}
    assert q(db, "SELECT count(*) FROM results WHERE run_id = ?", [a]).item() == N
    assert q(db, "SELECT count(*) FROM latest_results").item() == N

    d = do_run(Warehouse(db, retention_days=30), frames)  # a month: keeps everything
    assert set(q(db, "SELECT run_id FROM runs")["run_id"]) == {a, camp, d}
    e = do_run(Warehouse(db, retention_days=0, keep_runs=1), frames)
    assert set(q(db, "SELECT run_id FROM runs")["run_id"]) == {e}
    for table in ("accounts", "results", "scenarios", "segments", "offers", "rejects"):
        assert set(q(db, f"SELECT DISTINCT run_id FROM {table}")["run_id"]) == {e}, table
    assert failed not in set(q(db, "SELECT run_id FROM runs")["run_id"])

    before, after = Warehouse(db).compact()
    assert after <= before and q(db, "SELECT count(*) FROM latest_results").item() == N
    assert Warehouse(db).latest_successful_run()["assumptions"]["set"] == "wri-2023"  # JSON survives
    with pytest.raises(ValueError):
        Warehouse(db, retention_days=-1)


def test_previous_offers_for_incremental_rendering(db, tmp_path):
    wh = Warehouse(db)
    frames = synthetic.run_frames(4)
    out, other = tmp_path / "out" / "spring", tmp_path / "out" / "other"
    assert wh.previous_offers(out).height == 0  # no database yet
    a = do_run(wh, frames, output_folder=out)
    offers_b = frames["offers"].with_columns(
        status=pl.when(pl.col("account_id") == "A0000001").then(pl.lit("failed"))
        .when(pl.col("account_id") == "A0000002").then(pl.lit("rendered")).otherwise(pl.lit("unchanged")),
        content_hash=pl.when(pl.col("account_id") == "A0000002").then(pl.lit("new")).otherwise(pl.col("content_hash")))
    b = do_run(wh, dict(frames, offers=offers_b), output_folder=str(out) + "/")
    with pytest.raises(RuntimeError):  # a failed run's offers never count
        with start(wh, output_folder=out) as run:
            run.write("offers", frames["offers"].with_columns(content_hash=pl.lit("bogus")))
            raise RuntimeError("x")
    prev = {r["account_id"]: r for r in wh.previous_offers(out).to_dicts()}
    assert {k: (v["run_id"], v["status"]) for k, v in prev.items()} == {
        "A0000000": (b, "unchanged"), "A0000001": (a, "rendered"), "A0000002": (b, "rendered"),
        "A0000003": (b, "unchanged")}
    assert prev["A0000002"]["content_hash"] == "new"
    assert set(wh.previous_offers(out).columns) >= {"account_id", "path", "folder", "sha256", "content_hash"}
    assert {v["folder"] for v in prev.values()} == {str(out)}
    assert wh.previous_offers(other).height == 0
    # nightly runs write out/<run_id>: asking for the offers root covers all of them
    with start(wh) as run:
        nightly = tmp_path / "out" / run.run_id
        run.set_output_folder(nightly)
        run.write("offers", frames["offers"].head(1).with_columns(content_hash=pl.lit("newest")))
    c = run.run_id
    root = {r["account_id"]: r for r in wh.previous_offers(tmp_path / "out").to_dicts()}
    assert (root["A0000000"]["run_id"], root["A0000000"]["folder"]) == (c, str(nightly))
    assert root["A0000001"]["run_id"] == a and len(root) == 4
    assert wh.previous_offers(tmp_path / "ou").height == 0  # a prefix of the name is not a parent folder
    assert q(db, "SELECT offers_rendered, offers_skipped, offers_failed FROM runs WHERE run_id = ?", [b]).row(0) == (1, 2, 1)


def test_run_ids_are_validated_sortable_and_unique(db):
    wh = Warehouse(db)
    for bad in ("../x", "a/b", "", " x", ".hidden", "x" * 101, "名字"):
        with pytest.raises(ValueError, match="run_id"):
            start(wh, run_id=bad)
    rid = do_run(wh, {"results": synthetic.run_frames(2)["results"]}, run_id="nightly-2026-11-22")
    assert rid == "nightly-2026-11-22"
    with pytest.raises(WarehouseError, match="run_id nightly-2026-11-22 already exists"):
        start(wh, run_id="nightly-2026-11-22")
    assert_clean(db)  # the refused start left nothing behind
    ids = [do_run(wh, {}) for _ in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert all(len(i) == len("20261122T020000.123Z-ab12cd") for i in ids)


def test_a_run_starts_while_this_process_holds_the_published_file_open(db):
    import duckdb
    wh = Warehouse(db)
    do_run(wh, {}, run_id="r-1")
    con = duckdb.connect(str(db), read_only=True)  # not the package's reader configuration
    try:
        with pytest.raises(WarehouseError, match="run_id r-1 already exists"):
            start(wh, run_id="r-1")
        assert_clean(db)
        rid = do_run(wh, {"results": synthetic.run_frames(2)["results"]})
    finally:
        con.close()
    assert q(db, "SELECT count(*) FROM results WHERE run_id = ?", [rid]).item() == 2


def test_update_counts_and_empty_warehouse_reads(db):
    wh = Warehouse(db)
    assert wh.latest_successful_run() is None
    assert wh.latest_accounts().height == 0 and "account_id" in wh.latest_accounts().columns
    assert wh.runs().height == 0 and wh.active_run() is None
    with start(wh) as run:
        with pytest.raises(ValueError, match="unknown count"):
            run.update_counts(rows_sideways=1)
        with pytest.raises(ValueError, match="whole number"):
            run.update_counts(rows_read=-1)
        run.update_counts(rows_read=10, rows_accepted=7, rows_rejected=3, offers_rendered=5, offers_skipped=2,
                          offers_failed=0)
        assert wh.active_run()["alive"] is True and wh.active_run()["run_id"] == run.run_id
    row = q(db, "SELECT * FROM runs").row(0, named=True)
    assert [row[k] for k in ("rows_read", "rows_accepted", "rows_rejected", "offers_rendered",
                             "offers_skipped", "offers_failed")] == [10, 7, 3, 5, 2, 0]
    with pytest.raises(WarehouseError, match="succeeded"):
        run.commit()


def test_publishing_keeps_the_files_permissions(db):
    wh = Warehouse(db)
    do_run(wh, {})
    db.chmod(0o640)
    do_run(wh, {})
    assert db.stat().st_mode & 0o777 == 0o640


def test_a_leftover_wal_beside_the_published_file_is_refused(db):
    wh = Warehouse(db)
    do_run(wh, {})
    wal = db.with_name(db.name + ".wal")
    wal.write_bytes(b"x")
    with pytest.raises(WarehouseError, match=r"greenpower.duckdb.wal.*read-write"):
        start(wh)
    assert_clean(db)


def test_recovery_reads_what_the_journal_says(db):
    from warehouse.publish import staging_path, write_journal
    wh = Warehouse(db)
    done = do_run(wh, {})
    # died after publishing but before removing its journal: it stays succeeded
    write_journal(db, {"run_id": done, "pid": 1, "host": "h"})
    assert wh.recover() == []
    # could not record its own failure (disk full): the next run records its error
    write_journal(db, {"run_id": "r-diskfull", "kind": "nightly", "started_at": "2026-11-22T02:00:00+00:00",
                       "code_version": "0.1.0", "error": "commit failed: OSError: No space left on device"})
    staging_path(db, "r-diskfull").write_bytes(b"half a file")
    assert wh.recover() == ["r-diskfull"]
    row = q(db, "SELECT status, error, kind FROM runs WHERE run_id = 'r-diskfull'").row(0)
    assert row == ("failed", "commit failed: OSError: No space left on device", "nightly")
    journal_path(db).write_text("{not json")  # unreadable: cleaned up, nothing invented
    assert wh.recover() == []
    assert_clean(db)
    assert q(db, "SELECT count(*) FROM runs").item() == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=40))
def test_any_non_finite_float_is_refused_and_nothing_else(values):
    from warehouse.schema import TABLES, prepare_frame
    frame = pl.DataFrame({"account_id": [f"A{i}" for i in range(len(values))], "pv_irr": values},
                         schema={"account_id": pl.String, "pv_irr": pl.Float64})
    bad = sum(v is not None and not math.isfinite(v) for v in values)
    if bad:
        with pytest.raises(FrameError, match=rf"pv_irr \({bad} rows\)"):
            prepare_frame("results", frame, "r1", TABLES["results"])
    else:
        assert prepare_frame("results", frame, "r1", TABLES["results"]).columns == ["run_id", "account_id", "pv_irr"]
