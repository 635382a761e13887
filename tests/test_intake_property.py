"""Property tests: thousands of messy rows never crash validation and nothing is lost.

Invariants checked on every example: rows_read = accepted + rejected; each row is in exactly
one place; every reject has a reason; accepted rows satisfy every rule of input.md; accepted
float columns hold no NaN/inf; both frames have exactly the contract schema.
"""
from __future__ import annotations

import csv
import io
import math

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from account_rows import csv_cell_text
from gpengine.reference import load_reference
from intake import read_customer_file, validate_accounts
from intake.columns import INPUT_COLUMNS
from intake.schema import ACCOUNT_SCHEMA, CUSTOMER_TYPES, PV_MODES, REJECT_SCHEMA, REPAYMENTS

PROVINCES = set(load_reference().provinces["province"].to_list())
FLOATS = [c for c, (dtype, _) in ACCOUNT_SCHEMA.items() if dtype == pl.Float64]

# Text without lone surrogates (no file decodes to those); wide and odd otherwise.
odd_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
long_text = st.builds(lambda s, n: s * n, st.sampled_from(["啊", "𪚥", "\u200b", "<", "ｘ", "é"]), st.integers(200, 3000))
nasty = st.sampled_from([
    "", " ", "\t", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-0", "0", "1", "-1", "1,234,567", "1,2",
    "30%", "0.3", "1.5", "１２３", "１，２３４", "1e308", "-1e308", "5e-324", "9" * 400, "<script>alert(1)</script>",
    "'; DROP TABLE results; --", "是", "否", "Y", "N", "true", "maybe", "江苏", "Jiangsu", "火星", "大工业", "居民",
    "-", "N/A", "null", "None", "none", "自投", "第三方", "先息后本", "\x00", "a\nb", '"', "\ufeff", "\u3000",
])
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.floats(0, 1).map(lambda x: f"{x:.3f}"),
    st.floats(0, 100).map(lambda x: f"{x:.1f}%"),
    st.integers(1, 10**9).map(lambda x: f"{x:,}"),
)
messy = st.one_of(nasty, odd_text, numbers, st.none())
columns = {
    "account_id": st.one_of(st.sampled_from(["A1", "A2", "A3", " A1", "a1", "", None]), odd_text),
    "name": st.one_of(odd_text, long_text, nasty),
    "province": st.one_of(st.sampled_from(["江苏省", "广西", "xizang", "Inner Mongolia", "台湾", ""]), messy),
    "customer_type": st.one_of(st.sampled_from([*CUSTOMER_TYPES, "大工业", "一般工商业", "居民", "商业"]), messy),
    "annual_kwh": st.one_of(numbers, messy),
    **{c: messy for c in INPUT_COLUMNS if c not in ("account_id", "name", "province", "customer_type", "annual_kwh")},
}
rows = st.lists(st.fixed_dictionaries(columns), min_size=1, max_size=40)


def check(result, n_rows: int) -> None:
    accounts, rejects = result.accounts, result.rejects
    assert accounts.schema == pl.Schema({k: v[0] for k, v in ACCOUNT_SCHEMA.items()})
    assert rejects.schema == pl.Schema(REJECT_SCHEMA)
    assert result.rows_read == accounts.height + rejects.height <= n_rows
    accepted, rejected = set(accounts["row_number"]), set(rejects["row_number"])
    assert len(accepted) == accounts.height and len(rejected) == rejects.height
    assert not accepted & rejected and accepted | rejected <= set(range(2, n_rows + 2))
    assert all(r.strip() for r in rejects["reason"]) and all(c for c in rejects["column"])
    for column, (_, nullable) in ACCOUNT_SCHEMA.items():
        assert nullable or accounts[column].null_count() == 0, column
    for row in accounts.iter_rows(named=True):
        for c in FLOATS:
            assert row[c] is None or math.isfinite(row[c]), (c, row[c])
        assert row["province"] in PROVINCES and row["customer_type"] in CUSTOMER_TYPES
        assert row["annual_kwh"] > 0 and 0 <= row["existing_pv_kwh"] <= row["annual_kwh"]
        assert math.isclose(sum(row[f"share_{p}"] for p in ("sharp", "peak", "flat", "valley")), 1.0, abs_tol=1e-9)
        assert all(0 <= row[f"share_{p}"] <= 1 for p in ("sharp", "peak", "flat", "valley"))
        assert row["pv_mode"] in (None, *PV_MODES) and row["repayment"] in (None, *REPAYMENTS)
        assert row["loan_years"] is None or 1 <= row["loan_years"] <= 25
        assert row["loan_rate"] is None or 0 <= row["loan_rate"] <= 0.5
        assert row["third_party_discount"] is None or 0 < row["third_party_discount"] <= 1
        assert row["roof_area_m2"] >= 0 and (row["annual_bill_yuan"] is None or row["annual_bill_yuan"] >= 0)
        assert row["account_id"] and row["account_id"] == row["account_id"].strip() and row["name"]
    assert accounts["account_id"].n_unique() == accounts.height


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows)
def test_messy_frames(data):
    frame = pl.DataFrame({c: [r[c] for r in data] for c in INPUT_COLUMNS}, schema={c: pl.Utf8 for c in INPUT_COLUMNS})
    check(validate_accounts(frame, "messy"), len(data))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows, st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_messy_csv_files(tmp_path_factory, data, encoding):
    """The same through a real CSV file: quoting, odd Unicode and encodings in the loader too."""
    def cell(text: str | None) -> str:
        return csv_cell_text(text, encoding)

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(INPUT_COLUMNS)
    for row in data:
        writer.writerow([cell(row[c]) for c in INPUT_COLUMNS])
    path = tmp_path_factory.mktemp("csv") / "messy.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    result = validate_accounts(read_customer_file(path))
    check(result, len(data))
    # only all-blank rows may be missing, and a row with an account_id is never blank
    assert result.rows_read >= sum(1 for r in data if (r["account_id"] or "").strip(" \t\n"))


MISSING_MARKERS = {"-", "--", "—", "——", "－", "/", "n/a", "#n/a", "null", "(空)", "空"}   # columns.yaml


def real_text(s: str) -> bool:
    return bool(s.strip()) and s.strip().lower() not in MISSING_MARKERS


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "account_id": st.text(st.characters(exclude_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=12
                          ).filter(real_text),
    "name": st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30).filter(real_text),
    "province": st.sampled_from(sorted(PROVINCES) + ["江苏", "Guangdong", "NINGXIA"]),
    "customer_type": st.sampled_from([*CUSTOMER_TYPES, "大工业", "居民生活用电"]),
    "annual_kwh": st.floats(1e-3, 1e12).map(repr),
    "loan_years": st.integers(1, 25).map(str),
    "is_listed": st.sampled_from(["是", "否", "Y", "n", "1", "0", "TRUE"]),
}), min_size=1, max_size=30, unique_by=lambda r: r["account_id"].strip()))
def test_valid_rows_are_all_accepted(data):
    frame = pl.DataFrame(data, schema={k: pl.Utf8 for k in data[0]})
    result = validate_accounts(frame)
    assert result.rejects.height == 0, result.rejects["reason"].to_list()
    assert result.accounts.height == len(data)
