"""The scheduled nightly run and the campaign form: Prefect deployments served by ``gp serve``.

``gp serve`` builds both deployments and serves them (``prefect.serve``): the long-running process that
makes the schedule fire and runs what the UI starts, against a real Prefect server (``PREFECT_API_URL``;
see the README). The schedule and its time zone are deployment settings, the input, output and database
typed parameters.

Two operational decisions live here:

- **Imports resolve to the project, whatever the working folder holds.** Prefect starts each served run
  as ``python -m prefect.engine`` in the serving process's working folder and puts that folder first on
  ``sys.path``; an operator's ``offers/`` output folder (or ``flows/``, ``data/`` …) would then be
  imported instead of the project's package. :func:`serve_deployments` therefore resolves every path
  parameter first and then serves from the project's own folder (:func:`code_root`).
- **A missed night runs once.** The nightly deployment has a concurrency limit of one run with
  Prefect's ``CANCEL_NEW`` collision strategy: when ``gp serve`` (or the server) comes back after
  02:00, the runs Prefect marked *Late* are all due at once; the first takes the slot and runs, the
  others are cancelled by the server ("Deployment concurrency limit reached"). A late run is never
  dropped: it stays scheduled until something serves it, and stopping ``gp serve`` does not pause the
  schedule (Prefect's default would), so the nights it was down are scheduled and caught up.
- **A server restart is survived.** Prefect's runner stops when its server does not answer for a few
  polls; ``gp serve`` then waits for the server and serves again (:func:`wait_for_server_back`).
"""
from __future__ import annotations

import flows.environment  # noqa: F401  (Prefect settings before Prefect loads)

import os
from pathlib import Path

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.campaign import campaign
from flows.nightly import nightly
from flows.parameters import NightlyParameters, RunSettings

DEFAULT_CRON = "0 2 * * *"           # 02:00 every day
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEPLOYMENT_NAME = "nightly"
CAMPAIGN_DEPLOYMENT_NAME = "campaign"
# one nightly run at a time; a run due while another is active (missed nights caught up) is cancelled
NIGHTLY_CONCURRENCY = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
# set for served runs: the folder `gp serve` was started in (relative paths in UI forms resolve against it)
BASE_DIR_ENV = "GP_BASE_DIR"


def code_root() -> Path:
    """The folder holding the project's top-level packages (``flows/``, ``offers/`` …)."""
    return Path(__file__).resolve().parents[1]


def nightly_deployment(params: NightlyParameters, *, cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE,
                       name: str = DEPLOYMENT_NAME) -> RunnerDeployment:
    """The ``nightly`` flow as a deployment with its schedule and default parameters."""
    return nightly.to_deployment(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters={"params": params.model_dump(mode="json")},
        concurrency_limit=NIGHTLY_CONCURRENCY,
        description=f"greenpower nightly run of {params.customers} at '{cron}' ({timezone})",
        tags=["greenpower", "nightly"],
    )


def campaign_deployment(settings: RunSettings, *, name: str = CAMPAIGN_DEPLOYMENT_NAME) -> RunnerDeployment:
    """The ``campaign`` flow as a deployment without a schedule: started from the UI's form (or
    ``prefect deployment run 'campaign/campaign' --param params=…``), with the served database, output
    folder and assumptions as defaults."""
    defaults = settings.model_dump(mode="json", include={"db", "out", "assumptions", "render_pdf", "workers",
                                                         "lock_timeout_s"})
    return campaign.to_deployment(
        name=name,
        parameters={"params": defaults},
        description="greenpower campaign: offers for a filtered subset of accounts (fill in the name and filters)",
        tags=["greenpower", "campaign"],
    )


def _absolute(params: NightlyParameters) -> NightlyParameters:
    return params.model_copy(update={"customers": Path(params.customers).resolve(),
                                     "db": Path(params.db).resolve(), "out": Path(params.out).resolve()})


def serve_deployments(params: NightlyParameters, *, cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE,
                      name: str = DEPLOYMENT_NAME) -> None:
    """Register ``nightly/<name>`` and ``campaign/campaign`` and run their flow runs until stopped (Ctrl-C)."""
    from prefect import serve
    os.environ.setdefault(BASE_DIR_ENV, os.getcwd())
    params = _absolute(params)
    os.chdir(code_root())       # served runs start here: the project's packages come first on sys.path
    while True:
        try:
            # pause_on_shutdown=False: stopping `gp serve` (an upgrade, a reboot) must not pause the schedule,
            # or the nights it is down would never be scheduled, hence never caught up when it is back
            serve(nightly_deployment(params, cron=cron, timezone=timezone, name=name), campaign_deployment(params),
                  pause_on_shutdown=False)
            return                      # stopped (Ctrl-C, SIGTERM): Prefect's serve returns
        except Exception as exc:        # noqa: BLE001 - only a lost server is survived, see below
            if not wait_for_server_back(exc):
                raise


def wait_for_server_back(exc: BaseException, poll_s: float = 5.0) -> bool:
    """Prefect's runner gives up when its server stops answering for a few polls (a server restart, an
    upgrade). Then wait for the server and serve again (False: the server answers, so ``exc`` is a real
    error)."""
    import logging
    import time

    from flows.serving import require_prefect_server
    if require_prefect_server(timeout_s=5) is None:
        return False
    log = logging.getLogger("greenpower.serve")
    log.warning("lost the Prefect server (%s: %s); serving again when it answers", type(exc).__name__, exc)
    while require_prefect_server(timeout_s=5) is not None:
        time.sleep(poll_s)
    log.warning("the Prefect server answers again: serving")
    return True


serve_nightly = serve_deployments     # the name earlier versions used
