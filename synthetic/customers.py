"""Synthetic customer lists: plausible, deterministic, and fast (numpy + Polars, no row loop).

``generate_customers(n, seed)`` returns a frame with the English headers of spec ``input.md``
that validates with zero rejects. Distributions (all invented, for demos and benchmarks):

* provinces: all 31 (each at least once when n >= 31), weighted by economy; the city in the
  name lies in that province;
* customer types: 25 % large industrial, 50 % general commercial, 25 % residential;
* industries by type, incl. high-energy (电解铝, 钢铁冶炼, 水泥制造, ...), green-leading
  (计算机、通信和其他电子设备制造业, 半导体, 互联网和相关服务, ...) and ordinary ones;
  residential accounts are housing compounds (某某花园3号楼居民用电), never people;
* annual_kwh log-normal by type (residential ≈ 1e3–1e4, commercial 1e4–1e7, large
  industrial 1e6–1e9); bill at 0.45–0.85 元/kWh, ≈ 10 % missing; TOU shares for most;
  some existing PV, roof areas, a minority with loans, flags, targets and PV modes.

Command line (writes CSV in UTF-8, Parquet or .xlsx by the file suffix)::

    python -m synthetic --rows 1000000 --seed 7 --out customers.parquet
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from core.filemodes import make_dirs, secure_file
from core.vocabulary import PvMode
from synthetic import vocabulary as vocab

COLUMNS = ("account_id", "name", "province", "customer_type", "industry", "annual_kwh", "annual_bill_yuan",
           "existing_pv_kwh", "share_sharp", "share_peak", "share_flat", "share_valley", "high_energy",
           "is_exporter", "is_listed", "has_esg_report", "re100_member", "buys_green_power", "roof_owned",
           "renewable_target", "roof_area_m2", "pv_mode", "loan_ratio", "loan_rate", "loan_years", "repayment",
           "third_party_discount", "market_share", "sales_rep")

LI, GC, RES = 0, 1, 2
# log-normal annual consumption by customer type: (median kWh, sigma, low clip, high clip)
_KWH = {LI: (2.0e7, 1.2, 1.0e6, 1.0e9), GC: (3.0e5, 1.2, 1.0e4, 1.0e7), RES: (3.0e3, 0.5, 1.0e3, 1.0e4)}
# log-normal usable roof area by type: (median m², sigma, low clip, high clip)
_ROOF = {LI: (2.0e4, 0.9, 5.0e2, 3.0e5), GC: (2.0e3, 1.0, 5.0e1, 5.0e4), RES: (3.0e2, 0.8, 2.0e1, 5.0e3)}
# TOU profile (Dirichlet weights sharp, peak, flat, valley) and the chance it is given
_SHARES = {LI: ((1.0, 3.0, 3.5, 3.5), 0.9), GC: ((1.0, 4.0, 4.0, 2.0), 0.85), RES: ((0.5, 3.0, 4.0, 3.0), 0.4)}


def _pick(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _by_type(ctype: np.ndarray, values: dict[int, float]) -> np.ndarray:
    return np.select([ctype == LI, ctype == GC], [values[LI], values[GC]], values[RES])


def _log_normal(rng, ctype, table) -> np.ndarray:
    median = _by_type(ctype, {k: v[0] for k, v in table.items()})
    sigma = _by_type(ctype, {k: v[1] for k, v in table.items()})
    low = _by_type(ctype, {k: v[2] for k, v in table.items()})
    high = _by_type(ctype, {k: v[3] for k, v in table.items()})
    return np.clip(median * np.exp(sigma * rng.standard_normal(len(ctype))), low, high)


def _gather(words, index: np.ndarray) -> pl.Series:
    return pl.Series(list(words), dtype=pl.Utf8).gather(index)


def _ragged_pick(rng, groups: list[tuple[str, ...]], group_index: np.ndarray) -> pl.Series:
    """For each row one word of its group (e.g. a city of its province), uniformly."""
    flat = [w for g in groups for w in g]
    counts = np.array([len(g) for g in groups])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    offset = (rng.random(len(group_index)) * counts[group_index]).astype(np.int64)
    return _gather(flat, starts[group_index] + offset)


def _company_names(rng, city: pl.Series, trade: pl.Series) -> pl.Series:
    """City + brand + trade + legal form, following vocab.NAME_PATTERNS (vectorised)."""
    n = len(city)
    brands = [a + b for a in vocab.BRAND_FIRST for b in vocab.BRAND_SECOND
              if a != b and a + b not in vocab.BRAND_BLOCKLIST]
    brand = _gather(brands, rng.integers(0, len(brands), n))
    extra = _gather(vocab.EXTRA_WORDS, rng.integers(0, len(vocab.EXTRA_WORDS), n))
    pattern = _pick(rng, [w for w, _ in vocab.NAME_PATTERNS], n)
    tokens = [re.findall(r"\{[cbtx]\}|[^{]+", fmt) for _, fmt in vocab.NAME_PATTERNS]
    parts = {"{c}": city, "{b}": brand, "{t}": trade, "{x}": extra}
    frame = pl.DataFrame({"p": pattern})
    pieces = []
    for k in range(max(map(len, tokens))):
        token_at_k = [t[k] if k < len(t) else "" for t in tokens]
        literal = _gather([t if t not in parts else "" for t in token_at_k], pattern)
        expr = pl.lit(literal)
        for placeholder, words in parts.items():
            uses = np.array([t == placeholder for t in token_at_k])[pattern]
            expr = pl.when(pl.lit(pl.Series(uses))).then(pl.lit(words)).otherwise(expr)
        pieces.append(expr)
    return frame.select(pl.concat_str(pieces).alias("name"))["name"]


def _residential_names(rng, city: pl.Series) -> pl.Series:
    n = len(city)
    estate = _gather(vocab.ESTATE_WORDS, rng.integers(0, len(vocab.ESTATE_WORDS), n))
    kind = _gather(vocab.ESTATE_KINDS, rng.integers(0, len(vocab.ESTATE_KINDS), n))
    building = pl.Series(rng.integers(1, 40, n)).cast(pl.Utf8) + "号楼"
    building = pl.select(pl.when(pl.lit(pl.Series(rng.random(n) < 0.6))).then(pl.lit(building))
                         .otherwise(pl.lit(""))).to_series()
    label = _gather(vocab.RESIDENTIAL_LABELS, rng.integers(0, len(vocab.RESIDENTIAL_LABELS), n))
    return city + estate + kind + building + label


def _maybe(values: np.ndarray, present: np.ndarray, dtype) -> pl.Series:
    """A Series with NULL where ``present`` is false."""
    return pl.Series(values, dtype=dtype).scatter(np.flatnonzero(~present), None)


def generate_customers(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` synthetic customers, the same for the same (n, seed); English input.md headers."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = np.random.default_rng(seed)
    if n == 0:
        return generate_customers(1, seed).clear()

    province = _pick(rng, [w for _, w, _ in vocab.PROVINCES], n)
    if n >= len(vocab.PROVINCES):    # every province appears, even in a small sample
        province[rng.choice(n, len(vocab.PROVINCES), replace=False)] = np.arange(len(vocab.PROVINCES))
    city = _ragged_pick(rng, [cities for _, _, cities in vocab.PROVINCES], province)
    ctype = _pick(rng, vocab.CUSTOMER_TYPE_WEIGHTS, n)
    is_res = ctype == RES

    # industry: drawn per type from the weights of vocab.INDUSTRIES
    industry = np.zeros(n, dtype=np.int64)
    for t, column in ((LI, 1), (GC, 2)):
        mask = ctype == t
        industry[mask] = _pick(rng, [row[column] for row in vocab.INDUSTRIES], int(mask.sum()))
    high_energy_industry = np.array([row[3] for row in vocab.INDUSTRIES])[industry] & ~is_res
    green_industry = np.array([row[4] for row in vocab.INDUSTRIES])[industry] & ~is_res
    trade = _ragged_pick(rng, [row[5] for row in vocab.INDUSTRIES], industry)
    industry_text = _gather([row[0] for row in vocab.INDUSTRIES], industry)
    res_industry = rng.random(n) < 0.6
    industry_text = pl.select(
        pl.when(pl.lit(pl.Series(is_res & res_industry))).then(pl.lit(vocab.RESIDENTIAL_INDUSTRY))
        .when(pl.lit(pl.Series(is_res | (rng.random(n) < 0.03)))).then(pl.lit(None, dtype=pl.Utf8))
        .otherwise(pl.lit(industry_text))).to_series()

    company = _company_names(rng, city, trade)
    residential = _residential_names(rng, city)
    name = pl.select(pl.when(pl.lit(pl.Series(is_res))).then(pl.lit(residential))
                     .otherwise(pl.lit(company))).to_series()

    # energy and money
    kwh = _log_normal(rng, ctype, _KWH)
    kwh_cap = _by_type(ctype, {k: v[3] for k, v in _KWH.items()})
    kwh = np.where(high_energy_industry, np.minimum(kwh * 3.0, kwh_cap), kwh).round()
    price = np.where(is_res, rng.uniform(0.48, 0.65, n), rng.uniform(0.45, 0.85, n))
    bill = (kwh * price).round(2)
    bill_given = rng.random(n) >= 0.10
    has_pv = rng.random(n) < _by_type(ctype, {LI: 0.2, GC: 0.12, RES: 0.03})
    pv = np.where(has_pv, (kwh * rng.uniform(0.005, 0.25, n)).round(), 0.0)
    pv_given = has_pv | (rng.random(n) < 0.3)

    # time-of-use shares: Dirichlet via gamma draws (one alpha row per account); 30 % have no sharp period
    alpha = np.stack([_by_type(ctype, {k: v[0][i] for k, v in _SHARES.items()}) for i in range(4)], axis=1)
    gamma = rng.gamma(alpha)
    gamma[:, 0] *= rng.random(n) >= 0.3
    shares = (gamma / gamma.sum(axis=1, keepdims=True)).round(3)
    shares_given = rng.random(n) < _by_type(ctype, {k: v[1] for k, v in _SHARES.items()})

    roof = _log_normal(rng, ctype, _ROOF).round(1)
    roof_given = rng.random(n) >= 0.08

    # flags
    def chance(li: float, gc: float, res: float) -> np.ndarray:
        return rng.random(n) < _by_type(ctype, {LI: li, GC: gc, RES: res})

    listed = chance(0.08, 0.03, 0.0)
    esg = np.where(listed, rng.random(n) < 0.7, chance(0.03, 0.02, 0.0))
    re100 = np.where(green_industry, rng.random(n) < 0.08, chance(0.005, 0.003, 0.0))
    high_energy_given = rng.random(n) < 0.25

    # loans, targets, PV mode
    loan = chance(0.18, 0.15, 0.02)
    loan_years = rng.choice(np.array([1, 3, 5, 8, 10, 12, 15, 20, 25]), n,
                            p=[0.02, 0.08, 0.2, 0.15, 0.25, 0.08, 0.12, 0.07, 0.03])
    repayment = np.where(rng.random(n) < 0.7, "annuity", "interest_only")
    pv_mode = np.array([str(PvMode.SELF), str(PvMode.THIRD_PARTY), str(PvMode.NONE)])[_pick(rng, (0.45, 0.35, 0.2), n)]
    pv_mode_given = rng.random(n) < 0.15
    discount_given = pv_mode_given & (pv_mode == "third_party") & (rng.random(n) < 0.5)
    target_given = rng.random(n) < 0.15
    market_given = chance(0.3, 0.15, 0.0)

    reps = [s + g for s, g in zip(rng.choice(vocab.SURNAMES, 60), rng.choice(vocab.GIVEN_NAMES, 60))]
    province_names = [p for p, _, _ in vocab.PROVINCES]
    account_id = (pl.Series(np.full(n, "3"), dtype=pl.Utf8)
                  + pl.Series(province + 11).cast(pl.Utf8)
                  + pl.Series(np.arange(1, n + 1)).cast(pl.Utf8).str.zfill(10))

    frame = pl.DataFrame({
        "account_id": account_id,
        "name": name,
        "province": _gather(province_names, province),
        "customer_type": _gather(vocab.CUSTOMER_TYPES, ctype),
        "industry": industry_text,
        "annual_kwh": pl.Series(kwh.astype(np.int64)),
        "annual_bill_yuan": _maybe(bill, bill_given, pl.Float64),
        "existing_pv_kwh": _maybe(pv.astype(np.int64), pv_given, pl.Int64),
        **{c: _maybe(shares[:, i], shares_given, pl.Float64)
           for i, c in enumerate(("share_sharp", "share_peak", "share_flat", "share_valley"))},
        "high_energy": _maybe(high_energy_industry, high_energy_given, pl.Boolean),
        "is_exporter": pl.Series(chance(0.3, 0.05, 0.0)),
        "is_listed": pl.Series(listed),
        "has_esg_report": pl.Series(esg),
        "re100_member": pl.Series(re100),
        "buys_green_power": pl.Series(chance(0.1, 0.05, 0.01)),
        "roof_owned": pl.Series(chance(0.9, 0.7, 0.5)),
        "renewable_target": _maybe(rng.choice([0.1, 0.2, 0.3, 0.5, 0.8, 1.0], n), target_given, pl.Float64),
        "roof_area_m2": _maybe(roof, roof_given, pl.Float64),
        "pv_mode": _maybe(pv_mode, pv_mode_given, pl.Utf8),
        "loan_ratio": _maybe(rng.uniform(0.3, 0.8, n).round(2), loan, pl.Float64),
        "loan_rate": _maybe(rng.uniform(0.03, 0.065, n).round(4), loan, pl.Float64),
        "loan_years": _maybe(loan_years, loan, pl.Int64),
        "repayment": _maybe(repayment, loan, pl.Utf8),
        "third_party_discount": _maybe(rng.uniform(0.8, 0.95, n).round(2), discount_given, pl.Float64),
        "market_share": _maybe(rng.uniform(0.3, 1.0, n).round(2), market_given, pl.Float64),
        "sales_rep": _maybe(np.array(reps)[rng.integers(0, len(reps), n)], rng.random(n) < 0.95, pl.Utf8),
    })
    return frame.select(COLUMNS)


def write_customers(frame: pl.DataFrame, out: Path) -> None:
    """Write by suffix: .csv (UTF-8), .parquet, .xlsx."""
    suffix = out.suffix.lower()
    make_dirs(out.parent)
    if suffix == ".csv":
        frame.write_csv(out)
    elif suffix == ".parquet":
        frame.write_parquet(out)
    elif suffix == ".xlsx":
        frame.write_excel(out, worksheet="customers")
    else:
        raise ValueError(f"unknown output type {out.suffix!r}: use .csv, .parquet or .xlsx")
    secure_file(out)     # made-up customers, but a customer list all the same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthetic", description="Write a synthetic customer list.")
    parser.add_argument("--rows", type=int, required=True, help="number of customers")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same list)")
    parser.add_argument("--out", type=Path, required=True, help="output file: .csv, .parquet or .xlsx")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be >= 0")
    if args.out.suffix.lower() not in (".csv", ".parquet", ".xlsx"):
        parser.error("--out must end in .csv, .parquet or .xlsx")
    start = time.perf_counter()
    frame = generate_customers(args.rows, args.seed)
    write_customers(frame, args.out)
    print(f"wrote {frame.height} customers to {args.out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
