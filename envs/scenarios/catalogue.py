"""The scenario catalogue as a person reads it, generated from each family's metadata.

`docs/scenarios.md` is this module's output (a test keeps the two equal), and
``blastradius list`` prints the same facts. The steps each family's reference path takes at the
default chaos level are measured as the catalogue is made (`reference_steps`), and the rates of the
tool layer's faults are read from `blastradius.envs.chaos`, so neither can go stale.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from ..chaos import CHAOS_LEVELS, DEFAULT_CHAOS, tool_fault_rates
from .base import BUDGET_FLOOR, BUDGET_HEADROOM, DEFAULT_STEP_BUDGET, Family

__all__ = ["STEP_SEEDS", "reference_steps", "render_markdown"]

STEP_SEEDS = tuple(range(20))
"""The seeds (of every level) the catalogue measures a reference path's steps on."""


def reference_steps(family: Family, chaos: int = DEFAULT_CHAOS, seeds: Sequence[int] = STEP_SEEDS) -> list[int]:
    """The steps the family's reference path takes on each seed of each level at ``chaos``, played
    as a run plays it (`blastradius.envs.tools.replay`: re-sends after a transient fault included)."""
    from ..env import BlastRadiusEnv  # the env imports the scenarios: import it when measuring
    from ..tools import replay

    env = BlastRadiusEnv(family=family, chaos=chaos, max_steps=10**6)
    counts = []
    try:
        for level in family.difficulties:
            for seed in seeds:
                env.reset(seed=seed, options={"difficulty": level.name})
                world = env.current_scenario.world
                replay(world, env.current_scenario.reference)
                counts.append(len(world.ledger.calls))
    finally:
        env.close()
    return counts


def render_markdown(families: Iterable[Family], env_ids: dict[str, str]) -> str:
    families = list(families)
    lines = [
        "# Scenario families",
        "",
        "Generated from each family's metadata by `blastradius list --markdown`; do not edit by hand.",
        "Each family is grounded in a public incident. Its difficulty levels differ in how the trap",
        "is evidenced to an investigator, never in randomly unknowable facts.",
        "",
        "Owners (`ask_owner`) answer the question asked from what their team knows: what uses a",
        "resource (every consumer whose edge the team knows of, and how often a rare one comes), and",
        "the facts the level gives them on its settings' source, its role, its minimum, what is safe",
        "to change, what its ids are, what an operation on it does and what happened to it lately.",
        "Of a topic they know nothing about they say \"we don't know\"; to a general question they",
        "tell everything they know. Each level below says what its owners know.",
        "",
        "Every tool call is a step, a 429 or a timeout included, and an episode is truncated after its",
        "family's step budget (`Family.step_budget`; " + str(DEFAULT_STEP_BUDGET) + " for a family that sets none).",
        "A built-in family's budget is sized for a careful solution under chaos: measured with",
        "`blastradius budgets` (the reference path and the `careful` agent, chaos 0 to 3, 20 seeds of",
        f"every level), it is {BUDGET_HEADROOM:g} times the longest episode, at least {BUDGET_FLOOR}, rounded up to",
        f"a multiple of 10. Each family below gives its reference path's steps at chaos {DEFAULT_CHAOS} (seeds "
        f"{STEP_SEEDS[0]}-{STEP_SEEDS[-1]}",
        "of every level, re-sends after a fault included); how often the tool layer fails a call at each",
        "chaos level is at the [end](#tool-layer-faults-per-chaos-level).",
        "",
        "| family | env id | incident | date |",
        "|---|---|---|---|",
    ]
    lines += [f"| [`{f.id}`](#{f.id}) | `{env_ids.get(f.id, '-')}` | {f.incident.title} | {f.incident.date} |"
              for f in families]
    for family in families:
        steps = reference_steps(family)
        lines += ["", f"## {family.id}", "", f"**{family.title}.** {family.tests}", "",
                  f"Grounded in: [{family.incident.title}]({family.incident.url}) ({family.incident.date}). "
                  f"{family.incident.summary}", "",
                  f"Steps: reference median {statistics.median(steps):g} (max {max(steps)}) at chaos "
                  f"{DEFAULT_CHAOS}; budget {family.step_budget}.", "", "Difficulty levels:", ""]
        lines += [f"- `{d.name}`{' (default)' if d.name == family.default_difficulty else ''}: {d.evidence}"
                  + (f". Owners know: {d.owners}" if d.owners else "")
                  for d in family.difficulties]
    lines += ["", *_tool_faults()]
    return "\n".join(lines) + "\n"


def _tool_faults() -> list[str]:
    """The section on the tool layer's faults, its rates read from `blastradius.envs.chaos`."""
    def percent(rate: float) -> str:
        return f"{100 * rate:.3g}%" + (f" (1 in {round(1 / rate)})" if rate else "")

    lines = [
        "## Tool-layer faults per chaos level",
        "",
        "Besides faults in the infrastructure (which strike only bystanders), the tool layer fails some",
        "calls, each drawn per call from the episode's seed. A 429 can answer any call, and nothing",
        "happened. A timeout can answer a change or a snapshot, and in half of them the operation still",
        "happened: look before retrying. A stale read can answer an observation with what the same call",
        "returned before. Each is a step like any other call.",
        "",
        "| chaos | 429 (of every call) | timeout (of changes; half still happened) | stale read (of reads) |",
        "|---|---|---|---|",
    ]
    for level in CHAOS_LEVELS:
        rates = tool_fault_rates(level)
        lines.append(f"| {level} | {percent(rates.throttle)} | {percent(rates.timeout)} | {percent(rates.stale)} |")
    return lines
