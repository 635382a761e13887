"""Layers point one way (README "Layout"): every import of every product module — at the top or inside a
function — goes to its own package or to a lower layer; none goes to ``benchmarks/`` or ``tests/``.

    flows → dashboard, loop → offers, warehouse → segmentation, gpengine, synthetic → intake → core

Packages on one level do not import each other (offers ↮ warehouse, segmentation ↮ gpengine,
dashboard ↮ loop).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYER = {"core": 0, "intake": 1, "gpengine": 2, "segmentation": 2, "synthetic": 2, "offers": 3, "warehouse": 3,
         "dashboard": 4, "loop": 4, "flows": 5}
NEVER = ("benchmarks", "tests")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, target in imports(path):
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if target in NEVER:
                bad.append(f"{where} (product code never imports {target}/)")
            elif target in LAYER and target != package and LAYER[target] >= LAYER[package]:
                bad.append(f"{where} (layer {LAYER[target]} from layer {LAYER[package]})")
    return bad


@pytest.mark.parametrize("package", sorted(LAYER))
def test_imports_point_down(package):
    assert violations(package) == []


def test_the_check_sees_a_wrong_import(tmp_path, monkeypatch):
    """The walk finds imports inside functions too (that is where the old wrong ones hid)."""
    (tmp_path / "intake").mkdir()
    (tmp_path / "intake" / "x.py").write_text("def f():\n    from flows.frames import g\n    import benchmarks\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert len(violations("intake")) == 2


def test_the_wheel_ships_no_benchmarks_or_tests():
    import tomllib
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [p for p in packages if p.split("*")[0].split(".")[0] in NEVER]
    assert {p.rstrip("*") for p in packages} >= set(LAYER)
