"""Typed flow parameters: Prefect shows them as a form in its UI and validates them."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from core.datafiles import data_dir


def default_db() -> Path:
    return data_dir() / "warehouse" / "greenpower.duckdb"


def from_base_dir(path: Path | None) -> Path | None:
    """A relative path typed into a served deployment's form is relative to the folder ``gp serve`` was
    started in (``GP_BASE_DIR``; served runs execute in the project's folder), else to the working folder."""
    base = os.environ.get("GP_BASE_DIR")
    if path is None or not base or Path(path).is_absolute():
        return path
    return Path(base) / path


def _chunk_rows() -> int:
    from flows.chunks import default_chunk_rows
    return default_chunk_rows()


class RunSettings(BaseModel):
    """Where a run reads and writes, and how it computes. Shared by the nightly and campaign flows."""

    db: Path = Field(default_factory=default_db, description="DuckDB warehouse file (published copy)")
    out: Path = Field(default=Path("out"), description="Folder for the offers; each run or campaign gets a sub-folder")
    assumptions: str | None = Field(default=None, description="Assumption set name (e.g. wri-2023) or YAML file; "
                                                                "default: the newest bundled set")
    render_pdf: bool = Field(default=True, description="Render the PDF offers")
    run_id: str | None = Field(default=None, description="Run id; generated when empty")
    workers: int = Field(default=2, ge=1, le=64, description="Processes rendering PDFs")
    retention_days: int | None = Field(default=None, ge=0, description="Prune runs older than this (never the latest "
                                                                         "successful one)")
    keep_runs: int = Field(default=3, ge=0, description="Retention: never prune the newest this many successful "
                                                          "runs (nor their offer folders)")
    generations: int = Field(default=3, ge=0, description="Earlier published database files kept for `gp restore` "
                                                           "(one per nightly run; 0: none)")
    lock_timeout_s: float = Field(default=0, ge=0, description="Wait this long for another run to finish")
    progress: bool = Field(default=False, description="Show a progress bar (command line)")
    dask_address: str | None = Field(default=None, description="Render on this Dask cluster (scheduler address, "
                                                               "e.g. tcp://10.0.0.5:8786) instead of local processes; "
                                                               "without PDFs, process the list's chunks there")
    chunk_rows: int = Field(default_factory=lambda: _chunk_rows(), ge=1,
                            description="Rows per chunk when the list is processed in chunks (runs without PDFs; "
                                        "default GP_CHUNK_ROWS or 250,000)")

    @field_validator("db", "out")
    @classmethod
    def _relative_to_base(cls, v: Path) -> Path:
        return from_base_dir(v)


class NightlyParameters(RunSettings):
    customers: Path = Field(description="Customer list: CSV (UTF-8/GBK), .xlsx or Parquet")
    sheet: str | None = Field(default=None, description="Excel sheet name (default: the first sheet)")

    @field_validator("customers")
    @classmethod
    def _customers_relative_to_base(cls, v: Path) -> Path:
        return from_base_dir(v)
