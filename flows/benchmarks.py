"""Where ``gp bench`` finds the benchmark programs: ``benchmarks/`` of the source checkout this code runs from.

The benchmarks are developer tools, not part of the product: they are not installed with the package
(pyproject.toml) and no product module imports them. ``gp bench`` loads them from the checkout next to
the ``flows`` package — never from next to the data folder, which ``GREENPOWER_DATA`` may move anywhere.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from core.errors import UserError

CHECKOUT = Path(__file__).resolve().parents[1]
BENCHMARKS = CHECKOUT / "benchmarks"


def benchmark_script(name: str) -> Path:
    """The file of benchmark ``name`` (e.g. ``render_bench``); a clear error outside a source checkout."""
    script = BENCHMARKS / f"{name}.py"
    if not script.is_file():
        raise UserError(f"gp bench needs a source checkout of greenpower: {script} does not exist "
                        "(benchmarks are not installed with the package)")
    return script


def benchmark_module(name: str) -> ModuleType:
    """Import ``benchmarks.<name>`` from the checkout."""
    benchmark_script(name)
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    return importlib.import_module(f"benchmarks.{name}")
