"""``blastradius budgets``: how many steps a careful solution takes, and the step budget that fits it.

Every tool call is a step, a 429 or a timeout included, so chaos makes a careful solution longer
(issue 12: a correct batch-and-wait recovery took 80 of 100 steps). For each family, difficulty
level, chaos level and seed, this plays two careful solutions to their end, with no step limit in
the way (`CAP`):

* ``reference``: the family's reference path as the harness plays it (`PathAgent`, re-sending a
  call a transient fault kept from taking effect, as `blastradius.envs.tools.replay` does);
* ``careful``: the scripted careful operator (`blastradius.agents.careful`), which investigates
  and retries from what the observations say. A family it has no procedure for (a user's own)
  is measured by its reference path only.

It reports, per family, the median, 95th percentile and maximum of each at every chaos level,
the family's budget (`Family.step_budget`) and the budget that
`blastradius.envs.scenarios.base.step_budget_for` suggests from the longest episode measured. The built-in families' budgets were set from this command's output at its
default 20 seeds; docs/scenarios.md quotes the reference's counts at chaos 1, measured as it is
generated (`blastradius.envs.scenarios.catalogue.reference_steps`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from tabulate import tabulate

from ..agents.base import Agent, Briefing
from ..agents.careful import PROCEDURES, CarefulAgent
from ..agents.reference import PathAgent
from ..envs import BlastRadiusEnv
from ..envs.chaos import CHAOS_LEVELS
from ..envs.scenarios import Family
from ..envs.scenarios.base import BUDGET_FLOOR, BUDGET_HEADROOM, step_budget_for
from ..envs.tools import needs_resend
from ..envs.topology import DEFAULT_SIZE
from .cli_common import EXIT_OK, UsageError, out
from .run_config import MAX_SIZE, MIN_SIZE

__all__ = ["AGENTS", "CAP", "DEFAULT_SEEDS", "BudgetReport", "Steps", "measure", "play", "render", "run_cli",
           "to_json"]

AGENTS = ("reference", "careful")
DEFAULT_SEEDS = tuple(range(20))
CAP = 1000
"""A safety net far past any budget: an episode that runs this long is a bug, not a measurement."""


@dataclass(frozen=True)
class Steps:
    """The step counts of one agent on one family at one chaos level, over every level and seed."""

    family: str
    agent: str
    chaos: int
    counts: tuple[int, ...]

    @property
    def median(self) -> float:
        return float(np.median(self.counts))

    @property
    def p95(self) -> float:
        return float(np.percentile(self.counts, 95))

    @property
    def max(self) -> int:
        return max(self.counts)


@dataclass(frozen=True)
class BudgetReport:
    """One family's measurement: its `Steps` by agent and chaos level, and its budgets."""

    family: str
    budget: int
    steps: tuple[Steps, ...]

    @property
    def longest(self) -> int:
        return max(steps.max for steps in self.steps)

    @property
    def suggested(self) -> int:
        return step_budget_for(self.longest)

    def of(self, agent: str, chaos: int) -> Steps | None:
        return next((s for s in self.steps if s.agent == agent and s.chaos == chaos), None)


def play(family: Family, agent: str, difficulty: str, chaos: int, seed: int, size: int = DEFAULT_SIZE) -> int:
    """The steps ``agent`` (one of `AGENTS`) takes to end one episode, resends included."""
    env = BlastRadiusEnv(family=family, difficulty=difficulty, chaos=chaos, size=size, max_steps=CAP)
    try:
        observation, info = env.reset(seed=seed)
        player = _agent(agent, env)
        player.reset(Briefing.from_reset_info(info, seed))
        for steps in range(1, CAP + 1):
            observation, _, terminated, truncated, _ = env.step(player.act(observation))
            if terminated:
                return steps
        raise RuntimeError(f"{agent} on {family.id}/{difficulty} at chaos {chaos}, seed {seed}: no end in {CAP} steps")
    finally:
        env.close()


def _agent(name: str, env: BlastRadiusEnv) -> Agent:
    if name == "careful":
        return CarefulAgent()
    world = env.current_scenario.world
    path = PathAgent("reference")
    path.follow(env.current_scenario.reference, lambda: needs_resend(world))
    return path


def measure(families: Iterable[Family], seeds: Sequence[int], chaos: Sequence[int] = CHAOS_LEVELS,
            size: int = DEFAULT_SIZE, progress: Callable[[str], None] | None = None) -> list[BudgetReport]:
    """Play `AGENTS` on every difficulty of each family at each ``chaos`` level and seed."""
    reports = []
    for family in families:
        agents = AGENTS if family.id in PROCEDURES else AGENTS[:1]
        if progress is not None:
            progress(family.id)
        steps = tuple(Steps(family.id, agent, level, tuple(
            play(family, agent, difficulty.name, level, seed, size)
            for difficulty in family.difficulties for seed in seeds))
            for agent in agents for level in chaos)
        reports.append(BudgetReport(family.id, family.step_budget, steps))
    return reports


def render(reports: Sequence[BudgetReport]) -> str:
    """A table: per family and agent, median / p95 / max at each chaos level, and the budgets."""
    levels = sorted({s.chaos for r in reports for s in r.steps})
    rows = []
    for report in reports:
        for agent in AGENTS:
            cells = [(s.median, s.p95, s.max) if (s := report.of(agent, level)) else None for level in levels]
            if all(cell is None for cell in cells):
                continue
            rows.append([report.family, agent,
                         *("-" if c is None else f"{c[0]:g} / {c[1]:g} / {c[2]}" for c in cells),
                         report.budget, report.suggested])
    headers = ["family", "agent", *(f"chaos {level}: median / p95 / max" for level in levels), "budget",
               "suggested"]
    return tabulate(rows, headers=headers) + "\n"


def to_json(reports: Sequence[BudgetReport]) -> str:
    return json.dumps([{"family": r.family, "budget": r.budget, "suggested": r.suggested, "longest": r.longest,
                        "steps": [{"agent": s.agent, "chaos": s.chaos, "median": s.median, "p95": s.p95,
                                   "max": s.max, "counts": list(s.counts)} for s in r.steps]}
                       for r in reports], indent=2) + "\n"


def run_cli(families: Sequence[Family], seeds: Sequence[int], chaos: Sequence[int], size: int,
            as_json: bool) -> int:
    """Measure ``families`` and print the table (or JSON); 0, or a `UsageError` for a bad size."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise UsageError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} resources, got {size}")
    reports = measure(families, seeds, chaos, size,
                      progress=lambda family: print(f"measuring {family}...", file=sys.stderr))
    out(to_json(reports) if as_json else render(reports), end="")
    if not as_json:
        out(f"\nsuggested: max({BUDGET_FLOOR}, {BUDGET_HEADROOM:g} x the longest episode), up to a multiple of 10. "
            "An episode's steps count every call, re-sends after a 429 or a timeout included.")
    return EXIT_OK
