"""The served process (``gp dashboard`` execs ``python -m dashboard.server run dashboard/app.py …``).

Imports what the pages need (Polars, DuckDB, Altair, the SQL layer, the segment names) before Streamlit
starts listening, so the first manager to open the page does not wait for them; then hands over to
Streamlit's own command line with the arguments given.
"""
from __future__ import annotations

import sys


def preload() -> None:
    import altair  # noqa: F401
    import duckdb  # noqa: F401
    import polars  # noqa: F401

    from dashboard import data, export, labels  # noqa: F401  (not ui: its caches need the running server)
    labels.segments()
    labels.packages()
    for sql in data.SQL_DIR.glob("*.sql"):
        data.sql_text(sql.stem)


def main() -> int:
    import os
    import threading
    from pathlib import Path

    from streamlit.web import cli

    from dashboard.command import DB_ENV
    from dashboard.data import keep_warm
    preload()
    if os.environ.get(DB_ENV):   # every page's first-load figures are ready when a run has been published
        threading.Thread(target=keep_warm, args=(Path(os.environ[DB_ENV]),), name="warm-cache", daemon=True).start()
    sys.argv = ["streamlit", *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
