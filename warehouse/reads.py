"""Reads of the published file, read-only: every run (``runs``), the latest successful run, the
accounts of the latest full run (for reruns) and the previous offers per account
(``previous_offers``). ``WarehouseReads`` is a part of ``Warehouse`` (``store.py``).
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Iterator

import duckdb
import polars as pl

from .query import connect_read_only
from .schema import TABLES

OFFER_COLUMNS = {"account_id": pl.String, "path": pl.String, "folder": pl.String, "sha256": pl.String,
                 "content_hash": pl.String, "bytes": pl.Int64, "pages": pl.Int64, "status": pl.String,
                 "run_id": pl.String, "offer_no": pl.String, "issued_on": pl.Date, "valid_until": pl.Date}


class WarehouseReads:
    """The read methods of ``Warehouse``; it gives ``db_path``."""

    # ------------------------------------------------------------ reads (published file, read-only)

    @contextmanager
    def _read(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        if not self.db_path.exists():
            yield None
            return
        con = connect_read_only(self.db_path)
        try:
            yield con
        finally:
            con.close()

    def runs(self) -> pl.DataFrame:
        """Every recorded run, newest first."""
        with self._read() as con:
            if con is None:
                return pl.DataFrame()
            return con.sql("SELECT * FROM runs ORDER BY started_at DESC, run_id DESC").pl()

    def latest_successful_run(self, *, campaign: str | None = None) -> dict | None:
        """The run the ``latest_*`` views show (latest successful nightly/adhoc run), or with
        ``campaign`` the latest successful run of that campaign. ``assumptions`` comes back as a dict."""
        with self._read() as con:
            return None if con is None else self._latest(con, campaign)

    @staticmethod
    def _latest(con: duckdb.DuckDBPyConnection, campaign: str | None = None) -> dict | None:
        where, params = ("kind <> 'campaign'", []) if campaign is None else ("kind = 'campaign' AND campaign = ?", [campaign])
        rows = con.sql(f"SELECT * FROM runs WHERE status = 'succeeded' AND {where} "
                       "ORDER BY started_at DESC, run_id DESC LIMIT 1", params=params).pl().to_dicts()
        if not rows:
            return None
        run = rows[0]
        if isinstance(run.get("assumptions"), str):
            run["assumptions"] = json.loads(run["assumptions"])
        return run

    def latest_accounts(self) -> pl.DataFrame:
        """Accounts of the latest successful full run (without run_id), in input order; empty when none."""
        empty = pl.DataFrame(schema=TABLES["accounts"].base)
        with self._read() as con:
            if con is None:
                return empty
            run = self._latest(con)
            if run is None:
                return con.sql("SELECT * EXCLUDE (run_id) FROM accounts LIMIT 0").pl()
            return con.sql("SELECT * EXCLUDE (run_id) FROM accounts WHERE run_id = ? ORDER BY row_number, account_id",
                           params=[run["run_id"]]).pl()

    def previous_offers(self, output_folder: str | os.PathLike) -> pl.DataFrame:
        """Per account, the newest offer with status rendered/unchanged from a successful run whose
        output folder is ``output_folder`` or lies inside it: pass a campaign's folder for that
        campaign, or the offers root (``out/``) to cover every nightly ``out/<run_id>``.

        Columns: every column of ``offers`` (account_id, path relative to ``folder``, sha256,
        content_hash, bytes, pages, status, run_id, and whatever later versions add), plus folder
        (that run's absolute output folder), so that an unchanged offer can keep its whole row."""
        base = os.path.abspath(os.fspath(output_folder))
        with self._read() as con:
            if con is None:
                return pl.DataFrame(schema=OFFER_COLUMNS)
            return con.sql(
                """SELECT o.*, r.output_folder AS folder
                   FROM offers o JOIN runs r ON r.run_id = o.run_id
                   WHERE r.status = 'succeeded' AND o.status IN ('rendered', 'unchanged')
                     AND (r.output_folder = $1 OR starts_with(r.output_folder, $2))
                   QUALIFY row_number() OVER (PARTITION BY o.account_id ORDER BY r.started_at DESC, r.run_id DESC) = 1
                   ORDER BY o.account_id""", params=[base, base.rstrip(os.sep) + os.sep]).pl()
