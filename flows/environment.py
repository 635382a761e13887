"""Prefect settings the project needs on an offline machine, applied before Prefect is imported.

Telemetry is off (no network here: it only logs errors otherwise). An operator's own settings win.
"""
from __future__ import annotations

import os

_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
    # quieter console: run loggers stay at INFO, Prefect's own internals only warn
    "PREFECT_LOGGING_INTERNAL_LEVEL": "WARNING",
    # the temporary server needs ~5 s on an idle 2-core machine; a busy one (rendering, CI) needs more
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def apply_defaults() -> None:
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)


apply_defaults()
