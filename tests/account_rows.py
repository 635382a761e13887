"""Build validated-account frames for engine tests (the shape intake hands to the model)."""
from __future__ import annotations

import polars as pl

from intake.schema import ACCOUNT_SCHEMA

DEFAULT_ROW = dict(
    row_number=2, account_id="A1", name="测试企业有限公司", province="江苏省", customer_type="large_industrial",
    industry=None, annual_kwh=1.0e7, annual_bill_yuan=6.5e6, existing_pv_kwh=0.0,
    share_sharp=0.0, share_peak=0.0, share_flat=1.0, share_valley=0.0, high_energy=False,
    is_exporter=False, is_listed=False, has_esg_report=False, re100_member=False, buys_green_power=False,
    roof_owned=True, renewable_target=None, roof_area_m2=0.0, pv_mode=None, loan_ratio=None, loan_rate=None,
    loan_years=None, repayment=None, third_party_discount=None, market_share=None, sales_rep=None,
)


def accounts_frame(*rows: dict) -> pl.DataFrame:
    full = []
    for i, row in enumerate(rows):
        r = {**DEFAULT_ROW, "account_id": f"A{i + 1}", "row_number": i + 2, **row}
        full.append(r)
    return pl.DataFrame(full, schema={k: v[0] for k, v in ACCOUNT_SCHEMA.items()})


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def csv_cell_text(text: str | None, encoding: str) -> str:
    """What a real export of ``text`` in ``encoding`` can hold. NUL and a lone CR are not CSV text;
    U+FFFD makes the loader refuse the whole file on purpose (tested in test_intake_load); a GBK
    export only holds GB2312-like text, the rest would be refused as a probable wrong encoding."""
    text = (text or "").replace("\x00", "").replace("\r", "").replace("\ufffd", "?")
    if encoding == "gb18030":
        text = "".join(ch if ord(ch) < 128 or _in_gb2312(ch) else "?" for ch in text)
    return text
