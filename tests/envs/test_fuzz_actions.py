"""Whatever an agent sends, ``env.step`` answers with an observation and never raises.

A seeded fuzz builds about 2,800 actions from the tool schemas an agent is shown: every hostile
value of its type in every parameter of every tool, next to plausible other arguments so that it
reaches the tool's own code (integers past any bound, NaN, megabyte, non-ASCII and deeply nested
JSON strings, over-long arrays), then random calls that add hostile values of any type (nesting
thousands deep, dicts that contain themselves, objects whose ``repr`` raises), missing and
unknown arguments, and shapes that are no tool call (not a dict, JSON that does not parse).
Every step must give a printable observation within the observation space's bound, and what the
ledger keeps of an unparsable action must be JSON and bounded. Pinned cases check that an
out-of-range integer is an error the agent can act on, naming the bound, and that a config
setting nested 960 deep breaks neither ``describe`` nor the score.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import string
from typing import Any

import gymnasium as gym
import pytest

import blastradius.envs  # noqa: F401 - registers the ids
from blastradius.envs.env import BlastRadiusEnv
from blastradius.envs.resources import KINDS
from blastradius.envs.schemas import MAX_INT

PRINTABLE = re.compile(r"[\x20-\x7e\n]*")
# Families whose worlds hold every kind of resource between them (tenants, a network), each
# fuzzed with a share of the tools' grid and random actions of its own.
ENV_IDS = ("blastradius/SecretRotationWrongEnv-v2", "blastradius/GlobalConfigPush-v2",
           "blastradius/BulkDeleteWrongIdType-v2", "blastradius/ReadOnlyAuditThatWrites-v2")
RANDOM_ACTIONS = 400


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr refused")

    __str__ = __repr__


def _nested(depth: int, kind: type) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind is list else {"k": value}
    return value


def _cycle() -> dict[str, Any]:
    looped: dict[str, Any] = {"name": "whoami"}
    looped["arguments"] = looped
    return looped


def _list_cycle() -> list[Any]:
    looped: list[Any] = [1]
    looped.append(looped)
    return looped


# Hostile values by the JSON type they are (or pretend to be), then what fits no parameter.
EDGES: dict[str, list[Any]] = {
    "integer": [10**5000, -(10**5000), 2**53, -(2**53), 2**63, 2**64 + 1, MAX_INT, -MAX_INT, -1, 0, 10**18],
    "number": [10**5000, 1e308, -1e308, float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, -1],
    "string": ["x" * 100_000, "\u00e9" * 3000, "\U0001f600" * 50, "\ud800", "\x00\x1b[2J", "", " ", "9" * 2000,
               "[" * 960 + "]" * 960, "[" * 1000 + "]" * 1000, "1e999", "-1", "NaN", "all"],
    "array": [["all", "us-east-1"], ["x"] * 201, [None], [[[]]], list(range(300))],
    "object": [{"1": 2}, {1: 2}, {"x" * 3000: 1}, {"k": float("nan")}],
}
OTHERS: list[Any] = [_nested(2000, list), _nested(2000, dict), _nested(60, list), None, True, False, [], {},
                     RaisingRepr(), {1, 2}, b"bytes", (1, 2), object, 0.5, "prod", 7]


def _hostile(rng: random.Random, schema: dict[str, Any]) -> Any:
    """Usually an edge of the parameter's own type, which passes the first checks; else anything."""
    edges = EDGES.get(schema.get("type", ""), [])
    if edges and rng.random() < 0.6:
        return rng.choice(edges)
    if rng.random() < 0.05:
        return _cycle()
    return rng.choice([*OTHERS, *rng.choice(list(EDGES.values()))])


def _plausible(rng: random.Random, schema: dict[str, Any], ids: dict[str, list[str]]) -> Any:
    """A value of the schema's type, often a right one (an id of the kind the description names),
    so that a hostile value next to it reaches the tool's own code."""
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "anyOf" in schema:
        return _plausible(rng, rng.choice(schema["anyOf"]), ids)
    kind = schema.get("type")
    if kind == "string":
        named = [rid for name, of_kind in ids.items() if name in schema.get("description", "") for rid in of_kind]
        if named and rng.random() < 0.7:
            return rng.choice(named)
        return rng.choice([rng.choice(ids["any"]), rng.choice(list(KINDS)), rng.choice(["prod", "staging", "dev"]),
                           "", rng.choice(["all", "true", "x"])])
    if kind == "integer":
        return rng.choice([1, 2, 5, 30, 1440])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        return [_plausible(rng, schema.get("items", {}), ids) for _ in range(rng.randint(0, 2))]
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _plausible(rng, item, ids) for name, item in properties.items()}
    return rng.choice([0.5, 1.0, 60.0])


def _grid(rng: random.Random, tools: list[dict[str, Any]], ids: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every edge of its type, and a few other values, in every parameter of the tools, next to
    plausible required arguments and no optional ones."""
    actions = []
    for tool in tools:
        parameters = tool["function"]["parameters"]
        for name, schema in parameters["properties"].items():
            for value in [*EDGES.get(schema.get("type", ""), []), None, RaisingRepr(), _nested(2000, list)]:
                arguments = {other: _plausible(rng, parameters["properties"][other], ids)
                             for other in parameters["required"] if other != name}
                actions.append({"name": tool["function"]["name"], "arguments": {**arguments, name: value}})
    return actions


def _arguments(rng: random.Random, tool: dict[str, Any], ids: dict[str, list[str]]) -> Any:
    """Plausible arguments, with one or two made hostile, one missing or one unknown."""
    properties = tool["function"]["parameters"]["properties"]
    arguments: dict[Any, Any] = {name: _plausible(rng, schema, ids) for name, schema in properties.items()}
    for _ in range(rng.choice([0, 1, 1, 1, 2])):
        if properties:
            name = rng.choice(list(properties))
            arguments[name] = _hostile(rng, properties[name])
    if properties and rng.random() < 0.1:
        del arguments[rng.choice(list(properties))]
    if rng.random() < 0.05:
        arguments[rng.choice(["extra", "Resource", 7, None, "x" * 5000])] = _hostile(rng, {})
    if rng.random() < 0.03:
        return _hostile(rng, {})  # arguments that are not an object
    return arguments


def _action(rng: random.Random, tools: list[dict[str, Any]], ids: dict[str, list[str]]) -> Any:
    """A random action: a tool call with hostile arguments, in any of the shapes an agent may send
    one, mangled now and then; or something that is no tool call at all."""
    tool = rng.choice(tools)
    name = tool["function"]["name"]
    roll = rng.random()
    if roll < 0.6:
        return {"name": name, "arguments": _arguments(rng, tool, ids)}
    if roll < 0.7:  # as text, cut short or not
        try:
            text = json.dumps({"name": name, "arguments": _arguments(rng, tool, ids)})
        except (TypeError, ValueError, RecursionError):
            text = '{"name": "' + name + '", "arguments": {'
        return text[: rng.randrange(len(text) + 1)] if rng.random() < 0.5 else text
    if roll < 0.8:  # OpenAI's shape, arguments as a JSON string or not
        arguments = _arguments(rng, tool, ids)
        with contextlib.suppress(TypeError, ValueError, RecursionError):  # not JSON: sent as it is
            arguments = json.dumps(arguments)
        return {"type": "function", "function": {"name": name, "arguments": arguments}}
    if roll < 0.9:
        return {rng.choice(["name", "nam", 1]): rng.choice([name, _hostile(rng, {"type": "string"})]),
                rng.choice(["arguments", "args", "minutes"]): _arguments(rng, tool, ids)}
    return rng.choice([_hostile(rng, {}), "".join(rng.choice(string.printable) for _ in range(40)),
                       "{" * 3000, "\ufeff{}", 10**5000, _nested(5000, list), _list_cycle()])


def _ids(env: BlastRadiusEnv) -> dict[str, list[str]]:
    """The world's resource ids by kind, and all of them under ``any``."""
    resources = env.scenario.world.resources
    ids: dict[str, list[str]] = {"any": list(resources)}
    for rid, resource in resources.items():
        ids.setdefault(resource.kind, []).append(rid)
    return ids


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_no_action_raises_and_every_observation_is_printable_and_bounded(env_id: str) -> None:
    rng = random.Random(env_id)
    env = gym.make(env_id, max_steps=10**6).unwrapped  # fewer resets: the budget is not under test
    assert isinstance(env, BlastRadiusEnv)
    _, info = env.reset(seed=0)
    tools, ids = info["tools"], _ids(env)
    share = tools[ENV_IDS.index(env_id)::len(ENV_IDS)]
    actions = [*_grid(rng, share, ids), *(_action(rng, tools, ids) for _ in range(RANDOM_ACTIONS))]
    bound = env.observation_space.max_length
    for action in actions:
        observation, _, terminated, truncated, info = env.step(action)
        assert isinstance(observation, str) and len(observation) <= bound
        assert PRINTABLE.fullmatch(observation), observation[:200]
        assert isinstance(info["action_error"], str)
        if not info["tool"]:  # unparsable: the ledger keeps a bounded, JSON-able account of it
            kept = env.scenario.world.ledger.calls[-1].arguments
            assert len(json.dumps(kept)) <= 4000
        if terminated or truncated:  # the same seed: the ids stay right
            env.reset(seed=0)
    env.close()


@pytest.mark.parametrize(("action", "error"), [
    ({"name": "list_resources", "arguments": {"page": 10**5000}},
     f"argument 'page' must be an integer between {-MAX_INT} and {MAX_INT}, got a very large integer"),
    ({"name": "list_resources", "arguments": {"page": 2**53}},
     f"argument 'page' must be an integer between {-MAX_INT} and {MAX_INT}, got integer {2**53}"),
    ({"name": "wait", "arguments": {"minutes": -(10**5000)}},
     f"argument 'minutes' must be an integer between {-MAX_INT} and {MAX_INT}, got a very large integer"),
], ids=["page-huge", "page-past-json", "minutes-huge-negative"])
def test_an_integer_out_of_range_is_an_error_naming_the_bound(action: dict[str, Any], error: str) -> None:
    env = gym.make("blastradius/FreezeProdDb-v2").unwrapped
    env.reset(seed=0)
    observation, _, _, _, info = env.step(action)
    assert info["action_error"] == error
    assert observation.endswith(f"error: {error}")


def test_revoking_a_huge_version_of_a_real_secret_is_an_error() -> None:
    env = gym.make("blastradius/SecretRotationWrongEnv-v2").unwrapped
    env.reset(seed=0)
    secret = env.scenario.world.of_kind("secret")[0]
    _, _, _, _, info = env.step({"name": "revoke_secret", "arguments": {"resource": secret, "version": 10**5000}})
    assert info["action_error"].startswith("argument 'version' must be an integer between")
    _, _, _, _, info = env.step({"name": "revoke_secret", "arguments": {"resource": secret, "version": MAX_INT}})
    assert "has no active version 9007199254740991" in info["action_error"]


@pytest.mark.parametrize("action", [10**5000, _nested(2000, list), _nested(2000, dict), RaisingRepr(), _list_cycle(),
                                    [RaisingRepr(), {RaisingRepr(): 10**5000}], "x" * 1_000_000],
                         ids=["huge-int", "deep-list", "deep-dict", "raising-repr", "cycle", "mixed", "1MiB"])
def test_what_the_ledger_keeps_of_an_unparsable_action_is_json_and_bounded(action: Any) -> None:
    env = gym.make("blastradius/FreezeProdDb-v2").unwrapped
    env.reset(seed=0)
    _, _, _, _, info = env.step(action)
    assert info["tool"] == "" and info["action_error"]
    kept = env.scenario.world.ledger.calls[-1].arguments
    assert len(json.dumps(kept)) <= 4000


@pytest.mark.parametrize("tool", ["update_config", "push_config"])
def test_a_setting_nested_960_deep_breaks_nothing_that_shows_or_scores_it(tool: str) -> None:
    env = gym.make("blastradius/GlobalConfigPush-v2").unwrapped
    env.reset(seed=0)
    world = env.scenario.world
    config = next(rid for rid in world.of_kind("config") if world.resources[rid].attrs["regional"])
    key = next(iter(world.resources[config].attrs["settings"]))
    arguments = {"resource": config, "key": key, "value": "[" * 960 + "]" * 960}
    _, _, _, _, info = env.step({"name": tool, "arguments": arguments | ({"regions": ["all"]} if tool == "push_config"
                                                                         else {})})
    assert info["action_error"] == ""
    observation, _, _, _, info = env.step({"name": "describe", "arguments": {"resource": config}})
    assert info["action_error"] == "" and config in observation
    assert env.episode_score().to_dict()
