"""Which edition each account gets: deterministic, stable, and minimal on re-weighting.

Each account's position in an experiment is ``u = SHA-256(experiment ␟ account_id)`` read as a
number in [0, 1) (the first 64 bits / 2⁶⁴). The arms, in the file's order, cut [0, 1) into
consecutive intervals of their weights; the account takes the arm whose interval holds ``u``.

* **Stable**: ``u`` depends on nothing but the experiment's name and the account id, so an account
  keeps its arm across nightly runs, reruns, campaigns and machines, whatever else is in the list.
* **Independent across experiments**: the experiment's name is hashed in, so the control group of
  one experiment is not the control group of the next.
* **Minimal on re-weighting**: changing the weights moves an account only when a boundary crossed
  its ``u``: the accounts between an old boundary and its new place, and no others. When weight moves
  between two *neighbouring* arms (the usual case: control vs treatment, or two editions side by side)
  exactly one boundary moves, by the weight moved, so the share of accounts that change arm equals the
  weight moved — the least any assignment can move (the total-variation distance of the two weight
  vectors). Moving weight between arms that are not neighbours also shifts the arms in between by the
  same amount; put the arms whose weights you expect to trade next to each other (a stateless rule
  cannot be minimal for every pair of weight vectors of three or more arms).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from bisect import bisect_right
from itertools import accumulate
from typing import Iterable, Sequence

import polars as pl

from loop.config import CONTROL, LoopConfig
from offers.offer_number import make_offer_no

ASSIGNMENT_SCHEMA = {"account_id": pl.String, "experiment": pl.String, "edition": pl.String,
                     "held_out": pl.Boolean}


def unit_hash(experiment: str, account_id: str) -> float:
    """The account's position in the experiment, uniform in [0, 1)."""
    digest = hashlib.sha256(f"{experiment}\x1f{account_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def boundaries(weights: Sequence[float]) -> list[float]:
    """Upper ends of the arms' intervals; the last is forced to 1 (float sums may fall short)."""
    cuts = list(accumulate(weights))
    if cuts:
        cuts[-1] = 1.0
    return cuts


def pick_arm(u: float, arms: Sequence[tuple[str, float]]) -> str:
    """The arm whose interval ``[lower, upper)`` holds ``u`` (arms of weight 0 never win)."""
    cuts = boundaries([w for _, w in arms])
    return arms[min(bisect_right(cuts, u), len(arms) - 1)][0]


def assign_arms(experiment: str, arms: Sequence[tuple[str, float]], account_ids: Iterable[str]) -> list[str]:
    """Arm per account, in order (a pure function of names, ids and weights)."""
    cuts = boundaries([w for _, w in arms])
    last = len(arms) - 1
    return [arms[min(bisect_right(cuts, unit_hash(experiment, a)), last)][0] for a in account_ids]


def assign_editions(segments: pl.DataFrame, config: LoopConfig, day: _dt.date) -> pl.DataFrame:
    """One row per account of ``segments`` (account_id, segment): its experiment, edition and whether
    it is held out (control arm). Accounts of a segment without a running experiment get NULLs."""
    rows = segments.select("account_id", "segment").unique("account_id", keep="first", maintain_order=True)
    parts = []
    for segment, group in rows.group_by("segment", maintain_order=True):
        exp = config.experiment_for(segment[0], day) if segment[0] is not None else None
        ids = group["account_id"].to_list()
        if exp is None:
            parts.append(pl.DataFrame({"account_id": ids, "experiment": None, "edition": None, "held_out": False},
                                      schema=ASSIGNMENT_SCHEMA))
            continue
        arms = assign_arms(exp.name, exp.arms, ids)
        parts.append(pl.DataFrame({"account_id": ids, "experiment": exp.name,
                                   "edition": [None if a == CONTROL else a for a in arms],
                                   "held_out": [a == CONTROL for a in arms]}, schema=ASSIGNMENT_SCHEMA))
    return pl.concat(parts) if parts else pl.DataFrame(schema=ASSIGNMENT_SCHEMA)


def held_out_no(account_id: str, experiment: str, starts_on: _dt.date) -> str:
    """The number of a control account's held-out "offer" (never printed): one per account and
    experiment, the same every night, so organic purchases reported by account and date can be
    credited to the control arm."""
    return make_offer_no(account_id, f"held_out\x1f{experiment}", starts_on)


def plan_editions(segments: pl.DataFrame, config: LoopConfig, day: _dt.date) -> dict[str, dict]:
    """What offer planning takes (``offers.plan.iter_plan(editions=...)``): per account in an
    experiment, ``{"experiment", "edition", "held_out", "context"}``; accounts outside one are absent."""
    seg_of = dict(segments.select("account_id", "segment").unique("account_id", keep="first").iter_rows())
    out: dict[str, dict] = {}
    for row in assign_editions(segments, config, day).filter(pl.col("experiment").is_not_null()).iter_rows(named=True):
        exp = config.experiments[row["experiment"]]
        ctx = None if row["held_out"] else config.edition_context(seg_of[row["account_id"]], row["edition"])
        out[row["account_id"]] = {"experiment": row["experiment"], "edition": row["edition"],
                                  "held_out": row["held_out"], "context": ctx,
                                  "held_out_no": held_out_no(row["account_id"], exp.name, exp.starts_on)
                                  if row["held_out"] else None}
    return out
