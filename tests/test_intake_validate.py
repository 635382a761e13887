"""Validation rules of spec input.md, each with the reason an analyst sees."""
from __future__ import annotations

import math

import polars as pl
import pytest

from intake import InputFileError, read_customer_file, validate_accounts
from intake.schema import ACCOUNT_SCHEMA, REJECT_SCHEMA

BASE = {"account_id": "A1", "name": "测试有限公司", "province": "江苏省",
        "customer_type": "large_industrial", "annual_kwh": "1000000"}


def run(*rows: dict, **columns) -> "Validated":
    """Validate rows given as overrides of BASE (every value as text, like a CSV)."""
    rows = rows or ({},)
    full = [{**BASE, "account_id": f"A{i + 1}", **columns, **row} for i, row in enumerate(rows)]
    keys = list(dict.fromkeys(k for r in full for k in r))
    return validate_accounts(pl.DataFrame({k: [r.get(k) for r in full] for k in keys}, schema={k: pl.Utf8 for k in keys}))


def accepted(column: str, text: str | None):
    result = run({column: text})
    assert result.rejects.height == 0, result.rejects["reason"].to_list()
    return result.accounts[column][0]


def rejected(column: str, text: str | None) -> dict:
    result = run({column: text})
    assert result.accounts.height == 0, f"{column}={text!r} was accepted"
    return result.rejects.row(0, named=True)


# --- schema and counts ----------------------------------------------------------------------

def test_output_frames_match_the_contract_schema_exactly():
    result = run({}, {"annual_kwh": "abc"})
    assert result.accounts.schema == pl.Schema({k: v[0] for k, v in ACCOUNT_SCHEMA.items()})
    assert result.rejects.schema == pl.Schema(REJECT_SCHEMA)
    for column, (_, nullable) in ACCOUNT_SCHEMA.items():
        if not nullable:
            assert result.accounts[column].null_count() == 0, column
    assert result.rows_read == 2 == result.accounts.height + result.rejects.height


def test_schema_is_exact_when_nothing_is_rejected_or_nothing_accepted():
    clean, dirty = run({}), run({"annual_kwh": "-1"})
    assert clean.rejects.schema == pl.Schema(REJECT_SCHEMA) and clean.rejects.height == 0
    assert dirty.accounts.schema == pl.Schema({k: v[0] for k, v in ACCOUNT_SCHEMA.items()})


def test_defaults_of_a_minimal_row():
    row = run().accounts.row(0, named=True)
    assert row["row_number"] == 2
    assert row["existing_pv_kwh"] == 0.0 and row["roof_area_m2"] == 0.0
    assert (row["share_sharp"], row["share_peak"], row["share_flat"], row["share_valley"]) == (0, 0, 1, 0)
    assert row["roof_owned"] is True
    assert not any(row[c] for c in ("is_exporter", "is_listed", "has_esg_report", "re100_member", "buys_green_power"))
    for nullable in ("annual_bill_yuan", "high_energy", "renewable_target", "pv_mode", "loan_ratio", "loan_rate",
                     "loan_years", "repayment", "third_party_discount", "market_share", "industry", "sales_rep"):
        assert row[nullable] is None, nullable


def test_missing_required_column_in_a_frame_is_a_file_error():
    with pytest.raises(InputFileError, match="missing required column"):
        validate_accounts(pl.DataFrame({"account_id": ["A"], "name": ["n"]}), "crm-export")


# --- required text ------------------------------------------------------------------------------

@pytest.mark.parametrize("column", ["account_id", "name", "province", "customer_type", "annual_kwh"])
@pytest.mark.parametrize("text", [None, "", "   ", "-", "N/A"])
def test_required_columns_must_not_be_empty(column, text):
    reject = rejected(column, text)
    assert reject["column"] == column
    assert f"{column} is required but empty" in reject["reason"]


def test_text_is_trimmed_but_otherwise_kept_as_written():
    name = "  <b>甲&乙</b> \"公司\"（集团）'; DROP TABLE results; -- "
    row = run({"name": name, "account_id": " ../../etc/x ", "industry": " 电解铝 "}).accounts.row(0, named=True)
    assert row["name"] == name.strip()
    assert row["account_id"] == "../../etc/x"
    assert row["industry"] == "电解铝"


# --- province and customer type ---------------------------------------------------------------

@pytest.mark.parametrize("text, full", [
    ("江苏省", "江苏省"), ("江苏", "江苏省"), ("Jiangsu", "江苏省"), ("JIANGSU ", "江苏省"),
    ("广西", "广西壮族自治区"), ("广西壮族自治区", "广西壮族自治区"), ("Inner Mongolia", "内蒙古自治区"),
    ("Tibet", "西藏自治区"), ("shaanxi", "陕西省"), ("Shanxi", "山西省"), ("Ｊｉａｎｇｓｕ", "江苏省"),
])
def test_province_is_normalised_to_the_full_name(text, full):
    assert accepted("province", text) == full


@pytest.mark.parametrize("text", ["火星", "台湾省", "香港", "Jiang su", "苏州"])
def test_unknown_province(text):
    reject = rejected("province", text)
    assert reject["column"] == "province" and reject["value"] == text
    assert reject["reason"] == (f"province must be one of the 31 mainland provinces, as full name (江苏省), "
                                f"short name (江苏) or pinyin (Jiangsu), got \"{text}\"")


@pytest.mark.parametrize("text, code", [
    ("large_industrial", "large_industrial"), ("大工业", "large_industrial"), ("大工业用电", "large_industrial"),
    ("General Commercial", "general_commercial"), ("一般工商业", "general_commercial"),
    ("一般工商业及其他", "general_commercial"), ("居民", "residential"), ("居民生活用电", "residential"),
])
def test_customer_type_codes_and_chinese_labels(text, code):
    assert accepted("customer_type", text) == code


def test_unknown_customer_type():
    assert "customer_type must be large_industrial (大工业)" in rejected("customer_type", "农业")["reason"]


# --- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1234567", 1234567.0), ("1,234,567", 1234567.0), ("1,234,567.5", 1234567.5), ("１，２３４", 1234.0),
    ("1.5e6", 1.5e6), (" 42 ", 42.0), ("+7", 7.0), ("0.001", 0.001),
])
def test_annual_kwh_accepted_forms(text, value):
    assert accepted("annual_kwh", text) == value


@pytest.mark.parametrize("text", ["abc", "0", "-5", "nan", "NaN", "inf", "-inf", "Infinity", "1e400",
                                  "1,2", "12,34", "1 234", "1_000", "0x10", "100万", "1.2.3", "1e308", "2e12"])
def test_annual_kwh_rejected_forms(text):
    reject = rejected("annual_kwh", text)
    assert reject["column"] == "annual_kwh" and reject["value"] == text
    assert reject["reason"] == f'annual_kwh must be a number > 0 and at most 1e+12, got "{text}"'


def test_reason_names_the_header_the_file_used(tmp_path):
    path = tmp_path / "zh.csv"
    path.write_text("户号,企业名称,省份,用电类别,年用电量\nA1,甲,河北,居民,abc\n", encoding="utf-8")
    reject = validate_accounts(read_customer_file(path)).rejects.row(0, named=True)
    assert reject["reason"] == 'annual_kwh ("年用电量") must be a number > 0 and at most 1e+12, got "abc"'


def test_long_values_are_shortened_in_the_reason_but_kept_whole_in_value():
    text = "x" * 500
    reject = rejected("annual_kwh", text)
    assert reject["value"] == text
    assert len(reject["reason"]) < 150 and reject["reason"].endswith('…"')


@pytest.mark.parametrize("column", ["annual_bill_yuan", "roof_area_m2", "existing_pv_kwh"])
def test_non_negative_numbers(column):
    assert accepted(column, "0") == 0.0
    assert accepted(column, "12,345.5") == 12345.5
    assert accepted(column, "-0") == 0.0 and math.copysign(1, accepted(column, "-0")) == 1.0
    assert rejected(column, "-1")["reason"].startswith(f'{column} must be a number >= 0')
    assert rejected(column, "-1")["reason"].endswith('got "-1"')
    assert rejected(column, "nan")["column"] == column


def test_missing_markers_mean_no_value():
    row = run({"annual_bill_yuan": "-", "roof_area_m2": "N/A", "existing_pv_kwh": "/", "loan_rate": "#N/A",
               "industry": "null"}).accounts.row(0, named=True)
    assert row["annual_bill_yuan"] is None and row["loan_rate"] is None and row["industry"] is None
    assert row["roof_area_m2"] == 0.0 and row["existing_pv_kwh"] == 0.0


def test_existing_pv_may_not_exceed_annual_kwh():
    assert run({"annual_kwh": "1,000", "existing_pv_kwh": "1000"}).accounts["existing_pv_kwh"][0] == 1000.0
    reject = run({"annual_kwh": "1,000", "existing_pv_kwh": "1001"}).rejects.row(0, named=True)
    assert reject["column"] == "existing_pv_kwh"
    assert reject["reason"] == 'existing_pv_kwh must not exceed annual_kwh ("1,000"), got "1001"'


# --- TOU shares ---------------------------------------------------------------------------------

def shares(row: dict) -> tuple:
    return tuple(row[f"share_{p}"] for p in ("sharp", "peak", "flat", "valley"))


def test_shares_all_missing_means_flat_only():
    assert shares(run().accounts.row(0, named=True)) == (0.0, 0.0, 1.0, 0.0)


def test_shares_given_missing_ones_count_as_zero_and_percent_is_accepted():
    row = run({"share_peak": "40%", "share_valley": "0.6"}).accounts.row(0, named=True)
    assert shares(row) == pytest.approx((0.0, 0.4, 0.0, 0.6))


def test_shares_within_tolerance_are_normalised():
    row = run({"share_sharp": "0.1", "share_peak": "0.3", "share_flat": "0.3", "share_valley": "0.295"}
              ).accounts.row(0, named=True)
    assert sum(shares(row)) == pytest.approx(1.0, abs=1e-12)
    assert row["share_valley"] == pytest.approx(0.295 / 0.995)


def test_shares_not_adding_up_are_rejected():
    reject = run({"share_peak": "0.5", "share_flat": "0.6"}).rejects.row(0, named=True)
    assert reject["column"] == "shares"
    assert reject["value"] == "sharp=, peak=0.5, flat=0.6, valley="
    assert reject["reason"] == ("the TOU shares (sharp + peak + flat + valley) must add up to 1 (±0.01), "
                                "got a sum of 1.1")


@pytest.mark.parametrize("text", ["1.5", "-0.1", "30", "abc", "nan"])
def test_each_share_must_be_a_fraction(text):
    reject = run({"share_peak": text, "share_flat": "0.5"}).rejects.row(0, named=True)
    assert reject["column"] == "share_peak"
    assert reject["reason"] == f'share_peak must be a fraction between 0 and 1 (e.g. 0.3 or 30%), got "{text}"'


# --- booleans and enums ----------------------------------------------------------------------

BOOLEANS = ["high_energy", "is_exporter", "is_listed", "has_esg_report", "re100_member", "buys_green_power", "roof_owned"]


BOOLEAN_WORDS = [("true", True), ("FALSE", False), ("1", True), ("0", False), ("Y", True), ("n", False),
                 ("yes", True), ("No", False), ("是", True), ("否", False), (" ｙｅｓ ", True)]


@pytest.mark.parametrize("column", BOOLEANS)
def test_boolean_words(column):
    result = run(*[{column: text} for text, _ in BOOLEAN_WORDS])
    assert result.rejects.height == 0
    assert result.accounts[column].to_list() == [value for _, value in BOOLEAN_WORDS]


@pytest.mark.parametrize("column", BOOLEANS)
def test_boolean_rejects_other_words(column):
    assert rejected(column, "maybe")["reason"] == \
        f'{column} must be yes or no (true/false, 1/0, Y/N, 是/否), got "maybe"'


@pytest.mark.parametrize("text, code", [("self", "self"), ("自投", "self"), ("企业自投", "self"),
                                        ("第三方", "third_party"), ("第三方投资", "third_party"),
                                        ("Third Party", "third_party"), ("none", "none"), ("无", "none"),
                                        ("不建", "none")])
def test_pv_mode_labels(text, code):
    assert accepted("pv_mode", text) == code


@pytest.mark.parametrize("text, code", [("annuity", "annuity"), ("等额本息", "annuity"),
                                        ("interest_only", "interest_only"), ("先息后本", "interest_only")])
def test_repayment_labels(text, code):
    assert accepted("repayment", text) == code


def test_unknown_enum_values():
    assert "pv_mode must be self (自投), third_party (第三方) or none (无)" in rejected("pv_mode", "租赁")["reason"]
    assert "repayment must be annuity (等额本息) or interest_only (先息后本)" in rejected("repayment", "等额本金")["reason"]


# --- fractions and loans ---------------------------------------------------------------------

@pytest.mark.parametrize("column, good, bad", [
    ("renewable_target", [("0", 0.0), ("1", 1.0), ("30%", 0.3)], ["1.01", "-0.1", "30"]),
    ("market_share", [("0.6", 0.6), ("60 %", 0.6)], ["101%", "x"]),
    ("loan_ratio", [("0", 0.0), ("100%", 1.0)], ["1.2"]),
    ("loan_rate", [("0", 0.0), ("4.5%", 0.045), ("0.5", 0.5)], ["0.51", "-0.01", "inf"]),
    ("third_party_discount", [("1", 1.0), ("85%", 0.85), ("0.01", 0.01)], ["0", "1.1", "-1"]),
])
def test_fraction_ranges(column, good, bad):
    for text, value in good:
        assert accepted(column, text) == pytest.approx(value)
    for text in bad:
        reject = rejected(column, text)
        assert reject["column"] == column and reject["reason"].startswith(f"{column} must be a ")
        assert reject["reason"].endswith(f'got "{text}"')


def test_loan_years_whole_number_from_1_to_25():
    assert accepted("loan_years", "10") == 10
    assert accepted("loan_years", "25.0") == 25
    for text in ("0", "26", "2.5", "ten"):
        assert rejected("loan_years", text)["reason"] == \
            f'loan_years must be a whole number of years from 1 to 25, got "{text}"'


# --- duplicates and several problems -----------------------------------------------------------

def test_duplicate_ids_keep_the_first_row_and_name_it():
    result = run({"account_id": "A1"}, {"account_id": "B"}, {"account_id": " A1 "}, {"account_id": "A1"})
    assert result.accounts["account_id"].to_list() == ["A1", "B"]
    assert result.rejects["row_number"].to_list() == [4, 5]
    assert result.rejects["account_id"].to_list() == [" A1 ", "A1"]     # as given in the file
    for reason in result.rejects["reason"]:
        assert reason == 'duplicate account_id "A1": first seen in row 2, which is kept; this row is ignored'


def test_duplicate_of_a_rejected_first_row_is_still_a_duplicate():
    result = run({"account_id": "A1", "annual_kwh": "x"}, {"account_id": "A1"})
    assert result.accounts.height == 0
    assert "first seen in row 2" in result.rejects["reason"][1]


def test_ids_differing_in_case_are_different_accounts():
    assert run({"account_id": "ab"}, {"account_id": "AB"}).accounts.height == 2


def test_one_reject_row_per_row_listing_every_problem():
    result = run({"province": "火星", "annual_kwh": "-1", "is_listed": "maybe"}, {})
    assert result.rejects.height == 1 and result.accounts.height == 1
    reject = result.rejects.row(0, named=True)
    assert (reject["column"], reject["value"]) == ("province", "火星")      # the first problem
    parts = reject["reason"].split("; ")
    assert [p.split(" ")[0] for p in parts] == ["province", "annual_kwh", "is_listed"]


def test_rejected_values_are_never_stored_and_floats_are_finite():
    result = run({"annual_kwh": "1e12", "annual_bill_yuan": "1e13"}, {"annual_bill_yuan": "nan"},
                 {"annual_kwh": "1e308"})
    assert result.accounts.height == 1 and result.rejects.height == 2
    floats = [c for c, (t, _) in ACCOUNT_SCHEMA.items() if t == pl.Float64]
    assert result.accounts.select(pl.all_horizontal(pl.col(floats).is_finite() | pl.col(floats).is_null())).item()
