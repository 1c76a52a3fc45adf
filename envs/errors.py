"""Errors of the simulated cloud.

Two kinds, kept apart on purpose (STYLE 7): a `ToolError` is the agent's mistake or the cloud
saying no, and becomes an error observation that costs a step; every other exception is a
developer's mistake and is raised precisely.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["ToolError", "did_you_mean"]


class ToolError(Exception):
    """A tool call the cloud refuses: the message is what the agent reads after ``error:``."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
