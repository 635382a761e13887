"""The nightly and campaign flows under Prefect's test harness, on the bundled sample, real DuckDB files."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.datafiles import data_dir

SAMPLE = data_dir() / "sample" / "customers.csv"


def q(db: Path, sql: str, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def nightly_db(prefect_harness, tmp_path_factory):
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters

    folder = tmp_path_factory.mktemp("nightly")
    db = folder / "gp.duckdb"
    summary = nightly(NightlyParameters(customers=SAMPLE, db=db, out=folder / "out", render_pdf=False,
                                        run_id="night-1"))
    return db, summary


def test_nightly_flow_writes_every_table(nightly_db):
    db, summary = nightly_db
    assert summary["run_id"] == "night-1" and summary["rows_read"] == 300 and summary["rows_rejected"] == 0
    assert q(db, "SELECT status, kind, rows_read, rows_accepted, rows_rejected FROM runs") == [
        ("succeeded", "nightly", 300, 300, 0)]
    for table in ("accounts", "results", "segments"):
        assert q(db, f"SELECT count(*) FROM {table} WHERE run_id = 'night-1'") == [(300,)]
    n_scen = q(db, "SELECT count(*) FROM scenarios")[0][0]
    n_eligible = q(db, "SELECT count(*) FROM results WHERE pv_eligible")[0][0]
    assert n_scen == 300 + 2 * n_eligible
    # every segment appears, and the summary agrees with the database
    by_segment = dict(q(db, "SELECT segment, count(*) FROM latest_results GROUP BY 1"))
    assert set(by_segment) == {"compliance_driven", "value_oriented", "responsibility_driven"}
    assert {row["segment"]: row["accounts"] for row in summary["segments"]} == by_segment


def test_run_records_assumptions_rules_and_code_version(nightly_db):
    import json
    db, _ = nightly_db
    assumptions, rules_version, code_version, sha = q(
        db, "SELECT assumptions, rules_version, code_version, input_sha256 FROM runs")[0]
    record = json.loads(assumptions)
    assert record["name"] == "cn-2025" and record["values"]["gec_price_yuan_per_certificate"] == 5.0
    assert "reference/provinces.yaml" in record["reference"]["files"]
    assert len(rules_version) == 64 and code_version and len(sha) == 64


def test_segment_defaults_reach_the_cost_model(nightly_db):
    db, _ = nightly_db
    # value-oriented accounts without their own target get the RE100 playbook default 1.00 / 1.00
    rows = q(db, """SELECT r.target_share, r.market_share FROM results r
                    JOIN segments s USING (run_id, account_id) JOIN accounts a USING (run_id, account_id)
                    WHERE s.segment = 'value_oriented' AND a.renewable_target IS NULL AND a.market_share IS NULL""")
    assert rows and all(t == 1.0 and m == 1.0 for t, m in rows)
    # compliance-driven under cn-2025 (GEC 5 元 = 0.005 元/kWh < any premium): certificates, market share 0
    rows = q(db, """SELECT r.market_share FROM results r JOIN segments s USING (run_id, account_id)
                    JOIN accounts a USING (run_id, account_id)
                    WHERE s.segment = 'compliance_driven' AND a.market_share IS NULL""")
    assert rows and all(m == 0.0 for (m,) in rows)


def test_campaign_flow_selects_with_bound_filters(nightly_db, tmp_path):
    import shutil

    from flows.campaign import CampaignParameters, campaign
    db = tmp_path / "gp.duckdb"
    shutil.copy(nightly_db[0], db)
    summary = campaign(CampaignParameters(
        name="春季-江浙", db=db, out=tmp_path / "out", render_pdf=False, provinces=["江苏", "Zhejiang"],
        segments=["value_oriented", "compliance_driven"], gec_price=8.0))
    run_id = summary["run_id"]
    assert q(db, "SELECT kind, campaign FROM runs WHERE run_id = ?", [run_id]) == [("campaign", "春季-江浙")]
    provinces = {p for (p,) in q(db, "SELECT DISTINCT province FROM results WHERE run_id = ?", [run_id])}
    assert provinces <= {"江苏省", "浙江省"} and provinces
    segments = {s for (s,) in q(db, "SELECT DISTINCT segment FROM segments WHERE run_id = ?", [run_id])}
    assert segments <= {"value_oriented", "compliance_driven"}
    expected = q(db, """SELECT count(*) FROM latest_results WHERE province IN ('江苏省', '浙江省')
                        AND segment IN ('value_oriented', 'compliance_driven')""")[0][0]
    assert q(db, "SELECT count(*) FROM results WHERE run_id = ?", [run_id]) == [(expected,)]
    assert q(db, "SELECT json_extract(assumptions, '$.overrides.gec_price_yuan_per_certificate')::DOUBLE "
                 "FROM runs WHERE run_id = ?", [run_id]) == [(8.0,)]
    # the views keep showing the nightly run
    assert q(db, "SELECT count(*) FROM latest_results") == [(300,)]


def test_campaign_filter_values_are_data_not_sql(prefect_harness, tmp_path):
    """Hostile account ids exist in the list and are asked for by a campaign: they select exactly those
    accounts, are stored verbatim, and every table survives; an unknown province is refused by name."""
    from core.errors import UserError
    from flows.campaign import CampaignParameters, campaign
    from reliability_support import customer_row, sample_rows, write_customers

    hostile = ["'; DROP TABLE results; --", "x' OR '1'='1", 'a"; DELETE FROM runs; --']
    customers = write_customers(tmp_path / "c.csv", sample_rows(5) + [customer_row(h) for h in hostile])
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(hostile[:2]) + "\n", encoding="utf-8")
    db = tmp_path / "gp.duckdb"
    summary = campaign(CampaignParameters(name="inject", customers=customers, db=db, out=tmp_path / "out",
                                          render_pdf=False, accounts_file=ids, min_kwh=0))
    stored = {a for (a,) in q(db, "SELECT account_id FROM results WHERE run_id = ?", [summary["run_id"]])}
    assert stored == set(hostile[:2])
    assert q(db, "SELECT count(*) FROM runs") == [(1,)]
    assert q(db, "SELECT rows_read, rows_accepted FROM runs") == [(8, 8)]
    with pytest.raises(UserError, match="unknown province"):
        campaign(CampaignParameters(name="p", customers=customers, db=db, out=tmp_path / "o", render_pdf=False,
                                    provinces=["'; DROP TABLE results; --"]))
    assert q(db, "SELECT count(*) FROM results") == [(2,)]


def test_deployment_registers_with_cron_and_time_zone(prefect_harness, tmp_path):
    from prefect import get_client

    from flows.deployment import nightly_deployment
    from flows.parameters import NightlyParameters
    params = NightlyParameters(customers=SAMPLE, db=tmp_path / "gp.duckdb", out=tmp_path / "out")
    deployment_id = nightly_deployment(params, cron="30 1 * * *", timezone="Asia/Shanghai").apply()
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment(deployment_id)
    assert deployment.name == "nightly"
    [schedule] = deployment.schedules
    assert schedule.schedule.cron == "30 1 * * *"
    assert schedule.schedule.timezone == "Asia/Shanghai"
    assert deployment.parameters["params"]["customers"] == str(SAMPLE)
    # typed parameters: the UI form comes from this schema
    assert "customers" in str(deployment.parameter_openapi_schema)


def test_only_transient_io_errors_are_retried():
    import errno

    from prefect.states import Failed

    from flows.steps import _retry_if_transient, is_transient
    transient = [ConnectionResetError(), TimeoutError(), OSError(errno.EIO, "I/O error on the share")]
    permanent = [PermissionError(errno.EACCES, "denied"), FileNotFoundError(), NotADirectoryError(),
                 OSError(errno.ENOSPC, "No space left on device"), OSError(errno.EROFS, "read-only"),
                 ValueError("bad data"), RuntimeError("bug")]
    assert [is_transient(e) for e in transient] == [True] * len(transient)
    assert [is_transient(e) for e in permanent] == [False] * len(permanent)
    assert _retry_if_transient(None, None, Failed(data=ConnectionResetError())) is True
    assert _retry_if_transient(None, None, Failed(data=PermissionError())) is False
