"""Errors of the simulated cloud.

Two kinds, kept apart on purpose (STYLE 7): a `ToolError` is the agent's mistake or the cloud
saying no, and becomes an error observation that costs a step; every other exception is a
developer's mistake and is raised precisely. `did_you_mean` words the hint every package's
messages give for an unknown name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["ToolError", "did_you_mean"]


class ToolError(Exception):
    """A tool call the cloud refuses: the message is what the agent reads after ``error:``."""


def did_you_mean(word: str, choices: Iterable[str], *, aside: bool = False) -> str:
    """The one "did you mean" of the project, for every message that names an unknown word.

    Returns ``" Did you mean 'x'?"``, a sentence to put after one, for the choice closest to
    ``word``; with ``aside``, ``" (did you mean 'x'?)"``, to put inside a sentence that goes on.
    Empty when no choice is close (difflib's ratio below 0.6).
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean '{close[0]}'?)" if aside else f" Did you mean '{close[0]}'?"
