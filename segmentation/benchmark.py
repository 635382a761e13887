"""Speed check: segment a synthetic customer list (default one million accounts).

    python -m segmentation.benchmark [N] [--distinct-industries K]

The goal (performance.md, segmentation's share of the < 30 s million-account run) is about
a second for a million accounts. Kept out of the test suite on purpose: a timing
assertion on a shared CI machine is noise, and the suite must stay fast.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from segmentation import load_segmentation_config, segment_accounts

_INDUSTRIES = [
    "电解铝", "钢铁冶炼", "水泥制造", "平板玻璃", "石油化工", "氯碱化工", "焦化", "铁合金冶炼", "多晶硅",
    "互联网数据中心", "计算机、通信和其他电子设备制造业", "集成电路设计", "软件开发", "互联网信息服务",
    "餐饮", "零售", "汽车零部件制造", "纺织", "食品加工", "物业管理", "钢铁贸易", None,
]
_PROVINCES = ["山东省", "内蒙古自治区", "云南省", "江苏省", "广东省", "贵州省", "重庆市", "河北省"]


def synthetic_accounts(n: int, distinct_industries: int | None = None, seed: int = 7) -> pl.DataFrame:
    """A synthetic account frame with the columns segmentation reads (intake/schema.py types)."""
    rng = np.random.default_rng(seed)
    if distinct_industries:
        # Many distinct texts: the worst case for the per-distinct-text classification.
        base = [s or "其他" for s in _INDUSTRIES]
        industry = pl.Series(
            [f"{base[i % len(base)]}{i % distinct_industries}" for i in range(n)], dtype=pl.Utf8)
    else:
        industry = pl.Series(_INDUSTRIES, dtype=pl.Utf8).gather(rng.integers(0, len(_INDUSTRIES), n))
    draw = rng.random(n)   # 80 % not given, 10 % true, 10 % false
    high_energy = (pl.when(pl.Series(draw < 0.8)).then(None)
                   .otherwise(pl.Series(draw < 0.9)))

    def flag(p: float) -> pl.Series:
        return pl.Series(rng.random(n) < p)

    frame = pl.DataFrame({
        "account_id": pl.Series([f"A{i:07d}" for i in range(n)]),
        "customer_type": pl.Series(np.array(["large_industrial", "general_commercial", "residential"])[
            rng.integers(0, 3, n)]),
        "province": pl.Series(np.array(_PROVINCES)[rng.integers(0, len(_PROVINCES), n)]),
        "industry": industry,
        "annual_kwh": rng.uniform(1e3, 1e8, n),
        "is_exporter": flag(0.2),
        "is_listed": flag(0.05),
        "has_esg_report": flag(0.05),
        "re100_member": flag(0.01),
        "buys_green_power": flag(0.1),
    })
    return frame.with_columns(high_energy=high_energy.cast(pl.Boolean))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--distinct-industries", type=int, default=None)
    args = parser.parse_args()
    config = load_segmentation_config()
    accounts = synthetic_accounts(args.n, args.distinct_industries)
    segment_accounts(accounts.head(1000), config)   # warm-up
    start = time.perf_counter()
    out = segment_accounts(accounts, config)
    elapsed = time.perf_counter() - start
    print(f"segmented {out.height:,} accounts in {elapsed:.2f} s")
    print(out.group_by("segment").len().sort("segment"))


if __name__ == "__main__":
    main()
