"""``core/filemodes.py``: the modes and group of what the system writes, whatever the umask (the whole
pipeline is checked in ``test_customer_data.py``); here the settings and the edge cases, cheaply."""
from __future__ import annotations

import grp
import os
import stat

import pytest

from core.errors import UserError
from core.filemodes import GROUP_ENV, configured_group, make_dirs, open_private, restrict_umask, secure_tree


def mode(p) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o000)
    yield
    os.umask(old)


def test_modes_whatever_the_umask(tmp_path, loose_umask):
    made = make_dirs(tmp_path / "a" / "b" / "c")
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", made)] == [0o750] * 3
    fd = open_private(made / "x.csv")
    os.write(fd, b"id,name\n")
    os.close(fd)
    assert mode(made / "x.csv") == 0o640
    (made / "loose.txt").write_text("x")               # written by someone else's code under umask 000
    (made / "d").mkdir()
    os.symlink("/etc/passwd", made / "link")
    assert mode(made / "loose.txt") == 0o666
    secure_tree(tmp_path / "a")
    assert (mode(made / "loose.txt"), mode(made / "d")) == (0o640, 0o750)
    assert os.readlink(made / "link") == "/etc/passwd" and mode("/etc/passwd") == 0o644   # a link is not followed


def test_restrict_umask_only_adds_bits():
    old = os.umask(0o022)
    try:
        assert restrict_umask() == 0o022 and os.umask(0o077) == 0o027
        assert restrict_umask() == 0o077 and os.umask(old) == 0o077
    finally:
        os.umask(old)


def test_a_configured_group_is_given_to_every_file_and_folder(tmp_path, monkeypatch):
    other = next((g for g in grp.getgrall() if g.gr_gid != os.getgid()), None)
    if other is None or os.geteuid() != 0 and other.gr_gid not in os.getgroups():
        pytest.skip("no second group this user may give files")
    monkeypatch.setenv(GROUP_ENV, other.gr_name)
    assert configured_group() == other.gr_gid
    folder = make_dirs(tmp_path / "g")
    os.close(open_private(folder / "f"))
    assert os.stat(folder).st_gid == os.stat(folder / "f").st_gid == other.gr_gid
    monkeypatch.setenv(GROUP_ENV, str(other.gr_gid))
    assert configured_group() == other.gr_gid


def test_an_unknown_group_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.setenv(GROUP_ENV, "no-such-group-here")
    with pytest.raises(UserError, match="GREENPOWER_GROUP='no-such-group-here': no such group"):
        configured_group()
    monkeypatch.delenv(GROUP_ENV)
    assert configured_group() is None
