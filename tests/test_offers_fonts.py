"""Font compaction (offers/pdffonts.py): HarfBuzz gets a pointer that stays valid, and a font left
uncompacted (the PDF ≈ 5× larger) is a WARNING recorded on the offer instead of a DEBUG line."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from offers import pdffonts

NOTO = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@pytest.mark.skipif(pdffonts._harfbuzz() is None or not NOTO.exists(),
                    reason="needs libharfbuzz-subset0 and fonts-noto-cjk (installed by ./gp's set-up)")
def test_compact_cff_reads_any_buffer_in_place():
    """The font goes to HarfBuzz through ``ffi.from_buffer`` (held for the blob's whole life), so a
    memoryview of a larger buffer works as well as bytes, and the result is the same."""
    raw = NOTO.read_bytes()
    wanted = [0, 1, 1000, 20000]
    from_bytes = pdffonts.compact_cff(raw, wanted)
    from_view = pdffonts.compact_cff(memoryview(bytearray(raw)), wanted)
    assert from_bytes and from_bytes == from_view
    cids = pdffonts._charset_cids(from_view)
    assert set(wanted) <= set(cids)


@pytest.fixture(scope="module")
def one_job(tmp_path_factory):
    from offers.demo import demo_run
    from offers.render import plan_offers
    run = demo_run()
    out = tmp_path_factory.mktemp("fonts")
    plan = plan_offers(run.accounts.head(1), run.results, run.scenarios, run.segments, run.playbooks,
                       run.assumptions, run.run_id, run.rules_version, out)
    assert len(plan.jobs) == 1
    return plan.jobs, out


def test_an_uncompacted_font_is_a_warning_on_the_offer(one_job, monkeypatch, caplog):
    from offers.render import render_jobs
    jobs, out = one_job
    normal, = render_jobs(jobs, out)
    assert normal["status"] == "rendered" and normal["warning"] is None

    def broken(*args, **kwargs):
        raise RuntimeError("hb_subset_or_fail crashed")

    monkeypatch.setattr(pdffonts, "compact_cff", broken)
    with caplog.at_level(logging.WARNING, logger="offers.pdffonts"):
        row, = render_jobs(jobs, out)
    assert row["status"] == "rendered"
    assert "font not compacted" in row["warning"] and "hb_subset_or_fail crashed" in row["warning"]
    assert any(r.levelno == logging.WARNING and "font not compacted" in r.getMessage() for r in caplog.records)
    assert row["bytes"] > 2 * normal["bytes"]        # what the warning is about
