"""The loop inside real runs: nightly flows with PDFs under Prefect's test harness, the responses flow,
and ``gp responses import`` — editions on the PDF, held-out rows without one, stable arms across
runs, an edition change re-rendering exactly its offers, the funnel in the run summary."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from core.datafiles import data_dir
from offers.offer_number import response_code

SAMPLE = data_dir() / "sample" / "customers.csv"


def q(db: Path, sql: str, params=None) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql, params=params or []).pl()


def pdftext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def small_list(tmp_path_factory) -> Path:
    """18 accounts of the bundled sample: the 12 first value-oriented ones and 6 others."""
    from intake import load_accounts
    from segmentation import load_segmentation_config, segment_accounts

    checked = load_accounts(SAMPLE)
    seg = segment_accounts(checked.accounts, load_segmentation_config()).select("account_id", "segment")
    chosen = set(seg.filter(pl.col("segment") == "value_oriented")["account_id"].head(12)) | set(
        seg.filter(pl.col("segment") != "value_oriented")["account_id"].head(6))
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    keep = [lines[0]] + [line for line in lines[1:] if line.split(",", 1)[0] in chosen]
    path = tmp_path_factory.mktemp("list") / "customers.csv"
    path.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return path


def _nightly(customers: Path, db: Path, out: Path, run_id: str) -> dict:
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters
    return nightly(NightlyParameters(customers=customers, db=db, out=out, run_id=run_id, workers=2))


def test_runs_with_editions_held_out_rows_stable_arms_and_targeted_rerender(prefect_harness, small_list, tmp_path,
                                                                           monkeypatch):
    db, out = tmp_path / "gp.duckdb", tmp_path / "out"
    first = _nightly(small_list, db, out, "night-1")
    offers = q(db, "SELECT * FROM offers WHERE run_id = 'night-1' ORDER BY account_id")
    assert offers.height == 18
    held = offers.filter(pl.col("status") == "held_out")
    sent = offers.filter(pl.col("status") == "rendered")
    assert held.height > 0 and held.height + sent.height == 18
    assert held["path"].null_count() == held.height and held["experiment"].drop_nulls().len() == held.height
    assert not any((out / "night-1" / f"{a}.pdf").exists() for a in held["account_id"])
    assert sent["offer_no"].null_count() == 0 and sent["valid_until"].dtype == pl.Date
    assert (sent["valid_until"] - sent["issued_on"]).dt.total_days().unique().to_list() == [30]
    brand = sent.filter(pl.col("edition") == "brand_first")
    assert brand.height > 0
    text = pdftext(out / "night-1" / brand["path"][0])
    assert brand["offer_no"][0] in text and "可溯源的绿电与国际认可的绿证" in text
    assert "签约即赠年度碳减排报告一份" in text                     # the edition's promotion
    # the run recorded the editions file, and the summary carries the funnel
    assumptions = q(db, "SELECT assumptions FROM runs WHERE run_id = 'night-1'")["assumptions"][0]
    assert '"loop_files"' in assumptions and "editions.yaml" in assumptions
    all_row = next(r for r in first["funnel"] if r["dimension"] == "all")
    assert all_row["sent"] == sent.height and all_row["accepted"] == 0

    # the next night: same arms, same offer numbers, nothing re-rendered
    _nightly(small_list, db, out, "night-2")
    again = q(db, "SELECT account_id, status, edition, experiment, offer_no, issued_on FROM offers "
                  "WHERE run_id = 'night-2' ORDER BY account_id")
    assert again.filter(pl.col("status") != "held_out")["status"].unique().to_list() == ["unchanged"]
    before = offers.select("account_id", "edition", "experiment", "offer_no", "issued_on")
    assert again.drop("status").equals(before)

    # an edition's headline changes: exactly that edition's offers are rendered again, with new numbers
    data = tmp_path / "data"
    shutil.copytree(data_dir(), data, ignore=shutil.ignore_patterns("warehouse"))
    editions_file = data / "loop" / "editions.yaml"
    doc = yaml.safe_load(editions_file.read_text(encoding="utf-8"))
    doc["editions"]["value_oriented"]["brand_first"]["headline"] = "新的标题：可溯源绿电。"
    # keep the file's key order: the arms' order is the order of their boundaries (loop/README.md)
    editions_file.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("GREENPOWER_DATA", str(data))
    _nightly(small_list, db, out, "night-3")
    third = q(db, "SELECT account_id, status, edition, offer_no FROM offers WHERE run_id = 'night-3'")
    rendered = set(third.filter(pl.col("status") == "rendered")["account_id"])
    assert rendered == set(brand["account_id"])
    changed = third.join(before, on="account_id", suffix="_before").filter(pl.col("offer_no") != pl.col("offer_no_before"))
    assert set(changed["account_id"]) == rendered
    assert "新的标题" in pdftext(out / "night-3" / brand["path"][0])


def test_responses_flow_and_command_line(prefect_harness, small_list, tmp_path):
    from flows.cli import app
    from flows.responses import ResponsesParameters, responses

    db, out = tmp_path / "gp.duckdb", tmp_path / "out"
    _nightly(small_list, db, out, "night-1")
    sent = q(db, "SELECT offer_no FROM offers WHERE status = 'rendered' ORDER BY offer_no")["offer_no"].to_list()
    crm = tmp_path / "crm.csv"
    rows = [f"{response_code(no)},签约,2099-01-01" for no in sent[:1]]          # a date in the future: rejected
    rows += [f"{response_code(no)},约见,{dt_today()}" for no in sent[1:3]]
    crm.write_bytes(("方案编号,反馈结果,反馈日期\n" + "\n".join(rows) + "\n").encode("gbk"))
    result = responses(ResponsesParameters(file=crm, db=db))
    assert (result["accepted"], result["rejected"]) == (2, 1)
    assert q(db, "SELECT meeting FROM offer_funnel WHERE dimension = 'all'")["meeting"][0] == 2

    second = tmp_path / "crm2.csv"
    second.write_text(f"offer_no,outcome,responded_on\n{response_code(sent[1])},accepted,{dt_today()}\n",
                      encoding="utf-8")
    res = CliRunner().invoke(app, ["responses", "import", str(second), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "stored 1" in res.output and "offer funnel" in res.output
    assert q(db, "SELECT accepted FROM offer_funnel WHERE dimension = 'all'")["accepted"][0] == 1
    again = CliRunner().invoke(app, ["responses", "import", str(second), "--db", str(db)])
    assert again.exit_code == 0 and "already imported" in again.output
    missing = CliRunner().invoke(app, ["responses", "import", str(tmp_path / "nope.csv"), "--db", str(db)])
    assert missing.exit_code == 1 and "nope.csv" in missing.output and "Traceback" not in missing.output


def dt_today() -> str:
    import datetime as dt
    return dt.date.today().isoformat()
