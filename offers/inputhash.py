"""The input hash of an offer: a column-wise hash of everything its content is made from, so that an
incremental run decides which offers may have changed without building every offer's content.

``input_hash`` = a run-wide key (SHA-256 of the assumptions, the playbooks, the rules version, the
template version — templates, styles, branding, WeasyPrint — the source of the packages that turn figures
into an offer, ``offers``, ``gpengine`` and ``core``, every data file under ``data/`` the offer may read:
reps, branding, reference, labels …, and the Polars version) followed by two 64-bit hashes (different
seeds) of the account's own inputs: its ``accounts`` row, its ``results`` row, its ``scenarios`` rows in
order, its ``segments`` row and its edition (experiment, arm, the edition's template context). Polars
hashes those rows column by column (``Struct.hash``), ≈ 1 s per million accounts.

It is a fast path in front of the content hash, never a replacement for it (``offers/plan.py``): an offer
whose input hash equals the one recorded with its previous document is unchanged — its content would
be built from the very same inputs, so its content hash would be the recorded one; any other offer has
its content built and hashed as before, and is unchanged if that content hash matches. Hence what
re-renders an offer is exactly what did before (figures, edition, assumptions, rules, templates,
branding, reps): the input hash covers a superset of the content's inputs, so at worst it sends an
unchanged offer down the slower path (a new Polars version, a moved row, a float's last bit), never a
changed one past it. Columns that say where or when, not what (``run_id``, the row's ``row_number`` in
the list), are left out.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from offers.hashing import canonical_json

SCHEME = "input-hash 1"
_NOT_INPUTS = ("run_id", "row_number")
_CODE_PACKAGES = ("offers", "gpengine", "core")
_SEEDS = (0x5A176E3B1F2977C1, 0x2D4F0B936A513E07)


def _source_files() -> list[Path]:
    root = Path(__file__).resolve().parents[1]
    files = [p for pkg in _CODE_PACKAGES for p in sorted((root / pkg).glob("*.py"))]
    from core.datafiles import data_dir
    data = data_dir()
    files += sorted(p for p in data.rglob("*") if p.is_file() and p.relative_to(data).parts[0] not in
                    ("warehouse", "sample"))
    return files


def run_key(assumptions: Mapping[str, Any], playbooks: Mapping, rules_version: str, template_version: str) -> str:
    """The run-wide part of every input hash (module docstring)."""
    h = hashlib.sha256(f"{SCHEME}\0polars {pl.__version__}\0".encode())
    h.update(canonical_json({"assumptions": assumptions, "playbooks": playbooks, "rules_version": rules_version,
                             "template_version": template_version}).encode("utf-8"))
    for path in _source_files():
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def _row_hashes(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """account_id and two hashes of each row's input columns (the first row of an id kept)."""
    cols = [c for c in frame.columns if c not in _NOT_INPUTS]
    row = pl.struct(cols)
    return (frame.unique("account_id", keep="first", maintain_order=True)
            .select("account_id", *[row.hash(seeds).alias(f"{name}{i}") for i, seeds in enumerate(_SEEDS)]))


def _edition_texts(editions: Mapping[str, Mapping] | None) -> pl.DataFrame:
    """account_id and its edition as canonical text (one JSON per distinct edition dict)."""
    if not editions:
        return pl.DataFrame(schema={"account_id": pl.Utf8, "edition_text": pl.Utf8})
    texts: dict[int, str] = {}
    ids, values = [], []
    for account_id, assigned in editions.items():
        key = id(assigned.get("context"))
        text = texts.get(key)
        if text is None:
            text = texts[key] = canonical_json(assigned.get("context"))
        ids.append(account_id)
        values.append(canonical_json({k: assigned.get(k) for k in ("experiment", "edition", "held_out")}) + text)
    return pl.DataFrame({"account_id": ids, "edition_text": values}, schema={"account_id": pl.Utf8,
                                                                             "edition_text": pl.Utf8})


def input_hashes(accounts: pl.DataFrame, results: pl.DataFrame, scenarios: pl.DataFrame, segments: pl.DataFrame,
                 key: str, editions: Mapping[str, Mapping] | None = None) -> pl.Series:
    """Per row of ``accounts`` (in order) its ``input_hash`` (module docstring); ``key``: :func:`run_key`."""
    scen_cols = [c for c in scenarios.columns if c not in (*_NOT_INPUTS, "account_id")]
    scen = (scenarios.select("account_id", *[pl.struct(scen_cols).hash(s).alias(f"s{i}")
                                               for i, s in enumerate(_SEEDS)])
            .group_by("account_id", maintain_order=True).agg(pl.col("s0"), pl.col("s1"))
            .with_columns(pl.col("s0").hash(_SEEDS[0]), pl.col("s1").hash(_SEEDS[1])))
    frame = (accounts.select("account_id", pl.int_range(pl.len()).alias("_seq"))
             .join(_row_hashes(accounts, "a"), on="account_id", how="left", maintain_order="left")
             .join(_row_hashes(results, "r"), on="account_id", how="left", maintain_order="left")
             .join(scen, on="account_id", how="left", maintain_order="left")
             .join(_row_hashes(segments, "g"), on="account_id", how="left", maintain_order="left")
             .join(_edition_texts(editions), on="account_id", how="left", maintain_order="left"))
    parts = ["a", "r", "s", "g"]
    combined = [pl.struct([f"{p}{i}" for p in parts] + ["edition_text"]).hash(seeds)
                for i, seeds in enumerate(_SEEDS)]
    return frame.sort("_seq").select(
        (pl.lit(key) + combined[0].cast(pl.Utf8).str.zfill(20) + combined[1].cast(pl.Utf8).str.zfill(20))
        .alias("input_hash"))["input_hash"]
