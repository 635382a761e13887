"""``warehouse/publish.py``: the quiet-file probe and the copy of the published file (issue 11, bug 7).

Both tests use real DuckDB files and a real second process holding DuckDB's own file lock.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from warehouse import WarehouseError
from warehouse import publish as files

pytestmark = pytest.mark.slow

TRY_WRITE = textwrap.dedent("""
    import sys, duckdb
    try:
        duckdb.connect(sys.argv[1]).close()
    except duckdb.Error as e:
        print("refused", e)
    else:
        print("opened")
""")

HOLD_WRITE = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("INSERT INTO t VALUES (99)")
    print("holding", flush=True)
    sys.stdin.readline()
    con.close()
""")


def _published(tmp_path: Path) -> Path:
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
    con.close()
    return db


def test_copying_keeps_this_process_duckdb_lock(tmp_path):
    """A read-only DuckDB session in this process keeps its lock through a copy of the file: a writer
    in another process is still refused afterwards. (The old probe took a POSIX lock and closed its
    descriptor, which dropped every POSIX lock this process held on the file, DuckDB's included.)"""
    db = _published(tmp_path)
    reader = duckdb.connect(str(db), read_only=True)
    try:
        before = subprocess.run([sys.executable, "-c", TRY_WRITE, str(db)], capture_output=True, text=True,
                                timeout=60).stdout
        assert before.startswith("refused"), before
        assert files.copy_published(db, tmp_path / "copy.duckdb")
        after = subprocess.run([sys.executable, "-c", TRY_WRITE, str(db)], capture_output=True, text=True,
                               timeout=60).stdout
        assert after.startswith("refused"), f"a writer got in while this process still reads: {after}"
        assert reader.execute("SELECT count(*) FROM t").fetchone() == (1000,)
    finally:
        reader.close()


def test_a_writer_arriving_between_the_check_and_the_copy_is_not_copied(tmp_path, monkeypatch):
    """The check and the copy are one locked step: a read-write session that opens the file right after
    the check either cannot get in, or the copy is refused; never a copy of a file being written."""
    db = _published(tmp_path)
    writer: list[subprocess.Popen] = []
    real_check = files.check_published_quiet

    def check_then_writer_arrives(path):
        real_check(path)
        p = subprocess.Popen([sys.executable, "-c", HOLD_WRITE, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        writer.append(p)
        line = p.stdout.readline()
        if not line.startswith("holding"):   # could not open: the copy holds its lock already
            p.wait(timeout=60)

    monkeypatch.setattr(files, "check_published_quiet", check_then_writer_arrives)
    try:
        with pytest.raises(WarehouseError, match="read-write"):
            files.copy_published(db, tmp_path / "copy.duckdb")
    finally:
        for p in writer:
            if p.poll() is None:
                p.communicate("\n", timeout=60)
    assert not (tmp_path / "copy.duckdb").exists()
