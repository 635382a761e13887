"""Errors raised by the warehouse; each message names the file or table and the problem."""
from __future__ import annotations


class WarehouseError(RuntimeError):
    """Something about the warehouse file, a run or a query is wrong."""


class WarehouseBusy(WarehouseError):
    """Another run holds the warehouse's writer lock."""

    def __init__(self, message: str, holder: dict | None = None):
        super().__init__(message)
        self.holder = holder or {}


class FrameError(WarehouseError, ValueError):
    """A frame handed to ``RunWriter.write`` breaks the table's contract (NaN, duplicates, missing keys)."""


class QueryError(WarehouseError, ValueError):
    """A manager's SQL cannot be run (not one statement, not read-only, no database)."""


class RunCancelled(Exception):
    """The run was cancelled (from the Prefect UI or API, or interrupted); the message is the reason.
    ``RunWriter`` records it as ``cancelled`` and publishes nothing of the run."""
