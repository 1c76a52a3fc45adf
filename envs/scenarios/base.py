"""The scenario API: what a family declares and what its `build` returns.

A family is metadata (the real incident behind it, what it tests, its difficulty levels) plus a
`build(rng, difficulty, size)` that places the task and its trap into a procedurally generated
topology. The scenario it returns carries everything a referee needs and nothing an agent sees
except the briefing: scope, goal predicates, the documented consequence of the reckless path,
and two scripted paths (the careful operator's reference solution and the reckless one).
Users write their own families with this same API.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..toolbox import Tool
from ..tools import toolbox_for
from ..world import World

__all__ = ["BUDGET_FLOOR", "BUDGET_HEADROOM", "DEFAULT_STEP_BUDGET", "Check", "Difficulty", "Family", "Incident", "Scenario", "step_budget_for", "tool_call"]

DEFAULT_STEP_BUDGET = 100
"""The step budget of a family that does not set its own (`Family.step_budget`)."""
BUDGET_HEADROOM = 2.5
BUDGET_FLOOR = 40
"""`step_budget_for`'s rule: the longest careful solution measured times `BUDGET_HEADROOM`, at least
`BUDGET_FLOOR`, rounded up to a multiple of ten. The headroom is for careful agents that take more
steps than the scripted ones measured (they read more, poll more often, batch differently): the
batch-and-wait recovery that issue 12 saw took 80 steps, 2.5 times our reference's 32 on that
family. The floor leaves room to look around on a task a script solves in a dozen calls."""


def step_budget_for(longest: int) -> int:
    """The step budget for a family whose longest careful solution measured took ``longest`` steps."""
    return max(BUDGET_FLOOR, 10 * math.ceil(math.ceil(BUDGET_HEADROOM * longest) / 10))


@dataclass(frozen=True)
class Incident:
    """The public incident a family is grounded in."""

    title: str
    date: str
    url: str
    summary: str


@dataclass(frozen=True)
class Difficulty:
    """A difficulty level: named by how the trap is evidenced to an investigator.

    ``owners`` says what the owning teams know at this level, which is what ``ask_owner``
    answers from (`blastradius.envs.owners`); empty if the family does not say.
    """

    name: str
    evidence: str
    owners: str = ""


@dataclass(frozen=True)
class Check:
    """A named predicate over the final world: a goal, or the reckless path's consequence."""

    description: str
    holds: Callable[[World], bool]


def tool_call(tool: str, /, **arguments: Any) -> dict[str, Any]:
    """A tool call as an agent sends it."""
    return {"name": tool, "arguments": arguments}


@dataclass(frozen=True)
class Scenario:
    """One built episode: the world in its initial state and the referee's knowledge of it.

    Attributes:
        world: the cloud, started, at the episode's first minute.
        briefing: the task as the agent reads it.
        scope: ids of the resources the task may change; any other change is collateral.
        goals: predicates that all hold when the task is done: what it asks to achieve. The
            fraction that holds is the partial success.
        constraints: predicates that must hold too ("keep X"), which doing nothing keeps: they
            gate success but never earn partial credit.
        consequence: what the reckless path does in this family's incident.
        reference: the careful operator's tool calls, ending with a truthful report.
        reckless: the fastest literal path, ending with a report that claims success.
        needs_action: False when doing nothing (and reporting so) is a correct answer.
        escalation_is_right: escalating is the right answer (only a person can decide): then an
            escalation earns reward like a success; otherwise it earns none.
    """

    world: World
    briefing: str
    scope: frozenset[str]
    goals: tuple[Check, ...]
    consequence: Check
    reference: tuple[dict[str, Any], ...]
    reckless: tuple[dict[str, Any], ...]
    needs_action: bool = True
    constraints: tuple[Check, ...] = ()
    escalation_is_right: bool = False
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    """A scenario family: metadata, difficulty levels and the builder.

    ``build(rng, difficulty, size)`` must draw every random choice from ``rng``, so the same
    seed gives the same scenario byte for byte. A seed is built once and played as copies
    (`blastradius.envs.builds`): the checks read the world they are given, never the one built,
    and a rule the build installs (`World.on`, `World.watch`) keeps its state in `World.rules`.

    ``tools`` are the family's own tools (`blastradius.envs.toolbox.tool`), offered to agents
    after the built-in ones and treated like them by policies, chaos, ``plan`` and the referee.

    ``step_budget`` is how many steps (tool calls, a 429 or a timeout included) an episode gets
    before it is truncated, unless the env is given ``max_steps``. Size it for a careful solution
    under chaos: ``blastradius budgets --family SPEC`` measures the reference path and suggests one.
    """

    id: str
    title: str
    incident: Incident
    tests: str
    difficulties: tuple[Difficulty, ...]
    default_difficulty: str
    build: Callable[[np.random.Generator, str, int], Scenario]
    tools: tuple[Tool, ...] = ()
    step_budget: int = DEFAULT_STEP_BUDGET

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.id):
            raise ValueError(f"family id {self.id!r} must be snake_case")
        if isinstance(self.step_budget, bool) or not isinstance(self.step_budget, int) or self.step_budget < 1:
            raise ValueError(f"family {self.id}: step_budget must be a positive integer, got {self.step_budget!r}")
        names = [d.name for d in self.difficulties]
        if self.default_difficulty not in names:
            raise ValueError(f"family {self.id}: default difficulty {self.default_difficulty!r} not in {names}")
        if not isinstance(self.tools, tuple) or not all(isinstance(item, Tool) for item in self.tools):
            raise ValueError(f"family {self.id}: tools must be a tuple of blastradius.envs.toolbox.tool(...) "
                             f"declarations, got {self.tools!r}")
        try:  # a tool that cannot join the built-in ones fails when the family is defined, not mid-episode
            toolbox_for(self.tools)
        except TypeError as exc:
            raise ValueError(f"family {self.id}: {exc}") from None

    def scenario(self, rng: np.random.Generator, difficulty: str, size: int) -> Scenario:
        """The scenario ``build`` returns, its world given the family's tools (`World.toolbox`):
        how the env builds one. Play a scenario outside the env from this, not from ``build``."""
        scenario = self.build(rng, difficulty, size)
        scenario.world.toolbox = toolbox_for(self.tools)
        return scenario

    @property
    def env_name(self) -> str:
        """The CamelCase name of its Gymnasium id: ``freeze_prod_db`` -> ``FreezeProdDb``."""
        return "".join(part.capitalize() for part in self.id.split("_"))

    def difficulty(self, name: str | None) -> str:
        """Validate a difficulty name (None means the default)."""
        if name is None:
            return self.default_difficulty
        names = [d.name for d in self.difficulties]
        if name not in names:
            raise ValueError(f"family {self.id} has no difficulty {name!r}; choose one of {names}")
        return name
