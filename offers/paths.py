"""Where the offer templates and their assets live (the ``report_templates`` package, shipped as package data)."""
from __future__ import annotations

from pathlib import Path

import report_templates

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = Path(report_templates.__file__).resolve().parent
ASSETS_DIR = TEMPLATES_DIR / "assets"
