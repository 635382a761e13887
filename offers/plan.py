"""Planning a run's offers (driver side): per account, its content and ``content_hash``, and whether the
previous offer can be kept.

An offer whose content hash equals the account's last successful offer (``Warehouse.previous_offers``:
whatever run made it, a nightly or a campaign) and whose file is intact is ``unchanged``: the file is
linked into this run's folder and the previous row kept. The others become :class:`RenderJob` s.
"""
from __future__ import annotations

import datetime as _dt
import logging
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from core.vocabulary import OfferStatus
from offers.branding import Branding, load_branding
from offers.context import assumption_values, build_offer, offer_meta
from offers.filenames import offer_filename
from offers.hashing import content_hasher, template_version
from offers.inputhash import input_hashes, run_key
from offers.linking import _file_sha256, _link_unread, _remove_stale, _reuse
from offers.reps import load_reps
from offers.rows import _error_text, _row, _unchanged_row

log = logging.getLogger(__name__)
TIMEZONE = ZoneInfo("Asia/Shanghai")
VALID_DAYS = 30               # an offer is valid this many days from its issue date (offers.md)


@dataclass
class RenderJob:
    seq: int                  # position of the account in ``accounts`` (ids may repeat in bad input)
    account_id: str
    path: str                 # file name inside the output folder
    content_hash: str
    context: dict             # {"offer": ..., "meta": ...}
    offer_no: str | None = None
    issued_on: _dt.date | None = None
    valid_until: _dt.date | None = None
    extra: dict = field(default_factory=dict)   # the closed loop: experiment and edition

    def __post_init__(self) -> None:   # from a JSON batch file (distributed rendering) the dates are text
        for name in ("issued_on", "valid_until"):
            if isinstance(getattr(self, name), str):
                setattr(self, name, _dt.date.fromisoformat(getattr(self, name)))


@dataclass
class OfferPlan:
    """What :func:`plan_offers` decided: jobs to render, and rows already final (unchanged/failed/held_out)."""
    jobs: list[RenderJob] = field(default_factory=list)
    rows: list[tuple[int, dict]] = field(default_factory=list)   # (seq, offers row)


def _joined(accounts: pl.DataFrame, results: pl.DataFrame, scenarios: pl.DataFrame,
            segments: pl.DataFrame) -> pl.DataFrame:
    """One row per account with its rows of the other frames as structs (scenarios as a list)."""
    acc = accounts.select(pl.col("account_id"), pl.struct(pl.all()).alias("account"))
    res = (results.unique("account_id", keep="first", maintain_order=True)
           .select(pl.col("account_id"), pl.struct(pl.all()).alias("result")))
    seg = (segments.unique("account_id", keep="first", maintain_order=True)
           .select(pl.col("account_id"), pl.struct(pl.all()).alias("segment")))
    scen = (scenarios.group_by("account_id", maintain_order=True)
            .agg(pl.struct(pl.all().exclude("account_id")).alias("scenarios")))
    return (acc.join(res, on="account_id", how="left", maintain_order="left")
            .join(scen, on="account_id", how="left", maintain_order="left")
            .join(seg, on="account_id", how="left", maintain_order="left"))


def _previous_index(previous: pl.DataFrame | None) -> dict[str, dict]:
    """Each account's last successful offer, as its whole ``offers`` row (plus ``folder``, where its file is)."""
    if previous is None or previous.height == 0:
        return {}
    prev = previous
    if "status" in prev.columns:
        prev = prev.filter(pl.col("status").is_in([OfferStatus.RENDERED.value, OfferStatus.UNCHANGED.value]))
    return {r["account_id"]: r for r in prev.iter_rows(named=True)}


def iter_plan(accounts: pl.DataFrame, results: pl.DataFrame, scenarios: pl.DataFrame, segments: pl.DataFrame,
              playbooks: Mapping[str, Mapping], assumptions: Mapping[str, Any], run_id: str, rules_version: str,
              out_dir: Path, previous: pl.DataFrame | None = None, *, previous_dir: Path | None = None,
              branding: Branding | None = None, issue_date: _dt.date | None = None,
              batch: int = 2_000, editions: Mapping[str, Mapping] | None = None, stats: dict | None = None,
              verify_sample: int | None = None) -> Iterator[RenderJob | tuple[int, dict]]:
    """Per account, in order: a :class:`RenderJob`, or ``(seq, row)`` for a final row (unchanged / failed /
    held_out).

    ``editions`` (from ``loop.assign.plan_editions``): per account in an experiment, its
    ``experiment``, ``edition``, ``held_out`` and the edition's template ``context`` (part of the
    content hash, so an edition change re-renders exactly the offers it touches); a held-out account
    gets a ``held_out`` row with its ``held_out_no`` and no PDF.

    ``previous``: each account's last successful offer (``Warehouse.previous_offers``). Its file is in
    the row's ``folder`` column when there is one (the folder of the run that made it: any earlier
    nightly run or campaign), else in ``previous_dir``, else in ``out_dir``; an unchanged offer is
    hard-linked (or copied) from there into ``out_dir`` instead of rendered, and keeps its whole row
    (its offer number and dates: the ones printed on the PDF the customer holds).

    Deciding is column-wise first: an account whose input hash (``offers/inputhash.py``) is the one
    recorded with its previous document is unchanged without building its content, and that document
    is linked without reading it (its size and mtime must be the recorded ones; :data:`VERIFY_SAMPLE`
    random ones are verified in full first). Every other account's content is built and hashed, and its
    previous file verified in full, as before. ``stats`` (a dict) receives the time spent deciding
    (``decide_s``), linking unread (``link_s``) and building content (``content_s``), and counts.
    """
    out_dir = Path(out_dir)
    prev_dir = Path(previous_dir) if previous_dir is not None else out_dir
    stats = stats if stats is not None else {}
    clock = time.perf_counter()
    branding = branding or load_branding()
    tversion = template_version(branding.fingerprint())
    offer_hash = content_hasher(assumptions, rules_version, tversion)
    set_name = assumption_values(assumptions)[0]
    sha = assumptions.get("sha256") if isinstance(assumptions.get("sha256"), str) else ""
    set_label = f"{set_name}@{sha[:8]}" if sha else set_name
    issue_date = issue_date or _dt.datetime.now(TIMEZONE).date()
    valid_until = issue_date + _dt.timedelta(days=branding.valid_days)
    reps = load_reps()
    hashes = input_hashes(accounts, results, scenarios, segments,
                          run_key(assumptions, playbooks, rules_version, tversion), editions)
    fast = _unchanged_by_input(accounts, hashes, previous, editions, prev_dir,
                               VERIFY_SAMPLE if verify_sample is None else verify_sample, stats)
    is_fast = [False] * accounts.height
    for seq in fast:
        is_fast[seq] = True
    slow = accounts.with_row_index("_seq").filter(~pl.col("_seq").is_in(list(fast))) if fast else accounts
    slow_ids = set(slow["account_id"].drop_nulls().to_list())
    prev = _previous_index(previous.filter(pl.col("account_id").is_in(list(slow_ids)))
                           if previous is not None and previous.height and fast else previous)
    joined = _joined(slow.drop("_seq") if fast else slow, results, scenarios, segments)
    slow_rows = (row for frame in joined.iter_slices(batch) for row in frame.iter_rows(named=True))
    ids = accounts["account_id"].to_list()
    ihash = hashes.to_list()
    stats["decide_s"] = stats.get("decide_s", 0.0) + time.perf_counter() - clock
    stats.setdefault("link_s", 0.0)
    stats.setdefault("content_s", 0.0)
    stats.setdefault("linked_unread", 0)
    stats.setdefault("content_built", 0)
    seen_ids: set[str] = set()
    seen_names: dict[str, str] = {}
    retry: list[int] = []
    for seq, account_id in enumerate(ids):
        row = None if is_fast[seq] else next(slow_rows)
        if account_id is None or account_id in seen_ids:
            yield seq, _row(account_id, "failed", error="duplicate or missing account_id in this run")
            continue
        seen_ids.add(account_id)
        assigned = (editions or {}).get(account_id) or {}
        arm = {"experiment": assigned.get("experiment"), "edition": assigned.get("edition")}
        if assigned.get("held_out"):
            yield seq, {**_row(account_id, OfferStatus.HELD_OUT.value), **arm,
                        "offer_no": assigned.get("held_out_no"), "issued_on": issue_date,
                        "valid_until": None}
            continue
        try:
            name = offer_filename(account_id)
        except ValueError as exc:
            yield seq, _row(account_id, "failed", error=_error_text(exc))
            continue
        if seen_names.setdefault(name.casefold(), account_id) != account_id:   # 64-bit hash collision
            yield seq, _row(account_id, "failed",
                            error=f"file name {name} collides with account {seen_names[name.casefold()]!r}")
            continue
        if row is None:        # inputs as when its document was made: link that document, unread
            clock = time.perf_counter()
            old = fast[seq]
            source = (Path(old["folder"]) if old.get("folder") else prev_dir) / name
            final = out_dir / name
            linked = old.get("path") == name and _link_unread(source, final, old)
            if linked:
                done = _unchanged_row(old, path=name, sha256=old["sha256"], size=linked.st_size,
                                      pages=old.get("pages"), chash=old["content_hash"])
                done.update(arm, input_hash=ihash[seq], file_mtime_ns=linked.st_mtime_ns)
                stats["linked_unread"] += 1
            stats["link_s"] += time.perf_counter() - clock
            if linked:
                yield seq, done
            else:
                retry.append(seq)     # its content decides, as for any other offer (below)
            continue
        clock = time.perf_counter()
        item = _by_content(seq, account_id, name, row, assigned, arm, prev.get(account_id), ihash[seq],
                           playbooks, assumptions, reps, offer_hash, out_dir, prev_dir, run_id, rules_version,
                           set_label, issue_date, valid_until, branding)
        stats["content_s"] += time.perf_counter() - clock
        stats["content_built"] += 1
        yield item
    if retry:
        again = accounts.with_row_index("_seq").filter(pl.col("_seq").is_in(retry))
        prev = _previous_index(previous.filter(pl.col("account_id").is_in(again["account_id"].implode())))
        for seq, row in zip(again["_seq"].to_list(),
                            _joined(again.drop("_seq"), results, scenarios, segments).iter_rows(named=True)):
            account_id = ids[seq]
            assigned = (editions or {}).get(account_id) or {}
            arm = {"experiment": assigned.get("experiment"), "edition": assigned.get("edition")}
            clock = time.perf_counter()
            item = _by_content(seq, account_id, offer_filename(account_id), row, assigned, arm, prev.get(account_id),
                               ihash[seq], playbooks, assumptions, reps, offer_hash, out_dir, prev_dir, run_id,
                               rules_version, set_label, issue_date, valid_until, branding)
            stats["content_s"] += time.perf_counter() - clock
            stats["content_built"] += 1
            yield item


def _by_content(seq, account_id, name, row, assigned, arm, old, ihash, playbooks, assumptions, reps, offer_hash,
                out_dir, prev_dir, run_id, rules_version, set_label, issue_date, valid_until, branding
                ) -> RenderJob | tuple[int, dict]:
    """One account's offer decided by its content: unchanged (the previous file verified in full and
    linked) when its content hash is the recorded one, else a :class:`RenderJob`; a failed row when its
    content cannot be built."""
    try:
        offer = build_offer(row["account"], row["result"], row["scenarios"] or [], row["segment"],
                            playbooks, assumptions,
                            contact=reps.contact_for((row["account"] or {}).get("sales_rep")))
        if assigned.get("context"):
            offer = _with_edition(offer, assigned["context"])
        chash = offer_hash(offer)
    except Exception as exc:   # one account's bad data must not stop the run
        _remove_stale(out_dir, name)
        return seq, _row(account_id, "failed", error=_error_text(exc))
    # unchanged only when the document the customer holds has a number (older rows have none)
    if (old and old.get("content_hash") == chash and old.get("path") == name and old.get("sha256")
            and old.get("offer_no")):
        final = out_dir / name
        source = (Path(old["folder"]) if old.get("folder") else prev_dir) / name
        if _file_sha256(source) == old["sha256"] and _reuse(source, final, old["sha256"]):
            st = final.stat()
            pages = old.get("pages")       # WeasyPrint's own count, recorded when it was rendered
            done = _unchanged_row(old, path=name, sha256=old["sha256"], size=st.st_size, pages=pages, chash=chash)
            done.update(arm, input_hash=ihash, file_mtime_ns=st.st_mtime_ns)   # the edition: part of the hash
            return seq, done
    meta = offer_meta(run_id, rules_version, set_label, chash, issue_date, account_id, valid_until=valid_until,
                      response_url_template=branding.response_url_template)
    return RenderJob(seq, account_id, name, chash, {"offer": offer, "meta": meta}, meta["offer_no"],
                     issue_date, valid_until, extra={**arm, "input_hash": ihash})


# Previous files verified in full per run before any is linked unread (a random sample of the candidates):
# ≈ 10 MB read. One that does not match its recorded SHA-256 turns the fast path off for the run: every
# unchanged offer is then verified in full, as before input hashes.
VERIFY_SAMPLE = 100


def _unchanged_by_input(accounts: pl.DataFrame, hashes: pl.Series, previous: pl.DataFrame | None,
                        editions: Mapping[str, Mapping] | None, prev_dir: Path, sample: int, stats: dict
                        ) -> dict[int, dict]:
    """seq -> previous row, for the accounts whose input hash is the one recorded with their previous
    document (and whose row has what linking unread needs: SHA-256, size, mtime, offer number), once a
    random sample of their files has been verified in full."""
    need = ("input_hash", "file_mtime_ns", "bytes", "sha256", "offer_no", "content_hash", "path")
    if previous is None or previous.height == 0 or any(c not in previous.columns for c in need):
        return {}
    prev = previous
    if "status" in prev.columns:
        prev = prev.filter(pl.col("status").is_in([OfferStatus.RENDERED.value, OfferStatus.UNCHANGED.value]))
    held = [a for a, e in (editions or {}).items() if e.get("held_out")]
    mine = (accounts.select("account_id").with_columns(hashes.alias("_ih"), pl.int_range(pl.len()).alias("_seq"))
            .filter(pl.col("account_id").is_not_null() & pl.col("account_id").is_first_distinct()
                    & ~pl.col("account_id").is_in(held)))
    cand = (mine.join(prev.unique("account_id", keep="first"), on="account_id", how="inner")
            .filter((pl.col("_ih") == pl.col("input_hash")) & pl.all_horizontal(pl.col(c).is_not_null() for c in need)))
    if cand.height == 0:
        return {}
    rows = dict(zip(cand["_seq"].to_list(), cand.drop("_ih", "_seq").iter_rows(named=True)))
    picked = random.Random().sample(sorted(rows), min(sample, len(rows)))
    for seq in picked:
        old = rows[seq]
        source = (Path(old["folder"]) if old.get("folder") else prev_dir) / old["path"]
        if _file_sha256(source) != old["sha256"]:
            log.warning("%s does not match its recorded SHA-256: every unchanged offer of this run is verified "
                        "in full", source)
            stats["sample_failed"] = True
            return {}
    stats["verified_sample"] = len(picked)
    return rows


def _with_edition(offer: dict, edition: Mapping) -> dict:
    """The offer with its edition's emphasis: ``offer.edition`` for the templates (headline, section
    order) and the edition's promotion among the offer's promotions."""
    offer = {**offer, "edition": dict(edition)}
    if edition.get("promotion") and isinstance(offer.get("green"), dict):
        green = dict(offer["green"])
        green["promotions"] = [*(green.get("promotions") or []), edition["promotion"]]
        offer["green"] = green
    return offer


def plan_offers(*args, **kwargs) -> OfferPlan:
    """:func:`iter_plan` collected into lists (for distributing the jobs yourself)."""
    plan = OfferPlan()
    for item in iter_plan(*args, **kwargs):
        (plan.jobs if isinstance(item, RenderJob) else plan.rows).append(item)
    return plan


