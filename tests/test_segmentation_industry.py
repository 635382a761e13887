"""Industry groups from keywords (industry_groups.yaml): matching, order, clean-up."""
from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation import load_segmentation_config
from segmentation.industry import classify_industry, classify_texts, normalise_text


@pytest.fixture(scope="module")
def groups():
    return load_segmentation_config().industry_groups


def group_of(groups, text):
    return classify_industry(pl.Series([text], dtype=pl.Utf8), groups)["industry_group"][0]


@pytest.mark.parametrize("text, expected", [
    ("电解铝", "electrolytic_aluminium"),
    ("铝冶炼", "electrolytic_aluminium"),
    ("氧化铝生产", "nonferrous_smelting"),
    ("有色金属冶炼和压延加工业", "nonferrous_smelting"),
    ("钢铁冶炼", "steel"),
    ("黑色金属冶炼和压延加工业", "steel"),
    ("铁合金冶炼", "ferroalloy"),           # before steel: 铁合金 is its own group
    ("水泥制造", "cement"),
    ("浮法玻璃", "flat_glass"),
    ("建筑陶瓷", "building_materials"),
    ("石油化工", "petrochemical"),
    ("石油、煤炭及其他燃料加工业", "petrochemical"),
    ("合成氨", "chemicals"),
    ("电石", "chemicals"),
    ("纯碱", "chemicals"),
    ("焦化", "coking"),
    ("工业硅", "polysilicon"),
    ("半导体级多晶硅", "polysilicon"),     # high-energy polysilicon before semiconductors
    ("数据中心", "data_centre"),
    ("互联网数据中心", "data_centre"),     # before internet services
    ("计算机、通信和其他电子设备制造业", "electronics"),
    ("计算机，通信和其他电子设备制造业", "electronics"),
    ("电子元器件制造", "electronics"),
    ("半导体器件", "semiconductor"),
    ("集成电路设计", "semiconductor"),
    ("软件和信息技术服务业", "software"),
    ("互联网和相关服务", "internet_it"),
    ("钢铁贸易", None),
    ("电子设备零售", None),
    ("网吧（互联网上网服务）", None),
    ("餐饮", None),
    ("", None),
    (None, None),
])
def test_keyword_groups(groups, text, expected):
    assert group_of(groups, text) == expected


def test_normalisation():
    assert normalise_text("  ＩＤＣ 机房\u3000") == "idc机房"
    assert normalise_text("钢 铁\t冶炼") == "钢铁冶炼"


def test_same_length_and_order(groups):
    texts = pl.Series(["水泥", None, "软件", "水泥", "餐饮"] * 3, dtype=pl.Utf8)
    out = classify_industry(texts, groups)
    assert out.height == texts.len()
    assert out["industry_group"].to_list() == ["cement", None, "software", "cement", None] * 3
    assert out["industry_family"].to_list() == ["high_energy", None, "green_leading", "high_energy", None] * 3
    assert out["industry_label"].to_list()[:3] == ["水泥", None, "软件和信息技术服务"]


def _reference_group(groups, text):
    """First group in file order whose keyword is contained and no exclude word is."""
    if text is None:
        return None
    for g in groups.groups:
        if any(k in text for k in g.keywords) and not any(x in text for x in g.exclude):
            return g.code
    return None


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_property_one_pass_equals_first_group_in_order(groups, data):
    """The single Aho-Corasick pass agrees with checking the groups one by one, in order."""
    words = sorted({w for g in groups.groups for w in g.keywords + g.exclude} | {"制造", "服务", "a", "级"})
    piece = st.one_of(st.sampled_from(words), st.text(alphabet="铝钢铁硅电子互联网业 ", max_size=3))
    texts = data.draw(st.lists(st.one_of(st.none(), st.lists(piece, max_size=4).map("".join)), max_size=30))
    result = classify_texts(pl.Series(texts, dtype=pl.Utf8), groups)["industry_group"].to_list()
    assert result == [_reference_group(groups, t) for t in texts]
