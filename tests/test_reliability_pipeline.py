"""Numeric edges, the same input twice, and one bad offer — through the real nightly flow (in process,
under the session's Prefect harness), real DuckDB files and real WeasyPrint PDFs
(reliability.md "numerics", "same input twice", "one bad offer")."""
from __future__ import annotations

import pytest

from reliability_support import (customer_row, file_sha256, nonfinite_float_cells, q, read_manifest, run_rows,
                                 sample_rows, table_rows, write_customers)

pytestmark = pytest.mark.slow

EDGES = {   # account_id -> what makes it an edge (customer_row gives the rest: 江苏, large industrial, 5 GWh)
    "E-TINY": dict(annual_kwh="0.001", annual_bill_yuan="", roof_area_m2="0"),
    "E-TINY-ROOF": dict(annual_kwh="1e-3", annual_bill_yuan="0.0006", roof_area_m2="50000", pv_mode="self"),
    "E-HUGE": dict(annual_kwh="1e12", annual_bill_yuan="", roof_area_m2="1e8"),
    "E-HUGE-BILL": dict(annual_kwh="1,000,000,000,000", annual_bill_yuan="1e13", existing_pv_kwh="1e11"),
    "P0-EQUALS-E": dict(annual_kwh="2000000", existing_pv_kwh="2000000", annual_bill_yuan="0"),
    "ZERO-ROOF": dict(roof_area_m2="0", pv_mode="self"),
    "LOAN-100": dict(loan_ratio="100%", pv_mode="self", roof_area_m2="20000"),
    "RATE-0": dict(loan_ratio="0.7", loan_rate="0", roof_area_m2="20000"),
    "IO-1Y": dict(repayment="interest_only", loan_years="1", loan_ratio="0.8", roof_area_m2="20000"),
    "IO-25Y": dict(repayment="先息后本", loan_years="25", loan_ratio="0.8", loan_rate="0.5", roof_area_m2="20000"),
    "XIZANG": dict(province="西藏", roof_area_m2="5000"),
    "XIZANG-HUGE": dict(province="Xizang", annual_kwh="1e12", roof_area_m2="1e8", pv_mode="third_party"),
    "TARGET-0": dict(renewable_target="0", market_share="1"),
    "TARGET-1": dict(renewable_target="100%", market_share="0", third_party_discount="1"),
    "RESIDENT-TINY": dict(customer_type="居民", annual_kwh="0.001", annual_bill_yuan="", industry=""),
}
BAD = {   # rows that must be rejected (and so appear in rejects, identically in both runs)
    "BAD-ZERO": dict(annual_kwh="0"), "BAD-NAN": dict(annual_kwh="NaN"), "BAD-INF": dict(annual_bill_yuan="inf"),
    "BAD-HUGE": dict(annual_kwh="1e13"), "BAD-SHARES": dict(share_peak="0.5", share_flat="0.4"),
    "BAD-PV": dict(existing_pv_kwh="6000000"), "BAD-YEARS": dict(loan_years="0"),
}


def nightly(customers, db, out, run_id, workers=2) -> dict:
    from flows.nightly import nightly as flow
    from flows.parameters import NightlyParameters
    return flow(NightlyParameters(customers=customers, db=db, out=out, run_id=run_id, workers=workers))


@pytest.fixture(scope="module")
def twice(prefect_harness, tmp_path_factory):
    """The edge accounts (and some bad rows), run twice on the same file: real PDFs both times."""
    folder = tmp_path_factory.mktemp("edges")
    rows = [customer_row(k, **v) for k, v in EDGES.items()] + [customer_row(k, **v) for k, v in BAD.items()]
    path = write_customers(folder / "edges.csv", rows)
    db, out = folder / "gp.duckdb", folder / "out"
    first = nightly(path, db, out, "edges-1")
    second = nightly(path, db, out, "edges-2")
    return db, out, first, second


def results(db, run_id: str) -> dict[str, dict]:
    with __import__("duckdb").connect(str(db), read_only=True) as con:
        rel = con.execute("SELECT * FROM results WHERE run_id = ?", [run_id])
        names = [d[0] for d in rel.description]
        return {row["account_id"]: row for row in (dict(zip(names, r)) for r in rel.fetchall())}


def test_numeric_edges_store_no_nan_or_inf_and_null_with_a_flag(twice):
    db, out, first, _ = twice
    assert first["rows_accepted"] == len(EDGES) and first["rows_rejected"] == len(BAD)
    assert nonfinite_float_cells(db) == {}
    got = results(db, "edges-1")
    assert set(got) == set(EDGES)
    for account_id, r in got.items():
        flags = set(r["flags"])
        # undefined values are NULL, and say why
        assert (r["current_co2_t"] is None) == ("no_emission_factor" in flags), account_id
        eligible = r["pv_capacity_kw"] > 0
        if eligible:
            assert (r["pv_irr"] is None) == ("irr_undefined" in flags), account_id
        else:
            assert r["pv_irr"] is None and r["pv_npv_yuan"] is None and r["pv_payback_years"] is None, account_id
            assert r["pv_capex_yuan"] == 0 and "irr_undefined" not in flags
    for account_id in ("XIZANG", "XIZANG-HUGE"):
        r = got[account_id]
        assert r["province"] == "西藏自治区" and r["emission_factor_t_per_mwh"] is None
        assert r["current_co2_t"] is None and r["green_co2_t"] is None and r["co2_reduction_t"] is None
        assert r["green_cost_low_yuan"] is not None                 # the costs are still computed
    assert q(db, "SELECT count(*) FROM scenarios WHERE account_id LIKE 'XIZANG%' AND (green_co2_t IS NOT NULL "
                 "OR co2_reduction_t IS NOT NULL)") == [(0,)]
    assert got["LOAN-100"]["pv_equity_yuan"] == 0 and got["LOAN-100"]["pv_irr"] is None     # 100 % loan
    assert got["P0-EQUALS-E"]["grid_kwh"] == 0 and got["P0-EQUALS-E"]["avg_price_yuan_per_kwh"] > 0
    # the default set sizes PV by self-consumption (cost-model.md §2): no grid purchases, nothing to displace, no PV
    assert got["P0-EQUALS-E"]["pv_capacity_kw"] == 0 and got["P0-EQUALS-E"]["pv_mode"] == "none"
    assert got["P0-EQUALS-E"]["pv_payback_years"] is None and "pv_capped" not in got["P0-EQUALS-E"]["flags"]
    assert got["ZERO-ROOF"]["pv_mode"] == "none" and "pv_mode_infeasible" in got["ZERO-ROOF"]["flags"]
    assert got["E-TINY"]["grid_kwh"] == pytest.approx(1e-3) and got["E-TINY"]["bill_yuan"] > 0
    # sized to the 1e-3 kWh it uses, not to the 50,000 m² roof: year-1 output equals use, not capped
    assert got["E-TINY-ROOF"]["pv_capacity_kw"] < 1e-5 and "pv_capped" not in got["E-TINY-ROOF"]["flags"]
    assert got["E-TINY-ROOF"]["pv_roof_capacity_kw"] == pytest.approx(5000)
    assert got["E-HUGE"]["grid_kwh"] == 1e12 and got["E-HUGE"]["current_co2_t"] > 1e8
    for account_id in ("RATE-0", "IO-1Y"):
        assert got[account_id]["pv_irr"] is not None, account_id
    assert got["IO-25Y"]["pv_debt_service_y1_yuan"] == pytest.approx(0.5 * got["IO-25Y"]["pv_loan_yuan"])
    # every edge account also gets its offer, of normal length
    rows = q(db, "SELECT status, pages, error FROM offers WHERE run_id = 'edges-1'")
    assert len(rows) == len(EDGES) and all(s == "rendered" and 2 <= p <= 4 for s, p, _ in rows), rows


def test_rejected_edges_are_in_rejects_with_a_reason(twice):
    db, *_ = twice
    got = dict(q(db, "SELECT account_id, reason FROM rejects WHERE run_id = 'edges-1'"))
    assert set(got) == set(BAD) and all(reason.strip() for reason in got.values())


def test_same_input_twice_gives_identical_tables_and_renders_nothing(twice):
    db, out, first, second = twice
    for table, order in (("accounts", "account_id"), ("rejects", "row_number"), ("results", "account_id"),
                         ("scenarios", "account_id, pv_mode"), ("segments", "account_id")):
        a, b = table_rows(db, table, "edges-1", order), table_rows(db, table, "edges-2", order)
        assert a == b and a, table
    runs = run_rows(db)
    same = ("kind", "input_sha256", "rows_read", "rows_accepted", "rows_rejected", "assumptions", "rules_version",
            "code_version")
    assert {k: runs["edges-1"][k] for k in same} == {k: runs["edges-2"][k] for k in same}
    assert second["offers"] == {"unchanged": len(EDGES)} and runs["edges-2"]["offers_skipped"] == len(EDGES)
    assert runs["edges-2"]["offers_rendered"] == 0
    a = table_rows(db, "offers", "edges-1")
    b = table_rows(db, "offers", "edges-2")
    assert [r[:6] for r in a] == [r[:6] for r in b]            # account, path, sha256, bytes, pages, content hash
    # the files of both runs are byte-identical (the second run links the first run's files)
    for account_id, path, sha, *_ in b:
        assert file_sha256(out / "edges-1" / path) == file_sha256(out / "edges-2" / path) == sha
    assert [(m["account"], m["file"], m["sha256"]) for m in read_manifest(out / "edges-1")] == \
           [(m["account"], m["file"], m["sha256"]) for m in read_manifest(out / "edges-2")]
    # nothing duplicated by the second run
    for table in ("results", "accounts", "offers"):
        assert q(db, f"SELECT count(*), count(DISTINCT (run_id, account_id)) FROM {table}") == [(2 * len(EDGES),) * 2]


def test_one_bad_offer_is_recorded_failed_the_others_rendered_and_the_run_succeeds(prefect_harness, tmp_path):
    """A fault for one account's offer only: something already occupies its file name (here a folder), so its
    PDF cannot be written — the render of that offer fails; nothing else does."""
    from typer.testing import CliRunner

    from flows.cli import app
    from offers.filenames import offer_filename
    rows = sample_rows(4)
    path = write_customers(tmp_path / "customers.csv", rows)
    db, out = tmp_path / "gp.duckdb", tmp_path / "out"
    victim = rows[2]["account_id"]
    (out / "one-bad" / offer_filename(victim)).mkdir(parents=True)
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(db), "--out", str(out), "--run-id", "one-bad"])
    assert result.exit_code == 0, result.output
    assert "offers: failed 1, rendered 3" in result.output
    offers = {r[0]: r for r in q(db, "SELECT account_id, status, path, error FROM offers WHERE run_id = 'one-bad'")}
    assert offers[victim][1] == "failed" and offers[victim][2] is None and "Is a directory" in offers[victim][3]
    assert all(offers[r["account_id"]][1] == "rendered" for r in rows if r["account_id"] != victim)
    run = run_rows(db)["one-bad"]
    assert (run["status"], run["offers_rendered"], run["offers_failed"]) == ("succeeded", 3, 1)
    manifest = {m["account"]: m for m in read_manifest(out / "one-bad")}
    assert manifest[victim]["status"] == "failed" and manifest[victim]["file"] == ""
    assert q(db, "SELECT count(*) FROM latest_offers WHERE status = 'failed'") == [(1,)]

    # the obstacle gone, the next run renders only that offer and reuses the others
    (out / "one-bad" / offer_filename(victim)).rmdir()
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(db), "--out", str(out), "--run-id", "fixed"])
    assert result.exit_code == 0, result.output
    assert dict(q(db, "SELECT account_id, status FROM offers WHERE run_id = 'fixed'")) == {
        r["account_id"]: "rendered" if r["account_id"] == victim else "unchanged" for r in rows}
