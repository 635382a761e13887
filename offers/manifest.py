"""``manifest.csv`` beside the PDFs: which file is whose offer, for the sales reps (outputs.md).

Columns: account, name, segment, file, sha256, status. UTF-8 with a byte-order mark so that Excel
on a Chinese Windows desktop opens the names correctly. A cell that Excel would read as a formula
(starting with ``= + - @`` or a tab/CR) is prefixed with an apostrophe — a customer name is data,
never a formula. Written to a temporary file and atomically renamed.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from offers.atomic import atomic_write_bytes

MANIFEST_NAME = "manifest.csv"
COLUMNS = ("account", "name", "segment", "file", "sha256", "status")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_manifest(offers: pl.DataFrame, accounts: pl.DataFrame, segments: pl.DataFrame, out_dir: Path) -> Path:
    """Write ``out_dir/manifest.csv`` for the offers of one run; returns its path."""
    names = accounts.select("account_id", "name").unique("account_id", keep="first", maintain_order=True)
    segs = segments.select("account_id", "segment").unique("account_id", keep="first", maintain_order=True)
    table = (offers.select("account_id", "path", "sha256", "status")
             .join(names, on="account_id", how="left", maintain_order="left")
             .join(segs, on="account_id", how="left", maintain_order="left"))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in table.iter_rows(named=True):
        writer.writerow([_cell(r["account_id"]), _cell(r["name"]), _cell(r["segment"]), _cell(r["path"]),
                         _cell(r["sha256"]), _cell(r["status"])])
    path = Path(out_dir) / MANIFEST_NAME
    atomic_write_bytes(path, buf.getvalue().encode("utf-8-sig"))
    return path
