"""The one place that opens or creates a DuckDB file for whole-file operations (integrity checks,
generations, backups, restores). A setting that shapes every file the warehouse writes (for example
the storage version) belongs here, so that these operations follow it too."""
from __future__ import annotations

from pathlib import Path

import duckdb

from core.filemodes import secure_file

from . import storage


# Read-only opens use the configuration of every other reader of this package (query.connect_read_only):
# DuckDB refuses a second connection to one file in one process with a different configuration.
READ_ONLY_CONFIG = {"enable_external_access": False, "lock_configuration": True}


def open_database(path: Path, *, read_only: bool = False, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """Open (``read_only``) or open/create ``path`` for a whole-file operation of this package.

    A file created here (a restored warehouse) is written in the configured storage version
    (``storage.py``), so DuckDB 1.x clients read a restored file as they read a published one."""
    written = {} if read_only else storage.connect_config(storage.configured_storage_version())
    con = duckdb.connect(str(path), read_only=read_only,
                         config={**(READ_ONLY_CONFIG if read_only else {}), **written, **(config or {})})
    if not read_only:
        secure_file(path)
        con.execute("SET enable_progress_bar = false")
    return con


def attach_sql(path: Path, alias: str, *, read_only: bool = False) -> str:
    """``ATTACH`` of a warehouse file into another connection (e.g. to export it)."""
    text = "'" + str(path).replace("'", "''") + "'"
    return f"ATTACH {text} AS {alias}" + (" (READ_ONLY)" if read_only else "")
