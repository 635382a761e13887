"""Real offer PDFs, checked with poppler (pdftotext, pdffonts, pdfinfo): content, fonts, safety,
file names, incremental re-runs, failures, manifest. One process pool serves the whole module."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import polars as pl
import pytest

from offers import formatting as fmt
from offers.context import build_offer
from offers.demo import demo_run
from offers.filenames import offer_filename
from offers.manifest import write_manifest
from offers.render import OFFERS_SCHEMA, OfferPool, render_offers

pytestmark = pytest.mark.slow
DAY = dt.date(2025, 11, 22)
HOSTNAME = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "no-such-host"


def pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdffonts(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def pdfpages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def clone(run, src: str, new_id: str, **account_changes):
    """Copy one account's rows under a new id (and other account fields)."""
    def copy(df):
        return df.filter(pl.col("account_id") == src).with_columns(pl.lit(new_id).alias("account_id"))
    acc = copy(run.accounts).with_columns([pl.lit(v).alias(k) for k, v in account_changes.items()])
    run.accounts = pl.concat([run.accounts, acc])
    run.results = pl.concat([run.results, copy(run.results)])
    run.scenarios = pl.concat([run.scenarios, copy(run.scenarios)])
    run.segments = pl.concat([run.segments, copy(run.segments)])
    return run


def render(run, out, pool, previous=None):
    return render_offers(run.accounts, run.results, run.scenarios, run.segments, run.playbooks, run.assumptions,
                         run.run_id, run.rules_version, out, previous, pool=pool, issue_date=DAY)


@pytest.fixture(scope="module")
def pool():
    with OfferPool(workers=2) as p:
        yield p


@pytest.fixture(scope="module")
def secret(tmp_path_factory):
    folder = tmp_path_factory.mktemp("secret")
    svg = folder / "secret.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="9">SECRETTOKEN42</text></svg>')
    css = folder / "secret.css"
    css.write_text('body::before { content: "SECRETTOKEN42"; }')
    return svg, css


HOSTILE = {
    "HOSTILE-IMG": lambda s: f'<img src="file:///etc/hostname"><img src="{s[0].as_uri()}">有限公司',
    "HOSTILE-TABLE": lambda s: '</td></tr></table><script>alert(1)</script>商贸公司',
    "HOSTILE-CSS": lambda s: f'</style><style>@import url("{s[1].as_uri()}");</style>'
                             f'<div style="background:url(file:///etc/hostname)">x</div>',
}
ODD_IDS = ["../../x", "a/b", "CON", "Acc-1", "acc-1"]


@pytest.fixture(scope="module")
def first(pool, tmp_path_factory, secret):
    """Run A: one offer per segment, the extreme one, hostile names and odd ids."""
    run = demo_run()
    for account_id, name in HOSTILE.items():
        clone(run, "ZJ-0003", account_id, name=name(secret))
    for account_id in ODD_IDS:
        clone(run, "GD-0002", account_id)
    out = tmp_path_factory.mktemp("run") / "out" / "campaign-a"
    offers = render(run, out, pool)
    return run, out, offers


def text_of(first, account_id):
    run, out, offers = first
    path = offers.filter(pl.col("account_id") == account_id)["path"][0]
    return pdftotext(out / path)


def test_everything_rendered(first):
    run, out, offers = first
    assert offers.schema == pl.Schema(OFFERS_SCHEMA)
    assert offers["account_id"].to_list() == run.accounts["account_id"].to_list()
    assert offers["status"].to_list() == ["rendered"] * offers.height, offers.filter(pl.col("status") != "rendered")
    for r in offers.iter_rows(named=True):
        pdf = out / r["path"]
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size == r["bytes"]
        assert pdfpages(pdf) == r["pages"]
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("account_id", ["JS-0001", "GD-0002", "ZJ-0003", "XZ-0004"])
def test_offer_shows_customer_package_and_stored_figures(first, account_id):
    run, out, offers = first
    pick = lambda df: [r for r in df.iter_rows(named=True) if r["account_id"] == account_id]  # noqa: E731
    account, result, segment = pick(run.accounts)[0], pick(run.results)[0], pick(run.segments)[0]
    offer = build_offer(account, result, pick(run.scenarios), segment, run.playbooks, run.assumptions)
    units = offer["units"]
    text = text_of(first, account_id)
    assert flat(account["name"]) in flat(text)
    assert flat(run.playbooks[segment["segment"]]["package_name"]) in flat(text)
    assert fmt.money(result["bill_yuan"], units["money"]) in text
    assert fmt.energy(account["annual_kwh"], units["energy"]) in text
    assert fmt.money(result["green_cost_low_yuan"], units["money"]) in text
    assert fmt.pct(result["target_share"]) in text
    assert fmt.pct(result["green_share_achieved"]) in text
    if result["current_co2_t"] is not None:
        assert fmt.co2(result["current_co2_t"], units["co2"]) in text
    else:
        assert "暂无官方排放因子" in flat(text) and "暂缺数据" in flat(text)
    if result["pv_eligible"]:
        assert "屋顶光伏" in text and fmt.pct(result["pv_irr"]) in text
        assert fmt.kw(result["pv_capacity_kw"]) in text
    else:
        assert "投资回收期" not in text
    if result["gec_count"]:
        assert fmt.count(result["gec_count"]) + " 张" in text
    for heading in ("您的现状", "推荐方案", "成本与减排对比", "绿证与绿电交易", "方法与假设", "测算的局限"):
        assert heading in text
    assert "运行编号 demo-run" in text and "第1/" in flat(text)


def test_trial_only_in_the_responsibility_offer_of_a_non_buyer(first):
    assert "首次绿电体验周" in text_of(first, "ZJ-0003")
    assert "首次绿电体验周" not in text_of(first, "GD-0002")


def test_fonts_are_embedded_cjk_subsets_and_files_are_small(first):
    run, out, offers = first
    for r in offers.iter_rows(named=True):
        fonts = pdffonts(out / r["path"])
        assert 1 <= len(fonts) <= 2, fonts
        for font in fonts:
            assert "Noto-Sans-CJK-SC" in font[0] and re.match(r"^[A-Z]{6}\+", font[0])
            assert font[-5:-2] == ["yes", "yes", "yes"], font   # emb sub uni
        assert r["bytes"] <= 150 * 1024 and 2 <= r["pages"] <= 4
    assert offers["bytes"].median() <= 150 * 1024


def test_hostile_names_are_literal_text_and_fetch_nothing(first, secret):
    for account_id, name in HOSTILE.items():
        text = text_of(first, account_id)
        assert flat(name(secret)) in flat(text), account_id
        assert "SECRETTOKEN42" not in text
        assert HOSTNAME not in text.replace(flat(name(secret)), "")
    run, out, offers = first
    for r in offers.iter_rows(named=True):
        assert b"/Subtype /Image" not in (out / r["path"]).read_bytes()
        assert b"/EmbeddedFile" not in (out / r["path"]).read_bytes()


def test_odd_ids_stay_inside_the_folder_and_do_not_collide(first):
    run, out, offers = first
    paths = dict(zip(offers["account_id"], offers["path"], strict=True))
    for account_id in ODD_IDS:
        assert paths[account_id] == offer_filename(account_id)
        target = (out / paths[account_id]).resolve()
        assert target.parent == out.resolve() and target.is_file()
    assert paths["Acc-1"].casefold() != paths["acc-1"].casefold()
    assert len({p.casefold() for p in paths.values()}) == len(paths)
    assert sorted(p.name for p in out.iterdir()) == sorted(paths.values())   # nothing else, no sub-folders
    assert not (out.parent.parent / "x").exists() and not (out.parent / "x").exists()


def test_second_identical_run_renders_nothing(first, pool):
    run, out, offers = first
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.glob("*.pdf")}
    again = render(run, out, pool, previous=offers)
    assert again["status"].to_list() == ["unchanged"] * again.height
    assert again.select("account_id", "path", "sha256", "bytes", "pages", "content_hash").equals(
        offers.select("account_id", "path", "sha256", "bytes", "pages", "content_hash"))
    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.glob("*.pdf")}
    assert after == before


def test_one_folder_per_run_reuses_the_previous_files(first, pool):
    """Nightly runs in out/<run_id>/: unchanged offers are linked from the previous run's folder."""
    run, out, offers = first
    new_out = out.parent / "next-run"
    again = render_offers(run.accounts, run.results, run.scenarios, run.segments, run.playbooks, run.assumptions,
                          "next-run", run.rules_version, new_out, offers, pool=pool, previous_dir=out, issue_date=DAY)
    assert again["status"].to_list() == ["unchanged"] * again.height
    for r in again.iter_rows(named=True):
        assert (new_out / r["path"]).read_bytes() == (out / r["path"]).read_bytes()
        assert (new_out / r["path"]).stat().st_ino == (out / r["path"]).stat().st_ino   # a link, not a copy


def test_changed_figure_or_damaged_file_is_rendered_again(first, pool):
    run, out, offers = first
    changed = demo_run()
    changed.accounts, changed.results = run.accounts, run.results.with_columns(
        pl.when(pl.col("account_id") == "GD-0002").then(pl.col("bill_yuan") + 10_000)
        .otherwise(pl.col("bill_yuan")).alias("bill_yuan"))
    changed.scenarios, changed.segments = run.scenarios, run.segments
    damaged = out / offers.filter(pl.col("account_id") == "JS-0001")["path"][0]
    damaged.write_bytes(damaged.read_bytes() + b"\n% tampered")
    previous = offers.select("account_id", "content_hash", "path", "sha256", "pages")   # the minimal columns
    again = render(changed, out, pool, previous=previous)
    status = dict(zip(again["account_id"], again["status"], strict=True))
    assert status.pop("GD-0002") == "rendered" and status.pop("JS-0001") == "rendered"
    assert set(status.values()) == {"unchanged"}
    kept = again.filter(pl.col("status") == "unchanged").select("account_id", "pages")   # WeasyPrint's, kept
    assert kept.join(offers.select("account_id", "pages"), on="account_id").filter(
        pl.col("pages") != pl.col("pages_right")).height == 0 and kept["pages"].null_count() == 0
    new_sha = again.filter(pl.col("account_id") == "JS-0001")["sha256"][0]
    import hashlib
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == new_sha


def test_one_failing_offer_does_not_stop_the_others(pool, tmp_path):
    run = demo_run()
    clone(run, "ZJ-0003", "NO-RESULT")
    run.results = run.results.filter(pl.col("account_id") != "NO-RESULT")
    clone(run, "ZJ-0003", "DIR-BLOCK")
    clone(run, "ZJ-0003", "GOOD", name="=1+2 绿色商贸有限公司")
    keep = ["NO-RESULT", "DIR-BLOCK", "GOOD"]
    for name in ("accounts", "results", "scenarios", "segments"):
        setattr(run, name, getattr(run, name).filter(pl.col("account_id").is_in(keep)))
    out = tmp_path / "out"
    out.mkdir()
    (out / offer_filename("DIR-BLOCK")).mkdir()                          # the PDF cannot take its name
    (out / offer_filename("NO-RESULT")).write_bytes(b"%PDF- last run")   # stale: must not survive a failure
    offers = render(run, out, pool)
    by_id = {r["account_id"]: r for r in offers.iter_rows(named=True)}
    assert by_id["GOOD"]["status"] == "rendered" and by_id["GOOD"]["error"] is None
    assert by_id["NO-RESULT"]["status"] == "failed" and "no cost-model result" in by_id["NO-RESULT"]["error"]
    assert by_id["DIR-BLOCK"]["status"] == "failed" and "Error" in by_id["DIR-BLOCK"]["error"]
    assert by_id["DIR-BLOCK"]["content_hash"] and by_id["DIR-BLOCK"]["path"] is None
    assert not (out / offer_filename("NO-RESULT")).exists()
    assert not list(out.glob(".*.tmp"))

    manifest = write_manifest(offers, run.accounts, run.segments, out)
    raw = manifest.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "account,name,segment,file,sha256,status"
    assert len(lines) == 4
    good = next(line for line in lines if line.startswith("GOOD,"))
    assert good.split(",")[1] == "'=1+2 绿色商贸有限公司"
    assert good.split(",")[3] == offer_filename("GOOD") and good.endswith(",rendered")
    assert by_id["GOOD"]["sha256"] in good
    failed = next(line for line in lines if line.startswith("NO-RESULT,"))
    assert failed.split(",")[3] == "" and failed.endswith(",failed")
    assert not list(out.glob(".manifest*"))


def test_plan_then_render_jobs_in_process(tmp_path):
    """The split a distributed executor uses: plan on the driver, render_jobs in each task."""
    from offers.render import plan_offers, render_jobs
    run = demo_run()
    plan = plan_offers(run.accounts, run.results, run.scenarios, run.segments, run.playbooks, run.assumptions,
                       run.run_id, run.rules_version, tmp_path, issue_date=DAY)
    assert [j.account_id for j in plan.jobs] == run.accounts["account_id"].to_list() and plan.rows == []
    rows = render_jobs(plan.jobs[2:3], tmp_path)
    assert rows[0]["status"] == "rendered" and (tmp_path / rows[0]["path"]).is_file()
    assert rows[0]["content_hash"] == plan.jobs[2].content_hash


def test_a_killed_worker_is_replaced_and_the_run_completes(tmp_path):
    """A render process killed from outside while idle (OOM killer) is replaced; the run completes."""
    import signal
    import time
    run = demo_run()
    with OfferPool(workers=1) as own:
        pids = own.pids()
        os.kill(pids.pop(), signal.SIGKILL)
        time.sleep(0.5)
        offers = render(run, tmp_path, own)
    assert offers["status"].to_list() == ["rendered"] * 4


def test_a_worker_killed_mid_run_loses_no_offer(tmp_path):
    """Kill the only render process while it renders: its chunk is retried one offer at a time."""
    import signal
    import threading
    import time
    run = demo_run(n=4)
    with OfferPool(workers=1) as own:
        victim, = own.pids()

        def killer():
            deadline = time.time() + 60
            while time.time() < deadline and not list(tmp_path.glob("*.pdf")):
                time.sleep(0.02)
            os.kill(victim, signal.SIGKILL)

        thread = threading.Thread(target=killer)
        thread.start()
        offers = render(run, tmp_path, own)
        thread.join()
    assert offers["status"].to_list() == ["rendered"] * run.accounts.height
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == sorted(offers["path"].to_list())


def test_workers_are_recycled_after_their_share_of_documents_and_no_offer_is_lost(tmp_path):
    """A long run replaces its render processes (bounded memory over a million offers) without a gap."""
    run = demo_run(n=4)                                   # 8 offers: chunks of 4 for one worker
    with OfferPool(workers=1, recycle_after=3, chunk_size=4) as own:
        first = own.pids()
        offers = render(run, tmp_path, own)
        last = own.pids()
    assert offers["status"].to_list() == ["rendered"] * 8
    assert first.isdisjoint(last), "the process that rendered the first offers was replaced"
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == sorted(offers["path"].to_list())
