"""Loading and validating the segmentation data files; rules_version; editing the rules."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Callable

import polars as pl
import pytest
import yaml

from core.datafiles import DataFileError, data_dir, read_yaml
from intake.schema import ACCOUNT_SCHEMA
from segmentation import SEGMENTS, applicable_promotions, load_segmentation_config, segment_accounts

SEG_DIR = data_dir() / "segmentation"
FILES = ("rules.yaml", "industry_groups.yaml", "playbooks.yaml", "mandated_ratios.yaml")
PLAYBOOK_KEYS = ("label_zh", "package_name", "package_summary", "services", "price_design", "promotions",
                 "offer_points", "default_renewable_target", "default_market_share")


@pytest.fixture(scope="module")
def config():
    return load_segmentation_config()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of data/ with the real segmentation files, to edit."""
    shutil.copytree(SEG_DIR, tmp_path / "segmentation")
    return tmp_path


def edit(data: Path, name: str, change: Callable[[Any], Any]) -> None:
    path = data / "segmentation" / name
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    result = change(content)
    content = content if result is None else result
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")


def frame(*rows: dict) -> pl.DataFrame:
    defaults = {"row_number": 2, "name": "客户", "province": "江苏省", "customer_type": "large_industrial",
                "annual_kwh": 1e6, "existing_pv_kwh": 0.0, "share_sharp": 0.0, "share_peak": 0.0,
                "share_flat": 1.0, "share_valley": 0.0, "is_exporter": False, "is_listed": False,
                "has_esg_report": False, "re100_member": False, "buys_green_power": False,
                "roof_owned": True, "roof_area_m2": 0.0}
    full = [{**defaults, "account_id": f"A{i}", **r} for i, r in enumerate(rows)]
    return pl.DataFrame(full, schema={k: v[0] for k, v in ACCOUNT_SCHEMA.items()})


# ------------------------------------------------------------------ the real files

def test_config_shape(config):
    assert set(config.files) == set(FILES)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in config.files.values())
    assert re.fullmatch(r"[0-9a-f]{64}", config.rules_version)
    assert [r.id for r in config.rules] == ["residential", "high_energy", "value"]
    assert config.fallback.segment == "responsibility_driven"
    assert set(config.playbooks) == set(SEGMENTS)
    assert SEGMENTS == ("compliance_driven", "value_oriented", "responsibility_driven")


def test_required_groups_and_families(config):
    family = {g.code: g.family for g in config.groups}
    for code in ("electrolytic_aluminium", "steel", "cement", "flat_glass", "petrochemical", "chemicals",
                 "coking", "ferroalloy", "polysilicon", "data_centre"):
        assert family[code] == "high_energy", code
    for code in ("electronics", "semiconductor", "internet_it", "software"):
        assert family[code] == "green_leading", code


@pytest.mark.parametrize("name", FILES)
def test_every_data_file_has_source_and_date(name):
    content = read_yaml(SEG_DIR / name).content
    assert str(content["source"]).strip()
    assert str(content["date"]).strip()


def test_playbooks_have_the_keys_other_packages_read(config):
    for seg in SEGMENTS:
        book = config.playbooks[seg]
        for key in PLAYBOOK_KEYS:
            assert book[key] not in (None, "", []), (seg, key)
        assert all(isinstance(s, str) and s for s in book["services"] + book["offer_points"])
        assert all(set(p) >= {"text", "only_if_not_buys_green_power"} for p in book["promotions"])
    assert config.playbooks["compliance_driven"]["label_zh"] == "合规驱动型"
    assert config.playbooks["value_oriented"]["label_zh"] == "价值导向型"
    assert config.playbooks["responsibility_driven"]["label_zh"] == "责任驱动型"
    assert config.playbooks["compliance_driven"]["package_name"] == "绿电配额达标套餐 + 能效管理服务"
    assert config.playbooks["value_oriented"]["package_name"] == "绿色品牌增值方案"
    assert config.playbooks["responsibility_driven"]["package_name"] == "绿色社区共建 + 绿色积分 + 碳足迹可视化"
    assert "基准电量+绿色溢价" in config.playbooks["compliance_driven"]["price_design"]


def test_trial_week_only_for_accounts_not_buying_green_power(config):
    book = config.playbooks["responsibility_driven"]
    trial = [p for p in book["promotions"] if "首次绿电体验周" in p["text"]]
    assert len(trial) == 1 and trial[0]["only_if_not_buys_green_power"] is True
    assert any("首次绿电体验周" in p["text"] for p in applicable_promotions(book, buys_green_power=False))
    assert not any("首次绿电体验周" in p["text"] for p in applicable_promotions(book, buys_green_power=True))
    assert any("绿色积分" in p["text"] for p in applicable_promotions(book, buys_green_power=True))


def test_mandated_ratios_are_cited_and_use_known_provinces(config):
    provinces = {p["name"] for p in read_yaml(data_dir() / "reference" / "provinces.yaml").content["provinces"]}
    ratios = config.mandated_ratios
    assert ratios.ratios
    for r in ratios.ratios:
        assert r.province in provinces, r
        assert 0 < r.ratio <= 1
        doc = ratios.documents[r.document]
        assert doc["title"] and doc["date"]
        assert r.evidence
    assert ratios.lookup("electrolytic_aluminium", "山东省") == pytest.approx(0.21)
    assert ratios.lookup("steel", "山东省") is None


def test_mandated_ratio_latest_year_wins(data_copy):
    def add_older(c):
        c["ratios"].append({"industry_group": "electrolytic_aluminium", "province": "山东省", "ratio": 0.15,
                            "year": 2023, "document": "ndrc-nea-2024-598", "evidence": "test"})
        c["ratios"].append({"industry_group": "steel", "province": "河北省", "ratio": 0.25,
                            "year": 2026, "document": "ndrc-nea-2025-669", "evidence": "test"})
    edit(data_copy, "mandated_ratios.yaml", add_older)
    cfg = load_segmentation_config(data_copy)
    assert cfg.mandated_ratios.lookup("electrolytic_aluminium", "山东省") == pytest.approx(0.21)
    out = segment_accounts(frame({"industry": "钢铁", "province": "河北省"}), cfg)
    assert out["default_target_share"].to_list() == [pytest.approx(0.25)]


# ------------------------------------------------------------------ rules_version

def test_rules_version_is_stable_and_changes_with_any_file(data_copy, config):
    same = load_segmentation_config(data_copy)
    assert same.rules_version == config.rules_version and same.files == config.files
    for name in FILES:
        path = data_copy / "segmentation" / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        changed = load_segmentation_config(data_copy)
        assert changed.rules_version != config.rules_version, name
        assert changed.files[name] != config.files[name]
        assert {k: v for k, v in changed.files.items() if k != name} == \
               {k: v for k, v in config.files.items() if k != name}
        path.write_bytes(original)
    assert load_segmentation_config(data_copy).rules_version == config.rules_version


def test_environment_variable_selects_the_data_dir(data_copy, monkeypatch):
    (data_copy / "segmentation" / "rules.yaml").write_text("rules: [", encoding="utf-8")
    monkeypatch.setenv("GREENPOWER_DATA", str(data_copy))
    with pytest.raises(DataFileError, match="rules.yaml"):
        load_segmentation_config()


# ------------------------------------------------------- a rule added by an analyst

AUTO_EXPORTER = {
    "id": "auto_exporter",
    "segment": "value_oriented",
    "when": {"all": [
        {"field": "industry", "op": "contains", "value": ["汽车"], "code": "automotive",
         "text": "贵司属于汽车行业，整车与零部件出口日益要求供应链绿色电力凭证"},
        {"field": "is_exporter", "op": "is_true", "code": "exporter", "text": "贵司为出口企业（汽车）"},
    ]},
}


def test_a_rule_added_to_the_yaml_changes_segmentation(data_copy, config):
    # Placed first, the analyst's rule wins over the high-energy rule.
    edit(data_copy, "rules.yaml", lambda c: c["rules"].insert(0, AUTO_EXPORTER))
    cfg = load_segmentation_config(data_copy)
    assert cfg.rules_version != config.rules_version
    accounts = frame(
        {"industry": "汽车零部件制造", "is_exporter": True, "high_energy": True},
        {"industry": "汽车零部件制造", "is_exporter": False, "high_energy": True},
        {"industry": "纺织", "is_exporter": True},
    )
    before = segment_accounts(accounts, config)
    after = segment_accounts(accounts, cfg)
    assert before["segment"].to_list() == ["compliance_driven", "compliance_driven", "value_oriented"]
    assert after["segment"].to_list() == ["value_oriented", "compliance_driven", "value_oriented"]
    first = after.row(0, named=True)
    assert first["secondary_segments"] == ["compliance_driven"]
    # both conditions of the `all` are reasons; the exporter code is shown once (first text wins)
    assert [r["code"] for r in first["reasons"]] == ["automotive", "exporter", "high_energy_declared"]
    assert first["reasons"][1]["text"] == "贵司为出口企业（汽车）"
    # the `all` failed for the non-exporter: neither of its conditions is a reason
    assert [r["code"] for r in after.row(1, named=True)["reasons"]] == ["high_energy_declared"]


def test_a_rule_on_province_and_consumption(data_copy):
    rule = {"id": "big_jiangsu", "segment": "value_oriented", "when": {"all": [
        {"field": "province", "op": "in", "value": ["江苏省", "浙江省"], "code": "yrd",
         "text": "贵司位于{province}，长三角客户供应链绿电要求较高"},
        {"field": "annual_kwh", "op": "gte", "value": 10000000, "code": "large_load", "text": "贵司年用电量较大"},
    ]}}
    edit(data_copy, "rules.yaml", lambda c: c["rules"].append(rule))
    cfg = load_segmentation_config(data_copy)
    out = segment_accounts(frame({"annual_kwh": 2e7}, {"annual_kwh": 1e6}, {"annual_kwh": 2e7, "province": "山东省"}), cfg)
    assert out["segment"].to_list() == ["value_oriented", "responsibility_driven", "responsibility_driven"]
    assert out.row(0, named=True)["reasons"][0] == {"code": "yrd", "text": "贵司位于江苏省，长三角客户供应链绿电要求较高"}


def test_a_fallback_change(data_copy):
    edit(data_copy, "rules.yaml", lambda c: c["fallback"].update(segment="value_oriented"))
    cfg = load_segmentation_config(data_copy)
    out = segment_accounts(frame({"industry": "餐饮"}), cfg)
    assert out["segment"].to_list() == ["value_oriented"]
    assert out["default_target_share"].to_list() == [1.0]


# ------------------------------------------------------------- invalid files

def _set(path: list, value: Any) -> Callable[[Any], None]:
    def change(c: Any) -> None:
        node = c
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return change


def _delete(path: list) -> Callable[[Any], None]:
    def change(c: Any) -> None:
        node = c
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]
    return change


VALUE_ANY0 = ["rules", 2, "when", "any", 0]

INVALID = [
    # (file, change, key path in the message, words of the message)
    ("rules.yaml", _set(VALUE_ANY0 + ["field"], "is_exporterr"), "rules[2].when.any[0].field", "unknown field 'is_exporterr'"),
    ("rules.yaml", _set(["rules", 0, "segment"], "green_driven"), "rules[0].segment", "unknown segment 'green_driven'"),
    ("rules.yaml", _set(["fallback", "segment"], "other"), "fallback.segment", "unknown segment 'other'"),
    ("rules.yaml", _set(VALUE_ANY0 + ["op"], "equals"), "rules[2].when.any[0].op", "unknown operator 'equals'"),
    ("rules.yaml", _set(["rules", 0, "when", "op"], "gte"), "rules[0].when.op", "unknown operator 'gte' for field 'customer_type'"),
    ("rules.yaml", _set(["rules", 0, "when", "value"], 1), "rules[0].when.value", "expected text, got a number"),
    ("rules.yaml", _set(["rules", 0, "when", "value"], "resident"), "rules[0].when.value", "unknown value 'resident'"),
    ("rules.yaml", _set(VALUE_ANY0, {"field": "is_exporter", "op": "eq", "value": "yes", "code": "x", "text": "t"}),
     "rules[2].when.any[0].value", "expected a boolean"),
    ("rules.yaml", _set(VALUE_ANY0, {"field": "annual_kwh", "op": "gte", "value": "1e7", "code": "x", "text": "t"}),
     "rules[2].when.any[0].value", "expected a number"),
    ("rules.yaml", _set(VALUE_ANY0, {"field": "industry_group", "op": "eq", "value": "steal", "code": "x", "text": "t"}),
     "rules[2].when.any[0].value", "unknown value 'steal'"),
    ("rules.yaml", _set(VALUE_ANY0, {"field": "province", "op": "in", "value": "江苏省", "code": "x", "text": "t"}),
     "rules[2].when.any[0].value", "needs a non-empty list"),
    ("rules.yaml", _set(VALUE_ANY0, {"field": "is_exporter", "op": "is_true", "value": True, "code": "x", "text": "t"}),
     "rules[2].when.any[0].value", "takes no value"),
    ("rules.yaml", _set(VALUE_ANY0, {"field": "province", "op": "eq", "code": "x", "text": "t"}),
     "rules[2].when.any[0].value", "needs a value"),
    ("rules.yaml", _delete(["rules", 1, "segment"]), "rules[1].segment", "required key is missing"),
    ("rules.yaml", _delete(VALUE_ANY0 + ["code"]), "rules[2].when.any[0].code", "required key is missing"),
    ("rules.yaml", _delete(["fallback"]), "fallback", "required key is missing"),
    ("rules.yaml", _delete(["source"]), "source", "required key is missing"),
    ("rules.yaml", _delete(["date"]), "date", "required key is missing"),
    ("rules.yaml", _set(["rules", 0, "segmnet"], "value_oriented"), "rules[0].segmnet", "unknown key"),
    ("rules.yaml", _set(["rules", 1, "id"], "residential"), "rules[1].id", "duplicate rule id"),
    ("rules.yaml", _set(["rules", 2, "when", "field"], "is_listed"), "rules[2].when", "must stand alone"),
    ("rules.yaml", _set(["rules", 2, "when", "any"], []), "rules[2].when.any", "non-empty list"),
    ("rules.yaml", _set(VALUE_ANY0 + ["text"], "贵司{customer_name}"), "rules[2].when.any[0].text", "unknown placeholder"),
    ("rules.yaml", _set(VALUE_ANY0 + ["code"], "Exporter!"), "rules[2].when.any[0].code", "reason code"),
    ("rules.yaml", _set(["rules"], []), "rules", "at least one rule"),
    ("rules.yaml", lambda c: ["not", "a", "mapping"], "(top level)", "YAML mapping"),
    ("industry_groups.yaml", _set(["groups", 0, "family"], "heavy"), "groups[0].family", "unknown family 'heavy'"),
    ("industry_groups.yaml", _set(["groups", 1, "keywords"], ["电解铝"]), "groups[1].keywords[0]", "already in group 'electrolytic_aluminium'"),
    ("industry_groups.yaml", _set(["groups", 1, "code"], "electrolytic_aluminium"), "groups[1].code", "duplicate group code"),
    ("industry_groups.yaml", _set(["groups", 1, "keywords"], []), "groups[1].keywords", "at least one keyword"),
    ("industry_groups.yaml", _delete(["groups", 1, "label_zh"]), "groups[1].label_zh", "required key is missing"),
    ("industry_groups.yaml", _set(["groups", 1, "keywords"], "铜冶炼"), "groups[1].keywords", "valid list"),
    ("playbooks.yaml", _delete(["playbooks", "value_oriented"]), "playbooks.value_oriented", "required key is missing"),
    ("playbooks.yaml", _set(["playbooks", "loyal"], {}), "playbooks.loyal", "unknown segment 'loyal'"),
    ("playbooks.yaml", _delete(["playbooks", "compliance_driven", "package_name"]),
     "playbooks.compliance_driven.package_name", "required key is missing"),
    ("playbooks.yaml", _set(["playbooks", "compliance_driven", "default_market_share"], "cheapest"),
     "playbooks.compliance_driven.default_market_share", "'cheaper_channel'"),
    ("playbooks.yaml", _set(["playbooks", "value_oriented", "default_renewable_target"], 1.5),
     "playbooks.value_oriented.default_renewable_target", "between 0 and 1"),
    ("playbooks.yaml", _set(["playbooks", "value_oriented", "default_market_share"], "1.0"),
     "playbooks.value_oriented.default_market_share", "between 0 and 1"),
    ("playbooks.yaml", _delete(["playbooks", "compliance_driven", "fallback_renewable_target"]),
     "playbooks.compliance_driven", "fallback_renewable_target is required"),
    ("playbooks.yaml", _set(["playbooks", "responsibility_driven", "promotions", 0], {"only_if_not_buys_green_power": True}),
     "playbooks.responsibility_driven.promotions[0].text", "required key is missing"),
    ("playbooks.yaml", _set(["playbooks", "responsibility_driven", "promotions", 0, "only_if_not_buys_green_power"], "yes"),
     "playbooks.responsibility_driven.promotions[0].only_if_not_buys_green_power", "boolean"),
    ("mandated_ratios.yaml", _set(["ratios", 0, "ratio"], 21), "ratios[0].ratio", "(0, 1]"),
    ("mandated_ratios.yaml", _set(["ratios", 0, "industry_group"], "aluminium"), "ratios[0].industry_group", "unknown industry group"),
    ("mandated_ratios.yaml", _set(["ratios", 0, "document"], "nowhere"), "ratios[0].document", "unknown document"),
    ("mandated_ratios.yaml", _delete(["ratios", 0, "year"]), "ratios[0].year", "required key is missing"),
    ("mandated_ratios.yaml", lambda c: c["ratios"].insert(1, dict(c["ratios"][0])), "ratios[1]", "duplicate entry"),
    # a province must be the province table's full name: a short or misspelled one would never match
    ("mandated_ratios.yaml", _set(["ratios", 0, "province"], "山东"), "ratios[0].province",
     "unknown province '山东'; write its full name '山东省'"),
    ("mandated_ratios.yaml", _set(["ratios", 0, "province"], "山栋省"), "ratios[0].province", "unknown province '山栋省'"),
    ("rules.yaml", _set(VALUE_ANY0, {"field": "province", "op": "in", "value": ["江苏省", "Zhejiang"], "code": "x",
                                     "text": "t"}), "rules[2].when.any[0].value[1]",
     "unknown province 'Zhejiang'; write its full name '浙江省'"),
    ("rules.yaml", _set(VALUE_ANY0, {"field": "province", "op": "eq", "value": "江苏", "code": "x", "text": "t"}),
     "rules[2].when.any[0].value", "unknown province '江苏'"),
]


@pytest.mark.parametrize("name, change, where, words", INVALID,
                         ids=[f"{i:02d}-{w}" for i, (_, _, w, _) in enumerate(INVALID)])
def test_invalid_file_is_rejected_with_file_and_key_path(data_copy, name, change, where, words):
    edit(data_copy, name, change)
    with pytest.raises(DataFileError) as err:
        load_segmentation_config(data_copy)
    message = str(err.value)
    assert str(data_copy / "segmentation" / name) in message
    assert f": {where}: " in message, message
    assert words in message, message


def test_rules_referring_to_a_removed_group_are_rejected(data_copy):
    rule = {"id": "steel_only", "segment": "compliance_driven",
            "when": {"field": "industry_group", "op": "eq", "value": "steel", "code": "steel", "text": "钢铁"}}
    edit(data_copy, "rules.yaml", lambda c: c["rules"].append(rule))
    edit(data_copy, "industry_groups.yaml", lambda c: c.update(groups=[g for g in c["groups"] if g["code"] != "steel"]))
    edit(data_copy, "mandated_ratios.yaml", lambda c: None)
    with pytest.raises(DataFileError, match=r"rules\.yaml: rules\[3\]\.when\.value: unknown value 'steel'"):
        load_segmentation_config(data_copy)


def test_unreadable_and_malformed_files(data_copy):
    (data_copy / "segmentation" / "playbooks.yaml").write_text("playbooks: {unclosed", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"playbooks\.yaml: not valid UTF-8 YAML"):
        load_segmentation_config(data_copy)
    (data_copy / "segmentation" / "playbooks.yaml").unlink()
    with pytest.raises(DataFileError, match=r"playbooks\.yaml: cannot read"):
        load_segmentation_config(data_copy)
