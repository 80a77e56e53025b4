"""The one exception type for bad input: the CLI turns it into one line and exit code 2."""

from __future__ import annotations


class GannetError(Exception):
    """A problem with the user's input (config, data, checkpoint, run directory).

    The message must say what is wrong and how to fix it, in one line.
    """
