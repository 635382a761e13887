"""`gp query`'s own parts: where the SQL comes from, the column labels file, the Rich table's safety."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from flows.query_command import QueryInputError, load_column_labels, read_sql
from gpengine.datafiles import DataFileError, data_dir
from warehouse import QueryError, format_table, write_query_result


def test_sql_comes_from_the_argument_a_file_or_standard_input(tmp_path, monkeypatch):
    assert read_sql("SELECT 1", None) == "SELECT 1"
    utf8 = tmp_path / "q.sql"
    utf8.write_bytes("\ufeff-- 江苏\nSELECT '江苏省';\n".encode("utf-8"))
    assert read_sql(None, str(utf8)) == "-- 江苏\nSELECT '江苏省';\n"
    gbk = tmp_path / "gbk.sql"
    gbk.write_bytes("SELECT '江苏省'".encode("gbk"))   # saved by an editor on Chinese Windows
    assert read_sql(None, str(gbk)) == "SELECT '江苏省'"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("SELECT 2".encode("utf-8"))))
    assert read_sql(None, "-") == "SELECT 2"
    (tmp_path / "empty.sql").write_text("  \n", encoding="utf-8")
    (tmp_path / "bin.sql").write_bytes(b"\xff\xfe\x00\x81\x00")
    for sql, file, message in ((None, None, "give the SQL as an argument or with --file"),
                               ("SELECT 1", str(utf8), "not both"),
                               (None, str(tmp_path / "nope.sql"), "nope.sql: no such file"),
                               (None, str(tmp_path), "is a folder"),
                               (None, str(tmp_path / "empty.sql"), "empty.sql: is empty"),
                               (None, str(tmp_path / "bin.sql"), "bin.sql: not text")):
        with pytest.raises(QueryInputError, match=message):
            read_sql(sql, file)
    assert issubclass(QueryInputError, QueryError)  # a user's error: one line, no traceback


def test_gp_query_reports_a_missing_sql_file_in_one_line(tmp_path):
    from flows.cli import app
    result = CliRunner().invoke(app, ["query", "--db", str(tmp_path / "x.duckdb"), "--file", str(tmp_path / "q.sql")])
    assert result.exit_code == 1
    assert "q.sql: no such file" in result.output and "Traceback" not in result.output


def test_column_labels_are_validated_naming_the_key(tmp_path, monkeypatch):
    labels = load_column_labels()
    assert labels.headers()["name"] == "企业名称" and labels.formats()["pv_irr"] == "percent"
    # every column a view shows has a Chinese header
    pinned = __import__("json").loads((Path(__file__).parent / "pins" / "view_columns.json").read_text("utf-8"))
    missing = sorted({c for cols in pinned.values() for c, _ in cols} - set(labels.headers()))
    assert missing == []
    data = tmp_path / "data"
    shutil.copytree(data_dir(), data, ignore=shutil.ignore_patterns("warehouse"))  # not the databases
    path = data / "labels" / "columns.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["columns"]["pv_irr"]["format"] = "percentage"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("GREENPOWER_DATA", str(data))
    with pytest.raises(DataFileError, match=r"columns\.yaml: columns\.pv_irr\.format: Input should be 'percent'"):
        load_column_labels()


def test_the_table_prints_markup_in_data_as_text():
    out = format_table(pl.DataFrame({"name": ["[bold red]客户[/bold red]", ":smile: [link=http://x]y[/link]"]}))
    assert "[bold red]客户[/bold red]" in out and ":smile: [link=http://x]y[/link]" in out
    assert "\x1b" not in out


def test_excel_formats_are_checked(tmp_path):
    with pytest.raises(QueryError, match="unknown Excel format"):
        write_query_result(pl.DataFrame({"x": [0.5]}), xlsx=tmp_path / "x.xlsx", formats={"x": "permille"})
