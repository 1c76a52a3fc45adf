"""The Agent protocol: anything with ``reset(briefing)`` and ``act(observation)`` is an agent.

An agent sees only what an operator would: the briefing (task text, tool schemas, family and
difficulty names) and the observation each tool call returns. It never sees the world's ground
truth, the ledger or scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Action", "Agent", "Briefing"]

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
    """

    text: str
    tools: tuple[dict[str, Any], ...]
    family: str
    difficulty: str
    seed: int

    @classmethod
    def from_reset_info(cls, info: dict[str, Any], seed: int) -> Briefing:
        return cls(info["briefing"], tuple(info["tools"]), info["family"], info["difficulty"], seed)


@runtime_checkable
class Agent(Protocol):
    """A contestant. ``act`` returns the next tool call for the observation it got."""

    def reset(self, briefing: Briefing) -> None: ...

    def act(self, observation: str) -> Action: ...
