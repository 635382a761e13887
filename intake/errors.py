"""The one exception a customer file that cannot be read at all raises."""
from __future__ import annotations

from pathlib import Path

from core.errors import UserError


class InputFileError(UserError, ValueError):
    """The customer file cannot be read as a table; nothing from it may be used.

    The message names the file and says what is wrong in words a sales analyst understands
    (empty, not a table, unknown encoding, missing required columns, ...). ``path`` and
    ``problem`` are kept separately for callers that format their own message.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"Cannot read customer file {self.path}: {problem}")
