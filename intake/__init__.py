"""Load customer lists (CSV/GBK/XLSX/Parquet), validate them, and generate synthetic ones.

Public API::

    read_customer_file(path, sheet=None) -> RawTable        # intake.load
    validate_accounts(raw, source_name=None) -> Validated    # intake.validate
    load_accounts(path, sheet=None) -> Validated             # both in one call
    generate_customers(n, seed=0) -> pl.DataFrame            # intake.synthetic

A file that cannot be read at all raises :class:`InputFileError`.
"""
from intake.errors import InputFileError
from intake.load import RawTable, read_customer_file, table_from_frame
from intake.validate import Validated, load_accounts, validate_accounts

__all__ = ["InputFileError", "RawTable", "Validated", "generate_customers", "load_accounts",
           "read_customer_file", "table_from_frame", "validate_accounts"]


def __getattr__(name: str):
    # Imported on first use, so ``python -m intake.synthetic`` does not load the module twice.
    if name == "generate_customers":
        from intake.synthetic import generate_customers
        return generate_customers
    raise AttributeError(f"module 'intake' has no attribute {name!r}")
