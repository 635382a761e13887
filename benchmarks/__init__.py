"""Benchmark programs (``gp bench …``). Developer tools: not installed with the package, imported by no
product module; ``gp bench`` loads them from the checkout (``flows/benchmarks.py``)."""
from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"


def naive_model():
    """The plain per-account implementation of the cost model — the engine's test oracle, which lives in
    ``tests/naive_model.py`` — used here as the naive baseline."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import naive_model
    return naive_model
