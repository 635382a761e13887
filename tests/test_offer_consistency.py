"""offers.md "Consistency is tested": every offer of a real run (the nightly flow on the bundled sample, 300
accounts, real DuckDB file, real PDFs read back with pdftotext) against the database.

The run is made once per session and shared. The second run, over 300 synthetic accounts with the note's
assumption set, is its own module (test_offer_consistency_synthetic.py), so the two runs can go to different
test processes.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from gpengine.datafiles import data_dir
from offer_checks import check_all, check_offer, consistency_run, mode_name, pdf_keywords, pdf_pages

SAMPLE = data_dir() / "sample" / "customers.csv"


@pytest.fixture(scope="session")
def sample_run(prefect_harness, tmp_path_factory, data_without_experiments):
    # every account gets an offer here: no experiment holds a control arm out (conftest.py)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GREENPOWER_DATA", str(data_without_experiments))
        return consistency_run(SAMPLE, tmp_path_factory.mktemp("consistency"), "consistency-sample")


def test_every_offer_of_the_sample_run_agrees_with_the_database(sample_run):
    db, out, run, rows = sample_run
    assert len(rows) == 300 == run["offers_rendered"]
    bad = check_all(out, run, rows)
    assert not bad, f"{len(bad)} inconsistent offers, e.g. {next(iter(bad.items()))}"
    # the sample exercises what the checks are about
    assert {r["customer_type"] for r in rows} == {"large_industrial", "general_commercial", "residential"}
    assert any(r["pv_eligible"] and r["pv_mode"] == "self" for r in rows)
    assert any(r["pv_eligible"] and r["pv_mode"] == "third_party" for r in rows)
    assert any(r["loan_ratio"] > 0 and r["pv_eligible"] for r in rows)


def test_internal_ids_are_in_the_pdf_metadata(sample_run):
    db, out, run, rows = sample_run
    keywords = pdf_keywords(out / rows[0]["path"])
    assert f"run_id={run['run_id']}" in keywords and f"offer_no={rows[0]['offer_no']}" in keywords


def test_offer_numbers_are_unique_and_dated(sample_run):
    db, out, run, rows = sample_run
    assert len({r["offer_no"] for r in rows}) == len(rows)
    assert all(isinstance(r["issued_on"], dt.date) for r in rows)


def test_the_check_fails_when_the_recommendation_names_the_wrong_mode(sample_run, tmp_path):
    """Wire the recommendation sentence to the wrong column (the list's / old rule's mode instead of
    ``pv_best_mode``): the consistency check must notice."""
    from offers import context
    from offers.engine import get_renderer

    db, out, run, rows = sample_run
    row = next(r for r in rows if r["pv_eligible"] and r["list_pv_mode"] is None and r["pv_best_mode"] != "none")
    wrong = "self" if row["pv_best_mode"] == "third_party" else "third_party"
    import duckdb
    with duckdb.connect(str(db), read_only=True) as con:
        get = lambda t: con.sql(f"SELECT * FROM {t} WHERE run_id = $1 AND account_id = $2",  # noqa: E731
                                params=[run["run_id"], row["account_id"]]).pl().to_dicts()
        account, result, scenarios, segment = get("accounts")[0], get("results")[0], get("scenarios"), get("segments")[0]
    from offers.reps import load_reps
    from segmentation import load_segmentation_config
    playbooks = load_segmentation_config().playbooks
    assumptions = json.loads(run["assumptions"])
    contact = load_reps().contact_for(account["sales_rep"])

    def pdf_text(result_row: dict) -> list[str]:
        offer = context.build_offer(account, result_row, scenarios, segment, playbooks, assumptions, contact)
        meta = context.offer_meta(run["run_id"], run["rules_version"], "x", "0" * 64, row["issued_on"],
                                  row["account_id"], valid_until=row["valid_until"], offer_no=row["offer_no"])
        html = get_renderer().html({"offer": offer, "meta": meta})
        path = tmp_path / "offer.pdf"
        path.write_bytes(get_renderer().pdf(html)[0])
        return pdf_pages(path)

    assert check_offer(pdf_text(result), row, run) == []            # wired right: consistent
    problems = check_offer(pdf_text({**result, "pv_best_mode": wrong}), row, run)
    assert any(mode_name(row["pv_best_mode"], row["customer_type"] == "residential") in p for p in problems), problems
