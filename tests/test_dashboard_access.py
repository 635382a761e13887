"""Who sees what in the dashboard (reliability.md "Customer data protection"): sign-in from a users file with
Argon2-hashed passwords; a rep reaches only their own accounts by every route the dashboard offers — every
page, a filter set to another rep's province or name, the offer picker set to another rep's account, the
table downloads, the PDF lookup; an analyst sees residents' names masked and no PDFs; downloads are audited.
Through Streamlit's AppTest on the real warehouse of the dashboard tests, and as a real server process."""
from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import USERS_ENV, add_user, load_users, scope_for, verify
from dashboard.command import DB_ENV
from dashboard.data import Filters, Snapshot, offer_pdf

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
PAGES = {"机会": "screens/opportunities.py", "地区": "screens/regions.py", "细分变化": "screens/segment_changes.py",
         "转化": "screens/conversion.py"}
PASSWORD = "correct horse 42"


def sql(db: Path, query: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


@pytest.fixture(scope="module")
def setting(dashboard_warehouse, tmp_path_factory):
    db = dashboard_warehouse
    (rep, account, province), = sql(db, """SELECT sales_rep, account_id, province FROM latest_results
                                           WHERE sales_rep IS NOT NULL ORDER BY account_id LIMIT 1""")
    others = sql(db, """SELECT l.account_id, l.name, l.sales_rep, l.province FROM latest_results l
                        JOIN latest_offers o USING (account_id)
                        WHERE l.sales_rep IS DISTINCT FROM ? AND o.status = 'rendered' ORDER BY 1""", [rep])
    users = tmp_path_factory.mktemp("users") / "users.yaml"
    add_user(users, "boss", "manager", PASSWORD)
    add_user(users, "rep1", "rep", PASSWORD, sales_rep=rep)
    add_user(users, "ana", "analyst", PASSWORD)
    return {"db": db, "users": users, "rep": rep, "own": account, "province": province, "others": others}


def app(setting, monkeypatch, user: str | None) -> AppTest:
    monkeypatch.setenv(DB_ENV, str(setting["db"]))
    monkeypatch.setenv(USERS_ENV, str(setting["users"]))
    at = AppTest.from_file(str(APP), default_timeout=120)
    if user:
        at.session_state["gp_user"] = user
    return at.run()


def shown_accounts(at: AppTest) -> set[str]:
    out = set()
    for df in at.dataframe:
        frame = pl.from_pandas(df.value)
        for col in ("户号", "account_id"):
            if col in frame.columns:
                out |= set(frame[col].cast(pl.String).to_list())
    return out


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_passwords_are_argon2_hashes_and_verified(setting):
    text = setting["users"].read_text(encoding="utf-8")
    assert PASSWORD not in text and text.count("$argon2id$") == 3
    users = load_users(setting["users"])
    assert verify(users, "rep1", PASSWORD).role == "rep"
    assert verify(users, "rep1", "wrong") is None and verify(users, "nobody", PASSWORD) is None
    assert oct(setting["users"].stat().st_mode & 0o777) == "0o640"


def test_gp_dashboard_user_add_asks_twice_and_writes_a_hash(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app
    users = tmp_path / "etc" / "users.yaml"
    rep = CliRunner().invoke(app, ["dashboard-user", "add", "li.na", "--role", "rep", "--users", str(users)],
                             input="long enough 1\nlong enough 1\n")
    assert rep.exit_code == 2 and "a rep needs sales_rep" in rep.output and not users.exists()
    ok = CliRunner().invoke(app, ["dashboard-user", "add", "li.na", "--role", "rep", "--sales-rep", "李娜",
                                  "--users", str(users)], input="long enough 1\nlong enough 1\n")
    assert ok.exit_code == 0, ok.output
    found = load_users(users)
    assert found["li.na"].sales_rep == "李娜" and verify(found, "li.na", "long enough 1") is not None
    assert "long enough 1" not in users.read_text(encoding="utf-8")
    assert oct(users.stat().st_mode & 0o777) == "0o640" and oct(users.parent.stat().st_mode & 0o777) == "0o750"
    bad = CliRunner().invoke(app, ["dashboard-user", "add", "x", "--role", "boss", "--users", str(users)])
    assert bad.exit_code == 2 and "use one of manager, rep, analyst" in bad.output


def test_nothing_is_shown_before_sign_in_and_a_wrong_password_is_refused(setting, monkeypatch):
    at = app(setting, monkeypatch, None)
    no_errors(at)
    assert not at.metric and not at.dataframe and not at.sidebar.multiselect
    at.text_input[0].input("rep1")
    at.text_input[1].input("not the password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["用户名或密码不正确。"] and not at.metric
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    no_errors(at)
    assert {m.label: m.value for m in at.metric}["客户数"] == "1"


def test_a_rep_reaches_only_own_accounts_by_every_page_filter_and_pdf(setting, monkeypatch):
    rep, own = setting["rep"], setting["own"]
    other, other_name, other_rep, other_province = setting["others"][0]
    at = app(setting, monkeypatch, "rep1")
    no_errors(at)
    assert {m.label: m.value for m in at.metric}["客户数"] == "1"
    assert [ms.options for ms in at.sidebar.multiselect if ms.label == "客户经理"][0] == [f"{rep}（1）"]
    for title, path in PAGES.items():
        at.switch_page(path).run()
        no_errors(at)
        assert shown_accounts(at) <= {own}, title
        assert other_name not in str([df.value.to_dict() for df in at.dataframe]), title
    # a crafted session: another rep's name and province as filters, another rep's account in the offer picker
    at.session_state["f_sales_rep"] = [other_rep or ""]
    at.session_state["f_province"] = [other_province]
    at.session_state["opp_offer"] = other
    at.switch_page(PAGES["机会"]).run()
    no_errors(at)
    assert shown_accounts(at) <= {own}
    at.session_state["lead_rep"] = other_rep or ""             # the 转化 page's own rep picker, crafted
    at.switch_page(PAGES["转化"]).run()
    no_errors(at)
    assert shown_accounts(at) <= {own} and other_name not in str([df.value.to_dict() for df in at.dataframe])
    assert all(b.label != "打开报价单 PDF" or other not in str(b) for b in at.get("download_button"))
    # the PDF lookup itself, and every account-level query, under the rep's scope
    scope = scope_for(load_users(setting["users"])["rep1"])
    with Snapshot(setting["db"]) as snap:
        latest = snap.query("runs").filter(pl.col("is_latest"))["run_id"][0]
        mine = Filters(run_id=latest, scope=scope)
        assert offer_pdf(snap, mine, other) is None
        assert offer_pdf(snap, Filters(run_id=latest), other) is not None       # the manager's scope: served
        for name in ("opportunities", "segment_changes", "filter_options", "regions", "overview_segments",
                     "lead_list"):
            frame = snap.query(name, {**mine.params(), "order": "npv", "limit": 10_000, "rep": other_rep})
            for col in ("account_id", "sales_rep"):
                if col in frame.columns:
                    assert set(frame[col].drop_nulls().to_list()) <= {own, rep}, name
            if name == "filter_options":
                assert set(frame.filter(pl.col("filter") == "sales_rep")["value"]) == {rep}
                assert set(frame.filter(pl.col("filter") == "province")["value"]) == {setting["province"]}


def test_an_analyst_sees_residents_masked_and_no_pdf(setting, monkeypatch):
    residents = {r[0] for r in sql(setting["db"], "SELECT name FROM latest_results WHERE customer_type = 'residential'")}
    assert residents
    at = app(setting, monkeypatch, "ana")
    at.switch_page(PAGES["机会"]).run()
    no_errors(at)
    text = str([df.value.to_dict() for df in at.dataframe])
    assert not any(name in text for name in residents)
    assert not any(b.label == "打开报价单 PDF" for b in at.get("download_button"))
    assert "分析员角色不提供" in str([i.value for i in at.info])
    for title in ("细分变化", "转化"):
        at.switch_page(PAGES[title]).run()
        no_errors(at)
        assert not any(name in str([df.value.to_dict() for df in at.dataframe]) for name in residents), title


def test_a_download_is_audited_when_made(setting, monkeypatch, tmp_path):
    from dashboard import ui
    from warehouse.audit import audit_path
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv(DB_ENV, str(db))
    monkeypatch.setattr(ui, "who_is_looking", lambda: "rep1")
    data = ui.audited(lambda: b"xlsx bytes", "dashboard table opportunities: run d2", 7, "机会_d2.xlsx")
    assert not audit_path(db).exists()                  # nothing recorded until the button is clicked
    assert data() == b"xlsx bytes"
    assert sql(audit_path(db), "SELECT who, via, action, what, target, rows FROM audit_log") == [
        ("rep1", "dashboard", "export", "dashboard table opportunities: run d2", "机会_d2.xlsx", 7)]


# ------------------------------------------------------------------ the real server process

def exported_by(db: Path, who: str) -> bool:
    from warehouse.audit import audit_path
    try:
        return bool(sql(audit_path(db), "SELECT count(*) FROM audit_log WHERE who = ? AND via = 'dashboard' "
                                        "AND what LIKE 'dashboard table overview_segments:%' AND rows > 0", [who])[0][0])
    except duckdb.Error:          # not written yet, or the server is writing it this moment
        return False


def test_gp_dashboard_refuses_to_listen_beyond_loopback_without_users(tmp_path):
    from reliability_support import gp_command, gp_env
    proc = subprocess.run([*gp_command(), "dashboard", "--db", str(tmp_path / "x.duckdb"), "--host", "0.0.0.0"],
                          capture_output=True, text=True, env=gp_env(), timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "refusing to listen on 0.0.0.0 without sign-in" in lines[0] and "--users" in lines[0]


@pytest.mark.slow
def test_a_served_dashboard_shows_a_rep_only_their_accounts(setting, tmp_path):
    from dashboard.browser import Browser
    from reliability_support import kill_group, spawn_gp, gp_env, wait_for
    from test_dashboard_server import ensure_chromium, free_port, serving
    ensure_chromium()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = spawn_gp(["dashboard", "--db", setting["db"], "--port", port, "--users", setting["users"]],
                      cwd=tmp_path, env=gp_env())
    try:
        wait_for(lambda: serving(url), server, timeout=180, poll=0.5, what="the dashboard to listen")
        with pytest.raises(urllib.error.HTTPError) as missing:      # media URLs are not guessable paths
            urllib.request.urlopen(url + "media/" + "0" * 56 + ".pdf", timeout=10)
        assert missing.value.code == 404
        with Browser(1400, 900) as browser:
            for path in ("", "opportunities"):                      # every page asks for a sign-in first
                browser.goto(url + path)
                browser.wait_until_done("登录", timeout=180)
                text = browser.text()
                assert "客户数" not in text and "机会客户" not in text
            browser.eval("document.querySelectorAll('input')[0].focus()")
            browser.call("Input.insertText", text="rep1")
            browser.eval("document.querySelectorAll('input')[1].focus()")
            browser.call("Input.insertText", text=PASSWORD)
            browser.eval("[...document.querySelectorAll('button')].find(b => b.innerText.includes('登录')).click()")
            browser.wait_until_done("本次运行情况", timeout=180)
            text = browser.text()
            assert "已登录：rep1" in text and ("客户数\n\n1" in text or "客户数\n1" in text)
            assert browser.error_boxes() == 0
            assert all(name not in text for _, name, _, _ in setting["others"])
            # a table's Excel download, made by the server when clicked, is in the audit log under the user's name
            browser.eval("[...document.querySelectorAll('button')].find(b => b.innerText.includes('导出 Excel')).click()")
            wait_for(lambda: exported_by(setting["db"], "rep1"), server, timeout=60, poll=0.5,
                     what="the download's audit entry")
    finally:
        kill_group(server)
        server.communicate()
