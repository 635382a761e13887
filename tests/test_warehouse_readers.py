"""The published warehouse in the managers' own tools (issue "The warehouse opens in the managers' own tools").

One module fixture publishes a real warehouse through the real flows (two nightly runs on the bundled
sample — the second with changed segments and rejected rows — and a campaign). On that file:

- the DuckDB CLI 1.5.6 from the package index (tests/clients.py) opens it read-only and runs every view
  and every question in docs/questions/, with the same answers as `gp query` on the same file;
- every view's columns and types are pinned (tests/pins/view_columns.json: the views are the public
  interface, outputs.md);
- the question files are the README's five questions and each runs with `gp query --file` (and from
  standard input);
- `gp query --xlsx --chinese-headers` writes Chinese headers, percentages as percentages, widths that fit
  Chinese and a filter row, read back from the file's XML.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from clients import cli_json, duckdb_cli
from warehouse import VIEW_NAMES
from warehouse.query import display_width
from warehouse.views import LAYERS, SQL_DIR, view_files

pytestmark = pytest.mark.slow  # real flows, a separate client process

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = sorted((ROOT / "docs" / "questions").glob("*.sql"))
PINS = ROOT / "tests" / "pins" / "view_columns.json"
README = ROOT / "README.md"


# ------------------------------------------------------------------ a real published warehouse

@pytest.fixture(scope="module")
def published(prefect_harness, tmp_path_factory) -> Path:
    from flows.campaign import CampaignParameters, campaign
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters
    from gpengine.datafiles import data_dir

    folder = tmp_path_factory.mktemp("readers")
    db, out = folder / "greenpower.duckdb", folder / "out"
    sample = pl.read_csv(data_dir() / "sample" / "customers.csv", infer_schema=False)
    first = folder / "customers-1.csv"
    sample.write_csv(first)
    nightly(NightlyParameters(customers=first, db=db, out=out, render_pdf=False, run_id="readers-1"))
    # the next night: eight accounts declared high-energy (their segment changes), three unreadable rows
    changed = sample.with_columns(
        high_energy=pl.when(pl.int_range(pl.len()) < 8).then(pl.lit("true")).otherwise(pl.col("high_energy")))
    bad = sample.head(3).with_columns(account_id=pl.Series(["BAD-1", "BAD-2", "BAD-3"]),
                                      annual_kwh=pl.Series(["0", "abc", "-5"]))
    second = folder / "customers-2.csv"
    pl.concat([changed, bad]).write_csv(second)
    nightly(NightlyParameters(customers=second, db=db, out=out, render_pdf=False, run_id="readers-2"))
    campaign(CampaignParameters(name="spring", segments=["value_oriented"], db=db, out=out, render_pdf=False))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM segment_changes").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM rejects_latest").fetchone()[0] >= 3
        assert con.execute("SELECT count(*) FROM latest_campaign_results").fetchone()[0] > 0
    return db


def gp(*args: str, input: str | None = None):
    from flows.cli import app
    result = CliRunner().invoke(app, list(args), input=input)
    assert result.exit_code == 0, f"gp {' '.join(args)}: {result.output}"
    return result


# ------------------------------------------------------------------ the same answers in DuckDB 1.x

def body(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def canonical(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """``sql`` with every column as text both clients print the same way: doubles to 12 significant
    digits, times as epoch microseconds, lists and structs as JSON."""
    exprs = []
    for name, typ, *_ in con.execute(f"DESCRIBE {body(sql)}").fetchall():
        c = '"' + name.replace('"', '""') + '"'
        if typ in ("DOUBLE", "FLOAT", "REAL") or typ.startswith("DECIMAL"):
            e = f"printf('%.12g', {c})"
        elif typ.startswith("TIMESTAMP"):
            e = f"epoch_us({c})::VARCHAR"
        elif typ.endswith("]") or typ.startswith(("STRUCT", "MAP")):
            e = f"to_json({c})::VARCHAR"
        else:
            e = f"{c}::VARCHAR"
        exprs.append(f"{e} AS {c}")
    return f"WITH answer AS (\n{body(sql)}\n)\nSELECT {', '.join(exprs)} FROM answer"


def rows_of(records: list[dict] | pl.DataFrame) -> list[tuple]:
    if isinstance(records, pl.DataFrame):
        records = records.to_dicts()
    rows = [tuple(None if v in (None, "") else str(v) for v in r.values()) for r in records]
    return sorted(rows, key=lambda r: tuple((v is None, v or "") for v in r))


def test_every_view_and_question_answers_the_same_in_duckdb_cli_1x_as_in_gp_query(published, tmp_path):
    cli = duckdb_cli()
    queries = {f"view {v}": f"SELECT * FROM {v}" for v in VIEW_NAMES}
    queries |= {f"question {p.name}": p.read_text(encoding="utf-8") for p in QUESTIONS}
    assert len(QUESTIONS) == 5
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                           "WHERE database_name = current_database()").fetchone()[0] == "v1.0.0+"
        wrapped = {what: canonical(con, sql) for what, sql in queries.items()}
    answered = 0
    for what, sql in queries.items():
        raw = cli_json(cli, published, sql)  # as the manager pastes it (comments, trailing semicolon)
        file = tmp_path / "q.sql"
        file.write_text(wrapped[what] + ";\n", encoding="utf-8")
        theirs = cli_json(cli, published, wrapped[what] + ";")
        gp("query", "--db", str(published), "--file", str(file), "--csv", str(tmp_path / "gp.csv"))
        ours = pl.read_csv(tmp_path / "gp.csv", infer_schema=False)
        assert len(raw) == len(theirs) == ours.height, what
        assert [c for c in (theirs[0] if theirs else {})] == (ours.columns if theirs else []), what
        assert rows_of(theirs) == rows_of(ours), f"{what}: DuckDB 1.5.6 and gp query disagree"
        answered += bool(theirs)
    assert answered >= len(queries) - 2  # latest_offers (no PDFs here) may be empty; the rest hold rows


# ------------------------------------------------------------------ views: SQL files, layers, pinned columns

def test_views_are_one_sql_file_each_layered_staging_then_reporting():
    files = view_files()
    assert set(files) == set(VIEW_NAMES)
    layer = {name: path.parent.name for name, path in files.items()}
    assert set(layer.values()) == set(LAYERS)
    for name, path in files.items():
        assert path.parent.parent == SQL_DIR and path.name == f"{name}.sql"
        for ref in re.findall(r"ref\('(\w+)'\)", path.read_text(encoding="utf-8")):
            assert ref in files, f"{path.name} refers to unknown view {ref}"
            if layer[name] == "staging":  # layers point one way
                assert layer[ref] == "staging", f"staging view {name} refers to reporting view {ref}"
    assert list(files).index("latest_run") < list(files).index("latest_results")


def view_columns(db: Path) -> dict[str, list[list[str]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {v: [[n, t] for n, t, *_ in con.execute(f"DESCRIBE {v}").fetchall()] for v in VIEW_NAMES}


def test_each_views_columns_and_types_are_pinned(published):
    got = view_columns(published)
    if os.environ.get("GP_UPDATE_VIEW_PINS"):  # after a deliberate change of the public interface
        PINS.parent.mkdir(exist_ok=True)
        kept = json.loads(PINS.read_text(encoding="utf-8")) if PINS.exists() else {}   # the loop's views too
        PINS.write_text(json.dumps({**kept, **got}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    pinned = json.loads(PINS.read_text(encoding="utf-8"))
    for view in VIEW_NAMES:
        assert got[view] == pinned[view], (
            f"view {view} changed its columns or types (public interface, outputs.md). If that is intended, "
            f"rerun with GP_UPDATE_VIEW_PINS=1 and commit tests/pins/view_columns.json.\n"
            f"added: {[c for c in got[view] if c not in pinned[view]]}\n"
            f"gone: {[c for c in pinned[view] if c not in got[view]]}")


# ------------------------------------------------------------------ the five questions as files

def statements(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [" ".join(s.split()) for s in "\n".join(lines).split(";") if s.strip()]


def test_the_question_files_are_the_readmes_five_questions_and_each_runs_with_gp_query_file(published):
    readme = README.read_text(encoding="utf-8")
    block = re.search(r"Five questions a sales manager asks.*?```sql\n(.*?)```", readme, re.S).group(1)
    assert statements(block) == [statements(p.read_text(encoding="utf-8"))[0] for p in QUESTIONS]
    for p in QUESTIONS:
        assert f"docs/questions/{p.name}" in readme or "docs/questions/" in readme

    def answer(path: Path) -> pl.DataFrame:
        csv_path = path.with_suffix(".csv").name
        target = published.parent / csv_path
        gp("query", "--db", str(published), "--file", str(path), "--csv", str(target))
        return pl.read_csv(target)

    exporters, co2, changes, cheapest, rejects = (answer(p) for p in QUESTIONS)
    with duckdb.connect(str(published), read_only=True) as con:
        facts = con.execute("SELECT count(*), sum(co2_reduction_t) FROM latest_results "
                            "WHERE segment = 'responsibility_driven'").fetchone()
        n_changes = con.execute("SELECT count(*) FROM segment_changes").fetchone()[0]
        n_rejects = con.execute("SELECT count(*) FROM rejects_latest").fetchone()[0]
        jiangsu = con.execute("SELECT count(*) FROM latest_results r JOIN accounts a USING (run_id, account_id) "
                              "WHERE r.segment = 'value_oriented' AND a.is_exporter AND r.province = '江苏省' "
                              "AND r.pv_mode = 'self' AND r.pv_npv_yuan >= 0").fetchone()[0]
    assert exporters.height == jiangsu and (exporters.height == 0 or (exporters["pv_npv_yuan"] >= 0).all())
    assert co2.rows() == [(facts[0], pytest.approx(facts[1]))]
    assert changes.height == n_changes > 0 and (changes["previous_segment"] != changes["segment"]).all()
    assert 0 < cheapest.height <= 20 and cheapest["yuan_per_t"].is_sorted()
    assert rejects["rows"].sum() == n_rejects > 0
    # the same question from standard input prints the same table
    text = QUESTIONS[1].read_text(encoding="utf-8")
    assert gp("query", "--db", str(published), "--file", "-", input=text).output == \
        gp("query", "--db", str(published), "--file", str(QUESTIONS[1])).output


# ------------------------------------------------------------------ Excel for managers

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def xlsx_facts(path: Path) -> dict:
    """Headers, number formats per column, column widths, the filter and the frozen pane, from the XML."""
    with zipfile.ZipFile(path) as z:
        sheet = ElementTree.fromstring(z.read("xl/worksheets/sheet1.xml"))
        strings = [si.findtext("m:t", namespaces=NS) or "".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                   for si in ElementTree.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS)]
        styles = ElementTree.fromstring(z.read("xl/styles.xml"))
        tables = [ElementTree.fromstring(z.read(n)) for n in z.namelist() if n.startswith("xl/tables/")]
    fmt_codes = {int(f.get("numFmtId")): f.get("formatCode") for f in styles.iter(f"{{{NS['m']}}}numFmt")}
    xfs = [int(x.get("numFmtId", 0)) for x in styles.find("m:cellXfs", NS).findall("m:xf", NS)]
    rows = sheet.find("m:sheetData", NS).findall("m:row", NS)
    header = [strings[int(c.findtext("m:v", namespaces=NS))] for c in rows[0].findall("m:c", NS)]
    formats = [fmt_codes.get(xfs[int(c.get("s", 0))]) for c in rows[1].findall("m:c", NS)]
    widths = {}
    for col in sheet.find("m:cols", NS).findall("m:col", NS):
        for i in range(int(col.get("min")), int(col.get("max")) + 1):
            widths[i - 1] = float(col.get("width"))
    filters = [t.find("m:autoFilter", NS).get("ref") for t in tables if t.find("m:autoFilter", NS) is not None]
    filters += [a.get("ref") for a in sheet.findall("m:autoFilter", NS)]
    pane = sheet.find("m:sheetViews/m:sheetView/m:pane", NS)
    return {"header": header, "formats": formats, "widths": widths, "filters": filters,
            "frozen": pane is not None and pane.get("state") == "frozen" and pane.get("ySplit") == "1",
            "rows": len(rows)}


def test_query_xlsx_has_chinese_headers_on_request_percentages_widths_and_a_filter_row(published, tmp_path):
    sql = ("SELECT account_id, name, province, pv_irr, target_share, bill_yuan, gec_count FROM latest_results "
           "WHERE pv_irr IS NOT NULL ORDER BY length(name) DESC, account_id LIMIT 30")
    zh, en = tmp_path / "zh.xlsx", tmp_path / "en.xlsx"
    gp("query", sql, "--db", str(published), "--xlsx", str(zh), "--chinese-headers")
    gp("query", sql, "--db", str(published), "--xlsx", str(en))
    z, e = xlsx_facts(zh), xlsx_facts(en)
    assert z["header"] == ["户号", "企业名称", "省份", "光伏内部收益率", "绿电目标占比", "当前电费 (元)", "绿证张数"]
    assert e["header"] == ["account_id", "name", "province", "pv_irr", "target_share", "bill_yuan", "gec_count"]
    assert z["formats"][3] == z["formats"][4] == "0.0%" == e["formats"][3]   # shares as percentages
    assert z["formats"][5] == z["formats"][6] == "#,##0"
    assert z["filters"] == ["A1:G31"] and z["frozen"] and z["rows"] == 31
    names = pl.read_excel(zh)["企业名称"].to_list()
    longest = max(display_width(n) for n in names)
    assert longest > len(max(names, key=len))                 # Chinese: wider than its character count
    assert longest <= z["widths"][1] <= longest + 4           # fits the longest name, not much more
    assert z["widths"][3] >= display_width("光伏内部收益率")    # the Chinese header fits too
    back = pl.read_excel(zh)
    with duckdb.connect(str(published), read_only=True) as con:
        expected = con.sql(sql).pl()
    assert back["光伏内部收益率"].to_list() == pytest.approx(expected["pv_irr"].to_list())  # values stay fractions
