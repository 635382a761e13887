"""``data/loop/editions.yaml``: offer editions, experiments and CRM trigger thresholds, validated on load.

Every problem is one :class:`~core.datafiles.DataFileError` naming the file and the key path
(``experiments.value-editions-2026.arms: weights sum to 0.9, not 1``). The file's SHA-256 is kept
so that the run records which editions it used (``runs.assumptions.loop_files``).
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from core.datafiles import DataFileError, data_dir, read_yaml
from core.vocabulary import SEGMENT_CODES

EDITIONS_FILE = Path("loop") / "editions.yaml"
SEGMENTS = SEGMENT_CODES
# the offer's sections, as the base template names its blocks (section_<name>)
SECTIONS = ("today", "plan", "comparison", "pv", "green", "method")
CONTROL = "control"
WEIGHT_TOLERANCE = 1e-9


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EditionSpec(_Strict):
    framing: Literal["savings", "co2", "brand", "compliance"]
    headline: str | None = None
    section_order: list[str] | None = None
    promotion: str | None = None


class ExperimentSpec(_Strict):
    segment: str
    starts_on: _dt.date
    ends_on: _dt.date | None = None
    arms: dict[str, float]


class TriggerSpec(_Strict):
    expiring_within_days: int = 7
    renewal_after_days: int = 335
    premium_change_share: float = 0.05


class _File(_Strict):
    version: str
    source: str | None = None
    date: str | None = None
    editions: dict[str, dict[str, EditionSpec]] = {}
    experiments: dict[str, ExperimentSpec] = {}
    triggers: TriggerSpec = TriggerSpec()


@dataclass(frozen=True)
class Experiment:
    name: str
    segment: str
    starts_on: _dt.date
    ends_on: _dt.date | None
    arms: tuple[tuple[str, float], ...]     # in file order: the order of the cumulative boundaries

    def active_on(self, day: _dt.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class LoopConfig:
    path: Path
    sha256: str
    version: str
    editions: dict[str, dict[str, EditionSpec]]
    experiments: dict[str, Experiment]
    triggers: TriggerSpec
    files: dict[str, str] = field(default_factory=dict)   # file name -> sha256, for runs.assumptions

    def experiment_for(self, segment: str, day: _dt.date) -> Experiment | None:
        """The experiment assigning ``segment``'s accounts on ``day`` (at most one: checked on load)."""
        for exp in self.experiments.values():
            if exp.segment == segment and exp.active_on(day):
                return exp
        return None

    def edition_context(self, segment: str, edition: str) -> dict[str, Any]:
        """What the templates receive as ``offer.edition`` (part of the offer's content hash)."""
        spec = self.editions[segment][edition]
        return {"name": edition, "framing": spec.framing, "headline": spec.headline,
                "section_order": [f"section_{s}" for s in spec.section_order] if spec.section_order else None,
                "promotion": spec.promotion}

    def record(self) -> dict[str, Any]:
        return {"file": self.path.name, "sha256": self.sha256, "version": self.version,
                "experiments": {n: {"segment": e.segment, "arms": dict(e.arms)} for n, e in self.experiments.items()}}


def _fail(path: Path, where: str, problem: str) -> DataFileError:
    return DataFileError(f"{path}: {where}: {problem}")


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(top level)"


def parse_loop_config(path: Path, content: Any, sha256: str = "") -> LoopConfig:
    """Validate the parsed YAML; raises :class:`DataFileError` naming the key."""
    if not isinstance(content, dict):
        raise _fail(path, "(top level)", "must be a mapping with version, editions, experiments, triggers")
    try:
        doc = _File.model_validate(content)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        problem = {"missing": "required key is missing",
                   "extra_forbidden": "unknown key (see the comment at the top of the file)"}.get(
            err["type"], err["msg"].removeprefix("Value error, "))
        if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
            problem += f" (got {err['input']!r})"
        raise _fail(path, _where(tuple(err["loc"])), problem) from None
    for segment, editions in doc.editions.items():
        if segment not in SEGMENTS:
            raise _fail(path, f"editions.{segment}", f"unknown segment; use one of {', '.join(SEGMENTS)}")
        for name, spec in editions.items():
            if name == CONTROL:
                raise _fail(path, f"editions.{segment}.{name}", "'control' is the arm without an offer, not an edition")
            for i, section in enumerate(spec.section_order or ()):
                if section not in SECTIONS:
                    raise _fail(path, f"editions.{segment}.{name}.section_order[{i}]",
                                f"unknown template section {section!r}; use {', '.join(SECTIONS)}")
            if spec.section_order and len(set(spec.section_order)) != len(spec.section_order):
                raise _fail(path, f"editions.{segment}.{name}.section_order", "a section is listed twice")
    experiments: dict[str, Experiment] = {}
    for name, spec in doc.experiments.items():
        where = f"experiments.{name}"
        if spec.segment not in SEGMENTS:
            raise _fail(path, f"{where}.segment", f"unknown segment {spec.segment!r}; use one of {', '.join(SEGMENTS)}")
        if spec.ends_on is not None and spec.ends_on < spec.starts_on:
            raise _fail(path, f"{where}.ends_on", "is before starts_on")
        if len(spec.arms) < 2:
            raise _fail(path, f"{where}.arms", "an experiment needs at least two arms")
        for arm, weight in spec.arms.items():
            if arm != CONTROL and arm not in doc.editions.get(spec.segment, {}):
                raise _fail(path, f"{where}.arms.{arm}",
                            f"unknown edition for segment {spec.segment} (define it under editions.{spec.segment})")
            if not (math.isfinite(weight) and 0 <= weight <= 1):
                raise _fail(path, f"{where}.arms.{arm}", f"weight must be between 0 and 1, got {weight!r}")
        total = math.fsum(spec.arms.values())
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise _fail(path, f"{where}.arms", f"weights sum to {total:g}, not 1")
        exp = Experiment(name, spec.segment, spec.starts_on, spec.ends_on, tuple(spec.arms.items()))
        for other in experiments.values():
            if other.segment == exp.segment and _overlap(other, exp):
                raise _fail(path, where, f"overlaps experiment {other.name!r} for segment {exp.segment}; "
                                         "one experiment per segment at a time")
        experiments[name] = exp
    return LoopConfig(path=path, sha256=sha256, version=doc.version, editions=doc.editions,
                      experiments=experiments, triggers=doc.triggers, files={path.name: sha256})


def _overlap(a: Experiment, b: Experiment) -> bool:
    far = _dt.date.max
    return a.starts_on <= (b.ends_on or far) and b.starts_on <= (a.ends_on or far)


def load_loop_config(path: str | Path | None = None) -> LoopConfig:
    """Read and validate ``data/loop/editions.yaml`` (or ``path``)."""
    path = Path(path) if path else data_dir() / EDITIONS_FILE
    doc = read_yaml(path)
    return parse_loop_config(path, doc.content, doc.sha256)
