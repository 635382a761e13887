"""A real headless browser for the dashboard: Debian's chromium driven over the DevTools protocol.

Used by the browser test, the screenshots in ``docs/dashboard/`` and the page-load measurement. Streamlit
draws the page over a websocket after the HTML arrives, so a fixed ``--virtual-time-budget`` does not
say when the page is done; this waits until the app reports its script finished and the expected text
is on the page. Nothing here runs in the served dashboard.
"""
from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--lang=zh-CN")

# the Streamlit app has finished its script run and drawn the result
SCRIPT_DONE = ("(() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
               " return !!app && app.getAttribute('data-test-script-state') === 'notRunning'"
               " && !document.querySelector('[data-testid=\"stSkeleton\"]'); })()")
ERROR_BOXES = ("document.querySelectorAll('[data-testid=\"stException\"], [data-testid=\"stAlertContentError\"]')"
               ".length")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless chromium with a fresh profile, one tab, ``width`` × ``height`` pixels."""

    def __init__(self, width: int = 1400, height: int = 900, timeout: float = 60):
        exe = chromium_path()
        if exe is None:
            raise RuntimeError("chromium is not installed (Debian package `chromium`)")
        self.profile = Path(tempfile.mkdtemp(prefix="gp-chromium-"))
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._ids = itertools.count(1)
        try:
            port = self._devtools_port(timeout)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                page = next(t for t in json.load(r) if t["type"] == "page")
            self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout)
            self.call("Page.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout: float) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode} before it listened")
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params):
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=120))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def wait_until_done(self, text: str | tuple[str, ...] | None = None, timeout: float = 60,
                        settle: float = 0.3) -> float:
        """Wait until the app's script run is over and ``text`` (or one of several) is on the page; seconds waited."""
        start = time.monotonic()
        texts = (text,) if isinstance(text, str) else tuple(text or ())
        found = " || ".join(f"document.body.innerText.includes({json.dumps(t)})" for t in texts)
        cond = SCRIPT_DONE if not texts else f"({SCRIPT_DONE}) && ({found})"
        while True:
            if self.eval(cond):
                elapsed = time.monotonic() - start
                time.sleep(settle)              # charts draw a frame after the data arrives
                if self.eval(cond):
                    return elapsed
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"page not done after {timeout} s; text now: {self.text()[:500]!r}")
            time.sleep(0.05)

    def text(self) -> str:
        return self.eval("document.body ? document.body.innerText : ''") or ""

    def error_boxes(self) -> int:
        return int(self.eval(ERROR_BOXES) or 0)

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        params = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", **params)["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            try:
                ws.close()
            except Exception:  # noqa: BLE001
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
