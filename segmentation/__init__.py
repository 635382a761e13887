"""Customer segmentation: compliance-driven, value-oriented, responsibility-driven.

Implements spec ``segmentation.md`` after the marketing paper (陈忠仁, 绿电消费升级背景下
电力精准营销模式创新与策略优化): the three segments of section 2.3, the green-consumption
leaders of 2.2, the dynamic CRM segmentation of 3.3, and the per-segment packages, price
designs and promotions of 4.2 and 4.3.

Public API (used by the flows and the cost model):

- :data:`SEGMENTS` — the segment codes, in the spec's order.
- :func:`load_segmentation_config` — read and validate ``data/segmentation/*.yaml``;
  the result carries ``rules``, ``groups``, ``playbooks``, ``rules_version`` and ``files``.
- :func:`segment_accounts` — one row per account: industry group/family, resolved
  ``high_energy``, ``segment``, ``secondary_segments``, ``reasons`` and the playbook
  defaults the cost model needs.
- :func:`applicable_promotions` — a playbook's promotions that apply to an account.

The rule language for sales analysts is described in ``segmentation/README.md``.
"""
from __future__ import annotations

from segmentation.config import SegmentationConfig, load_segmentation_config
from segmentation.playbooks import CHEAPER_CHANNEL, MANDATED_RATIO, applicable_promotions
from segmentation.rules import SEGMENTS
from segmentation.segment import OUTPUT_SCHEMA, segment_accounts

__all__ = [
    "CHEAPER_CHANNEL",
    "MANDATED_RATIO",
    "OUTPUT_SCHEMA",
    "SEGMENTS",
    "SegmentationConfig",
    "applicable_promotions",
    "load_segmentation_config",
    "segment_accounts",
]
