"""Errors are neither swallowed nor mislabelled (issue: a cancelled run was reported as "not a readable
Excel workbook"; every ValueError was shown as a user error without its traceback)."""
from __future__ import annotations

import io

import polars as pl
import pytest
from prefect.exceptions import TerminationSignal

from reliability_support import sample_rows


def _xlsx(path) -> object:
    pl.DataFrame(sample_rows(3)).write_excel(path)
    return path


@pytest.mark.parametrize("reader", ["read_excel"])
def test_a_cancelled_run_is_not_reported_as_an_unreadable_workbook(tmp_path, monkeypatch, reader):
    """Prefect cancels a run by raising TerminationSignal (a BaseException) in it: it must get through."""
    import fastexcel

    from intake.load import read_customer_file
    path = _xlsx(tmp_path / "customers.xlsx")

    def cancelled(*args, **kwargs):
        raise TerminationSignal(signal=15)

    monkeypatch.setattr(fastexcel, reader, cancelled)
    with pytest.raises(TerminationSignal):
        read_customer_file(path)


def test_a_bug_inside_the_reader_call_is_not_the_files_fault(tmp_path, monkeypatch):
    from intake.load import read_customer_file
    path = _xlsx(tmp_path / "customers.xlsx")
    real = pl.read_excel

    def buggy(*args, **kwargs):
        raise AttributeError("a bug, not the file")

    monkeypatch.setattr(pl, "read_excel", buggy)
    with pytest.raises(AttributeError):
        read_customer_file(path)
    monkeypatch.setattr(pl, "read_excel", real)
    assert read_customer_file(path).frame.height == 3


def test_a_damaged_workbook_is_still_one_clear_message(tmp_path):
    from intake.errors import InputFileError
    from intake.load import read_customer_file
    data = (_xlsx(tmp_path / "good.xlsx")).read_bytes()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="broken.xlsx"):
        read_customer_file(broken)


def _guarded_output(capsys, action) -> str:
    import typer

    from flows.cli import guarded
    with pytest.raises(typer.Exit):
        guarded(action)
    return " ".join(capsys.readouterr().err.split())


def test_a_valueerror_from_a_bug_is_shown_as_a_bug(capsys, monkeypatch):
    monkeypatch.delenv("GP_DEBUG", raising=False)

    def bug():
        raise ValueError("could not broadcast input array from shape (3,) into shape (4,)")

    text = _guarded_output(capsys, bug)
    assert "ValueError: could not broadcast" in text and "GP_DEBUG=1" in text


def test_user_errors_are_one_line_without_the_traceback_hint(capsys, monkeypatch):
    from core.datafiles import DataFileError
    from core.errors import UserError
    from intake.errors import InputFileError
    monkeypatch.delenv("GP_DEBUG", raising=False)
    for exc in (UserError("no such campaign"), DataFileError("rules.yaml: rules[0]: bad"),
                InputFileError("c.csv", "the file is empty")):
        def action(exc=exc):
            raise exc
        text = _guarded_output(capsys, action)
        assert text == f"error: {exc}", text


def test_an_unknown_campaign_filter_is_a_user_error(capsys, monkeypatch):
    from flows.campaign import CampaignParameters
    monkeypatch.delenv("GP_DEBUG", raising=False)
    text = _guarded_output(capsys, lambda: CampaignParameters(name="x", segments=["loyal"]))
    assert "unknown segment 'loyal'" in text and "GP_DEBUG" not in text
