"""Hostile data through the real pipeline (reliability.md "markup in data", "file names", "SQL from users",
"assumptions / rules files"; offers.md "Safety"; outputs.md "Offers on disk").

The customer list is a real CSV file, run by the real nightly flow (in process, under the session's Prefect
harness) into a real DuckDB file and real WeasyPrint PDFs, read back with poppler's ``pdftotext``. The
command line is driven in process (Typer's runner) for the SQL and configuration-file cases.
"""
from __future__ import annotations

import copy
import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from core.datafiles import data_dir
from offers.filenames import offer_filename
from reliability_support import (customer_row, file_sha256, flat, pdftotext, q, read_manifest, sample_rows,
                                 write_customers)

pytestmark = pytest.mark.slow
CANARY = "CANARY-5d1e0c"            # written into local files the markup points at; must never reach a PDF


@pytest.fixture(scope="module")
def canaries(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("secrets")
    files = {"txt": folder / "secret.txt", "svg": folder / "secret.svg", "css": folder / "secret.css",
             "html": folder / "secret.html", "png": folder / "secret.png"}
    files["txt"].write_text(CANARY)
    files["svg"].write_text(f'<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="9">{CANARY}</text></svg>')
    files["css"].write_text(f'body::before {{ content: "{CANARY}"; }} h1 {{ color: red }}')
    files["html"].write_text(f"<p>{CANARY}</p>")
    files["png"].write_bytes(b"\x89PNG\r\n\x1a\n" + CANARY.encode())
    return files


def hostile_rows(c: dict[str, Path]) -> dict[str, dict]:
    """account_id -> the text fields that reach the offer template (name, industry, sales rep, the id itself)."""
    u = {k: p.as_uri() for k, p in c.items()}
    return {
        "HTML-IMG": dict(name=f'<img src="{u["svg"]}"><img src="{u["png"]}">有限公司',
                         industry=f'<object data="{u["html"]}">通信设备制造</object>',
                         sales_rep=f'<iframe src="{u["txt"]}"></iframe>张三'),
        "HTML-SCRIPT": dict(name="</td></tr></table></section><script>alert(1)</script>商贸公司",
                            industry="<script>document.write('x')</script>软件",
                            sales_rep="<b onmouseover=alert(1)>李四</b>"),
        "CSS-URL": dict(name=f'</style><style>@import url("{u["css"]}");</style>绿色能源',
                        industry=f'<div style="background:url({u["svg"]})">钢铁</div>',
                        sales_rep=f'<link rel="stylesheet" href="{u["css"]}">王五'),
        "FILE-URI": dict(name=f"file://{c['txt']} & file:///etc/hostname", industry=f"url({u['txt']})",
                         sales_rep=f"{u['html']}"),
        "<i>ID&amp;</i>": dict(name="户号带标记的公司", sales_rep='"><svg onload=alert(1)>'),
        "JINJA": dict(name="{{ 7*7 }}{% raw %}{{ brand }}", industry="{# comment #}", sales_rep="${7*7}"),
        "QUOTES": dict(name="O'Brien & Sons \"Ltd\" <Co> 甲乙", sales_rep="=HYPERLINK(\"http://x\")"),
    }


ODD_IDS = ["../../etc/x", "a/b", "a\\b", "..", ".hidden", "CON", "NUL", "Acc-1", "acc-1", "x" * 300, "x" * 299 + "y",
           "\u202eevil.pdf", "-rf", "a:b|c*?"]


@pytest.fixture(scope="module")
def hostile_run(prefect_harness, tmp_path_factory, canaries):
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters
    folder = tmp_path_factory.mktemp("hostile")
    rows = [customer_row(account_id, **fields) for account_id, fields in hostile_rows(canaries).items()]
    rows += [customer_row(account_id, name=f"文件名测试{i}") for i, account_id in enumerate(ODD_IDS)]
    rows.append(customer_row("BAD-PROVINCE", province=f'<img src="{canaries["svg"].as_uri()}">江苏'))
    path = write_customers(folder / "customers.csv", rows)
    db, out = folder / "gp.duckdb", folder / "out" / "nested"
    summary = nightly(NightlyParameters(customers=path, db=db, out=out, run_id="hostile", workers=2))
    return folder, db, out / "hostile", summary


def offers_by_id(db: Path) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in q(db, "SELECT account_id, status, path, error FROM offers WHERE run_id = 'hostile'")}


def test_every_hostile_account_is_rendered(hostile_run, canaries):
    folder, db, run_folder, summary = hostile_run
    offers = offers_by_id(db)
    expected = set(hostile_rows(canaries)) | {i.strip() for i in ODD_IDS}
    assert set(offers) == expected
    assert {status for status, _, _ in offers.values()} == {"rendered"}, offers
    assert summary["rows_rejected"] == 1


def test_markup_in_every_text_field_is_literal_text_and_fetches_nothing(hostile_run, canaries):
    folder, db, run_folder, _ = hostile_run
    offers = offers_by_id(db)
    for account_id, fields in hostile_rows(canaries).items():
        pdf = run_folder / offers[account_id][1]
        text = flat(pdftotext(pdf, raw=True))     # content order: a wrapped table cell stays together
        for field, value in {"account_id": account_id, **fields}.items():
            assert flat(value) in text, (account_id, field, value)
        assert CANARY not in text, account_id
        raw = pdf.read_bytes()
        assert b"/Subtype /Image" not in raw and b"/EmbeddedFile" not in raw and b"/JavaScript" not in raw
        assert CANARY.encode() not in raw
    # the database holds the text exactly as given; a province made of markup was rejected, quoted literally
    assert q(db, "SELECT name FROM accounts WHERE account_id = 'JINJA'") == [("{{ 7*7 }}{% raw %}{{ brand }}",)]
    [(column, value, reason)] = q(db, 'SELECT "column", value, reason FROM rejects WHERE run_id = \'hostile\'')
    assert column == "province" and value.startswith("<img src=") and "province" in reason


def test_file_names_stay_inside_the_run_folder_and_never_collide(hostile_run, canaries):
    folder, db, run_folder, _ = hostile_run
    offers = offers_by_id(db)
    paths = {account_id: path for account_id, (_, path, _) in offers.items()}
    for account_id, path in paths.items():
        assert path == offer_filename(account_id)
        target = (run_folder / path).resolve()
        assert target.parent == run_folder.resolve() and target.is_file() and not target.is_symlink()
        assert len(path.encode()) <= 255 and path.isascii() and not path.startswith((".", "-", "~"))
        assert unicodedata.normalize("NFKC", path) == path and "/" not in path and "\\" not in path
    # distinct, also ignoring case (case-insensitive file systems) and for the 300-character ids
    assert len({p.casefold() for p in paths.values()}) == len(paths)
    # the folder holds exactly the offers and the manifest; nothing was written anywhere else
    assert sorted(p.name for p in run_folder.iterdir()) == sorted([*paths.values(), "manifest.csv"])
    everything = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    # beside the database: its writer lock and the stamp saying the published file was read back whole
    expected = {"customers.csv", "gp.duckdb", "gp.duckdb.lock", "gp.duckdb.verified", "out", "out/nested",
                "out/nested/hostile"}
    assert set(everything) == expected | {f"out/nested/hostile/{n}" for n in [*paths.values(), "manifest.csv"]}
    assert not (folder / "etc").exists() and not (folder / "out" / "etc").exists()
    # the manifest names every file, with ids and names as data (never an Excel formula)
    manifest = read_manifest(run_folder)
    assert sorted(m["file"] for m in manifest) == sorted(paths.values())
    by_file = {m["file"]: m for m in manifest}
    assert by_file[paths["-rf"]]["account"] == "'-rf"
    assert by_file[paths["QUOTES"]]["name"] == "O'Brien & Sons \"Ltd\" <Co> 甲乙"


# ------------------------------------------------------------------ SQL from users

@pytest.fixture(scope="module")
def sql_db(hostile_run):
    folder, db, _, _ = hostile_run
    return db


QUERIES_REFUSED = [
    "DROP TABLE results", "DELETE FROM runs", "UPDATE runs SET status = 'failed'",
    "INSERT INTO runs (run_id) VALUES ('x')", "CREATE TABLE x AS SELECT 1", "CREATE TEMP TABLE x AS SELECT 1",
    "COPY results TO '{dir}/leak.csv'", "COPY (SELECT * FROM accounts) TO '{dir}/leak.parquet' (FORMAT parquet)",
    "EXPORT DATABASE '{dir}/dump'", "ATTACH '{dir}/other.duckdb' AS other", "ATTACH ':memory:' AS m",
    "SELECT 1; DROP TABLE results", "SELECT count(*) FROM results; SELECT 1",
    "SELECT * FROM read_text('{secret}')", "SELECT * FROM read_csv('{secret}')", "FROM '{secret}'",
    "SELECT * FROM glob('{dir}/*')", "INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true",
    "PRAGMA enable_profiling = 'json'", "PRAGMA profiling_output = '{dir}/profile.json'", "CHECKPOINT", "VACUUM",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{dir}/explain.csv'", "USE memory", "DETACH gp", "CALL pragma_version()",
]


@pytest.mark.parametrize("sql", QUERIES_REFUSED)
def test_gp_query_refuses_anything_but_reading_the_warehouse(sql_db, canaries, tmp_path, sql):
    before = file_sha256(sql_db), sorted(p.name for p in sql_db.parent.iterdir())
    text = sql.format(dir=tmp_path, secret=canaries["txt"])
    result = CliRunner().invoke(app, ["query", text, "--db", str(sql_db)])
    assert result.exit_code == 1, result.output
    assert [line for line in result.output.splitlines() if line.startswith("error:")] and CANARY not in result.output
    assert (file_sha256(sql_db), sorted(p.name for p in sql_db.parent.iterdir())) == before
    assert list(tmp_path.iterdir()) == []                            # nothing written anywhere
    assert q(sql_db, "SELECT count(*) FROM results") == [(len(hostile_rows(canaries)) + len(ODD_IDS),)]


def test_sql_looking_values_are_only_ever_data(sql_db, tmp_path):
    # a value that looks like SQL, quoted in a query, is a string literal like any other
    sql = "SELECT count(*) AS n FROM accounts WHERE name = '''; DROP TABLE results; --'"
    result = CliRunner().invoke(app, ["query", sql, "--db", str(sql_db), "--csv", str(tmp_path / "n.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "n.csv").read_text(encoding="utf-8-sig").split() == ["n", "0"]
    assert q(sql_db, "SELECT count(*) FROM results") != [(0,)]


@pytest.mark.parametrize("option, value, words", [
    ("--province", "'; DROP TABLE results; --", "unknown province"),
    ("--segment", "value_oriented' OR '1'='1", "unknown segment"),
    ("--customer-type", "x'); DELETE FROM runs; --", "unknown customer type"),
    ("--industry-group", "steel' UNION SELECT * FROM runs --", "unknown industry group"),
])
def test_campaign_filters_with_sql_are_refused_and_write_nothing(prefect_harness, sql_db, tmp_path, option, value,
                                                                words):
    db = tmp_path / "gp.duckdb"
    shutil.copy(sql_db, db)
    before = file_sha256(db)
    result = CliRunner().invoke(app, ["campaign", "spring", option, value, "--db", str(db), "--out",
                                      str(tmp_path / "out"), "--no-pdf"])
    assert result.exit_code == 1, result.output
    assert words in result.output
    assert file_sha256(db) == before and not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gp.duckdb"]


def test_campaign_account_list_with_sql_selects_nothing_and_harms_nothing(prefect_harness, sql_db, tmp_path):
    db = tmp_path / "gp.duckdb"
    shutil.copy(sql_db, db)
    ids = tmp_path / "ids.txt"
    ids.write_text("'; DROP TABLE results; --\nx' OR '1'='1\nCSS-URL' --\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["campaign", "inject", "--accounts", str(ids), "--db", str(db), "--no-pdf",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    [(run_id,)] = q(db, "SELECT run_id FROM runs WHERE campaign = 'inject'")
    assert q(db, "SELECT count(*) FROM results WHERE run_id = ?", [run_id]) == [(0,)]
    assert q(db, "SELECT count(*) FROM results WHERE run_id = 'hostile'") == q(sql_db, "SELECT count(*) FROM results")


# ------------------------------------------------------------------ assumption and rules files

BASE_SET = yaml.safe_load((data_dir() / "assumptions" / "cn-2025.yaml").read_text(encoding="utf-8"))


def _value(key, value):
    return lambda c: c["values"][key].__setitem__("value", value)


def _drop(*path):
    def change(c):
        node = c
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]
    return change


ASSUMPTIONS_INVALID = [   # (id, change, key named, problem named)
    ("gec-text", _value("gec_price_yuan_per_certificate", "five"), "gec_price_yuan_per_certificate",
     "expected a number"),
    ("gec-negative", _value("gec_price_yuan_per_certificate", -5.0), "gec_price_yuan_per_certificate",
     "greater than or equal to 0"),
    ("capex-negative", _value("pv_capex_yuan_per_w", -3.0), "pv_capex_yuan_per_w", "greater than 0"),
    ("capex-zero", _value("pv_capex_yuan_per_w", 0), "pv_capex_yuan_per_w", "greater than 0"),
    ("capex-nan", _value("pv_capex_yuan_per_w", float("nan")), "pv_capex_yuan_per_w", "finite number"),
    ("gec-inf", _value("gec_price_yuan_per_certificate", float("inf")), "gec_price_yuan_per_certificate",
     "finite number"),
    ("premium-negative", _value("premium_default_yuan_per_kwh", [-0.01, 0.03]), "premium_default_yuan_per_kwh",
     "0 ≤ low ≤ high"),
    ("premium-reversed", _value("premium_default_yuan_per_kwh", [0.07, 0.03]), "premium_default_yuan_per_kwh",
     "0 ≤ low ≤ high"),
    ("premium-province", _value("premium_by_province_yuan_per_kwh", {"江苏": [0.06, 0.07]}),
     "premium_by_province_yuan_per_kwh.江苏", "unknown province"),
    ("loan-ratio-yes", _value("loan_ratio", True), "loan_ratio", "expected a number, got True"),
    ("loan-rate-too-high", _value("loan_rate", 4.5), "loan_rate", "less than or equal to 0.5"),
    ("loan-years-fraction", _value("loan_years", 10.5), "loan_years", "valid integer"),
    ("repayment-unknown", _value("repayment", "balloon"), "repayment", "'annuity' or 'interest_only'"),
    ("degradation", _value("pv_degradation_per_year", 0.5), "pv_degradation_per_year", "is negative"),
    ("missing-key", _drop("values", "loan_rate"), "loan_rate", "Field required"),
    ("missing-source", _drop("values", "loan_rate", "source"), "values.loan_rate", "needs 'value' and 'source'"),
    ("missing-values", _drop("values"), "'values'", "expected keys"),
    ("unknown-key", lambda c: c["values"].__setitem__("gec_prise", {"value": 5, "source": "typo"}), "gec_prise",
     "Extra inputs are not permitted"),
]


@pytest.mark.parametrize("change, key, words", [case[1:] for case in ASSUMPTIONS_INVALID],
                         ids=[case[0] for case in ASSUMPTIONS_INVALID])
def test_invalid_assumption_file_is_refused_on_load_naming_key_and_problem(tmp_path, change, key, words):
    from gpengine.assumptions import load_assumptions
    from core.datafiles import DataFileError
    content = copy.deepcopy(BASE_SET)
    change(content)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_assumptions(str(path))
    assert str(path) in str(err.value) and key in str(err.value) and words in str(err.value), str(err.value)


@pytest.fixture(scope="module")
def small_list(tmp_path_factory) -> Path:
    return write_customers(tmp_path_factory.mktemp("small") / "customers.csv", sample_rows(3))


@pytest.mark.parametrize("case", ["capex-negative", "loan-ratio-yes", "missing-key"])
def test_gp_run_with_an_invalid_assumption_file_stops_before_writing(prefect_harness, small_list, tmp_path, case):
    _, change, key, words = next(c for c in ASSUMPTIONS_INVALID if c[0] == case)
    content = copy.deepcopy(BASE_SET)
    change(content)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "gp.duckdb"
    result = CliRunner().invoke(app, ["run", str(small_list), "--db", str(db), "--out", str(tmp_path / "out"),
                                      "--assumptions", str(bad)])
    assert result.exit_code == 1, result.output
    [message] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "bad.yaml" in message and key in message and words in message, message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]            # no database, no offers


RULES_INVALID = [   # (change of rules.yaml, key path named, problem named)
    (lambda c: c["rules"][2]["when"]["any"][0].__setitem__("field", "is_exporterr"), "rules[2].when.any[0].field",
     "unknown field 'is_exporterr'"),
    (lambda c: c["rules"][0]["when"].__setitem__("value", 1), "rules[0].when.value", "expected text, got a number"),
    (lambda c: c["rules"][1].pop("segment"), "rules[1].segment", "required key is missing"),
]


@pytest.mark.parametrize("change, where, words", RULES_INVALID, ids=["unknown-field", "wrong-type", "missing-key"])
def test_gp_run_with_an_invalid_rules_file_stops_before_writing(prefect_harness, small_list, tmp_path, monkeypatch,
                                                               change, where, words):
    data = tmp_path / "data"
    shutil.copytree(data_dir(), data, ignore=shutil.ignore_patterns("warehouse"))
    rules = data / "segmentation" / "rules.yaml"
    content = yaml.safe_load(rules.read_text(encoding="utf-8"))
    change(content)
    rules.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("GREENPOWER_DATA", str(data))
    work = tmp_path / "work"
    work.mkdir()
    result = CliRunner().invoke(app, ["run", str(small_list), "--db", str(work / "gp.duckdb"), "--out",
                                      str(work / "out")])
    assert result.exit_code == 1, result.output
    [message] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert str(rules) in message and f": {where}: " in message and words in message, message
    assert list(work.iterdir()) == []
