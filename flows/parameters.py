"""Typed flow parameters: Prefect shows them as a form in its UI and validates them."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from core.datafiles import data_dir


def default_db() -> Path:
    return data_dir() / "warehouse" / "greenpower.duckdb"


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
    lock_timeout_s: float = Field(default=0, ge=0, description="Wait this long for another run to finish")
    progress: bool = Field(default=False, description="Show a progress bar (command line)")
    dask_address: str | None = Field(default=None, description="Render on this Dask cluster (scheduler address, "
                                                               "e.g. tcp://10.0.0.5:8786) instead of local processes")


class NightlyParameters(RunSettings):
    customers: Path = Field(description="Customer list: CSV (UTF-8/GBK), .xlsx or Parquet")
    sheet: str | None = Field(default=None, description="Excel sheet name (default: the first sheet)")
