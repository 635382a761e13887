"""Managers' queries: read-only, parameters not SQL text, table/CSV/Excel output, the README's examples."""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import warehouse_frames as synthetic
from warehouse import QueryError, Warehouse, display_width, format_table, run_query, write_query_result

README = Path(__file__).resolve().parents[1] / "warehouse" / "README.md"
N = 60


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """Two nightly runs (segments shifted in the second) and a campaign."""
    db = tmp_path_factory.mktemp("query") / "greenpower.duckdb"
    wh = Warehouse(db)
    for i, shift in enumerate((0, 7)):
        frames = synthetic.run_frames(N, variant=0.01 * i, shift=shift)
        # own PV pays off for everyone here, so the exporters' example has rows
        frames["scenarios"] = frames["scenarios"].with_columns(
            green_cost_high_yuan=pl.when(pl.col("pv_mode") == "self")
            .then(pl.col("green_cost_high_yuan") * 0.8).otherwise(pl.col("green_cost_high_yuan")))
        with wh.start_run(kind="nightly", campaign=None, input_path="c.csv", input_sha256=None, assumptions={},
                          rules_version="r1", code_version="0.1.0") as run:
            for table, frame in frames.items():
                run.write(table, frame)
    with wh.start_run(kind="campaign", campaign="spring", input_path=None, input_sha256=None, assumptions={},
                      rules_version="r1", code_version="0.1.0") as run:
        run.write("results", frames["results"].head(5))
    return db


def readme_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_the_example_queries_and_each_answers_on_a_real_database(db):
    queries = readme_queries()
    assert len(queries) >= 5
    for sql in queries:
        df = run_query(db, sql)
        assert df.height > 0, sql
    exporters = run_query(db, queries[0])
    facts = run_query(db, "SELECT account_id, segment, province, is_exporter FROM latest_results")
    rows = exporters.join(facts, on="account_id")
    assert rows.height == exporters.height
    assert set(rows["segment"]) == {"value_oriented"} and set(rows["province"]) == {"江苏省"}
    assert rows["is_exporter"].all() and (exporters["saving_yuan"] > 0).all()
    assert run_query(db, queries[2]).height == run_query(db, "SELECT count(*) FROM segment_changes").item()
    assert run_query(db, queries[3]).height <= 20
    assert run_query(db, queries[4])["problems"].sum() == 3


def test_queries_cannot_write(db):
    with pytest.raises(QueryError, match="DROP statements are not allowed"):
        run_query(db, "DROP TABLE results")
    with pytest.raises(QueryError, match="exactly one SQL statement, got 2"):
        run_query(db, "SELECT 1; DROP TABLE results")
    for sql in ("DELETE FROM results", "UPDATE runs SET status = 'failed'", "CREATE TABLE x AS SELECT 1",
                "ATTACH 'other.duckdb' AS o", "SET enable_external_access = true", "INSTALL httpfs"):
        with pytest.raises(QueryError):
            run_query(db, sql)
    assert run_query(db, "SELECT count(*) FROM results").item() > 0


def test_queries_cannot_touch_other_files(db, tmp_path):
    target = tmp_path / "leak.csv"
    with pytest.raises(QueryError):
        run_query(db, f"COPY (SELECT * FROM results) TO '{target}'")
    assert not target.exists()
    with pytest.raises(QueryError, match="disabled"):
        run_query(db, "SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(QueryError, match="disabled"):
        run_query(db, "SELECT * FROM glob('/etc/*')")


def test_filter_values_are_parameters_not_sql(db):
    evil = "'; DROP TABLE results; --"
    got = run_query(db, "SELECT * FROM latest_results WHERE name = ? OR province = ?", [evil, evil])
    assert got.height == 0
    assert run_query(db, "SELECT count(*) FROM latest_results WHERE province = ?", ["江苏省"]).item() > 0
    assert run_query(db, "SELECT count(*) FROM results").item() > 0


def test_missing_database_and_bad_sql_are_named(tmp_path, db):
    with pytest.raises(QueryError, match="no warehouse database"):
        run_query(tmp_path / "nope.duckdb", "SELECT 1")
    with pytest.raises(QueryError, match="does not parse"):
        run_query(db, "SELEC 1")
    with pytest.raises(QueryError, match="no_such_table"):
        run_query(db, "SELECT * FROM no_such_table")
    assert run_query(db, "SHOW TABLES").height >= 7
    assert run_query(db, "DESCRIBE latest_results").height > 40


def test_format_table_aligns_chinese_and_numbers():
    df = pl.DataFrame({"名称": ["江苏钢铁有限公司", "abc", None], "annual_kwh": [1234567.891, 0.5, None],
                       "n": [1, 22, 333], "flags": [["pv_capped"], [], None]})
    out = format_table(df)
    lines = out.splitlines()
    assert lines[-1] == "(3 rows)"
    assert len({display_width(line) for line in lines[:-1]}) == 1  # every row as wide as the header
    assert "江苏钢铁有限公司" in out and "1,234,567.89" in out and "NULL" in out and '["pv_capped"]' in out
    cells = next(line for line in lines if "abc" in line).split("│")
    assert cells[3] == "  22 " and cells[2].endswith(" 0.5 ")  # numbers right-aligned
    assert "…" in format_table(df, max_col_width=6)
    many = pl.DataFrame({"x": range(100)})
    assert format_table(many, max_rows=5).splitlines()[-1] == "(100 rows, first 5 shown)"
    assert display_width("江苏a") == 5


def test_format_table_neutralises_terminal_escapes_in_data():
    out = format_table(pl.DataFrame({"name": ["\x1b[2J\x1b]0;pwned\x07客户", "a\u202eb", "line\nbreak"]}))
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\n" not in out.split("\n")[3]
    assert "\ufffd[2J" in out and "line break" in out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.one_of(st.none(), st.floats(allow_nan=False),
                                                           st.integers(-10**12, 10**12))), min_size=1, max_size=8))
@example([("line\u2028separator", None), ("para\u2029graph", 1)])   # Unicode line breaks broke a row in two
def test_format_table_rows_always_line_up(rows):
    df = pl.DataFrame({"文本": [r[0] for r in rows], "value": [r[1] if isinstance(r[1], float) else None for r in rows],
                       "n": [r[1] if isinstance(r[1], int) else None for r in rows]},
                      schema={"文本": pl.String, "value": pl.Float64, "n": pl.Int64})
    lines = format_table(df, max_col_width=12).splitlines()
    assert len(lines) == len(rows) + 5
    assert len({display_width(line) for line in lines[:-1]}) == 1


def test_query_results_save_as_csv_and_excel(db, tmp_path):
    df = run_query(db, "SELECT account_id, name, province, secondary_segments, flags, bill_yuan, started_at "
                       "FROM latest_results JOIN latest_run USING (run_id) ORDER BY account_id")
    csv, xlsx = tmp_path / "out.csv", tmp_path / "out.xlsx"
    write_query_result(df, csv=csv, xlsx=xlsx)
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the UTF-8 Chinese correctly with a BOM
    text = raw.decode("utf-8-sig")
    assert "江苏省" in text
    back = pl.read_csv(csv)
    assert back.height == df.height and back.columns == df.columns
    assert '["no_emission_factor"]' in back["flags"].to_list()  # lists as JSON text
    sheet = pl.read_excel(xlsx)
    assert sheet.height == df.height and sheet["name"].to_list() == df["name"].to_list()
    write_query_result(df, csv=None, xlsx=None)  # nothing asked, nothing written
    with pytest.raises(QueryError, match="cannot write CSV"):
        write_query_result(df, csv=tmp_path / "no" / "such" / "dir.csv")
