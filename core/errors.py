"""The user's errors: a problem the person running ``gp`` can fix (a file, a setting, a name), whose
message says everything — the command line prints it as one line, without a traceback.

Anything else (a ``ValueError`` from a bug included) is shown with its type and the hint to set
``GP_DEBUG=1`` for the traceback.
"""
from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user gave (file, data file, option); the message names it and what is wrong."""
