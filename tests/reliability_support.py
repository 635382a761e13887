"""Helpers shared by the reliability tests (tests/test_reliability_*.py): customer files, real `gp`
processes, and checks on real DuckDB files and PDFs. Nothing here is mocked."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from intake.columns import INPUT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
RUN_TABLES = ("accounts", "rejects", "results", "scenarios", "segments", "offers")


# ------------------------------------------------------------------ customer files

def customer_row(account_id: str, **fields) -> dict:
    """A valid customer-list row (English headers); ``fields`` override any column."""
    row = {c: "" for c in INPUT_COLUMNS}
    row.update(account_id=account_id, name=f"测试客户{account_id}有限公司", province="江苏省",
               customer_type="large_industrial", industry="通信设备制造", annual_kwh="5000000",
               annual_bill_yuan="3200000", roof_area_m2="8000", is_exporter="是")
    row.update({k: ("" if v is None else str(v)) for k, v in fields.items()})
    return row


def write_customers(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(INPUT_COLUMNS)
    for row in rows:
        writer.writerow([row.get(c, "") for c in INPUT_COLUMNS])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def sample_rows(n: int) -> list[dict]:
    """The first ``n`` rows of the bundled sample (real-looking accounts of every segment)."""
    from core.datafiles import data_dir
    with open(data_dir() / "sample" / "customers.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows[:n]


# ------------------------------------------------------------------ the database

def connect(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


def q(db: Path, sql: str, params=None) -> list[tuple]:
    with connect(db) as con:
        return con.execute(sql, params or []).fetchall()


def nonfinite_float_cells(db: Path) -> dict[str, int]:
    """``table.column`` -> number of NaN/±inf values, over every float column of every base table."""
    bad = {}
    with connect(db) as con:
        cols = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
            f"WHERE t.table_type = 'BASE TABLE' AND c.data_type IN {FLOAT_TYPES}").fetchall()
        assert cols, "no float column found: the check would prove nothing"
        for table, column in cols:
            n = con.execute(f'SELECT count(*) FROM "{table}" WHERE isnan("{column}") OR isinf("{column}")').fetchone()[0]
            if n:
                bad[f"{table}.{column}"] = n
    return bad


def table_rows(db: Path, table: str, run_id: str, order: str = "account_id", drop=()) -> list[tuple]:
    """One run's rows of ``table`` without ``run_id`` (and without the columns in ``drop``)."""
    excluded = ", ".join(f'"{c}"' for c in ("run_id", *drop))
    with connect(db) as con:
        return con.execute(f'SELECT * EXCLUDE ({excluded}) FROM "{table}" WHERE run_id = ? ORDER BY {order}',
                           [run_id]).fetchall()


def run_rows(db: Path) -> dict[str, dict]:
    with connect(db) as con:
        rel = con.execute("SELECT * FROM runs ORDER BY started_at")
        names = [d[0] for d in rel.description]
        return {r[0]: dict(zip(names, r)) for r in rel.fetchall()}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------ PDFs

def pdftotext(path: Path, raw: bool = False) -> str:
    """The PDF's text (poppler). ``raw``: in content-stream order, so text wrapped inside a table cell is not
    interleaved with the next cell's."""
    return subprocess.run(["pdftotext", *(["-raw"] if raw else []), "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def read_manifest(folder: Path) -> list[dict]:
    with open(folder / "manifest.csv", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------ real `gp` processes

def gp_command() -> list[str]:
    """The installed console script beside this interpreter, else the module."""
    script = Path(sys.executable).parent / "gp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "flows.cli"]


def gp_env(api_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(PYTHONPATH=str(ROOT), PREFECT_SERVER_ANALYTICS_ENABLED="false", COLUMNS="200", NO_COLOR="1")
    if api_url:   # talk to an already running Prefect server instead of starting a temporary one
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


def spawn_gp(args: list[str], *, cwd: Path, env: dict[str, str], preexec_fn=None) -> subprocess.Popen:
    """Start ``gp ARGS`` in its own process group (so nothing it forks outlives the test)."""
    return subprocess.Popen([*gp_command(), *map(str, args)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=preexec_fn)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        raise AssertionError(f"gp did not finish in {timeout} s:\n{out}\n{err}")
    return proc.returncode, out, err


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL what is left of the process group this test started (orphaned render workers)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_for(predicate, proc: subprocess.Popen | None = None, timeout: float = 180, poll: float = 0.005,
             what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"gp exited ({proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


# ------------------------------------------------------------------ `gp run` scenarios on a few real accounts

# one account of each segment and a few more: 6 PDFs per full render
PICK = ("3250000000001", "3150000000002", "3280000000003", "3280000000004", "3370000000005", "3220000000009")
COMPARED = {"results": "account_id", "scenarios": "account_id, pv_mode", "segments": "account_id",
            "accounts": "account_id", "rejects": "row_number"}


@pytest.fixture(scope="module")
def api_url(prefect_harness) -> str:
    from prefect.settings import PREFECT_API_URL
    return PREFECT_API_URL.value()


def customers(folder: Path, name: str = "customers.csv", **changes) -> Path:
    rows = [r for r in sample_rows(40) if r["account_id"] in PICK]
    assert len(rows) == len(PICK)
    return write_customers(folder / name, [{**r, **changes} for r in rows])


class Gp:
    """``gp run`` in ``folder`` against one database and output folder."""

    def __init__(self, folder: Path, api_url: str):
        self.folder, self.db, self.out = folder, folder / "gp.duckdb", folder / "out"
        self.env = gp_env(api_url)

    def start(self, customers: Path, run_id: str, *extra: str, preexec_fn=None) -> subprocess.Popen:
        return spawn_gp(["run", customers, "--db", self.db, "--out", self.out, "--run-id", run_id, "--workers", "2",
                         *extra], cwd=self.folder, env=self.env, preexec_fn=preexec_fn)

    def run(self, customers: Path, run_id: str, *extra: str) -> str:
        """``gp run`` as a separate process, to the end; it must succeed."""
        t0 = time.monotonic()
        proc = self.start(customers, run_id, *extra)
        code, out, err = finish(proc)
        kill_group(proc)
        print(f"gp run {run_id}: {time.monotonic() - t0:.1f} s")
        assert code == 0, f"{out}\n{err}"
        return out

    def run_here(self, customers: Path, run_id: str, *extra: str) -> str:
        """The same command in this process (the Prefect harness must be up): for the runs that only set a
        scene, which need no process of their own. Returns the output; it must succeed."""
        from typer.testing import CliRunner

        from flows.cli import app
        result = CliRunner().invoke(app, ["run", str(customers), "--db", str(self.db), "--out", str(self.out),
                                          "--run-id", run_id, "--workers", "2", *extra])
        assert result.exit_code == 0, result.output
        return result.output


def same_results(db: Path, run_a: str, run_b: str, *, except_columns: tuple[str, ...] = ()) -> None:
    for table, order in COMPARED.items():
        drop = [c for c in except_columns if table == "accounts"]
        a = table_rows(db, table, run_a, order, drop)
        b = table_rows(db, table, run_b, order, drop)
        assert a == b, f"{table} of {run_b} differs from the clean run {run_a}"
        assert table in ("rejects", "scenarios") or len(a) == len(PICK)
    assert len(table_rows(db, "scenarios", run_b, "account_id, pv_mode")) >= len(PICK)


def no_duplicates(db: Path) -> None:
    for table, key in (("results", "account_id"), ("accounts", "account_id"), ("segments", "account_id"),
                       ("offers", "account_id"), ("scenarios", "account_id, pv_mode")):
        assert q(db, f"SELECT count(*) FROM (SELECT run_id, {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)") \
            == [(0,)], table


def offers_are_whole(db: Path, out: Path) -> int:
    """Every offers row of every successful run, and every manifest, names a complete PDF with that hash."""
    import hashlib
    checked = 0
    rows = q(db, "SELECT r.output_folder, o.path, o.sha256, o.status FROM offers o JOIN runs r USING (run_id) "
                 "WHERE r.status = 'succeeded'")
    for folder, path, sha, status in rows:
        assert status in ("rendered", "unchanged") and path and not path.endswith(".tmp")
        data = (Path(folder) / path).read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        assert hashlib.sha256(data).hexdigest() == sha
        checked += 1
    for manifest in out.glob("*/manifest.csv"):
        for line in read_manifest(manifest.parent):
            assert line["file"] and not line["file"].startswith(".") and not line["file"].endswith(".tmp")
            data = (manifest.parent / line["file"]).read_bytes()
            assert data.rstrip().endswith(b"%%EOF") and hashlib.sha256(data).hexdigest() == line["sha256"]
            checked += 1
    return checked


