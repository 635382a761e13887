"""``gp bench`` finds the benchmark programs in the checkout, not next to the data folder (issue: it broke
when GREENPOWER_DATA points elsewhere, as a deployment's does)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GP = Path(sys.executable).with_name("gp")


def test_bench_render_runs_with_the_data_folder_elsewhere(tmp_path):
    data = tmp_path / "deployment" / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("warehouse"))
    env = {**os.environ, "GREENPOWER_DATA": str(data)}
    done = subprocess.run([str(GP), "bench", "render", "-h"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "--docs" in done.stdout and "--workers" in done.stdout


def test_benchmark_modules_load_from_the_checkout_wherever_the_command_runs(tmp_path):
    done = subprocess.run([sys.executable, "-c", "from flows.benchmarks import benchmark_module; "
                           "print(benchmark_module('engine_bench').__file__)"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == ROOT / "benchmarks" / "engine_bench.py"
