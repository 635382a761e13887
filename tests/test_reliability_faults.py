"""Faults with real processes (reliability.md "crash mid-run", "concurrent readers"; outputs.md "Guarantees").

Every run that is killed, starved or checked for its exit is a real ``gp run`` process (the installed command
line, its own Prefect flow run, its own render worker processes) on a real DuckDB file and real PDFs; the
runs that only set the scene run the same command in the test process. To save the temporary Prefect server
each ``gp`` would otherwise start (~10 s), the processes talk to the test session's Prefect server through
``PREFECT_API_URL``, as a deployment talks to its ``prefect server``.

Faults:

- ``kill -9`` of the run process while it persists, and again while it renders offers; a reader process
  watches the published database the whole time;
- a write that fails for lack of space while the run persists (``RLIMIT_FSIZE``: the kernel refuses to grow
  a file past the limit — a disk-full the test can cause as root, where permissions are not enforced);
- an output folder that cannot be created (its parent is a regular file: refused even for root).
"""
from __future__ import annotations

import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from reliability_support import (COMPARED, PICK, ROOT, Gp, api_url, customers, file_sha256, finish,  # noqa: F401
                                 kill_group, no_duplicates, nonfinite_float_cells, offers_are_whole, q,
                                 read_manifest, run_rows, same_results, sample_rows, table_rows, wait_for,
                                 write_customers)
from warehouse.publish import journal_path, stale_staging

pytestmark = pytest.mark.slow

# A manager's tool: a new read-only connection every few milliseconds, for as long as the test runs. Prints
# every state it sees (latest run, its number of results, a fingerprint of the results without run_id).
READER = """
    import sys, time, pathlib, duckdb
    db, stop = sys.argv[1], pathlib.Path(sys.argv[2])
    last, n = None, 0
    SQL = '''SELECT (SELECT run_id FROM latest_run), count(*),
                    md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY account_id)),
                    (SELECT count(*) FROM latest_offers WHERE status IN ('rendered', 'unchanged'))
             FROM (SELECT * EXCLUDE (run_id) FROM results WHERE run_id = (SELECT run_id FROM latest_run)) t'''
    while not stop.exists():
        try:
            con = duckdb.connect(db, read_only=True)
            try:
                state = con.execute(SQL).fetchone()
            finally:
                con.close()
        except Exception as e:
            state = ("ERR", repr(e)[:300])
        n += 1
        if state != last:
            print(*state, flush=True)
            last = state
        time.sleep(0.01)
    print("observations", n, flush=True)
"""


def start_reader(db: Path, stop: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(READER), str(db), str(stop)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wal_growing(db: Path, sizes: set[int]):
    """True once the run's staging copy has taken two more writes after its first (the run row): the counts,
    then its tables — it is persisting, and no offer is being rendered yet."""
    def check():
        for wal in db.parent.glob(f"{db.name}.staging-*.wal"):
            try:
                sizes.add(wal.stat().st_size)
            except FileNotFoundError:
                pass
        return len(sizes) >= 3
    return check


def test_kill_9_while_persisting_and_while_rendering_then_the_rerun_matches_a_clean_run(tmp_path, api_url):
    gp = Gp(tmp_path, api_url)
    plain = customers(tmp_path)
    # the same accounts with another sales rep: the same figures, but every offer must be rendered again
    other_rep = customers(tmp_path, "customers-rep.csv", sales_rep="李华")

    gp.run_here(plain, "clean-a")
    published = file_sha256(gp.db)
    stop = tmp_path / "stop-reader"
    reader = start_reader(gp.db, stop)
    try:
        # ---- 1. killed while persisting (300 accounts: a persist step long enough to be caught in the act)
        many = write_customers(tmp_path / "many.csv", sample_rows(300))
        proc = gp.start(many, "killed-persist")
        wait_for(wal_growing(gp.db, set()), proc, what="the staging copy to be written")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        kill_group(proc)
        persist_pid = proc.pid
        assert not list((gp.out / "killed-persist").glob("*.pdf")), "killed after persisting, not during"
        # the published file was never touched; the dead run left its journal and staging copy
        assert file_sha256(gp.db) == published
        assert journal_path(gp.db).exists() and stale_staging(gp.db)
        assert list(run_rows(gp.db)) == ["clean-a"]

        # ---- 2. the next run recovers, then is killed while rendering (its offers changed: they are rendered)
        proc = gp.start(other_rep, "killed-render")
        wait_for(lambda: list((gp.out / "killed-render").glob("*.pdf")), proc, what="the first PDF")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        time.sleep(0.5)           # orphaned render workers may still be writing: let them, then end them
        kill_group(proc)
        left = sorted(p.name for p in (gp.out / "killed-render").iterdir())
        assert "manifest.csv" not in left and len([n for n in left if n.endswith(".pdf")]) < len(PICK), left
        runs = run_rows(gp.db)
        assert runs["killed-persist"]["status"] == "failed" and "did not finish" in runs["killed-persist"]["error"]
        assert f"process {persist_pid} " in runs["killed-persist"]["error"]
        assert "killed-render" not in runs
        assert q(gp.db, "SELECT DISTINCT run_id FROM latest_results") == [("clean-a",)]

        # ---- 3. the rerun succeeds
        gp.run(other_rep, "rerun-d")
    finally:
        stop.touch()
        seen, err = reader.communicate(timeout=60)

    runs = run_rows(gp.db)
    assert [runs[r]["status"] for r in ("clean-a", "killed-persist", "killed-render", "rerun-d")] == [
        "succeeded", "failed", "failed", "succeeded"]
    assert "did not finish" in runs["killed-render"]["error"]
    assert runs["rerun-d"]["offers_rendered"] == len(PICK) and runs["rerun-d"]["offers_failed"] == 0
    # the rerun's tables equal the clean run's (the sales rep is not a figure), with no duplicate rows
    same_results(gp.db, "clean-a", "rerun-d", except_columns=("sales_rep",))
    for killed in ("killed-persist", "killed-render"):
        for table in COMPARED | {"offers": ""}:
            assert q(gp.db, f"SELECT count(*) FROM {table} WHERE run_id = ?", [killed]) == [(0,)]
    no_duplicates(gp.db)
    assert nonfinite_float_cells(gp.db) == {}
    assert not stale_staging(gp.db) and not journal_path(gp.db).exists()
    # no half-written PDF is listed anywhere: every offers row and manifest line is a whole file
    assert offers_are_whole(gp.db, gp.out) == 2 * 2 * len(PICK)     # (clean-a, rerun-d) × (rows, manifest)
    assert {line["name"] for line in read_manifest(gp.out / "rerun-d")} >= {r["name"] for r in sample_rows(1)}

    # the reader saw only published, complete runs, in order, and never failed to read
    lines = seen.strip().splitlines()
    assert lines[-1].startswith("observations") and int(lines[-1].split()[1]) > 50, seen + err
    states = [line.split() for line in lines[:-1]]
    assert not [s for s in states if s[0] == "ERR"], seen
    assert len({s[2] for s in states}) == 1, states                    # the same figures every time
    assert all(s[1] == str(len(PICK)) and s[3] == str(len(PICK)) for s in states), states
    assert [s[0] for s in states] == ["clean-a", "rerun-d"], states


def limit_file_size(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_disk_full_or_unwritable_output_fails_clearly_and_the_warehouse_survives(tmp_path, api_url):
    gp = Gp(tmp_path, api_url)
    plain = customers(tmp_path)
    gp.run_here(plain, "before", "--no-pdf")
    published = file_sha256(gp.db)

    # ---- 1. disk full while persisting: 300 accounts must grow the staging copy past the limit
    many = write_customers(tmp_path / "many.csv", sample_rows(300))
    proc = gp.start(many, "disk-full", "--no-pdf", preexec_fn=limit_file_size(gp.db.stat().st_size))
    code, out, err = finish(proc)
    kill_group(proc)
    assert code == 1, out + err
    message = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "File too large" in message[0], err
    # the published data is the previous run's: byte for byte, or plus one runs row saying "failed"
    assert q(gp.db, "SELECT DISTINCT run_id FROM latest_results") == [("before",)]
    assert q(gp.db, "SELECT count(*) FROM results WHERE run_id = 'disk-full'") == [(0,)]
    assert file_sha256(gp.db) == published or run_rows(gp.db)["disk-full"]["status"] == "failed"

    # ---- 2. the output folder cannot be created (its parent is a regular file: refused even for root)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the output folder's parent should be")
    gp.out = blocker / "out"
    proc = gp.start(plain, "no-out")
    code, out, err = finish(proc)
    kill_group(proc)
    assert code == 1, out + err
    message = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "Not a directory" in message[0] and "not-a-folder" in message[0], err
    assert blocker.read_text().startswith("a regular file")

    runs = run_rows(gp.db)
    assert runs["disk-full"]["status"] == "failed" and "File too large" in runs["disk-full"]["error"]
    assert runs["no-out"]["status"] == "failed" and "Not a directory" in runs["no-out"]["error"]
    assert q(gp.db, "SELECT DISTINCT run_id FROM latest_results") == [("before",)]
    for failed in ("disk-full", "no-out"):
        for table in COMPARED | {"offers": ""}:
            assert q(gp.db, f"SELECT count(*) FROM {table} WHERE run_id = ?", [failed]) == [(0,)]
    assert table_rows(gp.db, "results", "before")
    assert not stale_staging(gp.db) and not journal_path(gp.db).exists()
    assert nonfinite_float_cells(gp.db) == {}
