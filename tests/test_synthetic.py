"""The synthetic customer-list generator and the bundled sample."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from gpengine.reference import load_reference
from intake import load_accounts, validate_accounts
from synthetic.customers import COLUMNS, generate_customers, main
from synthetic.vocabulary import INDUSTRIES

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "customers.csv"


@pytest.fixture(scope="module")
def customers() -> pl.DataFrame:
    return generate_customers(5000, seed=11)


def test_same_seed_same_list_other_seed_other_list():
    assert generate_customers(400, seed=3).equals(generate_customers(400, seed=3))
    assert not generate_customers(400, seed=3).equals(generate_customers(400, seed=4))


def test_headers_are_the_english_input_names(customers):
    assert tuple(customers.columns) == COLUMNS
    assert generate_customers(0).columns == list(COLUMNS) and generate_customers(0).height == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_lists_validate_without_rejects(seed):
    result = validate_accounts(generate_customers(3000, seed))
    assert result.rejects.height == 0, result.rejects.head(3).to_dicts()
    assert result.accounts.height == 3000


def test_coverage_of_provinces_types_and_industries(customers):
    assert set(customers["province"]) == set(load_reference().provinces["province"])
    assert set(customers["customer_type"]) == {"large_industrial", "general_commercial", "residential"}
    industries = set(customers["industry"].drop_nulls())
    for word in ("电解铝", "钢铁冶炼", "水泥制造", "平板玻璃", "石油化工", "合成氨", "电石", "烧碱", "纯碱", "焦化",
                 "铁合金", "多晶硅", "数据中心", "计算机、通信和其他电子设备制造业", "半导体", "互联网和相关服务",
                 "软件和信息技术服务业", "食品加工", "纺织服装", "汽车零部件制造", "商场", "酒店", "写字楼"):
        assert word in industries, word
    assert set(customers["repayment"].drop_nulls()) == {"annuity", "interest_only"}
    assert set(customers["pv_mode"].drop_nulls()) == {"self", "third_party", "none"}


def test_names_are_plausible_and_residential_accounts_are_not_people(customers):
    companies = customers.filter(pl.col("customer_type") != "residential")["name"]
    residential = customers.filter(pl.col("customer_type") == "residential")["name"]
    assert companies.str.contains("公司").all()
    assert companies.str.contains("（集团）").any() and companies.str.len_chars().max() >= 20
    assert not residential.str.contains("公司").any()
    assert residential.str.contains("小区|花园|家园|苑|新村|公寓").all()


def test_magnitudes_by_customer_type(customers):
    by_type = customers.group_by("customer_type").agg(pl.col("annual_kwh").min().alias("lo"),
                                                       pl.col("annual_kwh").max().alias("hi"))
    ranges = {r["customer_type"]: (r["lo"], r["hi"]) for r in by_type.iter_rows(named=True)}
    assert 1e3 <= ranges["residential"][0] and ranges["residential"][1] <= 1e4
    assert 1e4 <= ranges["general_commercial"][0] and ranges["general_commercial"][1] <= 1e7
    assert 1e6 <= ranges["large_industrial"][0] and ranges["large_industrial"][1] <= 1e9
    price = (customers["annual_bill_yuan"] / customers["annual_kwh"]).drop_nulls()
    assert price.min() >= 0.449 and price.max() <= 0.851
    assert 0.07 <= customers["annual_bill_yuan"].null_count() / customers.height <= 0.13


def test_flags_and_options_are_minorities(customers):
    share = {c: customers[c].mean() for c in ("is_exporter", "is_listed", "has_esg_report", "re100_member",
                                              "buys_green_power", "roof_owned")}
    assert all(0 < share[c] < 0.3 for c in share if c != "roof_owned") and share["roof_owned"] > 0.6
    assert 0.05 < customers["loan_ratio"].is_not_null().mean() < 0.3
    assert customers["loan_years"].drop_nulls().is_between(1, 25).all()
    assert customers["share_flat"].is_not_null().mean() > 0.6
    assert (customers["existing_pv_kwh"].fill_null(0) > 0).any()
    high = {row[0] for row in INDUSTRIES if row[3]}
    flagged = customers.filter(pl.col("high_energy"))["industry"]
    assert set(flagged.drop_nulls()) <= high


def test_command_line_writes_csv_and_parquet(tmp_path):
    assert main(["--rows", "50", "--seed", "5", "--out", str(tmp_path / "c.parquet")]) == 0
    parquet = load_accounts(tmp_path / "c.parquet")
    assert (parquet.accounts.height, parquet.rejects.height) == (50, 0)
    out = tmp_path / "c.csv"
    subprocess.run([sys.executable, "-m", "synthetic", "--rows", "50", "--seed", "5", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    csv = load_accounts(out)
    assert csv.accounts.drop("row_number").equals(parquet.accounts.drop("row_number"))


def test_command_line_refuses_unknown_suffix(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--rows", "5", "--out", str(tmp_path / "c.json")])
    assert ".csv, .parquet or .xlsx" in capsys.readouterr().err


def test_bundled_sample_validates_and_is_what_the_readme_command_writes(tmp_path):
    result = load_accounts(SAMPLE)
    assert (result.rows_read, result.accounts.height, result.rejects.height) == (300, 300, 0)
    command = "python -m synthetic --rows 300 --seed 2025 --out data/sample/customers.csv"
    assert command in (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    regenerated = tmp_path / "customers.csv"
    main(["--rows", "300", "--seed", "2025", "--out", str(regenerated)])
    assert regenerated.read_bytes() == SAMPLE.read_bytes()
