"""Shared fixtures. Prefect's test harness costs ~10 s to start: one per session, only when asked for."""
from __future__ import annotations

import os

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
