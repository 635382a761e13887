"""Dashboard page loads in a real browser: ``gp dashboard`` as its own process, headless chromium at 1400×900.

    python -m benchmarks.dashboard_bench --db data/warehouse/greenpower.duckdb [--loads 3]

For each page: the first load after the server started (nothing cached: every query runs on the published
file) and then ``--loads`` more loads in fresh browser tabs (the server's cache keyed by the file holds the
results). Time = from navigation until the app reports its script run finished with the page's text drawn
(what a manager waits for), measured by the DevTools client in ``dashboard.browser``.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from dashboard.browser import Browser
from dashboard.screenshots import PAGES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 300) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"gp dashboard exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("gp dashboard did not start")


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their children so far (the machine is shared: CPU
    time says what a page load costs whatever else runs; wall time depends on the neighbours)."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def run(db: Path, loads: int = 3, settle_s: float = 0) -> dict:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    gp = Path(sys.executable).with_name("gp")
    proc = subprocess.Popen([str(gp), "dashboard", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        started_s = _wait_healthy(url, proc)
        time.sleep(settle_s)     # the server warms its cache after start: settle_s > 0 measures a warmed server
        pages = {}
        for path, (name, text) in PAGES.items():
            times, server_cpu, browser_cpu = [], [], []
            for i in range(1 + loads):
                with Browser(1400, 900) as browser:     # a fresh browser: a new session every time
                    c_server, c_browser = _cpu_s([proc.pid]), _cpu_s([browser.proc.pid])
                    t0 = time.monotonic()
                    browser.goto(url + path)
                    browser.wait_until_done(text, timeout=300, settle=0)
                    times.append(time.monotonic() - t0)
                    server_cpu.append(_cpu_s([proc.pid]) - c_server)
                    browser_cpu.append(_cpu_s([browser.proc.pid]) - c_browser)
                    print(f"{name} load {i + 1}: {times[-1]:.2f} s wall, CPU server {server_cpu[-1]:.2f} s, "
                          f"browser {browser_cpu[-1]:.2f} s; load average {os.getloadavg()[0]:.1f}",
                          file=sys.stderr, flush=True)
                    if browser.error_boxes():
                        raise RuntimeError(f"{name}: the page shows an error")
            pages[name] = {"first_s": round(times[0], 2), "first_server_cpu_s": round(server_cpu[0], 2),
                           "first_browser_cpu_s": round(browser_cpu[0], 2),
                           "repeat_median_s": round(statistics.median(times[1:]), 2) if loads else None}
        return {"db": str(db), "db_bytes": os.path.getsize(db), "server_start_s": round(started_s, 2),
                "settle_s": settle_s, "load_average": os.getloadavg(), "pages": pages}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def report(result: dict) -> str:
    lines = [f"database {result['db']} ({result['db_bytes'] / 1e9:.2f} GB); server ready after "
             f"{result['server_start_s']:.1f} s, first load {result['settle_s']:.0f} s later; load average "
             + " ".join(f"{x:.1f}" for x in result["load_average"]), f"{'page':<18}{'first load s':>14}{'server CPU s':>14}{'browser CPU s':>15}{'repeat median s':>18}"]
    for name, r in result["pages"].items():
        lines.append(f"{name:<18}{r['first_s']:>14.2f}{r['first_server_cpu_s']:>14.2f}{r['first_browser_cpu_s']:>15.2f}"
                     f"{(r['repeat_median_s'] or 0):>18.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--loads", type=int, default=3, help="loads after the first, per page")
    parser.add_argument("--settle", type=float, default=0, help="seconds to wait after the server is up")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.db, args.loads, args.settle)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
