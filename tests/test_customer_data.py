"""Customer data protection (reliability.md "Customer data protection"), on one real history of runs:

a nightly run with PDFs (one offer fails), a campaign, a CRM response import, the same nightly again
(unchanged offers linked from the first run), a `gp query` export and a backup — under umask 022, with
two accounts whose name, kWh and bill are distinctive. Then: nothing the system created is readable or
writable by others; Prefect's logs, the run artifacts and the command's output carry none of those
values; exports are in the audit log; and `gp forget` removes one account from every table and file
while every other account's rows and files stay as they were.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import stat
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from reliability_support import customer_row, q, sample_rows, write_customers

pytestmark = pytest.mark.slow

PRIVATE = customer_row("PRIV-7731", name="隐私测试甲乙丙丁有限公司", annual_kwh="7654321",
                       annual_bill_yuan="4567891.23", province="江苏省", sales_rep="王磊")
FAILING = customer_row("FAIL-8842", name="渲染失败戊己庚辛有限公司", annual_kwh="8765432",
                       annual_bill_yuan="5678912.34", province="浙江省", sales_rep="陈静")
# what must never appear in a log, an artifact or the command's output
SECRETS = ("隐私测试甲乙丙丁", "渲染失败戊己庚辛", "7654321", "7,654,321", "4567891", "4,567,891", "8765432",
           "8,765,432", "5678912", "5,678,912", "025-8420 1001", "025-8420 1002", "rep1001@", "rep1002@")


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001
            self.lines.append(str(record.msg))


def cli(*args: str) -> str:
    from flows.cli import app
    result = CliRunner().invoke(app, list(args))
    os.umask(0o022)                   # the command tightened this process's umask: the next steps run under 022 again
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def history(prefect_harness, tmp_path_factory):
    from flows.campaign import CampaignParameters, campaign
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters
    from flows.responses import import_file
    from offers.filenames import offer_filename
    from offers.offer_number import response_code

    root = tmp_path_factory.mktemp("customer-data")
    old_umask = os.umask(0o022)
    handler = Collect()
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        ours = {write_customers(root / "customers.csv", [*sample_rows(3), PRIVATE, FAILING])}
        db, out = root / "db" / "gp.duckdb", root / "out"
        blocker = out / "night-1" / offer_filename(FAILING["account_id"])
        blocker.mkdir(parents=True)   # the failing account's PDF cannot be written: a failed offer
        for p in (out, out / "night-1", blocker):
            p.chmod(0o750)
        first = nightly(NightlyParameters(customers=root / "customers.csv", db=db, out=out, run_id="night-1",
                                          workers=1))
        blocker.rmdir()
        spring = campaign(CampaignParameters(name="spring", db=db, out=out, provinces=["江苏省"], workers=1))
        offer_no = q(db, "SELECT offer_no FROM offers WHERE run_id = 'night-1' AND account_id = ?",
                     [PRIVATE["account_id"]])[0][0]
        crm = root / "crm.csv"
        crm.write_text(f"offer_no,outcome,responded_on,note\n{response_code(offer_no)},meeting,"
                       f"{dt.date.today().isoformat()},call back\n", encoding="utf-8")
        ours.add(crm)
        imported = import_file(crm, db)
        output = cli("run", str(root / "customers.csv"), "--db", str(db), "--out", str(out),
                     "--run-id", "night-2", "--workers", "1")
        export = root / "exports" / "latest.csv"
        export.parent.mkdir(mode=0o750)
        ours.add(export.parent)
        output += cli("query", "SELECT account_id, name FROM latest_results", "--db", str(db), "--csv", str(export))
        from warehouse.operations import backup
        backup(db, root / "backups" / "b1")
        from prefect.logging.handlers import APILogHandler
        APILogHandler().flush()
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
        os.umask(old_umask)
    return {"root": root, "db": db, "out": out, "first": first, "spring": spring, "imported": imported,
            "output": output, "console": handler.lines, "ours": ours, "export": export}


def created_paths(root: Path, ours: set[Path]):
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            p = Path(dirpath, name)
            if p not in ours:
                yield p


def test_nothing_the_pipeline_created_is_readable_by_others(history):
    assert history["imported"]["accepted"] == 1
    assert history["first"]["offers"].get("failed") == 1
    paths = list(created_paths(history["root"], history["ours"]))
    kinds = {p.suffix or p.name.split(".")[-1] for p in paths}
    assert {".pdf", ".csv", ".duckdb", ".parquet", ".json", ".lock"} <= kinds, kinds
    assert any(".gen-" in p.name for p in paths)            # a generation
    assert any(os.stat(p).st_nlink > 1 for p in paths if p.suffix == ".pdf")   # linked unchanged offers
    loose = {str(p.relative_to(history["root"])): oct(stat.S_IMODE(os.lstat(p).st_mode))
             for p in paths if os.lstat(p).st_mode & 0o007}
    assert loose == {}
    wrong = {str(p.relative_to(history["root"])): oct(stat.S_IMODE(os.lstat(p).st_mode)) for p in paths
             if stat.S_IMODE(os.lstat(p).st_mode) != (0o750 if p.is_dir() else 0o640)}
    assert wrong == {}


def test_logs_artifacts_and_output_carry_no_customer_data(history):
    from prefect.client.orchestration import get_client
    with get_client(sync_client=True) as client:
        logs, offset = [], 0
        while True:
            page = client.read_logs(limit=200, offset=offset)
            logs += [f"{log.name}: {log.message}" for log in page]
            offset += len(page)
            if len(page) < 200:
                break
        artifacts = [f"{a.key}: {a.description}: {a.data}" for a in client.read_artifacts()]
    assert any("night-2" in line for line in logs) and any("run-summary" in a or "summary" in a for a in artifacts)
    assert any("progress" in a for a in artifacts)
    texts = {"prefect logs": "\n".join(logs), "artifacts": "\n".join(artifacts),
             "console logs": "\n".join(history["console"]), "command output": history["output"]}
    found = {(where, s) for where, text in texts.items() for s in SECRETS if s in text}
    assert found == set()


def test_an_export_is_in_the_audit_log_without_its_rows(history):
    from warehouse.audit import audit_path
    con = duckdb.connect(str(audit_path(history["db"])), read_only=True)
    try:
        rows = con.execute("SELECT who, via, action, what, target, rows FROM audit_log").fetchall()
    finally:
        con.close()
    [(who, via, action, what, target, n)] = rows
    assert (via, action, target, n) == ("cli", "export", "latest.csv", 5)
    assert who and "SELECT account_id, name FROM latest_results" in what
    assert history["export"].read_bytes().count(b"\n") == 6
    audited = cli("query", "SELECT action, target, rows FROM audit_log", "--audit", "--db", str(history["db"]))
    assert "latest.csv" in audited


# ------------------------------------------------------------------ gp forget

def _hashes(folders: list[Path]) -> dict[str, str]:
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _other_rows(db: Path, gone: str) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                            "ORDER BY 1").fetchall()]
        out = {}
        for t in tables:
            if t == "overview_cube":    # sums over accounts: checked against a fresh sum after forgetting
                continue
            cols = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
                                              [t]).fetchall()]
            where = "WHERE account_id IS DISTINCT FROM ?" if "account_id" in cols else "WHERE ? IS NOT NULL"
            out[t] = sorted(map(repr, con.execute(f'SELECT * FROM "{t}" {where}', [gone]).fetchall()))
        return out
    finally:
        con.close()


def _cube_is_summed_again(db: Path) -> None:
    """The dashboard's per-run sums hold the other accounts only: equal to summing the runs afresh."""
    import shutil
    import tempfile

    from warehouse.overview import record_overview
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.duckdb"
        shutil.copy(db, copy)
        con = duckdb.connect(str(copy))
        try:
            stored = sorted(map(repr, con.execute("SELECT * FROM overview_cube").fetchall()))
            for (run_id,) in con.execute("SELECT DISTINCT run_id FROM overview_cube").fetchall():
                record_overview(con, run_id)
            assert sorted(map(repr, con.execute("SELECT * FROM overview_cube").fetchall())) == stored
            assert stored
        finally:
            con.close()


def test_gp_forget_removes_one_account_from_every_table_and_file(history):
    from offers.filenames import offer_filename
    db, out = history["db"], history["out"]
    gone, name, kwh = PRIVATE["account_id"], PRIVATE["name"], 7654321.0
    name_pdf = offer_filename(gone)
    assert len(list(out.rglob(name_pdf))) == 3          # night-1, the campaign, night-2 (a hard link)
    assert q(db, "SELECT count(*) FROM responses WHERE account_id = ?", [gone]) == [(1,)]
    before_rows = _other_rows(db, gone)
    before_files = {p: h for p, h in _hashes([out]).items() if not p.endswith((name_pdf, "manifest.csv"))}

    said = cli("forget", gone, "--reason", f"PIPL request 2026-117 ({gone})", "--db", str(db))
    assert "deleted" in said and "removed 3 offer files" in said

    con = duckdb.connect(str(db), read_only=True)
    try:
        hits = []
        for t, c, typ in con.execute("SELECT table_name, column_name, data_type FROM duckdb_columns() "
                                     "WHERE schema_name = 'main'").fetchall():
            if typ == "VARCHAR" or typ == "JSON":
                n = con.execute(f'SELECT count(*) FROM "{t}" WHERE contains("{c}", ?) OR contains("{c}", ?)',
                                [gone, name]).fetchone()[0]
            elif typ in ("DOUBLE", "BIGINT", "INTEGER", "DECIMAL(18,3)", "FLOAT"):
                n = con.execute(f'SELECT count(*) FROM "{t}" WHERE "{c}" = ?', [kwh]).fetchone()[0]
            else:
                continue
            if n:
                hits.append((t, c, n))
    finally:
        con.close()
    assert hits == []
    for folder in (out, db.parent):
        for p in folder.rglob("*"):
            if p.is_file():
                data = p.read_bytes()
                for word in (gone, name, "7654321"):
                    assert word.encode("utf-8") not in data, (p, word)
                assert name_pdf not in p.name
    assert _other_rows(db, gone) == before_rows                        # every other account's rows
    _cube_is_summed_again(db)
    after_files = _hashes([out])
    assert {p: after_files.get(p) for p in before_files} == before_files   # every other file, byte for byte
    for manifest in out.rglob("manifest.csv"):                        # other accounts' lines kept
        assert FAILING["account_id"].encode() in manifest.read_bytes() or "spring" in str(manifest)

    from warehouse.audit import audit_path
    con = duckdb.connect(str(audit_path(db)), read_only=True)
    try:
        entry = con.execute("SELECT what, rows FROM audit_log WHERE action = 'forget'").fetchall()
    finally:
        con.close()
    assert len(entry) == 1 and "PIPL request 2026-117" in entry[0][0] and entry[0][1] > 0
