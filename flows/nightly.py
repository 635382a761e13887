"""The ``nightly`` flow: the whole customer list, every night (flows.md)."""
from __future__ import annotations

import flows.environment  # noqa: F401  (Prefect settings before Prefect loads)

from prefect import flow, get_run_logger

from flows import steps
from flows.parameters import NightlyParameters
from flows.pipeline import process
from flows.preflight import wait_for_writer_lock
from flows.runcontrol import RunCancelled, ended_by_cancellation


@flow(name="nightly", description="Load the customer list, segment, compute, store, render offers, publish.")
def nightly(params: NightlyParameters) -> dict:
    wait_for_writer_lock(params.db, params.lock_timeout_s, get_run_logger())   # refuse before loading anything
    config = steps.load_configuration(params.assumptions)
    checked = steps.load_customers(params.customers, params.sheet)
    try:
        summary = process(checked.accounts, checked.rejects, checked.rows_read, config, params, kind="nightly",
                          campaign=None, input_path=str(params.customers), input_sha256=checked.input_sha256,
                          input_files=checked.data_files)
    except RunCancelled as exc:
        return ended_by_cancellation(exc)
    return summary.as_dict()
