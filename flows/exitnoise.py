"""A failed command exits quietly: no ``nanobind: leaked …`` lines from DuckDB at interpreter exit.

DuckDB's Python module reports every object of its own still alive when the interpreter shuts down. A
failed run's exception keeps the frames it passed through, and with them their local variables — the
connections and relations of the code that failed — alive until exit (Prefect keeps the exception in the
run's final state). Once the message is printed, the frames' variables are no longer needed.
"""
from __future__ import annotations

import gc
import traceback


def release_frames(exc: BaseException | None) -> None:
    """Drop the local variables of every frame in ``exc``'s traceback chain (cause and context too)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        tb = e.__traceback__
        while tb is not None:
            try:
                tb.tb_frame.clear()
            except RuntimeError:      # a frame still executing (the caller's own): leave it
                pass
            tb = tb.tb_next
        todo += [e.__cause__, e.__context__, *getattr(e, "exceptions", ())]
    gc.collect()
