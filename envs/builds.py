"""Built scenarios kept pristine, so that a seed is built once however many episodes play it.

Building a scenario (a topology, its task and trap, the health of every resource) is most of
what `BlastRadiusEnv.reset` costs, and an episode needs its world twice: the one the agent acts
in and the no-op counterfactual it is scored against. A build is a pure function of (family,
difficulty, size, the state of the generator it draws from), so `build` keeps each one
untouched and every world an episode uses is a `World.clone` of it: several times cheaper than
a build. A run that plays a seed with several agents or trials, a verifier that replays it, an
RL loop that resets to a fixed set of seeds: each builds that seed once.

The most recently used builds are kept, up to `CAPACITY` resources in all (about 230 worlds of
the default size); a pristine scenario is never stepped, only cloned (`playable`). What is
derived from a build alone (what chaos may strike in it) is kept with it too (`derived`).
"""

from __future__ import annotations

import dataclasses
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np

from .scenarios import Family, Scenario

__all__ = ["CAPACITY", "build", "derived", "playable"]

CAPACITY = 10_000
"""The most resources the kept builds hold in all: about 15 MB."""


T = TypeVar("T")


class _Kept(NamedTuple):
    scenario: Scenario
    state_after: Mapping[str, Any]  # the generator's state once the build had drawn what it needed
    resources: int
    derived: dict[Callable[[Scenario], Any], Any]  # `derived`'s answers for this build


_kept: OrderedDict[tuple[Family, str, int, bytes], _Kept] = OrderedDict()
_by_id: dict[int, _Kept] = {}  # id(scenario) -> its entry of _kept, for `derived`
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
    kept = _Kept(scenario, rng.bit_generator.state, len(scenario.world.resources), {})
    with _lock:
        if key not in _kept:
            _kept[key] = kept
            _by_id[id(scenario)] = kept
            _held += kept.resources
        while _held > CAPACITY and len(_kept) > 1:
            evicted = _kept.popitem(last=False)[1]
            del _by_id[id(evicted.scenario)]
            _held -= evicted.resources
    return scenario


def derived(scenario: Scenario, make: Callable[[Scenario], T]) -> T:
    """``make(scenario)``, made once per build that `build` keeps: a pristine scenario never
    changes, so neither does what ``make`` derives from it alone. Made anew for any other
    scenario (one built by hand, or no longer kept). Never change what it returns."""
    with _lock:
        kept = _by_id.get(id(scenario))
        if kept is not None and kept.scenario is scenario and make in kept.derived:
            return kept.derived[make]  # type: ignore[no-any-return]
    made = make(scenario)
    if kept is not None and kept.scenario is scenario:
        with _lock:
            kept.derived[make] = made
    return made


def playable(scenario: Scenario) -> Scenario:
    """``scenario`` with a world of its own to play: a clone of its world."""
    return dataclasses.replace(scenario, world=scenario.world.clone())
