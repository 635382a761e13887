"""Incremental rendering survives a campaign (offers.md "Incremental … also right after a campaign").

An operator's sequence, through the real flows, real DuckDB and real PDFs: a 40-account nightly run,
a campaign on one segment (its offers go to ``out/<campaign>``), then the same nightly again. The last
run must render nothing: each account's last successful offer is found in the ``offers`` table, in
whatever folder the run that made it wrote (or linked) it — not in "the newest folder by name", which a
campaign's name (or a custom run id) outranks.
"""
from __future__ import annotations

import os

import pytest

from reliability_support import q, sample_rows, write_customers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def three_runs(prefect_harness, tmp_path_factory):
    from flows.campaign import CampaignParameters, campaign
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters

    folder = tmp_path_factory.mktemp("after-campaign")
    customers = write_customers(folder / "customers.csv", sample_rows(40))
    db, out = folder / "gp.duckdb", folder / "out"
    # run ids that sort *below* the campaign's name, as timestamps do
    first = nightly(NightlyParameters(customers=customers, db=db, out=out, run_id="2026-night-1", workers=2))
    spring = campaign(CampaignParameters(name="spring", db=db, out=out, segments=["value_oriented"], workers=2))
    second = nightly(NightlyParameters(customers=customers, db=db, out=out, run_id="2026-night-2", workers=2))
    return db, out, first, spring, second


def test_the_nightly_after_a_campaign_renders_nothing(three_runs):
    db, out, first, spring, second = three_runs
    held = first["offers"].get("held_out", 0)     # an experiment's control accounts (loop.md): a row, no PDF
    control = {"held_out": held} if held else {}
    assert first["offers"] == {"rendered": 40 - held, **control}
    assert 0 < sum(spring["offers"].values()) < 40          # the campaign covered part of the list
    assert second["offers"] == {"unchanged": 40 - held, **control}
    assert q(db, "SELECT offers_rendered, offers_skipped, offers_failed FROM runs WHERE run_id = '2026-night-2'") \
        == [(0, 40 - held, 0)]


def test_every_unchanged_offer_is_the_same_file_in_the_new_folder(three_runs):
    db, out, *_ = three_runs
    rows = q(db, """SELECT n2.path, n2.sha256, n1.sha256 FROM offers n2 JOIN offers n1 USING (account_id)
                    WHERE n2.run_id = '2026-night-2' AND n1.run_id = '2026-night-1' AND n2.status <> 'held_out'""")
    held = q(db, "SELECT count(*) FROM offers WHERE run_id = '2026-night-2' AND status = 'held_out'")[0][0]
    assert len(rows) == 40 - held
    for path, sha_now, sha_then in rows:
        assert sha_now == sha_then
        new, old = out / "2026-night-2" / path, out / "2026-night-1" / path
        assert new.is_file() and os.path.samefile(new, old)    # linked, not rendered again
