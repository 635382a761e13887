"""The gp command line, in process (Typer's runner) under the session's Prefect harness."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app
from core.datafiles import data_dir

SAMPLE = data_dir() / "sample" / "customers.csv"


@pytest.fixture
def runner(prefect_harness):
    return CliRunner()


def test_unreadable_file_stops_before_anything_is_written(runner, tmp_path):
    bad = tmp_path / "customers.csv"
    bad.write_bytes(b"\x00\x01\x02PNG\xff\xfe" * 50)
    db = tmp_path / "gp.duckdb"
    result = runner.invoke(app, ["run", str(bad), "--db", str(db), "--no-pdf"])
    assert result.exit_code == 1
    assert "customers.csv" in result.output and "error:" in result.output
    assert "Traceback" not in result.output
    assert not db.exists()


def test_missing_required_column_names_the_file_and_column(runner, tmp_path):
    bad = tmp_path / "list.csv"
    bad.write_text("account_id,name,province\nA1,甲,江苏\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(bad), "--db", str(tmp_path / "gp.duckdb"), "--no-pdf"])
    assert result.exit_code == 1
    assert "list.csv" in result.output and "customer_type" in result.output


def test_missing_file(runner, tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "nope.csv"), "--no-pdf"])
    assert result.exit_code == 1 and "no such file" in result.output


def test_run_then_query_read_only(runner, tmp_path):
    db = tmp_path / "gp.duckdb"
    result = runner.invoke(app, ["run", str(SAMPLE), "--db", str(db), "--no-pdf", "--assumptions", "wri-2023"])
    assert result.exit_code == 0, result.output
    assert "rows read 300: accepted 300, rejected 0" in result.output
    result = runner.invoke(app, ["query", "SELECT count(*) AS n FROM latest_results", "--db", str(db)])
    assert result.exit_code == 0 and "300" in result.output
    result = runner.invoke(app, ["query", "DROP TABLE results", "--db", str(db)])
    assert result.exit_code == 1
    result = runner.invoke(app, ["query", "SELECT count(*) AS n FROM results", "--db", str(db),
                                 "--csv", str(tmp_path / "n.csv")])
    # UTF-8 with BOM, so Excel opens Chinese text correctly
    assert result.exit_code == 0 and (tmp_path / "n.csv").read_text(encoding="utf-8-sig").splitlines() == ["n", "300"]


def test_bad_campaign_name_and_unknown_assumption_set(runner, tmp_path):
    result = runner.invoke(app, ["campaign", "../evil", "--no-pdf", "--db", str(tmp_path / "gp.duckdb")])
    assert result.exit_code == 1 and "campaign name" in result.output
    result = runner.invoke(app, ["run", str(SAMPLE), "--db", str(tmp_path / "gp.duckdb"), "--no-pdf",
                                 "--assumptions", "wri-1999"])
    assert result.exit_code == 1 and "unknown assumption set 'wri-1999'" in result.output


def test_an_unexpected_error_with_a_huge_message_is_cut_to_a_readable_length(capsys):
    import typer

    from flows.cli import guarded

    def action():
        raise RuntimeError("payload " + "x" * 200_000)

    with pytest.raises(typer.Exit) as exited:
        guarded(action)
    assert exited.value.exit_code == 1
    message = capsys.readouterr().err
    assert "RuntimeError: payload xxx" in message and "more characters" in message
    assert len(message) < 1_500


def test_a_script_that_exits_cleanly_is_not_reported_as_an_error(capsys):
    import sys

    import typer

    from flows.cli import guarded
    assert guarded(lambda: sys.exit(0)) is None
    with pytest.raises(typer.Exit) as exited:
        guarded(lambda: sys.exit(3))
    assert exited.value.exit_code == 3
    assert "error" not in capsys.readouterr().err


def test_a_full_disk_is_one_line_without_a_traceback(capsys):
    import errno
    import logging

    import typer

    from flows.cli import _NoTracebackForUserErrors, guarded

    full = OSError(errno.ENOSPC, "No space left on device", "/data/greenpower.duckdb.staging")
    record = logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, "Task run failed", None,
                               (OSError, full, None))
    assert _NoTracebackForUserErrors().filter(record) and record.exc_info is None
    bug = logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, "Task run failed", None,
                            (KeyError, KeyError("x"), None))
    assert _NoTracebackForUserErrors().filter(bug) and bug.exc_info is not None   # a bug keeps its traceback

    def action():
        raise full
    with pytest.raises(typer.Exit):
        guarded(action)
    message = capsys.readouterr().err
    assert "No space left on device" in message and "greenpower.duckdb.staging" in message
    assert "GP_DEBUG" not in message and "Traceback" not in message
