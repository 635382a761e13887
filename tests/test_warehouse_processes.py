"""Atomic publishing with real separate processes: open readers, kill -9 mid-run, two runs at once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import warehouse_frames as synthetic
from warehouse import Warehouse, WarehouseBusy, WarehouseError, run_query
from warehouse.publish import journal_path, stale_staging

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
N = 12


def spawn(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_once(code: str, *args: str) -> str:
    p = spawn(code, *args)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return out.strip()


def start(wh: Warehouse, **kw):
    args = dict(kind="nightly", campaign=None, input_path="customers.csv", input_sha256=None,
                assumptions={"set": "test"}, rules_version="rules-1", code_version="0.1.0")
    return wh.start_run(**(args | kw))


def do_run(wh: Warehouse, frames: dict[str, pl.DataFrame]) -> str:
    with start(wh) as run:
        for table, frame in frames.items():
            run.write(table, frame)
    return run.run_id


# a manager's session: plain DuckDB, read-only, left open; prints what latest_results shows per input line
READER = """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def show():
        rid, n = con.execute("SELECT min(run_id), count(*) FROM latest_results").fetchone()
        print(rid, n, con.execute("SELECT count(*) FROM runs").fetchone()[0], flush=True)
    show()
    for _ in sys.stdin:
        show()
"""

LOOK_ONCE = """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    rid, n = con.execute("SELECT min(run_id), count(*) FROM latest_results").fetchone()
    print(rid, n, con.execute("SELECT count(*) FROM runs").fetchone()[0])
"""


def test_open_reader_neither_blocks_the_run_nor_sees_it(tmp_path):
    db = tmp_path / "greenpower.duckdb"
    wh = Warehouse(db)
    a = do_run(wh, synthetic.run_frames(N))
    reader = spawn(READER, db)
    try:
        assert reader.stdout.readline().split() == [a, str(N), "1"]
        frames = synthetic.run_frames(N + 3, variant=0.2)
        with start(wh) as run:
            for table, frame in frames.items():
                run.write(table, frame)
            # mid-run: the open session and a new one both see only the published run
            reader.stdin.write("\n"); reader.stdin.flush()
            assert reader.stdout.readline().split() == [a, str(N), "1"]
            assert run_once(LOOK_ONCE, db).split() == [a, str(N), "1"]
        b = run.run_id
        assert run.status == "succeeded"  # published although a read-only session held the file
        reader.stdin.write("\n"); reader.stdin.flush()
        assert reader.stdout.readline().split() == [a, str(N), "1"]   # its snapshot is unchanged
        assert run_once(LOOK_ONCE, db).split() == [b, str(N + 3), "2"]  # a new connection sees the new run
        assert run_query(db, "SELECT DISTINCT run_id FROM latest_results").item() == b
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0, reader.stderr.read()


KILLED_WRITER = """
    import sys, pathlib
    import polars as pl
    import warehouse_frames as synthetic
    from warehouse import Warehouse
    db, ready = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    run = Warehouse(db).start_run(kind="nightly", campaign=None, input_path="customers.csv", input_sha256=None,
                                  assumptions={"set": "test"}, rules_version="rules-1", code_version="0.1.0")
    print(run.run_id, flush=True)
    run.write("accounts", synthetic.accounts(500))
    big = synthetic.results(synthetic.accounts(50_000, seed=1))
    i = 0
    while True:  # keeps writing until killed
        run.write("results", big.with_columns(account_id=pl.col("account_id") + f"-{i}"))
        if i == 0:
            ready.touch()
        i += 1
"""


def test_sigkill_during_the_write_leaves_the_previous_run_and_the_next_run_marks_it_failed(tmp_path):
    db = tmp_path / "greenpower.duckdb"
    wh = Warehouse(db)
    frames = synthetic.run_frames(N)
    a = do_run(wh, frames)
    published = run_query(db, "SELECT * FROM latest_results ORDER BY account_id")

    ready = tmp_path / "ready"
    writer = spawn(KILLED_WRITER, db, ready)
    killed = writer.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert writer.poll() is None, writer.stderr.read()
        assert time.monotonic() < deadline, "writer never got going"
        time.sleep(0.02)
    time.sleep(0.3)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    # killed mid-write: its staging file and journal are left, the published file is untouched
    assert stale_staging(db) and journal_path(db).exists()
    left = wh.active_run()
    assert left["run_id"] == killed and left["alive"] is False and left["pid"] == writer.pid
    assert_frame_equal(run_query(db, "SELECT * FROM latest_results ORDER BY account_id"), published)
    assert run_query(db, "SELECT run_id FROM runs")["run_id"].to_list() == [a]

    c = do_run(wh, frames)  # the next run recovers, then succeeds
    runs = {r["run_id"]: r for r in run_query(db, "SELECT * FROM runs").to_dicts()}
    assert runs[a]["status"] == runs[c]["status"] == "succeeded"
    assert runs[killed]["status"] == "failed"
    assert "did not finish" in runs[killed]["error"] and str(writer.pid) in runs[killed]["error"]
    assert runs[killed]["input_path"] == "customers.csv"
    assert stale_staging(db) == [] and not journal_path(db).exists() and wh.active_run() is None
    for table in ("results", "accounts"):
        assert run_query(db, f"SELECT count(*) FROM {table} WHERE run_id = ?", [killed]).item() == 0
    # same as a clean run, no duplicates
    ra = run_query(db, "SELECT * EXCLUDE (run_id) FROM results WHERE run_id = ? ORDER BY account_id", [a])
    rc = run_query(db, "SELECT * EXCLUDE (run_id) FROM results WHERE run_id = ? ORDER BY account_id", [c])
    assert_frame_equal(ra, rc)
    assert run_query(db, "SELECT DISTINCT run_id FROM latest_results").item() == c


HOLDER = """
    import sys, time, pathlib
    from warehouse import Warehouse
    wh = Warehouse(pathlib.Path(sys.argv[1]))
    with wh.start_run(kind="nightly", campaign=None, input_path=None, input_sha256=None, assumptions={},
                      rules_version=None, code_version="0.1.0") as run:
        print(run.run_id, flush=True)
        sys.stdin.readline()
        time.sleep(float(sys.argv[2]))
    print("committed", flush=True)
"""


def test_a_second_run_waits_or_refuses_naming_the_holder(tmp_path):
    db = tmp_path / "greenpower.duckdb"
    a = do_run(Warehouse(db), synthetic.run_frames(N))
    holder = spawn(HOLDER, db, 1.0)
    try:
        first = holder.stdout.readline().strip()
        assert first, holder.stderr.read()
        with pytest.raises(WarehouseBusy) as busy:
            start(Warehouse(db))
        msg = str(busy.value)
        assert first in msg and f"pid {holder.pid}" in msg and "started" in msg and "greenpower.duckdb" in msg
        assert busy.value.holder["run_id"] == first
        t = time.monotonic()
        with pytest.raises(WarehouseBusy):
            start(Warehouse(db, lock_timeout_s=0.5))
        assert time.monotonic() - t >= 0.5
        # readers are not blocked by a run in progress
        assert run_query(db, "SELECT DISTINCT run_id FROM latest_results").item() == a

        holder.stdin.write("go\n"); holder.stdin.flush()   # holder commits about 1 s from now
        t = time.monotonic()
        with start(Warehouse(db, lock_timeout_s=60)) as second:
            waited = time.monotonic() - t
        assert holder.stdout.readline().strip() == "committed"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0, holder.stderr.read()
    assert waited >= 0.5
    got = run_query(db, "SELECT run_id, status FROM runs ORDER BY started_at").rows()
    assert got == [(a, "succeeded"), (first, "succeeded"), (second.run_id, "succeeded")]


READ_WRITE_SESSION = """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])   # read-write: what managers must not do
    print("open", flush=True)
    sys.stdin.readline()
"""


def test_a_read_write_session_on_the_published_file_is_refused_clearly(tmp_path):
    db = tmp_path / "greenpower.duckdb"
    wh = Warehouse(db)
    do_run(wh, {})
    session = spawn(READ_WRITE_SESSION, db)
    try:
        assert session.stdout.readline().strip() == "open", session.stderr.read()
        with pytest.raises(WarehouseError, match="open read-write"):
            start(wh)
    finally:
        session.stdin.close()
        session.wait(timeout=30)
    assert stale_staging(db) == [] and not journal_path(db).exists()
    do_run(wh, {})
    assert run_query(db, "SELECT count(*) FROM runs WHERE status = 'succeeded'").item() == 2


def test_a_forked_child_does_not_keep_the_lock_after_the_run_dies(tmp_path):
    """Render workers forked during a run must not hold the warehouse once the run's process is gone."""
    db = tmp_path / "greenpower.duckdb"
    code = """
        import os, sys, time, pathlib
        from warehouse import Warehouse
        run = Warehouse(pathlib.Path(sys.argv[1])).start_run(
            kind="adhoc", campaign=None, input_path=None, input_sha256=None, assumptions={}, rules_version=None,
            code_version="0.1.0")
        child = os.fork()
        if child == 0:          # a long-lived worker; fork() returns here after the fork handlers ran
            pathlib.Path(sys.argv[2]).touch()
            time.sleep(60)
            os._exit(0)
        print(child, flush=True)
        time.sleep(60)
    """
    started = tmp_path / "worker-started"
    parent = spawn(code, db, started)
    child = int(parent.stdout.readline())
    try:
        deadline = time.monotonic() + 30
        while not started.exists():  # killed within the child's first millisecond, its copy of the lock would live
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.01)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        # the worker lives on, yet the next run gets the lock at once and marks the dead one failed
        os.kill(child, 0)
        with start(Warehouse(db, lock_timeout_s=0)):
            pass
        assert run_query(db, "SELECT list(status ORDER BY started_at) FROM runs").item().to_list() == ["failed", "succeeded"]
    finally:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
