"""Demo runs for offer previews, tests and the render benchmark: a few showcase accounts (one per segment
plus an extreme one) and optional synthetic ones, taken through the real pipeline — validation
(``intake``), segmentation with the real rules and playbooks, and the cost model (``gpengine``) with
the default assumption set — so every figure in a preview is what a real run would store.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

_SHOWCASE = [
    dict(account_id="JS-0001", name="江苏华东特钢集团有限公司", province="江苏省", customer_type="large_industrial",
         industry="钢铁冶炼", annual_kwh=86_000_000, annual_bill_yuan=52_460_000, existing_pv_kwh=1_200_000,
         high_energy=True, is_exporter=True, roof_area_m2=60_000, sales_rep="王磊", buys_green_power=False),
    dict(account_id="GD-0002", name="深圳市星联通信设备股份有限公司", province="广东省", customer_type="large_industrial",
         industry="计算机、通信和其他电子设备制造业", annual_kwh=12_500_000, annual_bill_yuan=8_875_000,
         is_exporter=True, is_listed=True, re100_member=True, roof_area_m2=18_000, pv_mode=None, sales_rep="陈静",
         buys_green_power=True),
    dict(account_id="ZJ-0003", name="杭州西溪茶语餐饮管理有限公司", province="浙江省", customer_type="general_commercial",
         industry="餐饮业", annual_kwh=180_000, annual_bill_yuan=133_200, roof_area_m2=0, sales_rep="李娜",
         buys_green_power=False),
    dict(account_id="XZ-0004", name="西藏高原" + "绿色能源与生态旅游综合开发" * 5 + "集团股份有限公司（拉萨经济技术开发区分公司）",
         province="西藏自治区", customer_type="large_industrial", industry="数据中心", annual_kwh=9_800_000_000,
         annual_bill_yuan=None, high_energy=True, roof_area_m2=0, roof_owned=False, pv_mode="self", sales_rep=None,
         buys_green_power=False),
]


@dataclass
class DemoRun:
    accounts: pl.DataFrame
    results: pl.DataFrame
    scenarios: pl.DataFrame
    segments: pl.DataFrame
    playbooks: dict
    assumptions: dict
    run_id: str = "demo-run"
    rules_version: str = "demo-rules"


def demo_run(n: int = 0, seed: int = 7, showcase: bool = True) -> DemoRun:
    """The four showcase accounts plus ``n`` synthetic ones (``synthetic``), computed for real."""
    from gpengine.assumptions import load_assumptions
    from gpengine.model import compute
    from gpengine.reference import load_reference
    from intake import table_from_frame, validate_accounts
    from segmentation import load_segmentation_config, segment_accounts
    from segmentation.enrich import with_segment_columns
    from synthetic import generate_customers

    frames = [pl.DataFrame(_SHOWCASE, infer_schema_length=None).cast(pl.Utf8)] if showcase else []
    if n:
        frames.append(generate_customers(n, seed=seed).cast(pl.Utf8))
    raw = pl.concat(frames, how="diagonal")
    checked = validate_accounts(table_from_frame(raw, "demo accounts"))
    if checked.rejects.height:
        raise ValueError(f"demo accounts rejected: {checked.rejects.to_dicts()}")
    config = load_segmentation_config()
    segments = segment_accounts(checked.accounts, config)
    assumptions = load_assumptions()
    run_id = "demo-run"
    model = compute(with_segment_columns(checked.accounts, segments), load_reference(), assumptions, run_id=run_id)
    stored_segments = segments.select("account_id", "segment", "secondary_segments", "reasons").with_columns(
        pl.lit(run_id).alias("run_id"), pl.lit(config.rules_version).alias("rules_version"))
    return DemoRun(checked.accounts, model.results, model.scenarios, stored_segments, config.playbooks,
                   assumptions.record(), run_id, config.rules_version)
