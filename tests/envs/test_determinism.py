"""Same seed, same actions, same episode; and no action, however random, makes the env raise.

A benchmark result is only checkable (``blastradius verify``) if replaying a trajectory from its
seed reproduces it exactly, and only robust if no agent output can crash the harness.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import blastradius.envs
from blastradius.envs.resources import Resource
from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.tools import call

ALL_ENV_IDS = (*blastradius.envs.ENV_IDS, "blastradius/Scenario-v2")
ID_OF_FAMILY = {family: env_id for env_id, family in blastradius.envs.ENV_IDS.items()}


def _fqdns(env: gym.Env) -> list[str]:
    world = env.unwrapped.scenario.world
    return [world.resources[rid].attrs["fqdn"] for rid in world.of_kind("dns_record")]


def _episode(env_id: str, seed: int, actions: list[Any], difficulty: str | None = None) -> list[str]:
    """Every observation, reward, flag and info of one episode, as canonical JSON."""
    env = gym.make(env_id)
    options = {"difficulty": difficulty} if difficulty else None
    transcript = [json.dumps(env.reset(seed=seed, options=options), sort_keys=True)]
    for action in actions:
        step = env.step(action)
        transcript.append(json.dumps(step, sort_keys=True))
        if step[2] or step[3]:
            break
    return transcript


def _scripted_actions(env_id: str, seed: int, difficulty: str | None, call_maker: Any) -> list[Any]:
    """The reference solution without its report, then 40 random well-formed calls."""
    env = gym.make(env_id)
    _, info = env.reset(seed=seed, options={"difficulty": difficulty} if difficulty else None)
    scenario = env.unwrapped.scenario
    maker = call_maker(info["tools"], np.random.default_rng(1234))
    ids = list(scenario.world.resources)
    randoms = [maker(ids, _fqdns(env)) for _ in range(40)]
    return [*scenario.reference[:-1], *randoms]


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_same_seed_same_actions_same_episode(env_id: str, call_maker: Any) -> None:
    actions = _scripted_actions(env_id, 7, None, call_maker)
    first, second = _episode(env_id, 7, actions), _episode(env_id, 7, actions)
    assert len(first) > 10
    assert first == second


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reference_episode_is_deterministic_at_every_difficulty(family: str) -> None:
    env_id = ID_OF_FAMILY[family]
    for difficulty in FAMILIES[family].difficulties:
        env = gym.make(env_id)
        env.reset(seed=11, options={"difficulty": difficulty.name})
        reference = list(env.unwrapped.scenario.reference)
        first = _episode(env_id, 11, reference, difficulty.name)
        assert first == _episode(env_id, 11, reference, difficulty.name)
        assert json.loads(first[-1])[2] is True  # the report ended it


def test_episode_is_identical_in_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    """Set iteration order must not leak into observations: runs are replayed in other processes."""
    code = (
        "import json, gymnasium as gym, blastradius.envs\n"
        "out = []\n"
        "for env_id in blastradius.envs.ENV_IDS:\n"
        "    env = gym.make(env_id)\n"
        "    out.append(env.reset(seed=3))\n"
        "    for action in env.unwrapped.scenario.reference:\n"
        "        out.append(env.step(action))\n"
        "print(json.dumps(out, sort_keys=True))\n"
    )
    outputs = []
    for hash_seed in ("0", "12345"):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
        env["PYTHONHASHSEED"] = hash_seed
        result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_different_seeds_give_different_names_and_ids(env_id: str) -> None:
    briefings, id_sets = set(), set()
    for seed in range(5):
        env = gym.make(env_id)
        _, info = env.reset(seed=seed)
        briefings.add(info["briefing"])
        id_sets.add(frozenset(env.unwrapped.scenario.world.resources))
    assert len(briefings) == 5
    assert len(id_sets) == 5


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_sampled_actions_never_raise(env_id: str) -> None:
    env = gym.make(env_id)
    env.action_space.seed(0)
    env.reset(seed=0)
    errors = 0
    for _ in range(1000):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        errors += bool(info["action_error"])
        if terminated or truncated:
            env.reset()
    assert errors == 1000  # random text is never a valid call, and each says why


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_random_well_formed_calls_never_raise(family: str, call_maker: Any) -> None:
    env = gym.make(ID_OF_FAMILY[family])
    rng = np.random.default_rng(zlib.crc32(family.encode()))
    _, info = env.reset(seed=0)
    offered = {schema["function"]["name"] for schema in info["tools"]}  # the family's own tools too
    maker = call_maker(info["tools"], rng)
    tools_used, episodes, successes = set(), 1, 0
    for _ in range(1000):
        world = env.unwrapped.scenario.world
        extra = [str(rng.choice(list(world.resources)))] if rng.random() < 0.5 else []
        action = maker(extra, _fqdns(env))
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs)
        assert info["tool"] == action["name"]
        tools_used.add(action["name"])
        successes += not info["action_error"]
        if action["name"] == "list_resources":
            maker.learn(obs)
        if terminated or truncated:
            env.reset()
            maker.seen.clear()  # new episode, new names and ids
            episodes += 1
    assert tools_used == offered
    # With ~40 tools, many of them state-dependent changes, random arguments are often refused
    # (rightly); a fifth carried out still means the calls exercise the world, not the parser.
    assert successes > 200, "the generator should make calls the world carries out"
    assert episodes > 5


# -- pinned cases an agent can send, each once a crash -----------------------------------------


def test_update_config_with_deeply_nested_json_value_is_not_an_exception() -> None:
    """update_config parses ``value`` as JSON "when it parses"; a 2,000-character value of nested
    brackets (within the schema's string limit) makes json.loads raise RecursionError, which is
    not a ValueError: the exception escapes `call` and `env.step` instead of becoming an
    observation (envs/tools/act.py, update_config's ``except ValueError``)."""
    env = gym.make(ID_OF_FAMILY["recreate_env_for_small_fix"])
    env.reset(seed=0)
    config = env.unwrapped.scenario.facts["config"]
    value = "[" * 1000 + "]" * 1000
    obs, _, _, _, info = env.step({"name": "update_config",
                                   "arguments": {"resource": config, "key": "timeout_ms", "value": value}})
    assert env.observation_space.contains(obs)
    assert info["tool"] == "update_config"


def test_snapshot_ids_never_collide() -> None:
    """A snapshot's id is ``bk-`` plus a CRC of (resource, minute): when that id is taken, the
    snapshot steps past it instead of failing (World.add would raise "duplicate resource id")."""
    scenario = FAMILIES["recreate_env_for_small_fix"].build(np.random.default_rng(0), "declared", 30)
    world = scenario.world
    store = next(rid for rid in world.resources if world.resources[rid].kind == "database")
    taken = f"bk-{zlib.crc32(f'{store}@{world.now + 10}'.encode()):08x}"  # what the snapshot will want
    world.add(Resource(taken, "in-the-way", "backup", "prod", "us-east-1", "team-atlas", 1.0, 0.1,
                       {"source": store, "records": 1}))
    before = set(world.resources)
    outcome = call(world, {"name": "snapshot", "arguments": {"resource": store}})
    assert outcome.error == "", outcome.observation
    (made,) = set(world.resources) - before
    assert made != taken and made.startswith("bk-") and made in outcome.observation
    assert world.resources[made].attrs["source"] == store


@pytest.mark.parametrize("size", [10, 30, 200])
def test_topology_is_the_same_whatever_bounds_it_expects(size: int) -> None:
    """A topology draws its integers in one call from the bounds the last one drew
    (`topology._Draws`): any other expectation (a taken id drawn again, a size never built)
    costs more, but builds the same world and leaves the generator in the same state."""
    from blastradius.envs import topology

    def built(seed: int) -> str:
        rng = np.random.default_rng(seed)
        world = topology.generate(rng, size).world
        return repr(([(r.id, r.monthly_cost, r.attrs) for r in world.resources.values()],
                     list(world._graph.providers.items()), rng.bit_generator.state, rng.random()))

    n_stacks = max(1, round((size - 4) / 14))
    drawn_one_by_one = []
    for seed in range(3):
        topology._BOUNDS.pop(n_stacks, None)
        drawn_one_by_one.append(built(seed))
    learnt = topology._BOUNDS[n_stacks]
    for expected in ((), learnt, learnt[:-1], learnt[:7], (*learnt, (0, 5)), ((0, 2), *learnt)):
        for seed in range(3):
            topology._BOUNDS[n_stacks] = expected
            assert built(seed) == drawn_one_by_one[seed]
