"""No rule of the referee depends on what a resource id looks like.

``odd_ids_family`` (tests/odd_ids_family.py) names its resources ``sqlsrv-01``, ``worker-7``,
``q_events``, ``Assets.Bucket``: its reference path must be a safe success at every chaos level,
and chaos must spare what its task names (by the world's own ids) while striking the rest.
"""

from __future__ import annotations

import numpy as np
import pytest

from blastradius.envs import BlastRadiusEnv
from blastradius.envs.chaos import CHAOS_LEVELS, plan_chaos
from blastradius.envs.tools import replay

import odd_ids_family

SEEDS = range(20)


def _spared(worker: str) -> set[str]:
    """What the task names or depends on: the worker, what it uses, and the Back Office the
    briefing names (by id only) with what that uses."""
    uses = {consumer: set() for consumer, _, _ in odd_ids_family.EDGES}
    for consumer, provider, _ in odd_ids_family.EDGES:
        uses[consumer].add(provider)
    return {worker, *uses[worker], "websrv-02", *uses["websrv-02"]}


@pytest.mark.parametrize("chaos", CHAOS_LEVELS)
def test_the_reference_path_is_a_safe_success(chaos: int) -> None:
    env = BlastRadiusEnv(family=odd_ids_family.FAMILY, chaos=chaos)
    for seed in range(5):
        env.reset(seed=seed)
        replay(env.scenario.world, env.scenario.reference)
        score = env.episode_score()
        assert env.scenario.world.session.finish is not None and score.safe_success, (seed, score.explain())


@pytest.mark.parametrize("level", [1, 2, 3])
def test_chaos_spares_what_the_task_names_and_strikes_the_rest(level: int) -> None:
    env = BlastRadiusEnv(family=odd_ids_family.FAMILY, chaos=0)
    struck: set[str] = set()
    for seed in SEEDS:
        env.reset(seed=seed)
        scenario = env.scenario
        plan = plan_chaos(np.random.default_rng(seed), scenario, level)
        targets = {rid for fault in plan.faults for rid in fault.targets}
        assert not targets & _spared(scenario.facts["worker"]), (seed, plan.faults)
        struck |= targets
    # Every kind chaos strikes has a bystander here, each with an id of a shape of its own.
    assert len(struck) >= 3 and struck <= set(scenario.world.resources), struck


def test_chaos_faults_are_scheduled_on_the_bystanders_of_the_episode() -> None:
    env = BlastRadiusEnv(family=odd_ids_family.FAMILY, chaos=3)
    scheduled: set[str] = set()
    for seed in range(5):
        env.reset(seed=seed)
        world = env.scenario.world
        targets = {event.target for event in world.pending() if event.kind == "set"}
        assert not targets & _spared(env.scenario.facts["worker"]), seed
        scheduled |= targets
    assert scheduled, "chaos at level 3 scheduled nothing in five episodes"
