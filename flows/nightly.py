"""The ``nightly`` flow: the whole customer list, every night (flows.md); without PDFs, in chunks of bounded
size (``flows/chunks.py``), so that a province's list fits in memory."""
from __future__ import annotations

import flows.environment  # noqa: F401  (Prefect settings before Prefect loads)

from prefect import flow, get_run_logger

from flows import steps
from flows.parameters import NightlyParameters
from flows.pipeline import process, process_stream
from flows.preflight import wait_for_writer_lock
from flows.runcontrol import RunCancelled, ended_by_cancellation


@flow(name="nightly", description="Load the customer list, segment, compute, store, render offers, publish.")
def nightly(params: NightlyParameters) -> dict:
    wait_for_writer_lock(params.db, params.lock_timeout_s, get_run_logger())   # refuse before loading anything
    config = steps.load_configuration(params.assumptions)
    if not params.render_pdf:      # nothing needs every account at once: the list goes through in chunks
        try:
            return process_stream(params.customers, params.sheet, config, params, kind="nightly").as_dict()
        except RunCancelled as exc:
            return ended_by_cancellation(exc)
    checked = steps.load_customers(params.customers, params.sheet)
    try:
        summary = process(checked.accounts, checked.rejects, checked.rows_read, config, params, kind="nightly",
                          campaign=None, input_path=str(params.customers), input_sha256=checked.input_sha256,
                          input_files=checked.data_files)
    except RunCancelled as exc:
        return ended_by_cancellation(exc)
    return summary.as_dict()
