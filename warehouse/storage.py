"""The DuckDB storage version of every file the warehouse writes for readers.

DuckDB 2.0 writes its newest storage format unless told otherwise, and DuckDB 1.x clients (the CLI,
DBeaver's JDBC driver, the Node client, DuckDB-WASM in browser and notebook tools) cannot open such a
file at all ("Trying to read a database file with version number 69 …"). So every database this
package creates — the published warehouse, a run's staging copy, a compacted file, the file a
failed run is recorded in — is created in the storage version this module names, and a file found
in a newer one is rewritten at the next publish.

The setting is ``GREENPOWER_STORAGE_VERSION`` (or ``Warehouse(storage_version=…)``), default
``v1.0.0``: the oldest version DuckDB 2.0 writes, readable by every DuckDB client from 1.0 on. The
warehouse's features (lists, structs, JSON, TIMESTAMPTZ, the views) need nothing newer. It is
recorded in ``warehouse_meta`` (key ``storage_version``) and on each run (``runs.storage_version``).
Moving to a newer format is a decision written in ``warehouse/README.md``, not a side effect of an
upgrade.
"""
from __future__ import annotations

import os
import re

import duckdb

ENV = "GREENPOWER_STORAGE_VERSION"
DEFAULT_STORAGE_VERSION = "v1.0.0"
META_KEY = "storage_version"

_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\+?$")


def _known_versions() -> list[str]:
    """What this DuckDB accepts (it lists them in the error for an unknown one)."""
    con = duckdb.connect()
    try:
        con.execute("ATTACH ':memory:' AS probe (STORAGE_VERSION 'v0.0.0-unknown')")
    except duckdb.Error as e:
        found = re.findall(r"v\d+\.\d+\.\d+|latest", str(e).split("valid options are:")[-1])
        return found
    finally:
        con.close()
    return []


def check_storage_version(value: str, *, source: str = "storage_version") -> str:
    """``value`` if DuckDB knows it as a storage version (``v1.0.0`` … or ``latest``); else one clear error."""
    text = str(value).strip()
    if text == "latest" or _VERSION.match(text) and not text.endswith("+"):
        con = duckdb.connect()
        try:
            con.execute("ATTACH ':memory:' AS probe (STORAGE_VERSION ?)", [text])
            return text
        except duckdb.Error:
            pass
        finally:
            con.close()
    known = [v for v in _known_versions() if v == "latest" or version_tuple(v) >= (1, 0, 0)]
    raise ValueError(f"{source}: {value!r} is not a DuckDB storage version this DuckDB ({duckdb.__version__}) "
                     f"can write; use one of {', '.join(known)} (default {DEFAULT_STORAGE_VERSION}: readable by "
                     "DuckDB 1.0 and later)")


def configured_storage_version(value: str | None = None) -> str:
    """The explicit value, else ``$GREENPOWER_STORAGE_VERSION``, else the default; checked."""
    if value is not None:
        return check_storage_version(value)
    env = os.environ.get(ENV)
    if env:
        return check_storage_version(env, source=ENV)
    return DEFAULT_STORAGE_VERSION


def version_tuple(text: str) -> tuple[int, int, int]:
    m = _VERSION.match(text.strip())
    if not m:
        raise ValueError(f"not a DuckDB version: {text!r}")
    return tuple(int(x) for x in m.groups())  # type: ignore[return-value]


def connect_config(version: str) -> dict[str, str]:
    """``duckdb.connect`` configuration that makes a *new* file in ``version`` (an existing file keeps its own)."""
    return {"storage_compatibility_version": version}


def file_storage_version(con: duckdb.DuckDBPyConnection, database: str | None = None) -> str | None:
    """The oldest DuckDB that reads this attached database, as DuckDB tags it (e.g. ``v1.0.0+``)."""
    row = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = "
                      "coalesce(?, current_database())", [database]).fetchone()
    return row[0] if row and row[0] else None


def readable_by(tag: str | None, version: str) -> bool:
    """True when a file tagged ``tag`` (``v1.0.0+``) opens in DuckDB ``version`` (``latest``: any)."""
    if version == "latest" or tag is None:
        return True
    return version_tuple(tag) <= version_tuple(version)


def record(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """Write the setting into ``warehouse_meta`` (the table exists: ``ensure_schema`` made it)."""
    con.execute("DELETE FROM warehouse_meta WHERE key = ?", [META_KEY])
    con.execute("INSERT INTO warehouse_meta VALUES (?, ?)", [META_KEY, version])
