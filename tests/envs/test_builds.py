"""A reset plays a copy of a build kept pristine; the copy must be the build, to the byte.

Every episode's world and its no-op counterfactual are `World.clone` copies of one build
(`blastradius.envs.builds`), and a seed built before is not built again. These tests hold the
copies to what two separate builds gave before: the same episode, the same score, and nothing
an episode does reaching the build or the next episode of its seed (world rules included,
which keep what they remember in the world).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from blastradius.envs import BlastRadiusEnv, builds
from blastradius.envs.chaos import plan_chaos
from blastradius.envs.scenarios import FAMILIES, Family
from blastradius.envs.scoring import score_episode
from blastradius.envs.tools import replay
from blastradius.envs.world import World


def _build(family: Family, difficulty: str, seed: int) -> Any:
    return family.scenario(np.random.default_rng(seed), difficulty, 30)


def _play(scenario: Any, counterfactual: World, calls: Any, chaos: int, seed: int) -> list[str]:
    """Play ``calls`` on ``scenario`` under the chaos drawn from ``seed``: every observation, what
    both worlds recorded and logged (what a rule did shows there first), and the score."""
    plan = plan_chaos(np.random.default_rng(seed), scenario, chaos)
    plan.apply(scenario.world)
    plan.apply(counterfactual)
    outcomes = replay(scenario.world, calls)
    counterfactual.advance(scenario.world.now - counterfactual.now)
    score = score_episode(scenario, counterfactual)
    worlds = [[world.ledger.changes, world.ledger.health, world.ledger.events, world.logs]
              for world in (scenario.world, counterfactual)]
    return [*(outcome.observation for outcome in outcomes), json.dumps(worlds, sort_keys=True, default=repr),
            json.dumps(score.to_dict(), sort_keys=True), *score.explain()]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_copies_of_one_build_play_as_two_builds_did(family: str) -> None:
    for difficulty in FAMILIES[family].difficulties:
        for seed, chaos in ((3, 0), (4, 2)):
            expected = {}
            for path in ("reckless", "reference"):
                built = _build(FAMILIES[family], difficulty.name, seed)
                expected[path] = _play(built, _build(FAMILIES[family], difficulty.name, seed).world,
                                       getattr(built, path), chaos, seed)
            pristine = _build(FAMILIES[family], difficulty.name, seed)
            # One after the other from the same build: no episode may leave anything behind.
            for path in ("reckless", "reference", "reckless"):
                copy = builds.playable(pristine)
                assert _play(copy, pristine.world.clone(), getattr(copy, path), chaos, seed) == expected[path], \
                    (family, difficulty.name, seed, path)


def test_a_clone_shares_nothing_it_could_change() -> None:
    world = _build(FAMILIES["capacity_removal"], "telemetry", 5).world
    twin = world.clone()
    shared_on_purpose = {"policies", "ticket", "toolbox", "_handlers"}  # immutable, or the rules themselves (copied dict)
    for name, value in vars(world).items():
        changeable = isinstance(value, (dict, list, set)) or hasattr(value, "__dict__")
        if changeable and name not in shared_on_purpose and value is not None:
            assert getattr(twin, name) is not value, name
    for rid, resource in world.resources.items():
        assert twin.resources[rid] is not resource and twin.resources[rid] == resource
        for key, value in resource.attrs.items():
            if isinstance(value, (dict, list, set)):
                assert twin.resources[rid].attrs[key] is not value, (rid, key)
    assert twin.rules and all(twin.rules[key] is not state for key, state in world.rules.items())


def _chaos_of(env: BlastRadiusEnv) -> list[Any]:
    """What chaos put into the episode: its scheduled faults and the tool layer's generator."""
    world = env.scenario.world
    return [*((e.time, e.seq, e.kind, e.target, e.payload) for e in world.pending()),
            world.session.tool_faults.rng.bit_generator.state]


def test_a_seed_built_before_is_not_built_again() -> None:
    calls = []
    freeze = FAMILIES["freeze_prod_db"]

    def counting(rng: np.random.Generator, difficulty: str, size: int) -> Any:
        calls.append(difficulty)
        return freeze.build(rng, difficulty, size)

    family = dataclasses.replace(freeze, id="counted_freeze", build=counting)
    env = BlastRadiusEnv(family=family, chaos=1)
    first = env.reset(seed=12)
    after_first = env.np_random.bit_generator.state
    first_faults = _chaos_of(env)
    second = env.reset(seed=12)
    assert calls == [family.default_difficulty]
    assert json.dumps(second, sort_keys=True) == json.dumps(first, sort_keys=True)
    # The generator goes on from where a build would have left it: the same chaos, the same draws after.
    assert env.np_random.bit_generator.state == after_first
    assert _chaos_of(env) == first_faults
    env.reset(seed=12, options={"difficulty": "owner"})
    assert calls == [family.default_difficulty, "owner"]


def test_what_is_derived_from_a_kept_build_is_made_once() -> None:
    made: list[int] = []

    def count(scenario: Any) -> int:
        made.append(1)
        return len(scenario.world.resources)

    freeze = FAMILIES["freeze_prod_db"]
    kept = builds.build(freeze, freeze.default_difficulty, 30, np.random.default_rng(31))
    assert builds.derived(kept, count) == builds.derived(kept, count) == len(kept.world.resources)
    assert len(made) == 1
    # A scenario the cache does not hold (a playable copy, one built by hand) may change: made every time.
    for other in (builds.playable(kept), _build(freeze, freeze.default_difficulty, 31)):
        builds.derived(other, count)
        builds.derived(other, count)
    assert len(made) == 5
