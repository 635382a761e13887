"""segment_accounts with the real data files: every default rule and precedence case of
segmentation.md, the reasons, the playbook defaults, and properties over generated frames."""
from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.schema import ACCOUNT_SCHEMA, CUSTOMER_TYPES
from segmentation import OUTPUT_SCHEMA, SEGMENTS, load_segmentation_config, segment_accounts
from segmentation.industry import normalise_text

VALUE_FLAGS = ("is_exporter", "is_listed", "has_esg_report", "re100_member")


@pytest.fixture(scope="module")
def config():
    return load_segmentation_config()


def make_accounts(*rows: dict) -> pl.DataFrame:
    """An account frame as intake hands it over (intake/schema.py), defaults filled."""
    full = []
    for i, row in enumerate(rows):
        base = {
            "row_number": i + 2, "account_id": f"A{i:04d}", "name": "测试客户", "province": "江苏省",
            "customer_type": "general_commercial", "industry": None, "annual_kwh": 1.0e6,
            "annual_bill_yuan": None, "existing_pv_kwh": 0.0, "share_sharp": 0.0, "share_peak": 0.0,
            "share_flat": 1.0, "share_valley": 0.0, "high_energy": None, "is_exporter": False,
            "is_listed": False, "has_esg_report": False, "re100_member": False, "buys_green_power": False,
            "roof_owned": True, "renewable_target": None, "roof_area_m2": 0.0, "pv_mode": None,
            "loan_ratio": None, "loan_rate": None, "loan_years": None, "repayment": None,
            "third_party_discount": None, "market_share": None, "sales_rep": None,
        }
        base.update(row)
        full.append(base)
    return pl.DataFrame(full, schema={k: v[0] for k, v in ACCOUNT_SCHEMA.items()})


def one(config, **row) -> dict:
    out = segment_accounts(make_accounts(row), config)
    assert out.height == 1
    return out.row(0, named=True)


def codes(result: dict) -> list[str]:
    return [r["code"] for r in result["reasons"]]


def reason_text(result: dict, code: str) -> str:
    return next(r["text"] for r in result["reasons"] if r["code"] == code)


# ----------------------------------------------------------------- shape and order

def test_output_columns_types_and_order(config):
    frame = make_accounts(
        {"account_id": "z-9", "customer_type": "residential"},
        {"account_id": "a-1", "industry": "电解铝", "province": "山东省"},
        {"account_id": "m-5", "is_listed": True},
    )
    out = segment_accounts(frame, config)
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    assert list(out.columns) == [
        "account_id", "industry_group", "industry_family", "high_energy", "segment",
        "secondary_segments", "reasons", "default_target_share", "default_market_share",
        "default_market_share_cheaper",
    ]
    assert out["account_id"].to_list() == ["z-9", "a-1", "m-5"]
    assert out["segment"].to_list() == ["responsibility_driven", "compliance_driven", "value_oriented"]


def test_empty_frame_keeps_schema(config):
    out = segment_accounts(make_accounts(), config)
    assert out.height == 0
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)


def test_missing_column_is_named(config):
    frame = make_accounts({"is_exporter": True}).drop("is_exporter")
    with pytest.raises(ValueError, match="is_exporter"):
        segment_accounts(frame, config)


def test_all_null_columns_of_null_dtype_are_accepted(config):
    # A frame built from Python rows whose optional columns are all empty has dtype Null.
    frame = make_accounts({"industry": "钢铁"}).with_columns(
        industry=pl.lit(None), high_energy=pl.lit(None))
    r = segment_accounts(frame, config).row(0, named=True)
    assert r["industry_group"] is None and r["high_energy"] is False


# ------------------------------------------------------------ rule 1: residential

def test_residential_exporter_is_responsibility_with_value_secondary(config):
    r = one(config, customer_type="residential", is_exporter=True)
    assert r["segment"] == "responsibility_driven"
    assert r["secondary_segments"] == ["value_oriented"]
    assert codes(r) == ["residential", "exporter"]
    assert reason_text(r, "residential") == "您是居民用户，选用绿色电力即可便捷践行绿色低碳生活，参与绿色社区共建"


def test_residential_beats_every_other_trigger(config):
    r = one(config, customer_type="residential", industry="电解铝", is_listed=True, re100_member=True)
    assert r["segment"] == "responsibility_driven"
    # secondary segments in the order the segments first appear in rules.yaml
    assert r["secondary_segments"] == ["compliance_driven", "value_oriented"]
    assert codes(r) == ["residential", "high_energy_industry", "listed", "re100"]
    # the defaults follow the primary segment, not the secondary ones
    assert r["default_target_share"] == pytest.approx(0.30)
    assert r["default_market_share"] == pytest.approx(0.0)
    assert r["default_market_share_cheaper"] is False


def test_plain_residential(config):
    r = one(config, customer_type="residential")
    assert (r["segment"], r["secondary_segments"], codes(r)) == ("responsibility_driven", [], ["residential"])


# ------------------------------------------------------------ rule 2: high energy

def test_high_energy_exporter_is_compliance_with_value_secondary(config):
    r = one(config, customer_type="large_industrial", industry="电解铝", province="山东省", is_exporter=True)
    assert r["segment"] == "compliance_driven"
    assert r["secondary_segments"] == ["value_oriented"]
    assert r["industry_group"] == "electrolytic_aluminium"
    assert r["industry_family"] == "high_energy"
    assert r["high_energy"] is True
    assert codes(r) == ["high_energy_industry", "exporter"]
    assert reason_text(r, "high_energy_industry") == (
        "贵司属于电解铝等高耗能行业，需满足可再生能源电力消纳责任权重及行业绿色电力消费比例要求")
    assert reason_text(r, "exporter") == (
        "贵司为出口企业，海外客户与国际供应链日益要求可溯源、国际认可的绿色电力消费凭证")


@pytest.mark.parametrize("industry, group, label", [
    ("钢铁冶炼", "steel", "钢铁"),
    ("水泥制造", "cement", "水泥"),
    ("平板玻璃制造", "flat_glass", "平板玻璃"),
    ("石油化工", "petrochemical", "石化"),
    ("氯碱化工（烧碱）", "chemicals", "化工"),
    ("炼焦", "coking", "焦化"),
    ("硅铁冶炼", "ferroalloy", "铁合金"),
    ("多晶硅生产", "polysilicon", "多晶硅"),
    ("互联网数据中心", "data_centre", "数据中心"),
    ("铜冶炼", "nonferrous_smelting", "有色金属冶炼"),
])
def test_high_energy_industries_are_compliance(config, industry, group, label):
    r = one(config, customer_type="large_industrial", industry=industry)
    assert (r["segment"], r["industry_group"], r["high_energy"]) == ("compliance_driven", group, True)
    assert reason_text(r, "high_energy_industry").startswith(f"贵司属于{label}等高耗能行业")


def test_explicit_false_overrides_a_high_energy_industry(config):
    r = one(config, customer_type="large_industrial", industry="钢铁冶炼", high_energy=False)
    assert r["industry_group"] == "steel"          # the group is still reported
    assert r["high_energy"] is False               # but the input flag wins
    assert r["segment"] == "responsibility_driven"
    assert "compliance_driven" not in r["secondary_segments"]
    assert codes(r) == ["environmental_responsibility"]


def test_explicit_false_high_energy_exporter_is_value(config):
    r = one(config, industry="电解铝", province="山东省", high_energy=False, is_exporter=True)
    assert (r["segment"], r["secondary_segments"]) == ("value_oriented", [])
    # the mandated ratio belongs to the compliance playbook only
    assert r["default_target_share"] == pytest.approx(1.0)


def test_explicit_true_on_an_ordinary_industry(config):
    r = one(config, customer_type="large_industrial", industry="机械加工", high_energy=True)
    assert r["industry_group"] is None and r["industry_family"] is None
    assert r["high_energy"] is True
    assert r["segment"] == "compliance_driven"
    assert codes(r) == ["high_energy_declared"]
    assert reason_text(r, "high_energy_declared") == (
        "贵司为高耗能企业，需满足可再生能源电力消纳责任权重及行业绿色电力消费比例要求")
    assert r["default_target_share"] == pytest.approx(0.30)   # no group: the fallback


def test_explicit_true_on_a_green_leading_industry_keeps_value_secondary(config):
    r = one(config, industry="计算机、通信和其他电子设备制造业", high_energy=True)
    assert (r["segment"], r["secondary_segments"]) == ("compliance_driven", ["value_oriented"])
    # the reason must not call electronics a high-energy industry
    assert codes(r) == ["high_energy_declared", "green_leading_industry"]


def test_explicit_true_on_a_high_energy_industry_names_the_industry(config):
    r = one(config, industry="水泥制造", high_energy=True)
    assert codes(r) == ["high_energy_industry"]


def test_no_industry_and_no_flag_is_not_high_energy(config):
    r = one(config, customer_type="large_industrial", industry=None, high_energy=None)
    assert r["high_energy"] is False and r["segment"] == "responsibility_driven"


# ------------------------------------------------------------------- rule 3: value

@pytest.mark.parametrize("industry, group, label", [
    ("计算机、通信和其他电子设备制造业", "electronics", "计算机、通信和其他电子设备制造"),
    ("通信设备制造", "electronics", "计算机、通信和其他电子设备制造"),
    ("集成电路制造", "semiconductor", "半导体"),
    ("软件和信息技术服务业", "software", "软件和信息技术服务"),
    ("互联网和相关服务", "internet_it", "互联网和相关服务"),
])
def test_green_leading_industries_are_value(config, industry, group, label):
    r = one(config, industry=industry)
    assert (r["segment"], r["industry_group"], r["industry_family"]) == ("value_oriented", group, "green_leading")
    assert r["high_energy"] is False
    assert codes(r) == ["green_leading_industry"]
    assert reason_text(r, "green_leading_industry").startswith(f"贵司所在的{label}行业是绿色电力消费的引领行业")


@pytest.mark.parametrize("flag, code, text", [
    ("is_exporter", "exporter", "贵司为出口企业，海外客户与国际供应链日益要求可溯源、国际认可的绿色电力消费凭证"),
    ("is_listed", "listed", "贵司为上市公司，绿色电力消费可直接支撑ESG信息披露与绿色品牌形象"),
    ("has_esg_report", "esg_report", "贵司已发布ESG报告，绿色电力消费证明与碳减排报告可为报告提供可核验的数据"),
    ("re100_member", "re100", "贵司为RE100成员，需以国际认可的绿色电力凭证实现100%可再生电力目标"),
])
def test_each_value_trigger(config, flag, code, text):
    r = one(config, customer_type="large_industrial", industry="纺织", **{flag: True})
    assert (r["segment"], r["secondary_segments"]) == ("value_oriented", [])
    assert r["reasons"] == [{"code": code, "text": text}]


def test_every_matched_value_condition_is_a_reason_in_rule_order(config):
    r = one(config, industry="软件开发", is_exporter=True, is_listed=True, has_esg_report=True, re100_member=True)
    assert codes(r) == ["exporter", "listed", "esg_report", "re100", "green_leading_industry"]


# --------------------------------------------------------------- rule 4: fallback

@pytest.mark.parametrize("customer_type, industry", [
    ("general_commercial", "餐饮"), ("large_industrial", "汽车零部件制造"), ("general_commercial", None),
    ("general_commercial", "钢铁贸易"),      # a steel trader is not a steel maker
    ("general_commercial", "电子设备零售"),  # nor is an electronics shop a manufacturer
])
def test_otherwise_responsibility(config, customer_type, industry):
    r = one(config, customer_type=customer_type, industry=industry)
    assert (r["segment"], r["secondary_segments"]) == ("responsibility_driven", [])
    assert r["reasons"] == [{"code": "environmental_responsibility",
                             "text": "贵司可通过绿色电力消费践行环保责任，以较低门槛体验绿电并参与绿色社区共建"}]


# ------------------------------------------------------------- playbook defaults

@pytest.mark.parametrize("industry, province, target", [
    ("电解铝", "山东省", 0.21),
    ("电解铝", "内蒙古自治区", 0.29),
    ("原铝冶炼", "云南省", 0.70),
    ("电解铝", "四川省", 0.70),
    ("电解铝", "江苏省", 0.30),        # no sourced figure: fallback
    ("多晶硅", "重庆市", 0.342),
    ("多晶硅", "新疆维吾尔自治区", 0.30),
    ("数据中心", "贵州省", 0.80),
    ("数据中心", "北京市", 0.30),      # not a province with a national data-centre cluster
    ("钢铁冶炼", "河北省", 0.30),
])
def test_compliance_target_is_the_mandated_ratio_else_030(config, industry, province, target):
    r = one(config, customer_type="large_industrial", industry=industry, province=province)
    assert r["segment"] == "compliance_driven"
    assert r["default_target_share"] == pytest.approx(target)
    assert r["default_market_share"] is None
    assert r["default_market_share_cheaper"] is True


def test_value_and_responsibility_defaults(config):
    value = one(config, is_listed=True)
    assert (value["default_target_share"], value["default_market_share"],
            value["default_market_share_cheaper"]) == (1.0, 1.0, False)
    resp = one(config, industry="餐饮")
    assert (resp["default_target_share"], resp["default_market_share"],
            resp["default_market_share_cheaper"]) == (0.30, 0.0, False)


def test_defaults_match_the_playbooks(config):
    assert config.playbooks["compliance_driven"]["default_market_share"] == "cheaper_channel"
    assert config.playbooks["compliance_driven"]["default_renewable_target"] == "mandated_ratio"
    assert config.playbooks["compliance_driven"]["fallback_renewable_target"] == pytest.approx(0.30)
    assert config.playbooks["value_oriented"]["default_renewable_target"] == pytest.approx(1.0)
    assert config.playbooks["value_oriented"]["default_market_share"] == pytest.approx(1.0)
    assert config.playbooks["responsibility_driven"]["default_renewable_target"] == pytest.approx(0.30)
    assert config.playbooks["responsibility_driven"]["default_market_share"] == pytest.approx(0.0)


# -------------------------------------------------------------- text clean-up

@pytest.mark.parametrize("industry, group", [
    ("钢 铁 冶 炼", "steel"),
    ("ＩＤＣ机房", "data_centre"),
    ("  水泥制造\t", "cement"),
])
def test_industry_text_is_normalised(config, industry, group):
    assert one(config, industry=industry)["industry_group"] == group


# ------------------------------------------------------------------ properties

def _reference(row: dict, config) -> tuple[str, list[str], bool, str | None]:
    """segmentation.md's default rules, row by row in plain Python (the oracle)."""
    text = normalise_text(row["industry"]) if row["industry"] is not None else None
    group = None
    if text is not None:
        for g in config.groups:
            if any(k in text for k in g.keywords) and not any(x in text for x in g.exclude):
                group = g
                break
    family = group.family if group else None
    high_energy = row["high_energy"] if row["high_energy"] is not None else family == "high_energy"
    matched = []
    if row["customer_type"] == "residential":
        matched.append("responsibility_driven")
    if high_energy:
        matched.append("compliance_driven")
    if any(row[f] for f in VALUE_FLAGS) or family == "green_leading":
        matched.append("value_oriented")
    primary = matched[0] if matched else "responsibility_driven"
    return primary, [s for s in matched if s != primary], high_energy, group.code if group else None


_INDUSTRY_TEXTS = [
    None, "", "电解铝", "钢铁冶炼", "钢铁贸易", "水泥制造", "多晶硅", "互联网数据中心", "半导体级多晶硅",
    "计算机、通信和其他电子设备制造业", "集成电路", "软件开发", "互联网信息服务", "餐饮", "纺织",
    "黑色金属冶炼和压延加工业", "电子设备零售", "ｉｄｃ", "石化 工程", "汽车制造",
]
_PROVINCES = ["山东省", "内蒙古自治区", "云南省", "江苏省", "贵州省", "重庆市", "北京市"]

account_rows = st.fixed_dictionaries({
    "customer_type": st.sampled_from(CUSTOMER_TYPES),
    "industry": st.one_of(st.sampled_from(_INDUSTRY_TEXTS), st.text(max_size=12)),
    "province": st.sampled_from(_PROVINCES),
    "high_energy": st.sampled_from([None, True, False]),
    **{f: st.booleans() for f in VALUE_FLAGS + ("buys_green_power",)},
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(account_rows, min_size=0, max_size=40))
def test_property_one_primary_segment_per_account(config, rows):
    frame = make_accounts(*rows)
    out = segment_accounts(frame, config)
    assert out.height == frame.height
    assert out["account_id"].to_list() == frame["account_id"].to_list()
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    for row, res in zip(rows, out.iter_rows(named=True)):
        assert res["segment"] in SEGMENTS
        assert res["segment"] not in res["secondary_segments"]
        assert len(set(res["secondary_segments"])) == len(res["secondary_segments"])
        assert set(res["secondary_segments"]) <= set(SEGMENTS)
        assert res["high_energy"] is not None
        assert res["reasons"], "every account gets at least one reason"
        assert all(r["code"] and r["text"] for r in res["reasons"])
        assert len({r["code"] for r in res["reasons"]}) == len(res["reasons"])
        primary, secondary, high_energy, group = _reference(row, config)
        assert (res["segment"], res["secondary_segments"], res["high_energy"], res["industry_group"]) == (
            primary, secondary, high_energy, group), row
        if res["segment"] == "compliance_driven":
            assert res["default_market_share"] is None and res["default_market_share_cheaper"] is True
            expected = config.mandated_ratios.lookup(res["industry_group"], row["province"])
            assert res["default_target_share"] == pytest.approx(0.30 if expected is None else expected)
        else:
            assert res["default_market_share_cheaper"] is False
            assert res["default_market_share"] is not None
