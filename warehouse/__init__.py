"""greenpower's DuckDB warehouse: run history, atomic publishing, managers' views and queries.

Design and operations: ``warehouse/README.md``. In short, a run writes a private staging copy
of the published file and publishes it with one atomic ``os.replace``; a file lock keeps runs
one at a time and a journal lets the next run mark a killed one failed.
"""
from .errors import FrameError, QueryError, RunCancelled, WarehouseBusy, WarehouseError
from .query import display_width, format_table, run_query, write_query_result
from .store import RunWriter, Warehouse, new_run_id
from .views import VIEW_NAMES

__all__ = [
    "Warehouse", "RunWriter", "new_run_id", "run_query", "write_query_result", "format_table",
    "display_width", "WarehouseError", "WarehouseBusy", "FrameError", "QueryError", "RunCancelled", "VIEW_NAMES",
]
