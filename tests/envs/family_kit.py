"""What the per-family tests (``test_family_*.py``) share: building a family's scenario for a
difficulty and a seed, and calling a tool on its world the way an agent would.

Imported as ``family_kit`` (pytest puts this folder on ``sys.path``: the tests have no
``__init__.py``). It is not collected: its name does not start with ``test_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blastradius.envs.scenarios import Family, Scenario
from blastradius.envs.tools import call
from blastradius.envs.world import World

__all__ = ["SEEDS", "SIZE", "build", "difficulties", "refusal", "say"]

# The seeds each family's behaviour is pinned on, and the topology size it is built at.
SEEDS = (0, 1, 2)
SIZE = 30


def difficulties(family: Family) -> list[str]:
    """The names of ``family``'s difficulty levels, in its order."""
    return [difficulty.name for difficulty in family.difficulties]


def build(family: Family, difficulty: str, seed: int) -> Scenario:
    """``family``'s scenario at ``difficulty``, drawn from ``seed``."""
    return family.scenario(np.random.default_rng(seed), difficulty, SIZE)


def say(world: World, tool: str, **arguments: Any) -> str:
    """Call ``tool`` on ``world``; it must succeed. Its observation without the clock line."""
    outcome = call(world, {"name": tool, "arguments": arguments})
    assert not outcome.error, (tool, outcome.error)
    return outcome.observation.split("\n", 1)[1]


def refusal(world: World, tool: str, **arguments: Any) -> str:
    """Call ``tool`` on ``world``; it must be refused. Its error message."""
    outcome = call(world, {"name": tool, "arguments": arguments})
    assert outcome.error, (tool, outcome.observation)
    return outcome.error
