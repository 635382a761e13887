"""The DuckDB command line a manager installs today, for tests that open the warehouse with it.

The client is pinned with hashes in ``tests/clients/requirements.lock`` and installed from the
package index into its own virtual environment under ``.cache/test-clients/`` (git-ignored), never
into the product's environment. The environment is reused while the lock file is unchanged, so
only the first run pays for the download. A failed installation fails the test: it is never skipped.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "tests" / "clients" / "requirements.lock"
CACHE = ROOT / ".cache" / "test-clients"
CLI_VERSION = "1.5.6"


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def duckdb_cli() -> Path:
    """Path of the ``duckdb`` executable of the pinned CLI, installed when missing."""
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    env = CACHE / f"duckdb-cli-{CLI_VERSION}"
    exe = env / "bin" / "duckdb"
    stamp = env / ".installed"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes never build it at once
        if not (stamp.is_file() and stamp.read_text() == digest and exe.is_file()):
            shutil.rmtree(env, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(env)], "creating the client environment")
            _run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                  "--require-hashes", "--only-binary", ":all:", "-r", str(LOCK)],
                 f"installing duckdb-cli {CLI_VERSION} from the package index")
            stamp.write_text(digest)
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60).stdout
    assert version.startswith(f"v{CLI_VERSION}"), f"{exe} is {version!r}, expected v{CLI_VERSION}"
    return exe


def cli_json(exe: Path, db: Path, sql: str) -> list[dict]:
    """Run ``sql`` in the CLI on ``db`` opened read-only; the rows as JSON objects. Raises with the CLI's error."""
    done = subprocess.run([str(exe), "-readonly", "-json", "-bail", str(db)], input=sql, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "HOME": str(CACHE)})
    if done.returncode != 0 or "Error:" in done.stderr:
        raise AssertionError(f"duckdb {CLI_VERSION} could not run:\n{sql}\n{done.stderr.strip()}\n"
                             f"{done.stdout.strip()[-2000:]}")
    text = done.stdout.strip()
    return json.loads(text) if text else []
