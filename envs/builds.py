"""Built scenarios kept pristine, so that a seed is built once however many episodes play it.

Building a scenario (a topology, its task and trap, the health of every resource) is most of
what `BlastRadiusEnv.reset` costs, and an episode needs its world twice: the one the agent acts
in and the no-op counterfactual it is scored against. A build is a pure function of (family,
difficulty, size, the state of the generator it draws from), so `build` keeps each one
untouched and every world an episode uses is a `World.clone` of it: several times cheaper than
a build. A run that plays a seed with several agents or trials, a verifier that replays it, an
RL loop that resets to a fixed set of seeds: each builds that seed once.

The most recently used builds are kept, up to `CAPACITY` resources in all (about 230 worlds of
the default size); a pristine scenario is never stepped, only cloned (`playable`).
"""

from __future__ import annotations

import dataclasses
import pickle
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .scenarios import Family, Scenario

__all__ = ["CAPACITY", "build", "playable"]

CAPACITY = 1_000
"""The most resources the kept builds hold in all."""


class _Kept(NamedTuple):
    scenario: Scenario
    state_after: Mapping[str, Any]  # the generator's state once the build had drawn what it needed
    resources: int


_kept: OrderedDict[tuple[Family, str, int, bytes], _Kept] = OrderedDict()
_held = 0  # resources in _kept
_lock = threading.Lock()  # a run plays episodes on several threads at once


def build(family: Family, difficulty: str, size: int, rng: np.random.Generator) -> Scenario:
    """The pristine scenario ``family.scenario(rng, difficulty, size)`` returns, built once per
    state of ``rng``; ``rng`` is left in the state that build leaves it in either way.

    Never change what it returns: play a `playable` copy.
    """
    global _held
    key = (family, difficulty, size, pickle.dumps(rng.bit_generator.state))
    with _lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
    if kept is not None:
        rng.bit_generator.state = kept.state_after
        return kept.scenario
    scenario = family.scenario(rng, difficulty, size)
    kept = _Kept(scenario, rng.bit_generator.state, len(scenario.world.resources))
    with _lock:
        if key not in _kept:
            _kept[key] = kept
            _held += kept.resources
        while _held > CAPACITY and len(_kept) > 1:
            _held -= _kept.popitem(last=False)[1].resources
    return scenario


def playable(scenario: Scenario) -> Scenario:
    """``scenario`` with a world of its own to play: a clone of its world."""
    return dataclasses.replace(scenario, world=scenario.world.clone())
