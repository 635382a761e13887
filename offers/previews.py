"""Page previews of the demo offers for reviewers: ``python -m offers.previews [docs/offers]``.

Renders one offer per segment, the largest account (very long name, 亿-scale figures, no PV, 西藏
without an emission factor), a resident, a small shop and a loan customer and writes each page as a small PNG (``pdftoppm -r 60``), so a reviewer
can see the layout without running anything.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

from core.filemodes import make_dirs, secure_tree
from offers.demo import demo_run
from offers.paths import PROJECT_ROOT
from offers.render import render_offers

SHOWCASE = {"JS-0001": "compliance_driven", "GD-0002": "value_oriented", "ZJ-0003": "responsibility_driven",
            "XZ-0004": "largest_account_xizang", "SH-0005": "resident", "ZJ-0006": "small_shop",
            "SD-0007": "loan_customer"}


def make_previews(target: Path, resolution: int = 60) -> list[Path]:
    run = demo_run(more=True)
    make_dirs(target)
    for old in target.glob("*.png"):
        old.unlink()
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        offers = render_offers(run.accounts, run.results, run.scenarios, run.segments, run.playbooks, run.assumptions,
                               run.run_id, run.rules_version, Path(tmp), workers=2, issue_date=dt.date(2025, 11, 22))
        for row in offers.iter_rows(named=True):
            label = SHOWCASE.get(row["account_id"])
            if label is None or row["status"] != "rendered":
                continue
            pdf = Path(tmp) / row["path"]
            subprocess.run(["pdftoppm", "-png", "-r", str(resolution), str(pdf), str(target / label)], check=True)
            written += [secure_tree(p) for p in sorted(target.glob(f"{label}-*.png"))]
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "docs" / "offers"
    for path in make_previews(out):
        print(path)
