"""The stage benchmark runs end to end at a tiny size and reports every stage and both baselines."""
from __future__ import annotations

import pytest

from flows.benchmarks import benchmark_module

STAGES, report, run = (getattr(benchmark_module("pipeline_bench"), n) for n in ("STAGES", "report", "run"))

pytestmark = pytest.mark.slow


def test_tiny_pipeline_benchmark_reports_every_stage(tmp_path):
    result = run([200, 400], repeats=1, naive_accounts=10, naive_rows=20, workdir=tmp_path)
    assert result["sizes"] == [200, 400] and len(result["loadavg_start"]) == 3
    for n in ("200", "400"):
        size = result["per_size"][n]
        assert set(size["stages"]) == set(STAGES)
        assert all(s["median_s"] > 0 and s["peak_rss_mb"] > 0 for s in size["stages"].values())
        assert size["rows_stored"] > 2 * int(n) and size["total_median_s"] > 0
    assert set(result["linearity"]) >= {*STAGES, "total", "size_ratio"}
    base = result["baselines"]
    assert base["naive_model"]["accounts"] == 10 and base["naive_model"]["speedup"] > 0
    assert base["naive_insert"]["rows"] == 20 and base["naive_insert"]["speedup"] > 0
    text = report(result)
    for label in ("load + validate", "segment", "cost model", "persist", "publish", "total", "naive cost model",
                  "row-by-row insert", "load average"):
        assert label in text
    assert list(tmp_path.iterdir()) == []  # temporary files are removed
