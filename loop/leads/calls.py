"""A rep's call list (``gp calls --rep NAME``): whom to call, in order, and why — read from the
``lead_calls`` view of the published warehouse, reasons and triggers put into Chinese here (the view
keeps them as data), written to Excel by :func:`write_call_list`, the one function that writes a call
list file.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from loop.leads.config import LeadsConfig
from core.reasons import reason_text
from loop.leads.reasons import RULE
from warehouse import run_query
from warehouse.errors import QueryError

CALLS_SQL = """SELECT call_rank, account_id, name, province, segment, score, model_version, reasons, offer_no,
       offer_folder, offer_path, valid_until, open_triggers, scored_on, run_id
FROM lead_calls WHERE coalesce(sales_rep, '') = ? ORDER BY call_rank"""
TRIGGERS_ZH = {"segment_changed": "细分变化", "offer_expiring": "方案即将到期", "renewal_due": "续约到期",
               "premium_changed": "绿电溢价变化"}
HEADERS = {"call_rank": "顺序", "account_id": "户号", "name": "客户名称", "province": "省份", "segment": "细分",
           "score": "签约可能性", "score_kind": "评分方式", "reasons": "理由", "offer_no": "方案编号",
           "offer_file": "方案文件", "valid_until": "有效期至", "open_triggers": "待跟进事项"}
FORMATS = {"score": "percent"}


def call_list(db: Path, rep: str, config: LeadsConfig, names: dict[str, str] | None = None) -> pl.DataFrame:
    """The rep's accounts of the latest scored run, best score first, as the call list shows them.

    ``names``: Chinese names of segment and edition codes (for the reasons and the segment column)."""
    try:
        rows = run_query(Path(db), CALLS_SQL, [rep])
    except QueryError as e:
        if "lead_calls" in str(e):
            raise QueryError(f"{db}: no lead scores yet (run the nightly job once)") from None
        raise
    names = names or {}
    reasons = [reason_text(r, config.reasons, names) for r in rows["reasons"].to_list()]
    files = [str(Path(folder) / path) if folder and path else None
             for folder, path in zip(rows["offer_folder"].to_list(), rows["offer_path"].to_list())]
    triggers = ["、".join(TRIGGERS_ZH.get(t, t) for t in (v or "").split(",") if t) or None
                for v in rows["open_triggers"].to_list()]
    return rows.select(
        "call_rank", "account_id", "name", "province",
        pl.col("segment").replace_strict(names, default=pl.col("segment"), return_dtype=pl.String),
        "score",
        pl.when(pl.col("model_version") == RULE).then(pl.lit("规则（结果不足，未训练模型）"))
        .otherwise(pl.lit("模型 ") + pl.col("model_version")).alias("score_kind"),
        pl.Series("reasons", reasons, dtype=pl.String), "offer_no",
        pl.Series("offer_file", files, dtype=pl.String), "valid_until",
        pl.Series("open_triggers", triggers, dtype=pl.String))


def write_call_list(calls: pl.DataFrame, xlsx: Path) -> Path:
    """Write a call list to Excel (Chinese headings, score as a percentage). Every call-list file the
    project writes goes through here."""
    from warehouse.query import write_query_result

    write_query_result(calls, xlsx=Path(xlsx), headers=HEADERS, formats=FORMATS)
    return Path(xlsx)
