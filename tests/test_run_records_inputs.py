"""The run records what it actually used (issue: the input hash could describe a different file, and the
column-alias file's hash never reached ``runs.assumptions``). Real flow under Prefect's harness, real DuckDB."""
from __future__ import annotations

import hashlib
import json

import pytest

from reliability_support import q, sample_rows, write_customers


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_load_accounts_hashes_the_bytes_it_read(tmp_path):
    from intake.validate import load_accounts
    path = write_customers(tmp_path / "c.csv", sample_rows(3))
    assert load_accounts(path).input_sha256 == _sha(path)


def test_a_file_replaced_during_the_run_is_recorded_as_the_one_loaded(prefect_harness, tmp_path, monkeypatch):
    """A CRM export lands while the run is working: the run must record the hash of what it loaded."""
    from flows import steps
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters
    from core.datafiles import data_dir

    path = write_customers(tmp_path / "customers.csv", sample_rows(5))
    loaded_sha = _sha(path)
    real = steps.load_accounts

    def load_then_replace(p, sheet=None):
        checked = real(p, sheet)
        write_customers(path, sample_rows(8))          # the next export overwrites the file
        return checked

    real_chunks = steps.persist_chunks

    def stream_then_replace(run, chunks, *args, **kwargs):
        # a run without PDFs streams the list (flows/chunks.py): its first chunk — here the whole file — was
        # read before the run started; the file is replaced before the rows are stored
        write_customers(path, sample_rows(8))
        return real_chunks(run, chunks, *args, **kwargs)

    monkeypatch.setattr(steps, "load_accounts", load_then_replace)
    monkeypatch.setattr(steps, "persist_chunks", stream_then_replace)
    db = tmp_path / "gp.duckdb"
    nightly(NightlyParameters(customers=path, db=db, out=tmp_path / "out", render_pdf=False, run_id="r1"))
    assert _sha(path) != loaded_sha
    (sha, record), = q(db, "SELECT input_sha256, assumptions FROM runs WHERE run_id = 'r1'")
    assert sha == loaded_sha
    files = json.loads(record)["data_files"]
    assert files["input/columns.yaml"] == _sha(data_dir() / "input" / "columns.yaml")
    assert files["branding.yaml"] == _sha(data_dir() / "branding.yaml")
