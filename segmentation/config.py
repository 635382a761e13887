"""Loading the segmentation configuration: rules, industry groups, playbooks, mandated ratios.

All four files live in ``<data dir>/segmentation/`` and are validated together (the rules
refer to group codes, the ratios to groups). ``rules_version`` identifies the exact
configuration a run used (segmentation.md "Stored": the segments table records it).

**Decision — what rules_version covers.** It is the SHA-256 of all four files together,
not of ``rules.yaml`` alone: a changed keyword list re-segments accounts as surely as a
changed rule, and a changed playbook or mandated ratio changes the defaults the cost model
uses. Precisely: SHA-256 of the UTF-8 text made of one line ``<file name> <sha256 of its
bytes>\\n`` per file, in file-name order. ``files`` keeps each file's own hash so a change
can be traced to its file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.datafiles import data_dir as default_data_dir
from segmentation import industry, mandated, playbooks, rules
from segmentation.industry import IndustryGroups
from segmentation.mandated import MandatedRatios
from segmentation.rules import Fallback, Rule, RuleSet

SUBDIR = "segmentation"


@dataclass(frozen=True)
class SegmentationConfig:
    rules: tuple[Rule, ...]
    groups: tuple[industry.IndustryGroup, ...]
    playbooks: dict[str, dict[str, Any]]
    rules_version: str
    files: dict[str, str]                      # file name -> sha256 of its bytes
    fallback: Fallback
    families: dict[str, str]                   # industry family code -> label_zh
    mandated_ratios: MandatedRatios
    directory: Path
    rule_set: RuleSet = field(repr=False)
    industry_groups: IndustryGroups = field(repr=False)

    @property
    def group_codes(self) -> tuple[str, ...]:
        return tuple(g.code for g in self.groups)


def combined_version(files: dict[str, str]) -> str:
    text = "".join(f"{name} {digest}\n" for name, digest in sorted(files.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_segmentation_config(data_dir: Path | None = None) -> SegmentationConfig:
    """Load and validate the segmentation data files from ``<data_dir>/segmentation/``.

    ``data_dir`` defaults to the project's data folder (``core.datafiles.data_dir()``,
    which honours ``GREENPOWER_DATA``). Any problem raises ``DataFileError`` naming the file
    and the key path.
    """
    directory = Path(data_dir if data_dir is not None else default_data_dir()) / SUBDIR
    groups, groups_sha = industry.load_industry_groups(directory / industry.FILE_NAME)
    rule_set, rules_sha = rules.load_rules(directory / rules.FILE_NAME, groups)
    books, books_sha = playbooks.load_playbooks(directory / playbooks.FILE_NAME)
    ratios, ratios_sha = mandated.load_mandated_ratios(directory / mandated.FILE_NAME, groups)
    files = {
        industry.FILE_NAME: groups_sha,
        rules.FILE_NAME: rules_sha,
        playbooks.FILE_NAME: books_sha,
        mandated.FILE_NAME: ratios_sha,
    }
    return SegmentationConfig(
        rules=rule_set.rules,
        groups=groups.groups,
        playbooks=books,
        rules_version=combined_version(files),
        files=files,
        fallback=rule_set.fallback,
        families=groups.families,
        mandated_ratios=ratios,
        directory=directory,
        rule_set=rule_set,
        industry_groups=groups,
    )
