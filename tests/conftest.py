"""Shared fixtures. Prefect's test harness costs ~10 s to start: one per session, only when asked for."""
from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import settings

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

# Property tests explore new random examples on every local run; CI (HYPOTHESIS_PROFILE=ci) replays a
# fixed set derived from each test's name, so a gate's verdict does not depend on the luck of the draw.
# Explore harder before a release:  for s in 1 2 3; do ./gp test --hypothesis-seed=$s tests/test_*property*.py; done
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


@pytest.fixture(scope="session")
def prefect_harness():
    import flows.environment  # noqa: F401
    from prefect.testing.utilities import prefect_test_harness

    from prefect.logging.configuration import setup_logging

    # Prefect's console handler keeps the stream it was created with: set it up now, on the session's
    # stderr, not inside the first CliRunner.invoke (whose stream is closed afterwards, so every later
    # Prefect console line would print "--- Logging error ---" with a traceback into other tests' output)
    setup_logging()
    with prefect_test_harness(server_startup_timeout=120):
        yield


# Tests of reliability and offer consistency check every account's offer; the shipped experiment
# (data/loop/editions.yaml) holds a control arm's accounts out (no PDF). Those modules run on a copy of
# data/ without experiments — the loop's own tests (test_loop*.py) and the flows use the shipped file.
WITHOUT_EXPERIMENTS = ("test_customer_data", "test_reliability_hostile", "test_reliability_pipeline",
                       "test_reliability_faults", "test_reliability_concurrency", "test_offer_consistency",
                       "test_offer_consistency_synthetic")


@pytest.fixture(scope="session")
def data_without_experiments(tmp_path_factory):
    import yaml

    from core.datafiles import data_dir
    copy = tmp_path_factory.mktemp("data-without-experiments") / "data"
    shutil.copytree(data_dir(), copy, ignore=shutil.ignore_patterns("warehouse"))
    editions = copy / "loop" / "editions.yaml"
    doc = yaml.safe_load(editions.read_text(encoding="utf-8"))
    doc["experiments"] = {}
    editions.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return copy


@pytest.fixture(autouse=True, scope="module")
def _no_experiment_where_every_offer_is_checked(request):
    """Module-scoped and autouse, so it is in place before the modules' own module-scoped runs."""
    if request.module.__name__.rsplit(".", 1)[-1] not in WITHOUT_EXPERIMENTS:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GREENPOWER_DATA", str(request.getfixturevalue("data_without_experiments")))
        yield


def _second_night(rows: list[dict]) -> list[dict]:
    """The same accounts a day later: half of them joined RE100 and publish an ESG report (segments move)."""
    return [{**r, "re100_member": "true", "has_esg_report": "true"} if i % 2 == 0 else r
            for i, r in enumerate(rows)]


@pytest.fixture(scope="session")
def dashboard_warehouse(prefect_harness, tmp_path_factory):
    """Two real nightly runs on 16 sample accounts: d1 without PDFs, d2 (a day later) with PDFs — the
    dashboard's tests (test_dashboard.py, test_dashboard_access.py) read it, never write it."""
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters
    from reliability_support import sample_rows, write_customers
    folder = tmp_path_factory.mktemp("dash")
    db, out = folder / "gp.duckdb", folder / "out"
    rows = sample_rows(16)
    for run_id, day_rows, pdf in (("d1", rows, False), ("d2", _second_night(rows), True)):
        nightly(NightlyParameters(customers=write_customers(folder / f"{run_id}.csv", day_rows), db=db, out=out,
                                  run_id=run_id, render_pdf=pdf, workers=2))
    return db


# The suite runs in two processes (pyproject.toml: pytest-xdist, ``-n 2 --dist loadfile``): whole modules go to
# whichever process is free, in collection order. The modules that take longest start first, so neither
# process is left with one of them at the end while the other idles. Measured with --durations; a module
# missing here only runs later, nothing else changes (``-n 0`` runs everything in one process).
LONGEST_FIRST = ("test_offer_consistency", "test_offer_consistency_synthetic", "test_customer_data", "test_offers_render",
                 "test_served", "test_leads", "test_dashboard_access",
                 "test_loop_flows", "test_incremental_after_campaign", "test_dashboard_server",
                 "test_warehouse_readers", "test_pipeline_bench", "test_intake_property")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    module = lambda item: getattr(getattr(item, "module", None), "__name__", "").rsplit(".", 1)[-1]  # noqa: E731
    items.sort(key=lambda item: rank.get(module(item), len(rank)))   # stable: module order kept otherwise
