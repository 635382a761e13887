"""The disk-space estimate and refusal (issue 21), on any disk: the need is made bigger than what is free."""
from __future__ import annotations

import errno
import shutil

import duckdb
import pytest

from flows import diskspace
from offers.diskfull import DiskFull, as_disk_full


def test_a_run_that_does_not_fit_is_refused_naming_folder_need_and_free(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    need = diskspace.Need(tmp_path, free + 2**30, ["staging copy ≈ x"])
    with pytest.raises(diskspace.DiskFullError) as refused:
        diskspace.check_room([need])
    text = str(refused.value)
    assert str(tmp_path) in text and "needs about" in text and "is free" in text and "Nothing was written" in text
    assert refused.value.errno == errno.ENOSPC                 # the command line prints it as one line
    diskspace.check_room([diskspace.Need(tmp_path, 1, [])])    # what fits passes


def test_the_estimate_uses_the_warehouse_and_merges_one_file_system(tmp_path):
    db = tmp_path / "gp.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE accounts AS SELECT range::VARCHAR AS account_id FROM range(2000)")
    con.execute("CREATE TABLE offers AS SELECT 'rendered' AS status, 50000 AS bytes FROM range(10)")
    con.close()
    needs = diskspace.estimate(db, 100, tmp_path / "out", to_render=10)
    assert len(needs) == 1                                     # database and offers on one file system
    size = db.stat().st_size
    want = int((size + 100 * size / 2000) * diskspace.MARGIN) + int(10 * 50000 * diskspace.MARGIN)
    assert needs[0].bytes == want
    assert diskspace.estimate(tmp_path / "none.duckdb", 10, None)[0].bytes == \
        int(10 * diskspace.DEFAULT_DB_BYTES_PER_ACCOUNT * diskspace.MARGIN)


def test_disk_full_errors_are_recognised_wherever_they_come_from(tmp_path):
    assert diskspace.is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert diskspace.is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert diskspace.is_disk_full(duckdb.IOException('Could not write file "x.wal": No space left on device'))
    assert not diskspace.is_disk_full(OSError(errno.EACCES, "Permission denied"))
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system")
        except OSError:
            raise RuntimeError("wrapped")
    except RuntimeError as e:
        assert diskspace.is_disk_full(e)
    full = as_disk_full(OSError(errno.ENOSPC, "x"), tmp_path)
    assert isinstance(full, DiskFull) and str(full).startswith(f"disk full: {tmp_path}")
    import pickle
    assert pickle.loads(pickle.dumps(full)).folder == str(tmp_path)   # crosses from a render process
    assert diskspace.full_folder(full, tmp_path / "db", None) == tmp_path
