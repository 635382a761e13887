"""A full disk (issue 21): the database and the offers on a small file system of their own.

Where the test may mount one (root), that file system is a real ``tmpfs`` of 20 MB and "another program"
fills it with a ballast file while the run renders; elsewhere the render processes get an ``ENOSPC`` from
``fsync`` once the test says so (a ``sitecustomize`` module on their ``PYTHONPATH``: the same OS error, at
the OS call). Every run is a real ``gp run`` process with its own render workers.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from reliability_support import (Gp, api_url, customers, file_sha256, finish, kill_group, q,  # noqa: F401
                                 run_rows, sample_rows, wait_for, write_customers)
from warehouse.publish import journal_path, stale_staging

pytestmark = pytest.mark.slow

INJECT = textwrap.dedent("""
    # test only: fsync of an offer file fails with ENOSPC once the flag file exists
    import errno, os
    _flag, _fsync = os.environ.get("GP_TEST_ENOSPC_FLAG"), os.fsync
    def fsync(fd):
        if _flag and os.path.exists(_flag) and "/out/" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return _fsync(fd)
    os.fsync = fsync
""")


@pytest.fixture
def small_fs(tmp_path):
    """(folder, how to fill it): a 20 MB tmpfs where mounting is allowed, else injected ENOSPC."""
    fs = tmp_path / "fs"
    fs.mkdir()
    may_mount = not os.environ.get("GP_TEST_INJECT_ENOSPC") and os.geteuid() == 0 and shutil.which("mount")
    mounted = bool(may_mount) and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m,mode=0755", "tmpfs", str(fs)],
                                                 capture_output=True).returncode == 0
    try:
        if mounted:
            def fill(env):
                with open(fs / "ballast", "wb") as f:   # another program takes every free block
                    try:
                        while True:
                            f.write(b"\0" * (1 << 20))
                            f.flush()
                    except OSError as e:
                        assert e.errno == errno.ENOSPC
            yield fs, fill, {"mounted": True}
        else:
            site = tmp_path / "inject"
            site.mkdir()
            (site / "sitecustomize.py").write_text(INJECT)
            flag = tmp_path / "disk-is-full"
            yield fs, lambda env: flag.touch(), {"GP_TEST_ENOSPC_FLAG": str(flag), "PYTHONPATH_PREPEND": str(site)}
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(fs)], check=False)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != "ballast")


def one_error(err: str) -> str:
    # in-process runs: Prefect's console handler may still write to an earlier invocation's closed stream
    err = re.sub(r"--- Logging error ---.*?(?:Arguments: .*?\n)", "", err, flags=re.S)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "nanobind" not in err and "leaked" not in err, err
    return lines[0]


def test_a_run_that_cannot_fit_is_refused_and_a_disk_that_fills_stops_the_run_cleanly(tmp_path, small_fs, api_url):
    fs, fill, extra_env = small_fs
    mounted = extra_env.pop("mounted", False)
    gp = Gp(fs, api_url)
    if "PYTHONPATH_PREPEND" in extra_env:
        gp.env["PYTHONPATH"] = extra_env.pop("PYTHONPATH_PREPEND") + os.pathsep + gp.env["PYTHONPATH"]
    gp.env.update(extra_env)
    plain = customers(tmp_path)
    gp.run_here(plain, "first")
    published = q(gp.db, "SELECT run_id, count(*) FROM results GROUP BY ALL")
    before = listing(fs)

    # ---- 1. 300 accounts' offers cannot fit: refused up front, naming the folder, the need and the free space
    if mounted:   # needs a small file system (injected errors cannot make a big disk small)
        many = write_customers(tmp_path / "many.csv", sample_rows(300))
        result = CliRunner().invoke(app, ["run", str(many), "--db", str(gp.db), "--out", str(gp.out),
                                          "--run-id", "too-big"])
        assert result.exit_code == 1, result.output
        message = one_error(result.output)
        assert "not enough disk space" in message and str(fs) in message and "needs about" in message \
            and "is free" in message, message
        assert listing(fs) == before and "too-big" not in run_rows(gp.db)     # nothing written at all

    # ---- 2. 40 accounts fit, but another program fills the disk while they render
    forty = write_customers(tmp_path / "forty.csv", sample_rows(40))
    proc = gp.start(forty, "filled")
    try:
        wait_for(lambda: list((gp.out / "filled").glob("*.pdf")), proc, what="the first PDF")
        fill(gp.env)
        code, out, err = finish(proc)
    finally:
        kill_group(proc)
    assert code == 1, out + err
    message = one_error(err)
    assert message.startswith("error: disk full: ") and str(fs) in message, message
    assert not (gp.out / "filled").exists()                               # the partial offer folder is gone
    assert not stale_staging(gp.db)                                        # and the staging copy
    (fs / "ballast").unlink(missing_ok=True)
    runs = run_rows(gp.db)
    if "filled" not in runs:       # the disk was too full to record it at once: the next run records it
        assert journal_path(gp.db).exists() and "next run" in message, message
        from warehouse import Warehouse
        Warehouse(gp.db).recover()
        runs = run_rows(gp.db)
    assert listing(fs) == before, "no new files left"
    assert runs["filled"]["status"] == "failed", runs
    assert runs["filled"]["error"].startswith(f"disk full: {fs}"), runs["filled"]
    assert q(gp.db, "SELECT run_id, count(*) FROM results GROUP BY ALL") == published   # published data unchanged
    assert q(gp.db, "SELECT DISTINCT run_id FROM latest_results") == [("first",)]
    assert file_sha256(gp.db)   # still readable

    # ---- 3. with room again, the next run succeeds
    gp.run_here(plain, "after")
    assert run_rows(gp.db)["after"]["status"] == "succeeded"
