"""Offer building blocks without rendering PDFs: formatting, file names, fetcher, branding, context."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offers import formatting as fmt
from offers.branding import BrandingError, load_branding
from offers.context import OfferDataError, build_offer, offer_meta
from offers.demo import demo_run
from offers.engine import get_renderer, render_offer_html
from offers.fetcher import AssetAccessDenied, AssetsOnlyFetcher
from offers.filenames import offer_filename
from offers.hashing import canonical_json, content_hash, content_hasher
from offers.paths import ASSETS_DIR

SAFE = r"^[a-z0-9_-]+-[0-9a-f]{16}\.pdf$"


# ------------------------------------------------------------------ formatting

def test_numbers_for_chinese_readers():
    assert fmt.num(1234567.891) == "1,234,568"
    assert fmt.num(-0.001, 2) == "0.00"
    assert fmt.num(-1234.5, 1) == fmt.MINUS + "1,234.5"
    assert fmt.money(52_460_000, "万元") == "5,246.00"
    assert fmt.money(8_500, "元") == "8,500"
    assert fmt.yuan(8_500) == "8,500 元"
    assert fmt.yuan(1_234_567) == "123.46 万元"
    assert fmt.yuan(6_614_000_000) == "66.14 亿元"
    assert fmt.kwh(9_800_000_000) == "98.00 亿kWh"
    assert fmt.pct(0.3) == "30.0%"
    assert fmt.pct(1.0) == "100.0%"
    assert fmt.price(0.61234) == "0.612"
    assert fmt.date_zh(dt.date(2025, 1, 5)) == "2025年1月5日"
    assert fmt.money_unit(180_000) == "万元" and fmt.money_unit(90_000) == "元" and fmt.money_unit(3e9) == "亿元"


def test_null_is_a_dash_everywhere():
    for name, f in fmt.FILTERS.items():
        if name in ("span", "signed", "coord"):
            continue
        assert f(None) == fmt.DASH, name
    assert fmt.pct(float("nan")) == fmt.DASH


def test_ranges_collapse_and_sign():
    assert fmt.span("1.00", "1.00") == "1.00"
    assert fmt.span("1.00", "2.00") == "1.00～2.00"
    assert fmt.signed("12.30") == "+12.30"
    assert fmt.signed(fmt.num(-3.2, 1)) == fmt.MINUS + "3.2"
    assert fmt.signed("0.00") == "0.00"


# ------------------------------------------------------------------ file names

@pytest.mark.parametrize("account_id", ["../../x", "a/b", "a\\b", "CON", "nul", ".hidden", "x" * 300,
                                        "客户/编号:01", "..", "  ", "a\x00b"])
def test_file_names_are_safe(account_id, tmp_path):
    name = offer_filename(account_id)
    assert len(name) <= 64
    assert __import__("re").match(SAFE, name), name
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize("account_id, expected", [
    # fixed values: a name must be the same in every run, process and version (unchanged offers are found
    # by it), and a reserved device name never stands alone before the extension
    ("Acc-1", "acc-1-0629f1ec119657ef.pdf"), ("acc-1", "acc-1-cf9df9b99fc0a24b.pdf"),
    ("CON", "con-a3dbc4b644a9a2c5.pdf"), ("nul", "nul-99e6242759016035.pdf"),
    ("../../x", "x-9cdf6a50100a862e.pdf"), ("客户/编号:01", "01-d4dc00223db5c2db.pdf")])
def test_file_names_are_fixed_and_never_a_device_name(account_id, expected):
    assert offer_filename(account_id) == expected


def test_ids_differing_only_in_case_or_dropped_characters_do_not_collide():
    pairs = [("Acc-1", "acc-1"), ("a/b", "a_b"), ("x" * 300, "x" * 299 + "y"), ("客户1", "客户2")]
    for a, b in pairs:
        assert offer_filename(a).casefold() != offer_filename(b).casefold()


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_any_id_gives_a_safe_name(account_id):
    name = offer_filename(account_id)
    assert __import__("re").match(SAFE, name)
    assert "/" not in name and "\\" not in name and not name.startswith(".")


def test_empty_id_is_refused():
    with pytest.raises(ValueError):
        offer_filename("")


# ------------------------------------------------------------------ fetcher

def test_fetcher_serves_only_the_assets(tmp_path):
    fetcher = AssetsOnlyFetcher(ASSETS_DIR)
    ok = fetcher.fetch((ASSETS_DIR / "logo.svg").as_uri())
    assert ok.content_type == "image/svg+xml" and b"<svg" in ok.read()
    secret = tmp_path / "secret.svg"
    secret.write_text("<svg/>")
    for url in ("file:///etc/hostname", secret.as_uri(), ASSETS_DIR.as_uri() + "/../../pyproject.toml",
                ASSETS_DIR.as_uri() + "/%2e%2e/%2e%2e/pyproject.toml", "http://example.com/x.png",
                "https://example.com/x.css", "data:image/svg+xml,<svg/>", "ftp://example.com/x",
                "file://otherhost" + (ASSETS_DIR / "logo.svg").as_posix(), ASSETS_DIR.as_uri() + "/"):
        with pytest.raises(AssetAccessDenied):
            fetcher.fetch(url)


def test_fetcher_does_not_follow_symlinks_out(tmp_path):
    root = tmp_path / "assets"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    (root / "link.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(AssetAccessDenied):
        AssetsOnlyFetcher(root).fetch((root / "link.txt").as_uri())


# ------------------------------------------------------------------ branding

def test_branding_loads_and_validates(tmp_path):
    brand = load_branding()
    assert brand.utility_name and brand.primary_color.startswith("#")
    bad = tmp_path / "branding.yaml"
    for text, key in (("utility_name: X\nsales_division: Y\nprimary_color: red\n", "primary_color"),
                      ("utility_name: X\nsales_division: Y\nlogo: ../../pyproject.toml\n", "logo"),
                      ("sales_division: Y\n", "utility_name"),
                      ("utility_name: X\nsales_division: Y\ncolour: '#000000'\n", "colour")):
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(BrandingError, match=key):
            load_branding(bad)


# ------------------------------------------------------------------ context

@pytest.fixture(scope="module")
def demo():
    return demo_run()


def _rows(run, account_id):
    pick = lambda df: [r for r in df.iter_rows(named=True) if r["account_id"] == account_id]  # noqa: E731
    return pick(run.accounts)[0], pick(run.results)[0], pick(run.scenarios), pick(run.segments)[0]


def test_context_takes_the_stored_figures(demo):
    account, result, scenarios, segment = _rows(demo, "JS-0001")
    offer = build_offer(account, result, scenarios, segment, demo.playbooks, demo.assumptions)
    assert offer["today"]["bill_yuan"] == result["bill_yuan"]
    rec = offer["comparison"]["recommended"]
    assert rec["mode"] == result["pv_mode"]
    assert rec["cost_low"] == result["green_cost_low_yuan"] and rec["cost_high"] == result["green_cost_high_yuan"]
    assert offer["pv"]["irr"] == result["pv_irr"]
    assert offer["plan"]["package_name"] == demo.playbooks["compliance_driven"]["package_name"]
    assert [s["code"] for s in offer["plan"]["secondary"]] == ["value_oriented"]


def test_xizang_has_no_co2_and_says_why(demo):
    account, result, scenarios, segment = _rows(demo, "XZ-0004")
    offer = build_offer(account, result, scenarios, segment, demo.playbooks, demo.assumptions)
    assert offer["today"]["co2_t"] is None and offer["method"]["ef_missing"]
    assert offer["pv"] is None and offer["comparison"]["pv_infeasible"]
    html = render_offer_html({"offer": offer, "meta": offer_meta("r", "v", "cn-2025", "ab" * 32, dt.date(2025, 1, 1))})
    assert "暂无官方排放因子" in html and "暂缺数据" in html


def test_trial_only_for_accounts_not_buying_green_power(demo):
    account, result, scenarios, segment = _rows(demo, "ZJ-0003")
    offer = build_offer(account, result, scenarios, segment, demo.playbooks, demo.assumptions)
    assert any("首次绿电体验周" in t for t in offer["green"]["trial"])
    offer = build_offer({**account, "buys_green_power": True}, result, scenarios, segment, demo.playbooks,
                        demo.assumptions)
    assert offer["green"]["trial"] == []


def test_the_headline_speaks_to_a_resident_in_their_own_words(demo):
    """"您的绿电比例达到 …" for a household; an organisation keeps "贵司绿电比例达到 …"."""
    account, result, scenarios, segment = _rows(demo, "ZJ-0003")
    business = build_offer(account, result, scenarios, segment, demo.playbooks, demo.assumptions)
    home = build_offer({**account, "customer_type": "residential"}, result, scenarios, segment, demo.playbooks,
                       demo.assumptions)
    assert business["decision"]["headline"].startswith("按推荐方案，贵司绿电比例达到 ")
    assert home["decision"]["headline"].startswith("按推荐方案，您的绿电比例达到 ")


def test_irr_null_is_explained(demo):
    account, result, scenarios, segment = _rows(demo, "JS-0001")
    result = {**result, "pv_irr": None, "pv_equity_yuan": 0.0, "flags": ["irr_undefined"]}
    offer = build_offer(account, result, scenarios, segment, demo.playbooks, demo.assumptions)
    assert offer["pv"]["irr"] is None and "全额贷款" in offer["pv"]["irr_note"]


def test_inconsistent_rows_raise_a_data_error(demo):
    account, result, scenarios, segment = _rows(demo, "JS-0001")
    with pytest.raises(OfferDataError, match="no cost-model result"):
        build_offer(account, None, scenarios, segment, demo.playbooks, demo.assumptions)
    with pytest.raises(OfferDataError, match="unknown segment"):
        build_offer(account, result, scenarios, {**segment, "segment": "vip"}, demo.playbooks, demo.assumptions)
    with pytest.raises(OfferDataError, match="'none' PV mode"):
        build_offer(account, result, [s for s in scenarios if s["pv_mode"] != "none"], segment, demo.playbooks,
                    demo.assumptions)


def test_playbooks_with_extra_keys_and_plain_string_promotions(demo):
    account, result, scenarios, segment = _rows(demo, "ZJ-0003")
    books = {k: {**v, "default_renewable_target": 0.3, "unknown_key": [1]} for k, v in demo.playbooks.items()}
    books["responsibility_driven"]["promotions"] = ["绿色积分计划"]
    offer = build_offer(account, result, scenarios, segment, books, demo.assumptions)
    assert offer["green"]["promotions"] == ["绿色积分计划"] and offer["green"]["trial"] == []


def test_assumptions_as_flat_values_or_as_a_run_record(demo):
    account, result, scenarios, segment = _rows(demo, "JS-0001")
    flat = {"name": "cn-2025", **demo.assumptions["values"]}
    a = build_offer(account, result, scenarios, segment, demo.playbooks, flat)
    b = build_offer(account, result, scenarios, segment, demo.playbooks, demo.assumptions)
    assert [r["value"] for r in a["method"]["rows"]] == [r["value"] for r in b["method"]["rows"]]


def test_content_hash_ignores_float_noise_but_not_changes(demo):
    account, result, scenarios, segment = _rows(demo, "JS-0001")
    offer = build_offer(account, result, scenarios, segment, demo.playbooks, demo.assumptions)
    h = content_hash(offer, demo.assumptions, "r1", "t1")
    noisy = build_offer(account, {**result, "bill_yuan": result["bill_yuan"] * (1 + 1e-15)}, scenarios, segment,
                        demo.playbooks, demo.assumptions)
    assert content_hash(noisy, demo.assumptions, "r1", "t1") == h
    changed = build_offer(account, {**result, "bill_yuan": result["bill_yuan"] + 1}, scenarios, segment,
                          demo.playbooks, demo.assumptions)
    assert content_hash(changed, demo.assumptions, "r1", "t1") != h
    assert content_hash(offer, demo.assumptions, "r2", "t1") != h
    assert content_hash(offer, demo.assumptions, "r1", "t2") != h
    # the run-wide hasher (shared parts canonicalised once) gives the very same hash
    assert content_hasher(demo.assumptions, "r1", "t1")(offer) == h
    assert content_hasher(demo.assumptions, "r1", "t1")(changed) == content_hash(changed, demo.assumptions, "r1", "t1")
    assert canonical_json({"b": 1, "a": [1.0, None]}) == '{"a":[1.0,null],"b":1}'


def test_html_is_escaped(demo):
    account, result, scenarios, segment = _rows(demo, "GD-0002")
    account = {**account, "name": '<b onload="x">&amp;</b>', "sales_rep": "<i>rep</i>"}
    offer = build_offer(account, result, scenarios, segment, demo.playbooks, demo.assumptions)
    html = render_offer_html({"offer": offer, "meta": offer_meta("r", "v", "s", "ab" * 32, dt.date(2025, 1, 1))})
    assert '<b onload' not in html and "&lt;b onload=&#34;x&#34;&gt;&amp;amp;&lt;/b&gt;" in html
    assert "<i>rep</i>" not in html


def test_templates_have_no_line_breaks_inside_chinese_text():
    """A source line break between two CJK characters renders as a visible space."""
    import re
    for path in Path(get_renderer().env.loader.searchpath[0]).glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"[\u4e00-\u9fff，。、；：]\n[\u4e00-\u9fff，。、；：]", text), path.name


def test_real_cost_model_and_playbooks_fit_the_offer():
    """The engine's frames and the segmentation data file, not only the demo: every account builds and renders."""
    from gpengine import model
    from gpengine.assumptions import load_assumptions
    from gpengine.reference import load_reference

    run = demo_run(n=12)
    aset = load_assumptions("wri-2023")
    out = model.compute(run.accounts, load_reference(), aset, run_id="r1")
    books = run.playbooks                 # data/segmentation/playbooks.yaml
    results = {r["account_id"]: r for r in out.results.iter_rows(named=True)}
    scenarios: dict[str, list] = {}
    for r in out.scenarios.iter_rows(named=True):
        scenarios.setdefault(r["account_id"], []).append(r)
    segments = {r["account_id"]: r for r in run.segments.iter_rows(named=True)}
    for account in run.accounts.iter_rows(named=True):
        aid = account["account_id"]
        offer = build_offer(account, results[aid], scenarios[aid], segments[aid], books, aset.record())
        html = render_offer_html({"offer": offer, "meta": offer_meta("r1", "v", "wri-2023", "ab" * 32, dt.date(2025, 1, 1))})
        assert fmt.money(results[aid]["bill_yuan"], offer["units"]["money"]) in html
        assert books[segments[aid]["segment"]]["package_name"] in html
