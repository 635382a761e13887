"""offers.md "Consistency is tested", second run: every offer of a nightly run over 300 synthetic accounts
with the note's assumption set (roof-sized PV, capped systems, loans, customers who fixed their PV mode),
real PDFs read back, against the database. Its own module so that it runs beside the sample run of
test_offer_consistency.py in the other test process."""
from __future__ import annotations

import pytest

from offer_checks import check_all, consistency_run


@pytest.mark.slow
def test_every_offer_of_300_synthetic_accounts_agrees_with_the_database(prefect_harness, tmp_path):
    from synthetic import generate_customers

    customers = tmp_path / "synthetic.csv"
    generate_customers(300, seed=12).write_csv(customers)
    db, out, run, rows = consistency_run(customers, tmp_path, "consistency-synthetic", assumptions="wri-2023")
    assert len(rows) >= 290
    bad = check_all(out, run, rows)
    assert not bad, f"{len(bad)} inconsistent offers, e.g. {next(iter(bad.items()))}"
    assert any(r["list_pv_mode"] is not None and r["pv_eligible"] and r["pv_mode"] != r["pv_best_mode"] for r in rows)
