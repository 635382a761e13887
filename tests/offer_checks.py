"""What every offer PDF must say, checked against the database (offers.md "Consistency is tested").

:func:`load_run` reads one run's offers with the stored rows they were made from; :func:`check_offer`
reads one PDF back with ``pdftotext`` and returns every way its text disagrees with those rows. The
expected sentences are written here from the spec, independently of ``offers.context``; only the
number formatting (``offers.formatting``) is shared, because the offer must print the stored figure
exactly as formatted.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import duckdb

from offers import formatting as fmt
from offers.offer_number import response_code

REPAYMENT = {"annuity": "等额本息", "interest_only": "先息后本"}
SET_NAMES = ("cn-2025", "wri-2023")


def load_run(db: Path, run_id: str) -> tuple[dict, list[dict]]:
    """(the run row, one dict per rendered offer: offers + results + accounts columns and the output folder)."""
    with duckdb.connect(str(db), read_only=True) as con:
        run = con.sql("SELECT * FROM runs WHERE run_id = $1", params=[run_id]).pl().row(0, named=True)
        rows = con.sql(
            """SELECT o.account_id, o.path, o.offer_no, o.issued_on, o.valid_until, o.status, o.pages,
                      r.* EXCLUDE (account_id, run_id),
                      a.name, a.sales_rep, a.pv_mode AS list_pv_mode, a.renewable_target AS list_target,
                      a.market_share AS list_market_share, s.segment
               FROM offers o
               JOIN results r USING (run_id, account_id)
               JOIN accounts a USING (run_id, account_id)
               JOIN segments s USING (run_id, account_id)
               WHERE o.run_id = $1 AND o.status IN ('rendered', 'unchanged')
               ORDER BY o.account_id""", params=[run_id]).pl().to_dicts()
    return run, rows


def pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [p for p in text.split("\f") if p.strip()]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _change(low: float, high: float) -> str:
    """The headline's cost change (offers.md item 1), in the unit of the larger amount."""
    unit = fmt.money_unit(max(abs(low), abs(high)))
    m = lambda v: fmt.money(v, unit)  # noqa: E731
    if high <= 0:
        return f"节省 {fmt.span(m(-high), m(-low))} {unit}"
    if low >= 0:
        return f"多支出 {fmt.span(m(low), m(high))} {unit}"
    return f"节省 {m(-low)} {unit} 至多支出 {m(high)} {unit}"


def mode_name(mode: str, residential: bool) -> str:
    return {"self": "自行投资" if residential else "企业自投", "third_party": "第三方投资", "none": "不新建光伏"}[mode]


def body_lines(page: str, offer_no: str) -> list[str]:
    """Lines of a page without the running header and footer (they carry the offer number or the page count)."""
    out = []
    for line in page.splitlines():
        s = line.strip()
        if not s or offer_no in s or re.fullmatch(r"第\s*\d+\s*/\s*\d+\s*页", s) or s.endswith("绿色电力服务方案"):
            continue
        out.append(s)
    return out


def check_offer(pages: list[str], row: dict, run: dict, valid_days: int = 30) -> list[str]:
    """Every disagreement between one offer's text and its stored rows (empty: consistent)."""
    problems: list[str] = []
    text = "\n".join(pages)
    whole, first = flat(text), flat(pages[0])
    home = row["customer_type"] == "residential"

    def need(fragment: str, where: str = "text", haystack: str | None = None) -> None:
        if flat(fragment) not in (haystack if haystack is not None else whole):
            problems.append(f"{where}: {fragment!r} not found")

    # offer number, response code and dates, all on page 1
    offer_no = row["offer_no"]
    if not offer_no:
        return ["offers.offer_no is empty"]
    need(offer_no, "page 1", first)
    need(response_code(offer_no), "page 1", first)
    need(f"有效期至 {fmt.date_zh(row['valid_until'])}", "page 1", first)
    if row["valid_until"] != row["issued_on"] + dt.timedelta(days=valid_days):
        problems.append(f"valid_until {row['valid_until']} is not issued_on + {valid_days} days")

    # the headline: stored figures of the recommended mode
    need(_change(row["extra_cost_low_yuan"], row["extra_cost_high_yuan"]), "headline", first)
    need(fmt.pct(row["green_share_achieved"]), "headline", first)
    if row["co2_reduction_t"] is not None and row["co2_reduction_t"] > 0:
        need(fmt.tonnes(row["co2_reduction_t"]), "headline", first)
    need("尊敬的" + row["name"] + "：", "greeting", first)
    you, other = ("您", "贵司") if home else ("贵司", "您")
    if other in whole:
        problems.append(f"addresses the customer as {other!r} (expected {you!r} throughout)")
    if home and "企业自投" in whole:
        problems.append("offers a resident 企业自投")

    # the recommendation agrees with the figures beside it
    if row["pv_eligible"]:
        mode, best = row["pv_mode"], row["pv_best_mode"]
        need(f"推荐：{mode_name(mode, home)}", "PV recommendation")
        unit = fmt.money_unit(row["bill_yuan"])             # the document's unit: the PV table's column unit
        need(fmt.money(row["pv_npv_yuan"], unit), "PV NPV (table)")
        need(fmt.money(row["pv_third_party_npv_yuan"], unit), "third-party NPV (table)")
        if row["list_pv_mode"] is None:
            need(f"因此推荐{mode_name(best, home)}", "PV recommendation sentence")
            need(fmt.yuan(row["pv_npv_yuan"]), "PV NPV (sentence)")
            need(fmt.yuan(row["pv_third_party_npv_yuan"]), "third-party NPV (sentence)")
        if mode != best:                 # the list fixed another mode: the offer names the better one and its worth
            best_npv = row["pv_npv_yuan"] if best == "self" else row["pv_third_party_npv_yuan"]
            need(f"采用{mode_name(best, home)}" if mode == "none" else
                 f"{mode_name(best, home)}的净现值为 {fmt.yuan(best_npv)}", "the better mode")
            need(fmt.yuan(row["pv_best_mode_gain_yuan"]), "what the better mode adds")
        if row["pv_breakeven_year"]:
            need(f"第 {row['pv_breakeven_year']} 年", "break-even")
        need(fmt.kw(row["pv_capacity_kw"]), "PV capacity")
    elif "累计现金流" in whole or "、屋顶光伏" in whole:
        problems.append("a PV section for an account without eligible PV")

    # this account's own assumptions
    need(f"年用电量的 {fmt.pct(row['target_share'])}", "target")
    need(f"需补足绿电量的 {fmt.pct(row['market_share'])}", "market share")
    if row["pv_eligible"]:
        need(f"按电价的 {fmt.pct(row['third_party_discount'])}", "third-party discount")
        if row["loan_ratio"] > 0:
            need(f"贷款比例 {fmt.pct(row['loan_ratio'])}，年利率 {fmt.pct(row['loan_rate'], 2)}，"
                 f"{row['loan_years']} 年，{REPAYMENT[row['repayment']]}", "loan terms")
        else:
            need("不贷款", "loan terms")

    # sections only when they apply
    if ("、绿证与绿电交易" in whole) != (row["remaining_green_kwh"] > 0):     # the numbered section heading
        problems.append("certificate section shown/omitted against remaining_green_kwh")

    # internal codes only in the one reference line
    refs = [line for line in text.splitlines() if line.strip().startswith("内部参考")]
    if len(refs) != 1:
        problems.append(f"{len(refs)} reference lines (expected 1)")
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("内部参考"))
    for code in (run["run_id"], run["rules_version"][:12], *SET_NAMES, "None", "nan", "_yuan", "pv_mode"):
        if code and code in body:
            problems.append(f"internal code {code!r} in the body text")

    # no near-empty page
    for i, page in enumerate(pages, 1):
        n = len(body_lines(page, offer_no))
        if n < 5:
            problems.append(f"page {i} holds {n} lines")
    return problems


def pdf_keywords(path: Path) -> str:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Keywords:")), "")


def consistency_run(customers: Path, folder: Path, run_id: str, assumptions: str | None = None):
    """A real nightly run with PDFs (the flow, two render processes): (db, its offers folder, run, rows)."""
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters

    db = folder / "gp.duckdb"
    nightly(NightlyParameters(customers=customers, db=db, out=folder / "out", run_id=run_id, workers=2,
                              assumptions=assumptions))
    run, rows = load_run(db, run_id)
    return db, folder / "out" / run_id, run, rows


def check_all(out: Path, run: dict, rows: list[dict]) -> dict[str, list[str]]:
    """account_id -> its problems, for every offer of the run that disagrees with the database."""
    valid_days = json.loads(run["assumptions"])["offer_files"]["branding"]["valid_days"]
    bad = {}
    for row in rows:
        problems = check_offer(pdf_pages(out / row["path"]), row, run, valid_days)
        if problems:
            bad[row["account_id"]] = problems
    return bad
