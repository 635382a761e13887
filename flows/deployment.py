"""The scheduled nightly run: a Prefect deployment of the ``nightly`` flow on a cron schedule.

``gp serve`` builds the deployment and serves it (``prefect.serve``): the long-running process that
makes the schedule fire, against a real Prefect server (``PREFECT_API_URL``; see the README). The
schedule and its time zone are deployment settings, the input, output and database typed parameters.
"""
from __future__ import annotations

import flows.environment  # noqa: F401  (Prefect settings before Prefect loads)

from pathlib import Path

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.nightly import nightly
from flows.parameters import NightlyParameters

DEFAULT_CRON = "0 2 * * *"           # 02:00 every day
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEPLOYMENT_NAME = "nightly"


def nightly_deployment(params: NightlyParameters, *, cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE,
                       name: str = DEPLOYMENT_NAME) -> RunnerDeployment:
    """The ``nightly`` flow as a deployment with its schedule and default parameters."""
    return nightly.to_deployment(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters={"params": params.model_dump(mode="json")},
        description=f"greenpower nightly run of {params.customers} at '{cron}' ({timezone})",
        tags=["greenpower", "nightly"],
    )


def serve_nightly(params: NightlyParameters, *, cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE,
                  name: str = DEPLOYMENT_NAME) -> None:
    """Register the deployment and run its scheduled flow runs until stopped (Ctrl-C)."""
    from prefect import serve
    params = params.model_copy(update={"customers": Path(params.customers).resolve(),
                                       "db": Path(params.db).resolve(), "out": Path(params.out).resolve()})
    serve(nightly_deployment(params, cron=cron, timezone=timezone, name=name))
