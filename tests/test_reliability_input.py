"""Bad input at scale, end to end into a real DuckDB file (reliability.md "malformed rows", "unreadable files").

1. Hypothesis draws pools of messy and plausible cell values; each example expands them into a real
   CSV file of thousands of rows (wrong types, blanks, negative and huge numbers, NaN/inf, shares that
   do not sum to 1, unknown provinces, duplicate IDs, long odd Unicode, HTML and SQL), which goes
   through load → validate → segment → cost model → a real warehouse run. Nothing crashes,
   read = accepted + rejected, every row is in exactly one place, every reject has a reason, no
   float column of any table holds NaN/inf, and text comes back from DuckDB exactly as it went in.
2. A fuzz pass corrupts whole files (truncated, bit flips, binary junk, wrong encodings, huge lines,
   files whose name lies about their format): the loader either gives a clean ``InputFileError``
   naming the file in one line, or a valid result — never any other exception.
3. Through the command line, an unreadable file stops the run with one message and exit code 1,
   leaving an existing warehouse byte for byte as it was.
"""
from __future__ import annotations

import csv
import io
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from account_rows import csv_cell_text as cell_text
from flows.frames import stored_accounts, stored_segments, with_segment_columns
from gpengine.assumptions import load_assumptions
from gpengine.model import compute
from gpengine.reference import load_reference
from intake import load_accounts
from intake.columns import INPUT_COLUMNS
from intake.errors import InputFileError
from reliability_support import (customer_row, file_sha256, nonfinite_float_cells, q, run_rows, sample_rows,
                                 write_customers)
from segmentation import load_segmentation_config, segment_accounts
from warehouse import Warehouse

REF = load_reference()
SEG = load_segmentation_config()
SETS = {name: load_assumptions(name) for name in ("cn-2025", "wri-2023")}
PROVINCE_NAMES = sorted(REF.aliases)          # full names, short names, pinyin, aliases (casefolded)

# ------------------------------------------------------------------ value pools

odd_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
long_text = st.builds(lambda s, n: s * n, st.sampled_from(["啊", "𪚥", "\u200b", "<", "ｘ", "é", "'", "\u202e"]),
                      st.integers(100, 2000))
hostile = st.sampled_from([
    '<img src="file:///etc/passwd">', "</td></tr></table><script>alert(1)</script>", "'; DROP TABLE results; --",
    "x' OR '1'='1", 'background:url("file:///etc/hostname")', "=HYPERLINK(\"http://x\")", "\\\\server\\share",
    "Robert'); DROP TABLE accounts;--", "${jndi:ldap://x}", "{{ 7*7 }}", "{% raw %}", "%s%s%n", "\x1b[31mred",
])
nasty = st.sampled_from([
    "", " ", "\t", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "-0", "0", "-1", "1,2", "1,,000",
    "30%", "130%", "-5%", "1.5", "１２３", "１，２３４", "1e308", "-1e308", "5e-324", "9" * 400, "0x10", "1_000",
    "是", "否", "maybe", "火星", "台湾", "N/A", "null", "None", "-", "—", "(空)", "a\nb", '"', "\ufeff", "\u3000",
    "TRUE", "yes", "2", "0.5.5", "+", "e5", ".", "1e", "١٢٣",
])
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.floats(-1e15, 1e15).map(lambda x: f"{x:,.2f}"),
)
messy = st.one_of(nasty, hostile, odd_text, long_text, numbers)


def fraction_text(x: float) -> st.SearchStrategy[str]:
    return st.sampled_from([repr(x), f"{x:.3f}", f"{x * 100:.1f}%"])


fraction = st.floats(0, 1).flatmap(fraction_text)
GOOD = {
    "name": st.one_of(st.sampled_from(["江苏华能电子有限公司", "绿色商贸", "A&B <Co>", "O'Brien 公司"]), odd_text,
                      long_text, hostile),
    "province": st.one_of(st.sampled_from(PROVINCE_NAMES + ["江苏省", "西藏自治区", "XIZANG", " guangdong "])),
    "customer_type": st.sampled_from(["large_industrial", "general_commercial", "residential", "大工业", "一般工商业",
                                      "居民"]),
    "industry": st.one_of(st.sampled_from(["", "电解铝", "通信设备制造", "软件和信息技术服务业", "钢铁", "数据中心",
                                           "食品加工"]), odd_text, hostile),
    "annual_kwh": st.one_of(st.floats(1e-3, 1e12).map(repr), st.integers(1, 10**12).map(lambda x: f"{x:,}"),
                            st.sampled_from(["1e-3", "1e12", "１２３４５", "0.001"])),
    "annual_bill_yuan": st.one_of(st.just(""), st.floats(0, 1e12).map(repr), st.just("0")),
    "existing_pv_kwh": st.one_of(st.just(""), st.just("0"), st.floats(0, 1e7).map(repr)),
    "renewable_target": st.one_of(st.just(""), fraction),
    "roof_area_m2": st.one_of(st.just(""), st.just("0"), st.floats(0, 1e8).map(repr)),
    "pv_mode": st.sampled_from(["", "self", "third_party", "none", "自投", "第三方", "无"]),
    "loan_ratio": st.one_of(st.just(""), st.just("1"), st.just("100%"), fraction),
    "loan_rate": st.one_of(st.just(""), st.just("0"), st.just("0.5"), st.floats(0, 0.5).map(repr)),
    "loan_years": st.one_of(st.just(""), st.sampled_from(["1", "25", "10"]), st.integers(1, 25).map(str)),
    "repayment": st.sampled_from(["", "annuity", "interest_only", "等额本息", "先息后本"]),
    "third_party_discount": st.one_of(st.just(""), st.just("1"), st.floats(0.01, 1).map(repr)),
    "market_share": st.one_of(st.just(""), fraction),
    "sales_rep": st.one_of(st.just(""), odd_text, hostile),
    **{c: st.sampled_from(["", "是", "否", "Y", "N", "true", "false", "1", "0"])
       for c in ("high_energy", "is_exporter", "is_listed", "has_esg_report", "re100_member", "buys_green_power",
                 "roof_owned")},
}
SHARES = ("share_sharp", "share_peak", "share_flat", "share_valley")
share_tuple = st.one_of(
    st.tuples(*[st.floats(0, 1)] * 4).filter(lambda s: sum(s) > 0.05).map(lambda s: tuple(x / sum(s) for x in s)),
    st.tuples(*[st.floats(0, 1)] * 4),                                      # mostly not summing to 1
    st.tuples(*[st.floats(0, 1)] * 4).filter(lambda s: sum(s) > 0.05)      # within the 0.01 tolerance, or just off
    .map(lambda s: tuple(x / sum(s) for x in s)).flatmap(
        lambda s: st.sampled_from([0.995, 1.005, 1.0099, 0.98, 1.02]).map(lambda k: tuple(x * k for x in s))),
)


@st.composite
def customer_lists(draw):
    """(n rows, seed, per-column pools, bad-cell rate, duplicate share, encoding)."""
    good = {c: draw(st.lists(s, min_size=1, max_size=6)) for c, s in GOOD.items()}
    bad = {c: draw(st.lists(messy, min_size=1, max_size=4)) for c in INPUT_COLUMNS}
    shares = draw(st.lists(share_tuple, min_size=1, max_size=5))
    odd_ids = draw(st.lists(st.one_of(odd_text, hostile, long_text), max_size=5))
    return dict(n=draw(st.integers(1000, 3000)), seed=draw(st.integers(0, 2**32 - 1)), good=good, bad=bad,
                shares=shares, odd_ids=odd_ids, bad_rate=draw(st.sampled_from([0.0, 0.002, 0.01, 0.05, 0.3])),
                duplicates=draw(st.sampled_from([0.0, 0.01, 0.2])),
                encoding=draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"])),
                set_name=draw(st.sampled_from(sorted(SETS))))


def build_rows(spec: dict) -> list[list[str]]:
    rng = np.random.default_rng(spec["seed"])
    n, bad_rate = spec["n"], spec["bad_rate"]
    columns: dict[str, list[str]] = {}
    for c in INPUT_COLUMNS:
        if c == "account_id" or c in SHARES:
            continue
        good, bad = spec["good"][c], spec["bad"][c]
        pick_bad = rng.random(n) < bad_rate
        gi, bi = rng.integers(0, len(good), n), rng.integers(0, len(bad), n)
        columns[c] = [bad[b] if pb else good[g] for pb, g, b in zip(pick_bad, gi, bi)]
    # account ids: mostly unique, some repeated (duplicates), a few odd ones, some bad cells
    ids = [f"ID{i:06d}" for i in range(n)]
    dup = np.flatnonzero(rng.random(n) < spec["duplicates"])
    for i in dup:
        ids[i] = ids[int(rng.integers(0, n))]
    for odd in spec["odd_ids"]:
        ids[int(rng.integers(0, n))] = odd
    for i in np.flatnonzero(rng.random(n) < bad_rate):
        ids[i] = spec["bad"]["account_id"][int(rng.integers(0, len(spec["bad"]["account_id"])))]
    columns["account_id"] = ids
    # time-of-use shares: all blank (flat only), or one of the drawn tuples as decimals or percentages
    share_cells = {c: [] for c in SHARES}
    for i in range(n):
        r = rng.random()
        if r < 0.4:
            values = ["", "", "", ""]
        elif r < 1 - bad_rate:
            t = spec["shares"][int(rng.integers(0, len(spec["shares"])))]
            values = [f"{x * 100:.4f}%" for x in t] if rng.random() < 0.3 else [repr(x) for x in t]
        else:
            values = [spec["bad"][c][0] for c in SHARES]
        for c, v in zip(SHARES, values):
            share_cells[c].append(v)
    columns.update(share_cells)
    enc = spec["encoding"]
    return [[cell_text(columns[c][i], enc) for c in INPUT_COLUMNS] for i in range(n)]


def write_csv(path, rows: list[list[str]], encoding: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INPUT_COLUMNS)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def persist(db, validated, set_name: str) -> str:
    """The pipeline's steps as plain functions, into a real warehouse run (what flows/pipeline.py does)."""
    accounts, rejects = validated.accounts, validated.rejects
    wh = Warehouse(db)
    with wh.start_run(kind="adhoc", campaign=None, input_path="messy.csv", input_sha256=None,
                      assumptions=SETS[set_name].record(), rules_version=SEG.rules_version,
                      code_version="test") as run:
        segments = segment_accounts(accounts, SEG)
        enriched = with_segment_columns(accounts, segments)
        model = compute(enriched, REF, SETS[set_name], run_id=run.run_id)
        run.update_counts(rows_read=validated.rows_read, rows_accepted=accounts.height,
                          rows_rejected=rejects.height)
        run.write("accounts", stored_accounts(enriched))
        run.write("rejects", rejects)
        run.write("segments", stored_segments(segments, SEG.rules_version))
        run.write("results", model.results)
        run.write("scenarios", model.scenarios)
    return run.run_id


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(spec=customer_lists())
def test_thousands_of_messy_rows_end_to_end_into_duckdb(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("messy")
    rows = build_rows(spec)
    path = folder / "messy.csv"
    write_csv(path, rows, spec["encoding"])
    validated = load_accounts(path)
    db = folder / "gp.duckdb"
    run_id = persist(db, validated, spec["set_name"])

    n = len(rows)
    [(status, read, accepted, rejected)] = q(
        db, "SELECT status, rows_read, rows_accepted, rows_rejected FROM runs WHERE run_id = ?", [run_id])
    assert status == "succeeded"
    assert read == accepted + rejected == validated.rows_read <= n
    assert accepted == q(db, "SELECT count(*) FROM accounts")[0][0] == validated.accounts.height
    assert rejected == q(db, "SELECT count(DISTINCT row_number) FROM rejects")[0][0]

    # every row ends in exactly one place; a row with real content is never lost
    acc_rows = {r for (r,) in q(db, "SELECT row_number FROM accounts")}
    rej_rows = {r for (r,) in q(db, "SELECT DISTINCT row_number FROM rejects")}
    assert not acc_rows & rej_rows
    assert acc_rows | rej_rows <= set(range(2, n + 2))
    substantial = {i + 2 for i, row in enumerate(rows) if any(ch.isalnum() for cell in row for ch in cell)}
    assert substantial <= acc_rows | rej_rows

    # every reject names its column and has a reason
    assert q(db, "SELECT count(*) FROM rejects WHERE reason IS NULL OR trim(reason) = '' "
                 "OR \"column\" IS NULL OR \"column\" = ''") == [(0,)]

    # the model's tables hold every accepted account once, and no float cell anywhere is NaN/inf
    for table in ("results", "segments"):
        assert q(db, f"SELECT count(*), count(DISTINCT account_id) FROM {table}") == [(accepted, accepted)]
    assert q(db, "SELECT count(DISTINCT account_id) FROM scenarios")[0][0] == accepted
    assert q(db, "SELECT count(*) FROM accounts a ANTI JOIN results r USING (run_id, account_id)") == [(0,)]
    assert nonfinite_float_cells(db) == {}

    # duplicates: the first row keeps the id, later rows are rejected naming it
    firsts: dict[str, int] = {}
    for i, row in enumerate(rows):
        key = row[0].strip()
        if key and any(ch.isalnum() for ch in key):
            firsts.setdefault(key, i + 2)
    dup_rows = q(db, "SELECT row_number, reason FROM rejects WHERE reason LIKE '%duplicate account_id%'")
    for row_number, reason in dup_rows:
        key = rows[row_number - 2][0].strip()
        if key in firsts:
            assert firsts[key] < row_number and f"first seen in row {firsts[key]}" in reason
    assert q(db, "SELECT count(*) - count(DISTINCT account_id) FROM accounts") == [(0,)]

    # text reaches DuckDB exactly as validated: markup and SQL are data
    stored = dict(q(db, "SELECT account_id, name || '|' || coalesce(sales_rep, '') || '|' || coalesce(industry, '') "
                        "FROM accounts"))
    for r in validated.accounts.select("account_id", "name", "sales_rep", "industry").iter_rows():
        assert stored[r[0]] == f"{r[1]}|{r[2] or ''}|{r[3] or ''}"
    # and numbers that were accepted are finite and in range (the model never saw NaN)
    for column in ("annual_kwh", "existing_pv_kwh", "roof_area_m2"):
        assert all(math.isfinite(v) for v in validated.accounts[column])


# ------------------------------------------------------------------ whole-file corruption


def good_frame(n: int = 6) -> pl.DataFrame:
    rows = [customer_row(f"A{i}", name=f"客户{i}号", province=["江苏", "Guangdong", "西藏"][i % 3]) for i in range(n)]
    return pl.DataFrame(rows, schema={c: pl.Utf8 for c in INPUT_COLUMNS})


def base_files() -> dict[str, bytes]:
    frame = good_frame()
    text = frame.write_csv()
    chinese = text.replace("account_id", "户号").replace("name", "企业名称").replace("annual_kwh", "年用电量")
    xlsx, parquet = io.BytesIO(), io.BytesIO()
    frame.write_excel(xlsx)
    frame.write_parquet(parquet)
    return {"utf8": text.encode("utf-8"), "bom": b"\xef\xbb\xbf" + chinese.encode("utf-8"),
            "gbk": chinese.encode("gb18030"), "utf16": chinese.encode("utf-16"),
            "xlsx": xlsx.getvalue(), "parquet": parquet.getvalue()}


BASES = base_files()
ENCODINGS = ["latin-1", "big5", "shift_jis", "euc_kr", "utf-16-le", "utf-32", "cp1252", "koi8-r"]


@st.composite
def corrupted(draw):
    base = draw(st.sampled_from(sorted(BASES)))
    data = BASES[base]
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "magic", "huge_line", "binary", "reencode",
                                 "nul", "blank", "header_only", "mislabel", "none"]))
    if kind == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif kind == "flip":
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 20))):
            i = draw(st.integers(0, len(buf) - 1))
            buf[i] = draw(st.integers(0, 255))
        data = bytes(buf)
    elif kind == "insert":
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.binary(min_size=1, max_size=64)) + data[i:]
    elif kind == "magic":
        data = draw(st.sampled_from([b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"%PDF-1.7\n",
                                     b"\x1f\x8b\x08", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf"])) + data
    elif kind == "huge_line":
        at = draw(st.sampled_from(["end", "header", "value"]))
        blob = draw(st.sampled_from(["x", "啊", ",", '"', "a,b"])) * draw(st.sampled_from([70_000, 400_000]))
        text = BASES["utf8"].decode("utf-8")
        if at == "end":
            text += blob + "\n"
        elif at == "header":
            text = blob + text
        else:
            text = text.replace("客户1号", blob)
        data = text.encode("utf-8")
    elif kind == "binary":
        data = draw(st.binary(min_size=1, max_size=2000))
    elif kind == "reencode":
        text = BASES["utf8"].decode("utf-8")
        enc = draw(st.sampled_from(ENCODINGS))
        data = text.encode(enc, errors="replace")
    elif kind == "nul":
        i = draw(st.integers(0, len(data)))
        data = data[:i] + b"\x00" + data[i:]
    elif kind == "blank":
        data = draw(st.sampled_from([b"", b"\n\n", b"\xef\xbb\xbf", b"   \t\n", b",,,,\n,,,\n", b"\xff\xfe"]))
    elif kind == "header_only":
        data = BASES["utf8"].split(b"\n")[0] + b"\n"
    suffix = draw(st.sampled_from([".csv", ".xlsx", ".parquet", ".txt", "", ".xls", ".CSV", ".tsv", ".json"]))
    return base, kind, suffix, data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=corrupted())
def test_corrupted_files_give_one_clear_error_or_a_valid_result(tmp_path_factory, case):
    base, kind, suffix, data = case
    path = tmp_path_factory.mktemp("fuzz") / f"客户 list{suffix}"
    path.write_bytes(data)
    try:
        result = load_accounts(path)
    except InputFileError as exc:
        message = str(exc)
        assert str(path) in message and exc.problem.strip(), message
        assert "\n" not in message and "Traceback" not in message, message
        return
    # not refused: then it is a proper result
    assert result.rows_read == result.accounts.height + result.rejects.height
    assert all(r.strip() for r in result.rejects["reason"])
    assert result.accounts["account_id"].n_unique() == result.accounts.height
    for c in ("annual_kwh", "existing_pv_kwh", "roof_area_m2"):
        assert all(math.isfinite(v) for v in result.accounts[c])


# ------------------------------------------------------------------ unreadable files through `gp run`

UNREADABLE = {
    "empty.csv": b"",
    "binary.csv": bytes(range(256)) * 40,
    "big5.csv": ("account_id,name,province,customer_type,annual_kwh\n"
                 "A1,臺灣積體電路製造股份有限公司,Fujian,residential,1000\n").encode("big5"),
    "no_kwh.csv": "account_id,name,province,customer_type\nA1,甲,江苏,大工业\n".encode("utf-8"),
    "really_csv.xlsx": "account_id,name,province,customer_type,annual_kwh\nA1,甲,江苏,大工业,1000\n".encode("utf-8"),
    "cut.parquet": BASES["parquet"][: len(BASES["parquet"]) // 2],
}


def without_logging_errors(output: str) -> str:
    """The output without Python's "--- Logging error ---" reports. Those come from running the command
    line in-process several times: Prefect's console log handler keeps the stream of an earlier
    invocation, which the test runner has closed (a real ``gp`` process never closes its stderr)."""
    import re
    return re.sub(r"--- Logging error ---.*?(?:Arguments: .*?\n)", "", output, flags=re.S)


@pytest.fixture(scope="module")
def published(prefect_harness, tmp_path_factory):
    """A warehouse with one successful run, to prove that refused files leave it untouched."""
    from typer.testing import CliRunner

    from flows.cli import app
    folder = tmp_path_factory.mktemp("unreadable")
    good = write_customers(folder / "good.csv", sample_rows(20))
    db = folder / "gp.duckdb"
    result = CliRunner().invoke(app, ["run", str(good), "--db", str(db), "--no-pdf"])
    assert result.exit_code == 0, result.output
    return folder, db


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_file_stops_the_run_and_leaves_the_warehouse_untouched(published, name):
    from typer.testing import CliRunner

    from flows.cli import app
    folder, db = published
    bad = folder / name
    bad.write_bytes(UNREADABLE[name])
    before = file_sha256(db), sorted(p.name for p in folder.iterdir())
    result = CliRunner().invoke(app, ["run", str(bad), "--db", str(db), "--out", str(folder / "out")])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and name in errors[0], result.output
    assert "Traceback" not in without_logging_errors(result.output), result.output
    assert (file_sha256(db), sorted(p.name for p in folder.iterdir())) == before   # nothing written at all
    assert [r["status"] for r in run_rows(db).values()] == ["succeeded"]


def test_a_row_wider_than_any_spreadsheet_is_refused_at_once(tmp_path):
    """Found by the fuzz pass: one line of 400,000 commas made the loader build a 400,000-column
    frame for minutes. More fields than Excel's 16,384 columns is refused, naming the row."""
    import time
    text = BASES["utf8"].decode("utf-8")
    path = tmp_path / "wide.csv"
    path.write_text(text + "," * 400_000 + "\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(InputFileError, match=r"row 8 has more than 16,384 fields"):
        load_accounts(path)
    assert time.monotonic() - started < 5
    # an export padded to the full 16,384 columns is still read
    path.write_text("".join(line + "," * 16_000 + "\n" for line in text.splitlines()), encoding="utf-8")
    assert load_accounts(path).accounts.height == 6


def test_a_huge_cell_does_not_hide_the_header(tmp_path):
    """Found by the fuzz pass: a cell longer than 131,072 characters made the header search give up
    ("no header row found") although the header was the first line."""
    path = tmp_path / "long.csv"
    path.write_text(BASES["utf8"].decode("utf-8").replace("客户1号", "名" * 200_000), encoding="utf-8")
    result = load_accounts(path)
    assert result.accounts.height == 6 and result.accounts["name"].str.len_chars().max() == 200_000


def test_a_parquet_file_that_makes_the_reader_panic_is_refused_clearly(tmp_path):
    """Some damaged Parquet files make Polars (Rust) panic: PanicException is a BaseException, which a
    plain ``except Exception`` lets through as a crash. These three flipped bytes did it (Polars 1.x/2.x)."""
    buf = bytearray(BASES["parquet"])
    for i, value in [(4792, 116), (2304, 147), (3132, 53)]:
        buf[i % len(buf)] = value
    path = tmp_path / "客户.parquet"
    path.write_bytes(bytes(buf))
    try:
        result = load_accounts(path)
    except InputFileError as exc:
        assert str(path) in str(exc) and "Parquet" in str(exc) and "\n" not in str(exc)
    else:   # a later Polars may read past the damage: then the counts must still add up
        assert result.rows_read == result.accounts.height + result.rejects.height
