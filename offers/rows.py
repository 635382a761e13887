"""The ``offers`` rows a run stores (outputs.md): their schema, how one is made, and the frame of a run."""
from __future__ import annotations

from collections.abc import Iterable

import polars as pl

OFFERS_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Utf8,
    "path": pl.Utf8,          # relative to the output folder; NULL when failed
    "sha256": pl.Utf8,
    "bytes": pl.Int64,
    "pages": pl.Int64,
    "content_hash": pl.Utf8,
    "status": pl.Utf8,        # rendered / unchanged / failed / held_out
    "error": pl.Utf8,
    "warning": pl.Utf8,       # rendered, but with a problem worth knowing (a font left uncompacted: ≈ 5× larger)
    # the closed loop (loop.md): which edition of which experiment; the document's number and dates (printed
    # on the PDF; an unchanged offer keeps its document's number and dates)
    "experiment": pl.Utf8,
    "edition": pl.Utf8,
    "offer_no": pl.Utf8,
    "issued_on": pl.Date,
    "valid_until": pl.Date,
    # incremental runs (offers/inputhash.py, offers/linking.py): what the offer was made from, and the file's
    # mtime, so that a later run with the same inputs links the file without reading it
    "input_hash": pl.Utf8,
    "file_mtime_ns": pl.Int64,
}
ARM = ("experiment", "edition")   # what a failed job's row keeps of its RenderJob.extra
_ERROR_MAX = 500


def _row(account_id: str, status: str, *, path: str | None = None, sha256: str | None = None,
         size: int | None = None, pages: int | None = None, chash: str | None = None,
         error: str | None = None, warning: str | None = None, job=None, document=None) -> dict:
    """One ``offers`` row; ``job`` (a RenderJob) or ``document`` (a previous row) gives the offer number and
    dates."""
    src = document if document is not None else (vars(job) if job is not None else {})
    return {"account_id": account_id, "path": path, "sha256": sha256, "bytes": size, "pages": pages,
            "content_hash": chash, "status": status, "error": error, "warning": warning,
            "offer_no": src.get("offer_no"), "issued_on": src.get("issued_on"), "valid_until": src.get("valid_until")}


def _arm(extra: dict) -> dict:
    """A job's experiment and edition: what its row keeps even when the document failed."""
    return {k: extra[k] for k in ARM if k in extra}


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _ERROR_MAX else text[:_ERROR_MAX - 1] + "…"



# columns of a previous offers row that describe where it was, not what it is
_NOT_CARRIED = ("run_id", "folder")


def _unchanged_row(old: dict, *, path: str, sha256: str, size: int, pages: int | None, chash: str) -> dict:
    """The previous offer's whole row (so columns beyond OFFERS_SCHEMA — an offer number, an issue date —
    stay with the unchanged document), with this run's facts about the file."""
    row = {k: v for k, v in old.items() if k not in _NOT_CARRIED}
    row.update(_row(old["account_id"], "unchanged", path=path, sha256=sha256, size=size, pages=pages, chash=chash,
                    warning=old.get("warning"), document=old))
    return row


def offers_frame(rows: Iterable[dict]) -> pl.DataFrame:
    """The ``offers`` frame of a run: OFFERS_SCHEMA's columns first, then any carried from previous rows."""
    rows = list(rows)
    if not rows:
        return pl.DataFrame(schema=OFFERS_SCHEMA)
    frame = pl.DataFrame(rows, schema_overrides=OFFERS_SCHEMA, infer_schema_length=None)
    frame = frame.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in OFFERS_SCHEMA.items() if c not in frame.columns)
    return frame.select(*OFFERS_SCHEMA, *(c for c in frame.columns if c not in OFFERS_SCHEMA))
