"""reference and reckless: the oracles, each playing its family's own scripted path.

Every scenario family declares two paths (`blastradius.envs.scenarios.Scenario`): ``reference``,
the careful operator's solution, and ``reckless``, the fastest literal one, which brings about
the family's documented incident. ``--agent reference`` and ``--agent reckless`` play them, for
built-in and custom families alike: every family has its bounds on the leaderboard, and each
path has one source of truth, the family's own declaration.

They are not contestants. Nothing in a briefing or an observation tells the path, so the harness
hands it over (`PathAgent.follow`, before ``reset``) to an agent whose type is exactly
`PathAgent`, never a subclass: a user's agent never gets the hidden scenario. With the path
comes a way to tell that the call last sent hit a transient fault that kept it from taking
effect, so that under chaos the oracle plays exactly as `blastradius.envs.tools.replay` does:
such a call is sent again, `ATTEMPTS` times in all at most, then the path goes on. They run in
the harness's process even in a sealed run (they need the referee's knowledge), and a run
records them as agents of kind ``oracle``.

A path that runs out without ending the episode (a family's path normally ends with
``submit_report``) is followed by an escalation saying so: the oracle has nothing of its own to
add.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .base import Action, Briefing

__all__ = ["ATTEMPTS", "PATHS", "PathAgent", "reckless_path", "reference_path"]

PATHS = ("reference", "reckless")
"""The scripted paths a scenario declares, by their `Scenario` attribute names."""

ATTEMPTS = 4
"""How many times a call is sent in all while each send hits a transient fault that kept it from
taking effect: the default of `blastradius.envs.tools.replay` (a test holds the two together)."""


class PathAgent:
    """Plays the scenario's ``path`` (one of `PATHS`) as the harness hands it. See the module docstring."""

    def __init__(self, path: str = "reference") -> None:
        if path not in PATHS:
            raise ValueError(f"path must be one of {', '.join(PATHS)}, got {path!r}")
        self.path = path
        self._calls: tuple[Action, ...] | None = None
        self._needs_resend: Callable[[], bool] = lambda: False
        self._next = 0
        self._sent: Action | None = None
        self._sends = 0

    def follow(self, calls: Sequence[Action], needs_resend: Callable[[], bool]) -> None:
        """Take the path to play and ``needs_resend``, which tells whether the call last sent
        must be sent again (the referee's view of the ledger). The harness calls it before `reset`."""
        self._calls = tuple(calls)
        self._needs_resend = needs_resend

    def reset(self, briefing: Briefing) -> None:
        del briefing  # the path is the scenario's; the briefing adds nothing to it
        self._check_followed()
        self._next, self._sent, self._sends = 0, None, 0

    def act(self, observation: str) -> Action:
        del observation  # whether to send a call again is the harness's to tell, from the ledger
        calls = self._check_followed()
        if self._sent is not None and self._sends < ATTEMPTS and self._needs_resend():
            self._sends += 1
            return self._sent
        if self._next < len(calls):
            self._sent = calls[self._next]
            self._next += 1
        else:
            self._sent = {"name": "escalate", "arguments": {"reason": (
                f"The scenario's {self.path} path ended without ending the episode: I have no step of my own "
                "to take.")}}
        self._sends = 1
        return self._sent

    def _check_followed(self) -> tuple[Action, ...]:
        if self._calls is None:
            raise RuntimeError(
                f"the {self.path} agent was handed no path: it plays the scenario's own {self.path} path, which "
                f"only the blastradius harness hands over (blastradius run --agent {self.path}), to this very "
                "class and never to a subclass; a sealed run plays it in the harness under its built-in name only")
        return self._calls


def reference_path() -> PathAgent:
    """``--agent reference``: the family's reference path, the careful operator's solution."""
    return PathAgent("reference")


def reckless_path() -> PathAgent:
    """``--agent reckless``: the family's reckless path, which brings about its incident."""
    return PathAgent("reckless")
