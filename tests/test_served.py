"""The served deployments against a real Prefect server: the schedule fires, the CLI works, a missed night
runs once, a cancelled run stops and leaves nothing behind.

One ``prefect server start`` for the module (its own PREFECT_HOME, a free port, the scheduler and
late-run loops shortened through Prefect's settings); each test starts ``gp serve`` as a separate process
from a working folder holding folders named like the project's packages (``offers``, ``flows``,
``warehouse``, ``intake``, ``data``; some with an ``__init__.py`` that fails when imported).
Only Prefect's REST API is used to watch runs, as the UI does.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "customers.csv"
BIN = Path(sys.executable).parent
DECOYS = ("offers", "flows", "warehouse", "intake", "data")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM to the process group, SIGKILL after ``grace_s`` (render workers and server children too)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def _tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


class Server:
    def __init__(self, home: Path):
        self.home = home
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.log = home / "server.log"
        self.proc: subprocess.Popen | None = None
        self.http = httpx.Client(base_url=self.api, timeout=30)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GP_", "GREENPOWER_"))}
        env.update({
            "PREFECT_HOME": str(self.home), "PREFECT_API_URL": self.api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
            # the scheduler and late-run loops shortened (defaults: 60 s and 5 s, late after 15 s)
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
            "PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS": "3",
            "PREFECT_SERVER_SERVICES_LATE_RUNS_AFTER_SECONDS": "5",
            "PREFECT_RUNNER_POLL_FREQUENCY": "3",
        })
        env.update(extra)
        return env

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                          "--port", str(self.port)], env=self.env(), stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True, cwd=self.home)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"prefect server exited {self.proc.returncode}:\n{_tail(self.log)}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/health").status_code == 200:
                    return
            time.sleep(1)
        pytest.fail(f"prefect server did not answer within 180 s:\n{_tail(self.log)}")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    # ---- the REST API, as the UI uses it
    def request(self, method: str, url: str, **kw) -> httpx.Response:
        """A busy SQLite-backed server (just started, loaded machine) answers 503 or drops a connection at
        times: retry those for up to a minute, as Prefect's own client does."""
        deadline = time.monotonic() + 60
        while True:
            try:
                r = self.http.request(method, url, **kw)
                if r.status_code < 500:
                    return r
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            else:
                if time.monotonic() > deadline:
                    r.raise_for_status()
            time.sleep(1)

    def deployment(self, name: str) -> dict | None:
        r = self.request("GET", f"/deployments/name/{name}")
        return r.json() if r.status_code == 200 else None

    def flow_runs(self, deployment_id: str) -> list[dict]:
        r = self.request("POST", "/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment_id]}},
                                                            "sort": "EXPECTED_START_TIME_ASC", "limit": 200})
        r.raise_for_status()
        return r.json()

    def flow_run(self, run_id: str) -> dict:
        r = self.request("GET", f"/flow_runs/{run_id}")
        r.raise_for_status()
        return r.json()

    def create_run(self, deployment_id: str, **body) -> dict:
        r = self.request("POST", f"/deployments/{deployment_id}/create_flow_run", json=body)
        r.raise_for_status()
        return r.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("prefect-home"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """An operator's folder: output and database here, and folders named like the project's packages."""
    work = tmp_path_factory.mktemp("srv-greenpower")
    for name in DECOYS:
        (work / name).mkdir()
        if name != "offers":        # `offers` stays a plain folder: the README's output folder
            (work / name / "__init__.py").write_text(
                f"raise ImportError('the working folder\\'s {name}/ was imported instead of the project')\n")
    return work


@contextlib.contextmanager
def serving(server: Server, workdir: Path, *args: str, log_name: str = "serve.log"):
    log_path = workdir.parent / f"{workdir.name}-{time.monotonic_ns()}-{log_name}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(BIN / "gp"), "serve", "--customers", str(SAMPLE), "--db", "gp.duckdb",
                                 "--timezone", "Asia/Shanghai", *args], cwd=workdir, env=server.env(),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc, log_path
    finally:
        _stop(proc, grace_s=30)


def wait_for(what: str, check, timeout_s: float, *, logs: tuple[Path, ...] = (), interval_s: float = 2.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n"
                        + "\n".join(f"--- {p.name}\n{_tail(p)}" for p in logs))
        time.sleep(interval_s)


def registered(server: Server, proc: subprocess.Popen, log: Path, *, since: dt.datetime) -> tuple[dict, dict]:
    """Both deployments, once this ``gp serve`` has registered them and is polling."""
    def both():
        if proc.poll() is not None:
            pytest.fail(f"gp serve exited {proc.returncode}:\n{_tail(log)}")
        if "being served" not in log.read_text(errors="replace"):
            return None
        nightly, campaign = server.deployment("nightly/nightly"), server.deployment("campaign/campaign")
        fresh = nightly and dt.datetime.fromisoformat(nightly["updated"]) >= since
        return (nightly, campaign) if fresh and campaign else None
    return wait_for("gp serve to register nightly/nightly and campaign/campaign", both, 120, logs=(log,))


def query(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_schedule_fires_twice_from_a_folder_full_of_decoys_and_the_cli_lists(server, workdir):
    started = _now()
    with serving(server, workdir, "--out", "offers", "--cron", "* * * * *", "--no-pdf") as (proc, log):
        nightly, campaign = registered(server, proc, log, since=started - dt.timedelta(seconds=1))
        [schedule] = nightly["schedules"]
        assert schedule["schedule"]["cron"] == "* * * * *" and schedule["schedule"]["timezone"] == "Asia/Shanghai"
        limit = nightly.get("global_concurrency_limit") or {}
        assert limit.get("limit") == 1, nightly
        assert (nightly.get("concurrency_options") or {}).get("collision_strategy") == "CANCEL_NEW", nightly

        def two_scheduled_runs_completed():
            runs = [r for r in server.flow_runs(nightly["id"]) if r["auto_scheduled"]]
            bad = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
            if bad:
                pytest.fail(f"a scheduled run {bad[0]['state_name']}: {bad[0]['state']['message']}\n{_tail(log)}")
            done = [r for r in runs if r["state_type"] == "COMPLETED"]
            return done if len(done) >= 2 else None
        done = wait_for("the scheduler's nightly runs to complete twice", two_scheduled_runs_completed, 300,
                        logs=(log, server.log), interval_s=3)
        assert len({r["expected_start_time"] for r in done}) == len(done)     # two different minutes

        # both published: two succeeded nightly runs; the views show the newest
        db = workdir / "gp.duckdb"
        runs = query(db, "SELECT run_id, rows_accepted FROM runs WHERE kind = 'nightly' AND status = 'succeeded' "
                         "ORDER BY started_at")
        assert len(runs) >= 2
        latest_id, accepted = runs[-1]
        assert query(db, "SELECT DISTINCT run_id, count(*) OVER () FROM latest_results") == [(latest_id, accepted)]

        # Prefect's own CLI against this server
        for args in (["deployment", "ls"], ["flow-run", "ls"]):
            result = subprocess.run([str(BIN / "prefect"), *args], env=server.env(), capture_output=True, text=True,
                                    timeout=120, cwd=workdir)
            assert result.returncode == 0, result.stdout + result.stderr
        listed = subprocess.run([str(BIN / "prefect"), "deployment", "ls"], env=server.env(), capture_output=True,
                                text=True, timeout=120).stdout
        assert "nightly/nightly" in listed and "campaign/campaign" in listed

        # a campaign started as the UI starts it: the deployment's form, filled in
        params = {**campaign["parameters"]["params"], "name": "ui-value", "segments": ["value_oriented"],
                  "render_pdf": False, "lock_timeout_s": 300}
        result = subprocess.run([str(BIN / "prefect"), "deployment", "run", "campaign/campaign",
                                 "--params", json.dumps({"params": params})], env=server.env(),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr

        def campaign_done():
            runs = server.flow_runs(campaign["id"])
            return runs if runs and all(r["state_type"] in TERMINAL for r in runs) else None
        [run] = wait_for("the campaign run", campaign_done, 180, logs=(log,))
        assert run["state_type"] == "COMPLETED", run["state"]["message"]
    assert query(db, "SELECT count(*) FROM runs WHERE kind = 'campaign' AND campaign = 'ui-value' "
                     "AND status = 'succeeded'") == [(1,)]
    assert "instead of the project" not in log.read_text(errors="replace")


def test_missed_nights_run_once_when_serving_resumes(server, workdir):
    """Nights due while nothing served them (Prefect marks them Late) run once, not once per night."""
    started = _now()
    with serving(server, workdir, "--out", "offers", "--no-pdf", log_name="serve-missed.log") as (proc, log):
        nightly, _ = registered(server, proc, log, since=started - dt.timedelta(seconds=1))
    assert server.deployment("nightly/nightly")["paused"] is False        # stopping gp serve keeps the schedule
    # runs an earlier schedule left due (the previous test's every-minute cron) are not part of this story
    for leftover in server.flow_runs(nightly["id"]):
        if leftover["state_type"] == "SCHEDULED":
            server.request("POST", f"/flow_runs/{leftover['id']}/set_state",
                           json={"state": {"type": "CANCELLED", "message": "test set-up"}, "force": True})
    db = workdir / "gp.duckdb"
    succeeded = "SELECT count(*) FROM runs WHERE kind = 'nightly' AND status = 'succeeded'"
    before = query(db, succeeded)[0][0] if db.exists() else 0
    # three nights scheduled while gp serve was down (as the scheduler leaves them: Scheduled, in the past)
    missed = []
    for minutes in (3, 2, 1):
        at = (_now() - dt.timedelta(minutes=minutes)).isoformat()
        missed.append(server.create_run(nightly["id"], state={"type": "SCHEDULED", "name": "Scheduled",
                                                              "state_details": {"scheduled_time": at}})["id"])
    wait_for("Prefect to mark the missed nights Late",
             lambda: all(server.flow_run(i)["state_name"] == "Late" for i in missed), 60, logs=(server.log,))

    with serving(server, workdir, "--out", "offers", "--no-pdf", log_name="serve-missed.log") as (proc, log):
        states = wait_for("the missed nights to settle",
                          lambda: (lambda s: s if all(x["state_type"] in TERMINAL for x in s) else None)(
                              [server.flow_run(i) for i in missed]), 180, logs=(log, server.log))
    kinds = sorted(s["state_type"] for s in states)
    assert kinds == ["CANCELLED", "CANCELLED", "COMPLETED"], [(s["state_name"], s["state"]["message"]) for s in states]
    assert query(db, succeeded)[0][0] == before + 1


def test_cancelled_run_stops_within_seconds_after_a_server_restart(server, workdir):
    db = workdir / "gp.duckdb"
    if not db.exists() or not query(db, "SELECT count(*) FROM runs WHERE status = 'succeeded'")[0][0]:
        subprocess.run([str(BIN / "gp"), "run", str(SAMPLE), "--db", str(db), "--no-pdf"], env=server.env(),
                       cwd=workdir, check=True, capture_output=True, timeout=300)
    published = query(db, "SELECT DISTINCT run_id FROM latest_results")
    out = workdir / "offers-cancel"
    started = _now()
    with serving(server, workdir, "--out", out.name, "--workers", "1", log_name="serve-cancel.log") as (proc, log):
        nightly, _ = registered(server, proc, log, since=started - dt.timedelta(seconds=1))
        # the case: the server restarts under a running `gp serve`, which reconnects
        server.stop()
        server.start()
        run = server.create_run(nightly["id"])          # "Run" in the UI: due now, with the served parameters
        pdfs = wait_for("the run to render some offers", lambda: [p for p in out.glob("*/*.pdf")][:3] or None, 180,
                        logs=(log,), interval_s=0.5)
        assert server.flow_run(run["id"])["state_type"] == "RUNNING"
        run_folder = pdfs[0].parent
        r = server.request("POST", f"/flow_runs/{run['id']}/set_state",
                           json={"state": {"type": "CANCELLING", "message": "stopped by the operator"}})
        r.raise_for_status()
        t0 = time.monotonic()
        wait_for("the run to be Cancelled", lambda: server.flow_run(run["id"])["state_type"] == "CANCELLED", 60,
                 logs=(log,), interval_s=0.5)
        stopped_s = time.monotonic() - t0
        assert stopped_s < 30, stopped_s
        time.sleep(3)          # nothing still rendering writes into the folder afterwards
        assert not run_folder.exists() or not list(run_folder.glob("*.pdf")), sorted(run_folder.iterdir())
    [(status, error)] = query(db, "SELECT status, error FROM runs WHERE run_id = ?", [run_folder.name])
    assert status == "cancelled" and "stopped by the operator" in error, (status, error)
    assert query(db, "SELECT DISTINCT run_id FROM latest_results") == published
