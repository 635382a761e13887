"""The header alias table (data/input/columns.yaml): its content and its validation on load."""
from __future__ import annotations

import pytest
import yaml

from core.datafiles import DataFileError
from intake.columns import INPUT_COLUMNS, load_column_map, parse_column_map


@pytest.fixture(scope="module")
def colmap():
    return load_column_map()


def test_every_column_has_aliases(colmap):
    assert set(colmap.aliases) == set(INPUT_COLUMNS)
    assert all(colmap.aliases[c] for c in INPUT_COLUMNS)


@pytest.mark.parametrize("header, column", [
    ("户号", "account_id"), ("账户编号", "account_id"), ("用户编号", "account_id"), ("*户号", "account_id"),
    ("Account ID", "account_id"), (" ACCOUNT_ID ", "account_id"), ("企业名称", "name"), ("户名", "name"),
    ("所在地区", "province"), ("地区", "province"), ("用电类别", "customer_type"), ("行业", "industry"),
    ("年用电量", "annual_kwh"), ("年用电量(kWh)", "annual_kwh"), ("年用电量（千瓦时）", "annual_kwh"),
    ("年用电量【kWh】", "annual_kwh"), ("年电费", "annual_bill_yuan"), ("用电成本(元)", "annual_bill_yuan"),
    ("已有光伏发电量", "existing_pv_kwh"), ("尖峰占比", "share_sharp"), ("高峰占比(%)", "share_peak"),
    ("平段占比", "share_flat"), ("低谷占比", "share_valley"), ("是否高耗能", "high_energy"),
    ("是否出口(是/否)", "is_exporter"), ("是否上市", "is_listed"), ("是否发布ESG报告", "has_esg_report"),
    ("是否RE100成员", "re100_member"), ("是否已购绿电", "buys_green_power"), ("屋顶产权", "roof_owned"),
    ("是否自有屋顶", "roof_owned"), ("绿电占比目标", "renewable_target"), ("可安装光伏面积(㎡)", "roof_area_m2"),
    ("光伏模式", "pv_mode"), ("贷款比例", "loan_ratio"), ("贷款利率(%)", "loan_rate"), ("贷款年限(年)", "loan_years"),
    ("还款方式", "repayment"), ("第三方折扣", "third_party_discount"), ("市场化交易比例", "market_share"),
    ("客户经理", "sales_rep"),
])
def test_header_aliases(colmap, header, column):
    assert colmap.header_column(header) == (column, None)


@pytest.mark.parametrize("header", ["备注", "年用电量2024", "", "户号 2"])
def test_unknown_headers(colmap, header):
    assert colmap.header_column(header) == (None, None)


@pytest.mark.parametrize("header", ["年用电量(万kWh)", "年电费(万元)", "屋顶面积(亩)", "贷款年限(月)"])
def test_units_that_would_misread_values_are_problems(colmap, header):
    column, problem = colmap.header_column(header)
    assert column is None and "which is not accepted" in problem and header in problem


def test_value_words(colmap):
    assert colmap.customer_types["大工业"] == "large_industrial"
    assert colmap.customer_types["generalcommercial"] == "general_commercial"
    assert colmap.booleans["是"] is True and colmap.booleans["n"] is False
    assert colmap.pv_modes["企业自投"] == "self" and colmap.pv_modes["无"] == "none"
    assert colmap.repayments["先息后本"] == "interest_only"


# --- an invalid file is refused with the file and key named --------------------------------------

def good_content() -> dict:
    return yaml.safe_load(load_column_map().path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("mutate, key, problem", [
    (lambda c: c["columns"].pop("annual_kwh"), "columns", "missing column(s) annual_kwh"),
    (lambda c: c["columns"].update(colour={"aliases": ["颜色"]}), "columns", "unknown column(s) colour"),
    (lambda c: c["columns"]["name"].update(aliases=["户号"]), "columns.name.aliases", '"户号" already names account_id'),
    (lambda c: c["columns"]["name"].update(aliases=[]), "columns.name.aliases", "must be a non-empty list"),
    (lambda c: c["booleans"].update(true_words=["是", True]), "booleans.true_words[1]", "quote it in YAML"),
    (lambda c: c["booleans"].update(false_words=["是"]), "booleans.false_words", "both a true and a false word"),
    (lambda c: c["pv_modes"].update(lease=["租赁"]), "pv_modes", "unknown code(s) lease"),
    (lambda c: c.pop("customer_types"), "customer_types", "missing"),
    (lambda c: c["columns"]["annual_kwh"].update(units="kwh"), "columns.annual_kwh.units", "non-empty list"),
])
def test_invalid_column_map(tmp_path, mutate, key, problem):
    content = good_content()
    mutate(content)
    path = tmp_path / "columns.yaml"
    with pytest.raises(DataFileError) as info:
        parse_column_map(path, content)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}"), message
    assert problem in message, message


def test_yaml_booleans_are_caught_on_load(tmp_path):
    text = load_column_map().path.read_text(encoding="utf-8").replace('"yes", 是', 'yes, 是')
    path = tmp_path / "columns.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"booleans.true_words\[5\]: must be non-empty text, got True"):
        load_column_map(path)
