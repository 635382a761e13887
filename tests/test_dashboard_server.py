"""``gp dashboard`` as a real server process, loaded in Debian's headless chromium: 总览 shows its Chinese
text and no error box; a real nightly run publishes while the server is up (the dashboard holds no lock
it needs), and the next page load shows the new run without a restart."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request

import pytest

from dashboard.browser import Browser, chromium_path
from reliability_support import kill_group, sample_rows, spawn_gp, gp_env, wait_for, write_customers

pytestmark = pytest.mark.slow


def ensure_chromium() -> None:
    """Install Debian's chromium when missing (as ./gp installs the other system packages): CI needs nothing by hand."""
    if chromium_path():
        return
    if shutil.which("apt-get") is None:
        pytest.fail("chromium is missing and there is no apt-get to install it")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    assert chromium_path(), "apt-get installed chromium but it is not on PATH"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def nightly(customers, db, out, run_id):
    from flows.nightly import nightly as flow
    from flows.parameters import NightlyParameters
    return flow(NightlyParameters(customers=customers, db=db, out=out, run_id=run_id, render_pdf=False))


def test_gp_dashboard_in_chromium_sees_a_run_published_while_it_is_up(prefect_harness, tmp_path):
    ensure_chromium()
    db, out = tmp_path / "gp.duckdb", tmp_path / "out"
    nightly(write_customers(tmp_path / "n1.csv", sample_rows(12)), db, out, "night-1")

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = spawn_gp(["dashboard", "--db", db, "--port", port], cwd=tmp_path, env=gp_env())
    try:
        wait_for(lambda: serving(url), server, timeout=180, poll=0.5, what="the dashboard to listen")
        with Browser(1400, 900) as browser:
            browser.goto(url)
            browser.wait_until_done("本次运行情况", timeout=180)
            text = browser.text()
            for words in ("总览", "机会", "地区", "细分变化", "客户数", "各细分明细", "运行 night-1", "导出 Excel"):
                assert words in text, words
            assert "客户数\n\n12" in text or "客户数\n12" in text
            assert browser.error_boxes() == 0 and "Traceback" not in text

            # a real run publishes while the server (and this browser's session) is up: nothing blocks it
            summary = nightly(write_customers(tmp_path / "n2.csv", sample_rows(12)[:7]), db, out, "night-2")
            assert summary["run_id"] == "night-2"

            browser.goto(url)                               # the next page load: the new run, no restart
            browser.wait_until_done("运行 night-2", timeout=180)
            text = browser.text()
            assert "客户数\n\n7" in text or "客户数\n7" in text
            assert browser.error_boxes() == 0
        assert server.poll() is None, "the dashboard stopped"
    finally:
        kill_group(server)
        server.communicate()
