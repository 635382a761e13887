"""What ``gp serve`` checks before it serves: a Prefect server that can schedule.

Against Prefect's temporary (ephemeral) server nothing is ever scheduled: serving would wait forever
doing nothing. ``gp serve`` refuses instead, saying what to start.
"""
from __future__ import annotations

import flows.environment  # noqa: F401  (Prefect settings before Prefect loads)

START_SERVER = ("start one with `PREFECT_HOME=/srv/greenpower/prefect prefect server start` and "
                "`export PREFECT_API_URL=http://127.0.0.1:4200/api` (README: Scheduling the nightly run)")


def require_prefect_server(timeout_s: float = 10.0) -> str | None:
    """None when PREFECT_API_URL names a Prefect server that answers; else the one-line reason."""
    import httpx
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        return ("gp serve needs a Prefect server: PREFECT_API_URL is not set, and Prefect's temporary server "
                f"cannot schedule runs; {START_SERVER}")
    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return f"gp serve: the Prefect server at {url} does not answer ({type(exc).__name__}: {exc}); {START_SERVER}"
    return None


def wait_for_prefect_server(wait_s: float = 120.0, poll_s: float = 3.0) -> str | None:
    """Like :func:`require_prefect_server`, but gives a server that is still starting (its database
    migrations take a minute on a fresh PREFECT_HOME) up to ``wait_s`` seconds. No PREFECT_API_URL: at once."""
    import time

    from prefect.settings import get_current_settings
    deadline = time.monotonic() + wait_s
    while True:
        problem = require_prefect_server()
        if problem is None or not get_current_settings().api.url or time.monotonic() >= deadline:
            return problem
        time.sleep(poll_s)
