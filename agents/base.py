"""The Agent protocol: anything with ``reset(briefing)`` and ``act(observation)`` is an agent.

An agent sees only what an operator would: the briefing (task text, tool schemas, family and
difficulty names) and the observation each tool call returns. It never sees the world's ground
truth, the ledger or scores.

Besides the two required methods, the harness uses these when an agent has them (each is a
small protocol below; none is required):

* ``episode_stats() -> dict`` (`ReportsUsage`): what the episode cost, with any of the keys of
  `STAT_KEYS` (``tokens_in``, ``tokens_out``, ``cost_usd``, ``latency_seconds``, ``calls``);
  recorded as the episode's ``agent_stats`` and summarised on the leaderboard.
* ``transcript() -> list[dict]`` (`KeepsTranscript`): the conversation as chat messages
  (``role``, ``content``, ``tool_calls``, ``tool_call_id``); stored in the trajectory.
* ``stderr() -> str`` (`KeepsStderr`): what an agent process wrote to its error stream
  (bounded); kept in the record of an episode that did not complete.
* ``close() -> None`` (`Closeable`): release what the agent holds (a child process, a
  connection). Called once at the end of every episode, whatever happened, even after a timeout.

The harness makes a fresh agent for each episode, so these describe one episode. Constructing
an agent should be cheap and start nothing: the command line constructs each agent once before
a run to check its arguments; start processes and connections in ``reset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["STAT_KEYS", "Action", "Agent", "Briefing", "Closeable", "KeepsStderr", "KeepsTranscript",
           "ReportsUsage"]

# One tool call: {"name": <tool>, "arguments": {...}}; a JSON string of the same is accepted too.
Action = dict[str, Any] | str


@dataclass(frozen=True)
class Briefing:
    """What an agent is told at the start of an episode.

    Attributes:
        text: the task, as the requester wrote it.
        tools: the OpenAI function-calling schemas of the tools.
        family: the scenario family id.
        difficulty: the difficulty level name.
        seed: the episode's seed, for agents that want reproducible randomness.
        max_steps: the episode's step budget: it ends after that many tool calls, reported or
            not (None: not told, for a briefing made by hand).
    """

    text: str
    tools: tuple[dict[str, Any], ...]
    family: str
    difficulty: str
    seed: int
    max_steps: int | None = None

    @classmethod
    def from_reset_info(cls, info: dict[str, Any], seed: int) -> Briefing:
        return cls(info["briefing"], tuple(info["tools"]), info["family"], info["difficulty"], seed,
                   info.get("max_steps"))

    def told(self) -> str:
        """The task as a model or a person is told it: the text, then the step budget."""
        if self.max_steps is None:
            return self.text
        return (f"{self.text}\n\n(You have at most {self.max_steps} steps, one tool call each; the episode ends "
                "after the last, reported or not.)")


@runtime_checkable
class Agent(Protocol):
    """A contestant. ``act`` returns the next tool call for the observation it got."""

    def reset(self, briefing: Briefing) -> None: ...

    def act(self, observation: str) -> Action: ...


STAT_KEYS = ("tokens_in", "tokens_out", "cost_usd", "latency_seconds", "calls")
"""The keys an agent's ``episode_stats()`` may report, each a non-negative number or None
(unknown): prompt and completion tokens, cost in US dollars, wall time spent waiting on a model,
and model calls made."""


@runtime_checkable
class ReportsUsage(Protocol):
    """An agent that counts what its episode cost (see `STAT_KEYS`)."""

    def episode_stats(self) -> dict[str, float | int | None]: ...


@runtime_checkable
class KeepsTranscript(Protocol):
    """An agent whose episode is a conversation, kept as chat messages."""

    def transcript(self) -> list[dict[str, Any]]: ...


@runtime_checkable
class KeepsStderr(Protocol):
    """An agent with an error stream worth keeping when its episode fails."""

    def stderr(self) -> str: ...


@runtime_checkable
class Closeable(Protocol):
    """An agent holding something to release at the end of the episode."""

    def close(self) -> None: ...
