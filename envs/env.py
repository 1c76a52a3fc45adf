"""The Gymnasium env: one scenario family, tools face.

Description:
    The agent operates a simulated production cloud to carry out one task (the briefing) while
    hidden dependencies, policies and a simulated clock decide what its actions really do.

Action space:
    ``Text`` of printable ASCII, one JSON tool call ``{"name": ..., "arguments": {...}}``. A dict
    of the same shape is accepted too, and ``arguments`` may be a JSON string. A malformed call,
    unknown tool, bad argument or refused action is an error observation (``info["action_error"]``)
    that costs a step and a simulated minute.

Observation space:
    ``Text`` of printable ASCII, at most 8192 characters: the simulated clock, then what the tool
    returned (cut with a visible marker when longer). At reset: the briefing.

Info:
    At reset: ``briefing``, ``tools`` (OpenAI function-calling schemas), ``family``,
    ``difficulty``. At every step: ``tool`` (the tool name, empty if unparsable),
    ``action_error`` (empty when none) and ``clock_minutes`` (simulated minutes since the
    episode began). Ground truth (the ledger, hidden edges, scores) is never in ``info``; the
    harness reads it from ``env.unwrapped.scenario``.

Rewards:
    0.0 on every step. (Episode scores arrive with the scoring module; until then the final
    reward is 0.0 too.)

Episode end:
    Terminated when the agent calls ``submit_report`` or ``escalate``; truncated at
    ``max_episode_steps`` (the registered ``TimeLimit``).

Arguments:
    family: the scenario family id (see ``blastradius.envs.scenarios.FAMILIES``).
    difficulty: one of the family's difficulty names; None for its default. Overridable per
        episode with ``reset(options={"difficulty": ...})``.
    size: about how many resources the generated topology has (at least 10).
    render_mode: None or ``"ansi"``.

Version history:
    v0: initial release.
"""

from __future__ import annotations

import string
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from .scenarios import FAMILIES, Scenario
from .tools import MAX_OBSERVATION, call, tool_schemas
from .topology import DEFAULT_SIZE

__all__ = ["BlastRadiusEnv", "MAX_ACTION"]

MAX_ACTION = 8192
_OBSERVATION_LIMIT = 8192


class BlastRadiusEnv(gym.Env[str, Any]):
    """A simulated production cloud, one task per episode. See the module docstring."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        family: str = "freeze_prod_db",
        difficulty: str | None = None,
        size: int = DEFAULT_SIZE,
        render_mode: str | None = None,
    ) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown scenario family {family!r}; known: {sorted(FAMILIES)}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.family = FAMILIES[family]
        self.default_difficulty = self.family.difficulty(difficulty)
        self.size = size
        self.render_mode = render_mode
        self.observation_space = spaces.Text(_OBSERVATION_LIMIT, min_length=0, charset=string.printable)
        self.action_space = spaces.Text(MAX_ACTION, min_length=0, charset=string.printable)
        self.scenario: Scenario | None = None
        self.difficulty = self.default_difficulty
        self._last = ""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        self.difficulty = self.family.difficulty(options.pop("difficulty", self.default_difficulty))
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; the only option is 'difficulty'")
        self.scenario = self.family.build(self.np_random, self.difficulty, self.size)
        self._last = self.scenario.briefing[:_OBSERVATION_LIMIT]
        info = {
            "briefing": self.scenario.briefing,
            "tools": tool_schemas(),
            "family": self.family.id,
            "difficulty": self.difficulty,
        }
        return self._last, info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.scenario is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        world = self.scenario.world
        if world.finish is not None:
            outcome_tool, error = "", "the episode is over; call reset() to start a new one."
            self._last = f"error: {error}"
        else:
            outcome = call(world, action)
            outcome_tool, error, self._last = outcome.name, outcome.error, outcome.observation
        info = {
            "tool": outcome_tool,
            "action_error": error,
            "clock_minutes": world.now - world.start_time,
        }
        return self._last, 0.0, world.finish is not None, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return self._last + "\n"

    def close(self) -> None:
        self.scenario = None
