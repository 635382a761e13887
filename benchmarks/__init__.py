"""Benchmark programs (``gp bench …``). Developer tools: not installed with the package, imported by no
product module; ``gp bench`` loads them from the checkout (``flows/benchmarks.py``)."""
from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"


def _from_tests(name: str):
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    return __import__(name)


def warehouse_frames():
    """Contract-shaped frames for the warehouse (``tests/warehouse_frames.py``)."""
    return _from_tests("warehouse_frames")


def naive_model():
    """The plain per-account implementation of the cost model — the engine's test oracle, which lives in
    ``tests/naive_model.py`` — used here as the naive baseline."""
    return _from_tests("naive_model")
