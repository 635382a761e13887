"""Rendering in a worker process: the expensive parts built once per process, then one PDF per job,
written atomically; a failed document is a failed row, never an exception."""
from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
from collections.abc import Iterable
from pathlib import Path

from offers.atomic import atomic_write_bytes
from offers.branding import Branding
from offers.diskfull import as_disk_full
from offers.linking import _remove_stale
from offers.plan import RenderJob
from offers.rows import _arm, _error_text, _row

_WORKER = None
_FROZEN = False


def init_worker(branding: Branding | None) -> None:
    """Build the expensive, reusable parts once per process."""
    global _WORKER, _FROZEN
    from offers.engine import OfferRenderer
    _WORKER = OfferRenderer(branding)
    _FROZEN = False


def _collect() -> None:
    """``gc.collect()`` between documents keeps RSS flat (WeasyPrint's box trees are cyclic).

    After the first document, everything still alive is long-lived (modules, fonts, compiled CSS,
    caches): ``gc.freeze()`` moves it out of the collector's sight, so each later collection only
    walks the last document's objects — about 7 ms instead of about 50 ms per document.
    """
    global _FROZEN
    gc.collect()
    # only in a child process (pool or cluster worker): never freeze a caller's own interpreter
    if not _FROZEN and multiprocessing.parent_process() is not None:
        gc.freeze()
        _FROZEN = True


def render_jobs(jobs: Iterable[RenderJob], out_dir: str | os.PathLike, branding: Branding | None = None) -> list[dict]:
    """Render and write a batch of jobs in this process; returns one ``offers`` row per job."""
    global _WORKER
    if _WORKER is None or (branding is not None and _WORKER.branding != branding):
        init_worker(branding)
    out_dir = Path(out_dir)
    rows = []
    for job in jobs:
        try:
            html = _WORKER.html(job.context)
            problems: list[str] = []
            data, pages = _WORKER.pdf(html, problems)
            atomic_write_bytes(out_dir / job.path, data)
            rows.append({**_row(job.account_id, "rendered", path=job.path, sha256=hashlib.sha256(data).hexdigest(),
                                size=len(data), pages=pages, chash=job.content_hash,
                                warning="; ".join(problems) or None, job=job), **job.extra,
                         "file_mtime_ns": os.stat(out_dir / job.path).st_mtime_ns})
        except Exception as exc:
            _remove_stale(out_dir, job.path)
            if (full := as_disk_full(exc, out_dir)) is not None:
                raise full from None        # every further offer would fail the same way: stop the run
            rows.append({**_row(job.account_id, "failed", chash=job.content_hash, error=_error_text(exc)),
                         **_arm(job.extra)})
        finally:
            _collect()
    return rows


