"""Load customer lists (CSV/GBK/XLSX/Parquet) and validate them (synthetic lists: the ``synthetic`` package).

Public API::

    read_customer_file(path, sheet=None) -> RawTable        # intake.load
    validate_accounts(raw, source_name=None) -> Validated    # intake.validate
    load_accounts(path, sheet=None) -> Validated             # both in one call

A file that cannot be read at all raises :class:`InputFileError`.
"""
from intake.errors import InputFileError
from intake.load import RawTable, read_customer_file, table_from_frame
from intake.validate import Validated, load_accounts, validate_accounts

__all__ = ["InputFileError", "RawTable", "Validated", "load_accounts",
           "read_customer_file", "table_from_frame", "validate_accounts"]

