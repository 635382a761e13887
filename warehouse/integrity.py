"""Does a warehouse file read back whole? Every block of every table is read and its checksum
verified by DuckDB; a damaged block is named by DuckDB's own message ("… in block at location N").

``fingerprints`` gives per table the row count and an order-independent hash of all rows: the
check reads every column of every row (a bare ``count(*)`` does not touch a damaged data block).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from core.filemodes import open_private

from .dbfile import open_database
from .errors import WarehouseError
from .schema import q

# words of DuckDB's messages for a file that does not read back (checksums, torn headers, garbage)
DAMAGE_WORDS = ("corrupt", "checksum", "not a valid duckdb database", "invalid block", "failed to read",
                "could not read enough bytes", "serialization error", "invalid database file")


class DamagedWarehouse(WarehouseError):
    """A warehouse file does not read back whole."""

    def __init__(self, path: Path, detail: str):
        self.path, self.detail = Path(path), detail
        super().__init__(f"{path}: the warehouse file is damaged and cannot be used: {detail}. Nothing was "
                         f"written. Put back the newest good generation with `gp restore --db {path}` (or "
                         f"restore a backup with `gp restore --db {path} --from DIR`), then run again.")


def looks_damaged(error: BaseException) -> bool:
    return isinstance(error, duckdb.Error) and any(w in str(error).lower() for w in DAMAGE_WORDS)


def fingerprints(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[str, dict]:
    """``{table: {"rows": n, "hash": h}}`` for every base table of ``catalog`` (default: the current one)."""
    catalog = catalog or con.execute("SELECT current_database()").fetchone()[0]
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "ORDER BY table_name", [catalog]).fetchall()]
    out = {}
    for t in tables:
        rows, h = con.execute(f"SELECT count(*), coalesce(sum(hash(x)), 0) FROM {q(catalog)}.main.{q(t)} x").fetchone()
        out[t] = {"rows": int(rows), "hash": str(h)}
    return out


def check_whole(path: Path) -> dict[str, dict]:
    """Read every table of ``path`` back; returns its fingerprints or raises ``DamagedWarehouse``."""
    con = None
    try:
        con = open_database(path, read_only=True)
        return fingerprints(con)
    except duckdb.Error as e:
        if looks_damaged(e):
            raise DamagedWarehouse(path, str(e).strip()) from None
        raise WarehouseError(f"{path}: cannot read the warehouse file back: {e}") from None
    finally:
        if con is not None:
            con.close()


# A file this code checked and published, unchanged since (same inode, size and modification time),
# needs no full read again before the next run copies it.
def _verified_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".verified")


def _stamp(path: Path) -> dict:
    st = os.stat(path)
    return {"inode": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def mark_verified(db_path: Path) -> None:
    try:
        with os.fdopen(open_private(_verified_path(db_path)), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(_stamp(db_path)))
    except OSError:   # only an optimisation: the next run reads the file whole instead
        forget_verified(db_path)


def forget_verified(db_path: Path) -> None:
    try:
        _verified_path(db_path).unlink()
    except OSError:
        pass


def is_verified(db_path: Path) -> bool:
    try:
        return json.loads(_verified_path(db_path).read_text(encoding="utf-8")) == _stamp(db_path)
    except (OSError, ValueError):
        return False
