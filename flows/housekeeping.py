"""Retention on disk: the offer folders of runs the warehouse pruned go with their rows.

The warehouse prunes rows at publish (``warehouse.retention``); this removes the matching
``<out>/<run_id or campaign>`` folders afterwards. A folder is removed only when it lies directly in the
offers root, is named after its run (or campaign), and no run still in the warehouse uses it: a campaign
reuses its folder, and a nightly run's unchanged offers are hard links into its own folder, so removing an
older folder never takes a file a kept offer links to (the link keeps the file).
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from warehouse import Warehouse

log = logging.getLogger(__name__)


def remove_pruned_folders(pruned: list[tuple[str, str | None]], out_root: Path, warehouse: Warehouse) -> list[Path]:
    if not pruned:
        return []
    root = Path(os.path.abspath(out_root))
    runs = warehouse.runs()
    kept = set() if runs.height == 0 else {f for f in runs.get_column("output_folder").to_list() if f}
    removed = []
    for run_id, folder in pruned:
        if not folder:
            continue
        path = Path(folder)
        if path.parent != root or str(path) in kept or not path.is_dir() or path.is_symlink():
            continue
        if any(k == str(path) or k.startswith(str(path) + os.sep) for k in kept):
            continue
        shutil.rmtree(path)
        removed.append(path)
        log.info("retention: removed the offers of pruned run %s (%s)", run_id, path)
    return removed
