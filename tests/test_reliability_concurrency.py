"""Two runs at once, and a manager's session open all along (reliability.md "concurrent readers";
warehouse/README.md "One run at a time"). Real ``gp run`` processes on one ``--db``; a real read-only
DuckDB session in another process; a watcher that sees every staging copy that ever exists."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from reliability_support import (PICK, ROOT, Gp, api_url, customers, finish, kill_group, no_duplicates,  # noqa: F401
                                 offers_are_whole, q, run_rows, same_results, wait_for)
from warehouse.publish import journal_path, stale_staging

pytestmark = pytest.mark.slow

# A manager's session: one read-only connection, opened before the runs and kept open; answers each line
# on stdin with what latest_results shows and how long the query took.
SESSION = """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def show():
        t = time.monotonic()
        rid, n = con.execute("SELECT min(run_id), count(*) FROM latest_results").fetchone()
        print(rid, n, round((time.monotonic() - t) * 1000), flush=True)
    show()
    for _ in sys.stdin:
        show()
"""


class StagingWatcher(threading.Thread):
    """Records every run whose private staging copy exists, and the most that ever existed at once."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db, self.stop, self.order, self.most = db, threading.Event(), [], 0

    def run(self):
        while not self.stop.is_set():
            names = [p.name.split(".staging-", 1)[1] for p in self.db.parent.glob(f"{self.db.name}.staging-*")
                     if not p.name.endswith((".wal", ".failed", ".compact", ".tmp"))]
            self.most = max(self.most, len(names))
            for name in names:
                if name.startswith("loop-refresh-"):   # the loop's own publish after a run, under the same lock
                    continue
                if not self.order or self.order[-1] != name:
                    self.order.append(name)
            time.sleep(0.002)


def ask(session: subprocess.Popen, timeout_s: float = 120) -> list[str]:
    """The session's answer. A blocked reader never answers: that fails here (after a timeout generous
    enough for any load on the machine) instead of hanging — no assertion on how fast it answers."""
    import selectors
    session.stdin.write("\n")
    session.stdin.flush()
    with selectors.DefaultSelector() as sel:
        sel.register(session.stdout, selectors.EVENT_READ)
        assert sel.select(timeout_s), f"the read-only session did not answer within {timeout_s} s: blocked"
    return session.stdout.readline().split()


def test_two_runs_at_once_one_writes_the_other_waits_or_refuses_and_a_reader_is_never_blocked(tmp_path, api_url):
    gp = Gp(tmp_path, api_url)
    plain = customers(tmp_path)
    changed = customers(tmp_path, "customers-rep.csv", sales_rep="王芳")   # offers to render: a long run
    gp.run_here(plain, "first", "--no-pdf")

    session = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SESSION), str(gp.db)], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watcher = StagingWatcher(gp.db)
    watcher.start()
    procs = []
    try:
        assert session.stdout.readline().split()[:2] == ["first", str(len(PICK))]
        holder = gp.start(changed, "holder")
        procs.append(holder)
        wait_for(lambda: (gp.db.parent / f"{gp.db.name}.staging-holder").exists(), holder,
                 what="the first run to hold the warehouse")
        # hold it there (a long run in progress) while two more runs start at the same moment
        os.killpg(holder.pid, signal.SIGSTOP)
        refused = gp.start(plain, "refused")                       # --wait 0 (default): refuse at once
        waiting = gp.start(changed, "waiting", "--wait", "300")   # waits for the holder
        procs += [refused, waiting]
        code, out, err = finish(refused)
        assert code == 1, out + err
        message = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(message) == 1, err
        assert "another run is writing this warehouse" in message[0]
        assert "run holder" in message[0] and f"pid {holder.pid}" in message[0] and "gp.duckdb.lock" in message[0]

        # while the holder is stopped holding the lock: the open session, and a new one, answer and see the
        # published run only
        seen = ask(session)
        assert seen[:2] == ["first", str(len(PICK))], seen
        assert q(gp.db, "SELECT DISTINCT run_id FROM latest_results") == [("first",)]
        assert waiting.poll() is None                               # still waiting for the lock

        os.killpg(holder.pid, signal.SIGCONT)
        code, out, err = finish(holder)
        assert code == 0, out + err
        code, out, err = finish(waiting)
        assert code == 0, out + err

        # the session keeps its snapshot; a new connection sees the newest run
        assert ask(session)[:2] == ["first", str(len(PICK))]
        assert q(gp.db, "SELECT DISTINCT run_id FROM latest_results") == [("waiting",)]
    finally:
        for proc in procs:
            kill_group(proc)
        watcher.stop.set()
        watcher.join()
        session.stdin.close()
        session.wait(timeout=30)
    assert session.returncode == 0, session.stderr.read()

    # never two writers: one staging copy at a time, the waiting run's only after the holder's
    assert watcher.most == 1 and watcher.order == ["holder", "waiting"], (watcher.most, watcher.order)
    runs = run_rows(gp.db)
    assert list(runs) == ["first", "holder", "waiting"] and {r["status"] for r in runs.values()} == {"succeeded"}
    assert runs["waiting"]["finished_at"] > runs["holder"]["finished_at"]
    assert runs["holder"]["offers_rendered"] == len(PICK) and runs["waiting"]["offers_skipped"] == len(PICK)
    for run in ("holder", "waiting"):
        same_results(gp.db, "first", run, except_columns=("sales_rep",))
    no_duplicates(gp.db)
    assert offers_are_whole(gp.db, gp.out) == 2 * 2 * len(PICK)
    assert not stale_staging(gp.db) and not journal_path(gp.db).exists()
