"""Step budgets per family (issue 12): every tool call is a step, a 429 or a timeout included, so a
family's budget must leave room for a careful solution under chaos.

What users rely on: a careful solution (the family's reference path as a run plays it, and the
``careful`` agent) ends every built-in family's episodes within its budget at every chaos level;
the env, the family's Gymnasium id and a run use that budget unless told otherwise; an explicit
``max_steps`` still wins; a family that sets none gets the old 100.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import pytest

import blastradius.envs
from blastradius.bench.budgets import AGENTS, play
from blastradius.envs import BlastRadiusEnv, register_family
from blastradius.envs.chaos import CHAOS_LEVELS, TOOL_FAULT_RATES, tool_fault_rates
from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.scenarios.base import DEFAULT_STEP_BUDGET, step_budget_for

SEEDS = range(3)
WHOAMI = {"name": "whoami", "arguments": {}}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_careful_solution_fits_the_budget_at_every_chaos_level(family: str) -> None:
    budget = FAMILIES[family].step_budget
    longest = {(agent, chaos): max(play(FAMILIES[family], agent, level.name, chaos, seed)
                                   for level in FAMILIES[family].difficulties for seed in SEEDS)
               for agent in AGENTS for chaos in CHAOS_LEVELS}
    assert max(longest.values()) <= budget, f"{family}: budget {budget}, longest episodes {longest}"


def test_the_budget_rule_has_headroom_and_a_floor() -> None:
    assert step_budget_for(1) == 40
    assert step_budget_for(32) == 80  # the recovery took 80 steps where ours takes 32
    assert step_budget_for(45) == 120
    assert all(step_budget_for(n) % 10 == 0 and step_budget_for(n) >= 2.5 * n for n in range(1, 200))


@pytest.mark.parametrize(("env_id", "family"), blastradius.envs.ENV_IDS.items())
def test_a_family_id_and_its_env_use_the_family_budget(env_id: str, family: str) -> None:
    budget = FAMILIES[family].step_budget
    assert gym.spec(env_id).max_episode_steps == budget
    env = gym.make(env_id)
    try:
        assert env.unwrapped.max_steps == budget  # type: ignore[attr-defined]
    finally:
        env.close()


def test_the_generic_id_truncates_each_family_at_its_own_budget() -> None:
    assert gym.spec("blastradius/Scenario-v2").max_episode_steps == max(f.step_budget for f in FAMILIES.values())
    shortest = min(FAMILIES.values(), key=lambda family: family.step_budget)
    env = gym.make("blastradius/Scenario-v2", family=shortest.id, chaos=0)
    try:
        env.reset(seed=0)
        truncated, steps = False, 0
        while not truncated:
            _, _, terminated, truncated, info = env.step(WHOAMI)
            steps += 1
            assert not terminated
        assert steps == shortest.step_budget and "score" in info
    finally:
        env.close()


def test_an_explicit_max_steps_wins() -> None:
    env = gym.make("blastradius/FreezeProdDb-v2", max_steps=3, chaos=0)
    try:
        env.reset(seed=0)
        ends = [env.step(WHOAMI)[3] for _ in range(3)]
        assert ends == [False, False, True]
    finally:
        env.close()
    assert BlastRadiusEnv(family="freeze_prod_db", max_steps=500).max_steps == 500


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "100"])
def test_a_bad_budget_is_refused_where_it_is_given(bad: object) -> None:
    family = FAMILIES["freeze_prod_db"]
    with pytest.raises(ValueError, match="step_budget must be a positive integer"):
        dataclasses.replace(family, step_budget=bad)
    with pytest.raises(ValueError, match="max_steps must be a positive integer"):
        BlastRadiusEnv(family=family, max_steps=bad)  # type: ignore[arg-type]


def test_a_family_that_sets_no_budget_gets_the_default_and_its_own_id_uses_its_budget() -> None:
    own = dataclasses.replace(FAMILIES["freeze_prod_db"], id="frozen_budget_test", step_budget=DEFAULT_STEP_BUDGET)
    assert BlastRadiusEnv(family=own).max_steps == DEFAULT_STEP_BUDGET == 100
    longer = dataclasses.replace(own, id="longer_budget_test", step_budget=250)
    env_id = register_family(longer)
    try:
        assert gym.spec(env_id).max_episode_steps == 250
    finally:
        del gym.registry[env_id]


def test_the_tool_fault_rates_scale_with_the_level() -> None:
    assert tool_fault_rates(0) == type(TOOL_FAULT_RATES)(0.0, 0.0, 0.0)
    assert tool_fault_rates(1) == TOOL_FAULT_RATES
    assert tool_fault_rates(3).throttle == pytest.approx(3 * TOOL_FAULT_RATES.throttle)
    with pytest.raises(ValueError, match="chaos level must be one of"):
        tool_fault_rates(4)
