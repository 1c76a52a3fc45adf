"""`Monitor`: what follows a run as it goes.

A module of its own, with nothing to import, so that the command line can subclass it without
importing the runner before a run starts (`blastradius.bench.runner` re-exports it).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Monitor"]


class Monitor:
    """What follows a run as it goes; this one follows it silently. A subclass overrides what it
    wants to see (the command line's shows `blastradius.bench.progress.Progress`)."""

    def started(self, total: int, done: int) -> None:
        """The run plans ``total`` episodes, ``done`` of them recorded before (a resumed run)."""

    def episode(self, record: dict[str, Any]) -> None:
        """An episode ended and was recorded."""

    def note(self, message: str) -> None:
        """Something a person following the run should read (e.g. the cost bound was reached)."""
