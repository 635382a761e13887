"""Portable backups: ``EXPORT DATABASE`` as Parquet plus a manifest, and their restore.

A backup folder holds DuckDB's ``schema.sql`` and ``load.sql``, one Parquet file per table and
``manifest.json``: per table its row count, and per file its size and SHA-256, plus the DuckDB version
and an order-independent content hash of each table (compared only when restoring with the same DuckDB
version: the hash function is DuckDB's own). Parquet and SQL text are readable by any DuckDB version,
and by other tools.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.filemodes import make_dirs, secure_tree

from . import publish as files
from .dbfile import attach_sql, open_database
from .errors import WarehouseError
from .generations import holds, install
from .integrity import DamagedWarehouse, check_whole, fingerprints, forget_verified

MANIFEST = "manifest.json"
FORMAT = "greenpower-backup/1"


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _sql_text(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def backup(db_path: Path, folder: Path) -> dict:
    """Write a backup of the published file into ``folder`` (new or empty); returns the manifest."""
    db_path, folder = Path(db_path), Path(folder)
    if not db_path.is_file():
        raise WarehouseError(f"{db_path}: no warehouse database here to back up")
    if folder.exists() and any(folder.iterdir()):
        raise WarehouseError(f"{folder}: not empty; give a new folder for the backup")
    check_whole(db_path)   # a damaged file would export a partial backup
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    make_dirs(partial)
    try:
        con = duckdb.connect()     # in memory, with file access, the warehouse attached read-only
        try:
            con.execute(attach_sql(db_path, "src", read_only=True))
            tables = fingerprints(con, "src")
            con.execute(f"EXPORT DATABASE src TO {_sql_text(str(partial.resolve()))} (FORMAT parquet, COMPRESSION zstd)")
            version = con.execute("SELECT version()").fetchone()[0]
        finally:
            con.close()
        held = holds(db_path)
        manifest = {
            "format": FORMAT, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "host": socket.gethostname(), "source": str(db_path.resolve()), "duckdb_version": version,
            "latest_run": None if held.latest_run is None else {**held.latest_run,
                                                                "started_at": str(held.latest_run["started_at"])},
            "runs": len(held.run_ids), "tables": tables,
            "files": {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
                      for p in sorted(partial.iterdir()) if p.is_file()},
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        secure_tree(partial)
        for p in partial.iterdir():
            files.fsync_path(p)
        if folder.exists():
            folder.rmdir()
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WarehouseError(f"{folder}: no {MANIFEST}: not a backup made by `gp backup`") from None
    except ValueError as e:
        raise WarehouseError(f"{folder}/{MANIFEST}: unreadable ({e})") from None
    if manifest.get("format") != FORMAT:
        raise WarehouseError(f"{folder}/{MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


def verify_files(folder: Path, manifest: dict) -> None:
    for name, want in manifest["files"].items():
        p = Path(folder) / name
        if not p.is_file():
            raise WarehouseError(f"{p}: missing from the backup")
        if p.stat().st_size != want["bytes"] or _sha256(p) != want["sha256"]:
            raise WarehouseError(f"{p}: does not match its checksum in {MANIFEST}; the backup is damaged")


def _import(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """``IMPORT DATABASE``, except that views are created once what they read exists (DuckDB writes them
    to ``schema.sql`` in catalog order, which may put a view before the view it reads)."""
    statements = con.extract_statements((folder / "schema.sql").read_text(encoding="utf-8"))
    views = [s.query for s in statements if _is_view(s.query)]
    for s in statements:
        if not _is_view(s.query):
            con.execute(s.query)
    load = (folder / "load.sql").read_text(encoding="utf-8")
    for s in con.extract_statements(load):
        con.execute(_relocated(s.query, folder))
    while views:
        failed = []
        for sql in views:
            try:
                con.execute(sql)
            except duckdb.CatalogException:
                failed.append(sql)
        if len(failed) == len(views):
            con.execute(failed[0])        # raises the real error
        views = failed


def _is_view(sql: str) -> bool:
    return " ".join(sql.split()[:4]).upper().startswith(("CREATE VIEW", "CREATE OR REPLACE VIEW",
                                                          "CREATE TEMP VIEW"))


def _relocated(sql: str, folder: Path) -> str:
    """``load.sql`` names the folder the backup was written to; read the files where they are now."""
    import re
    return re.sub(r"'([^']*/)?([^'/]+\.parquet)'", lambda m: _sql_text(str(folder.resolve() / m.group(2))), sql)


@dataclass
class Loaded:
    manifest: dict
    lost_runs: list[str] | None
    replaced_kept: Path | None


def restore_backup(db_path: Path, folder: Path) -> Loaded:
    """Rebuild the warehouse from a backup folder and publish it. Call holding the writer lock."""
    db_path, folder = Path(db_path), Path(folder)
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    make_dirs(db_path.parent)
    staging = files.staging_path(db_path, "restore-backup")
    files.remove_db_files(staging)
    try:
        con = open_database(staging)
        try:
            _import(con, folder)
            got = fingerprints(con)
            version = con.execute("SELECT version()").fetchone()[0]
            con.execute("CHECKPOINT")
        finally:
            con.close()
        want = manifest["tables"]
        if set(got) != set(want):
            raise WarehouseError(f"{folder}: restored tables {sorted(got)} differ from the manifest's {sorted(want)}")
        for t, w in want.items():
            if got[t]["rows"] != w["rows"]:
                raise WarehouseError(f"{folder}: table {t}: restored {got[t]['rows']} rows, the manifest says "
                                     f"{w['rows']}")
            if version == manifest.get("duckdb_version") and got[t]["hash"] != w["hash"]:
                raise WarehouseError(f"{folder}: table {t}: restored rows differ from the backed-up ones")
        check_whole(staging)
        try:
            current = holds(db_path).run_ids if db_path.exists() else []
        except (duckdb.Error, DamagedWarehouse):
            current = None
        restored = set(holds(staging).run_ids)
        forget_verified(db_path)
        kept = install(staging, db_path)
    finally:
        files.remove_db_files(staging)
    return Loaded(manifest, None if current is None else [r for r in current if r not in restored], kept)
