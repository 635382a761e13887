"""Excel export of a table the dashboard shows: the same rows and headings, one sheet, via xlsxwriter."""
from __future__ import annotations

import io
import json

import polars as pl

XLSX_MAX_ROWS = 1_048_575


def xlsx_bytes(df: pl.DataFrame, sheet: str = "数据") -> bytes:
    """``df`` as an .xlsx file in memory: nested values as JSON text, time zones dropped (Excel has none)."""
    if df.height > XLSX_MAX_ROWS:
        raise ValueError(f"{df.height:,} 行超出 Excel 单表上限 {XLSX_MAX_ROWS:,} 行")
    cols = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, (pl.List, pl.Array, pl.Struct)):
            col = col.map_elements(lambda v: json.dumps(v.to_list() if isinstance(v, pl.Series) else v,
                                                        ensure_ascii=False, default=str),
                                   return_dtype=pl.String, skip_nulls=True)
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone:
            col = col.dt.replace_time_zone(None)
        cols.append(col)
    buf = io.BytesIO()
    df.select(cols).write_excel(buf, worksheet=sheet, autofit=True, freeze_panes=(1, 0))
    return buf.getvalue()
