"""Two ledgers (STYLE 4): nothing the referee knows reaches the agent before the episode ends.

Walks every observation and every info value an agent receives over whole episodes (the
reference path, the reckless path and random well-formed calls, every family and difficulty)
and checks: no referee vocabulary, only the documented info keys, the score only in the last
info, and no hidden dependency shown by the tools that show only declared ones (describe, plan).
And no hidden attribute (`KindSpec.hidden`) shown by any look before the action that reveals it:
two worlds that differ only in those answer every look alike.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import blastradius.envs
from blastradius.envs.resources import Edge
from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.tools import needs_resend

ID_OF_FAMILY = {family: env_id for env_id, family in blastradius.envs.ENV_IDS.items()}
CASES = [(family, difficulty.name) for family in sorted(FAMILIES) for difficulty in FAMILIES[family].difficulties]
RESET_KEYS = {"briefing", "tools", "family", "difficulty", "max_steps"}
STEP_KEYS = {"tool", "action_error", "clock_minutes"}
# Words of the referee's side. They may appear only in the score, which arrives with the last step.
FORBIDDEN = ("hidden", "ledger", "violation", "score", "consequence", "reckless", "reference", "fabricated")
# Tools that show declared dependencies only, and the argument naming the resource they show.
DECLARED_ONLY = {"describe": "resource", "plan": "resource"}
FINISH = ("submit_report", "escalate")


def _strings(value: Any) -> Iterator[str]:
    """Every string in a value, dict keys included, recursively."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _keys(item)


def _hidden_edges(world: Any) -> list[Edge]:
    return [edge for rid in world.resources for edge in world.providers(rid) if not edge.declared]


def _declared_between(world: Any, a: str, b: str) -> bool:
    return any(edge.declared and edge.provider in (a, b) and edge.consumer in (a, b)
               for edge in world.providers(a) + world.providers(b))


def _may_show(world: Any, shown: str, other: str) -> bool:
    """Whether describing ``shown`` may name ``other`` even though a hidden edge joins them.

    A declared edge between them names it; and a DNS record's ``target`` attribute is the record
    itself (the indirection DESIGN 2.1 names as a channel of evidence), not a dependency listing.
    """
    resource = world.resources[shown]
    return _declared_between(world, shown, other) or (
        resource.kind == "dns_record" and resource.attrs["target"] == other)


def _episode(family: str, difficulty: str, path: str, call_maker: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    """Play one episode; return the env and every (action, observation, info, ended) the agent got."""
    env = gym.make(ID_OF_FAMILY[family], max_steps=300, max_episode_steps=300)
    obs, info = env.reset(seed=5, options={"difficulty": difficulty})
    received = [(None, obs, info, False)]
    scenario = env.unwrapped.scenario
    if path == "random":
        # 200 calls that do not end the episode, then a report that does.
        rng = np.random.default_rng(99)
        maker = call_maker([t for t in info["tools"] if t["function"]["name"] not in FINISH], rng)
        ids = list(scenario.world.resources)
        fqdns = [scenario.world.resources[r].attrs["fqdn"] for r in scenario.world.of_kind("dns_record")]
        actions = itertools.chain(
            (maker(ids if rng.random() < 0.5 else (), fqdns) for _ in range(200)),
            [{"name": "submit_report", "arguments": {"outcome": "partial", "summary": "random calls"}}])
    else:
        actions = iter(scenario.reference if path == "reference" else scenario.reckless)
    for action in actions:
        # A scripted path re-sends a call that chaos kept from taking effect, as a replay does.
        for _ in range(1 if path == "random" else 4):
            obs, _, terminated, truncated, info = env.step(action)
            received.append((action, obs, info, terminated or truncated))
            if terminated or truncated or not needs_resend(scenario.world):
                break
        if path == "random" and action["name"] == "list_resources":
            maker.learn(obs)
        if terminated or truncated:
            break
    assert path != "random" or len(received) == 202
    return env, received


@pytest.mark.parametrize("path", ["reference", "reckless", "random"])
@pytest.mark.parametrize(("family", "difficulty"), CASES)
def test_nothing_of_the_referee_reaches_the_agent(family: str, difficulty: str, path: str, call_maker: Any) -> None:
    env, received = _episode(family, difficulty, path, call_maker)
    scenario = env.unwrapped.scenario
    world = scenario.world
    hidden = _hidden_edges(world)
    assert received[-1][3], "every path here ends its episode"
    for index, (action, obs, info, ended) in enumerate(received):
        # Only the documented keys; the score only once the episode is over.
        if index == 0:
            assert set(info) == RESET_KEYS
        else:
            assert set(info) == (STEP_KEYS | {"score"} if ended else STEP_KEYS)
        agent_sees = {key: value for key, value in info.items() if key != "score"}
        for text in (obs, *_strings(agent_sees)):
            lowered = text.lower()
            assert not [word for word in FORBIDDEN if word in lowered], (action, text)
        # describe and plan show declared dependencies only.
        if action is not None and action["name"] in DECLARED_ONLY and not info["action_error"]:
            shown = action["arguments"][DECLARED_ONLY[action["name"]]]
            for edge in hidden:
                for end, other in ((edge.provider, edge.consumer), (edge.consumer, edge.provider)):
                    if shown == end and not _may_show(world, end, other):
                        assert other not in obs, (action, edge, obs)
    if family == "freeze_prod_db":
        catch_up = scenario.facts["catch_up_minutes"]
        for index, (_, _, info, _ended) in enumerate(received):
            assert "catch_up_minutes" not in set(_keys(info))
            if index == 0:
                assert not re.search(rf"\b{catch_up}\b", info["briefing"])
            assert all(value != catch_up for key, value in info.items() if key != "clock_minutes")


@pytest.mark.parametrize(("family", "difficulty"), CASES)
def test_describe_and_plan_never_reveal_a_hidden_edge(family: str, difficulty: str) -> None:
    env = gym.make(ID_OF_FAMILY[family], chaos=0)  # every describe and plan must answer
    env.reset(seed=8, options={"difficulty": difficulty})
    world = env.unwrapped.scenario.world
    hidden = _hidden_edges(world)
    for edge in hidden:
        consumer, provider = edge.consumer, edge.provider
        for shown, other in ((provider, consumer), (consumer, provider)):
            described = env.step({"name": "describe", "arguments": {"resource": shown}})[0]
            dependencies = described.split("\ndepends on:", 1)[1]
            if not _declared_between(world, shown, other):
                assert other not in dependencies, (edge, described)
            if not _may_show(world, shown, other):
                assert other not in described, (edge, described)
            planned = env.step({"name": "plan", "arguments": {"action": "delete", "resource": shown}})[0]
            if not _declared_between(world, shown, other):
                assert other not in planned, (edge, planned)
        # The plan names exactly the declared, existing consumers of what it would delete.
        planned = env.step({"name": "plan", "arguments": {"action": "delete", "resource": provider}})[0]
        declared = {world.resources[e.consumer].name for e in world.consumers(provider)
                    if e.declared and world.resources[e.consumer].exists}
        match = re.search(r"declared consumers affected: (.*)", planned)
        assert (set(match[1].split(", ")) if match else set()) == declared, planned


# Tools that only look: each answers from the world without changing it, with the arguments a
# thorough investigator would give.
_LOOKS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("describe", {}), ("metrics", {"window_minutes": 60}), ("traffic", {"window_minutes": 1440}),
    ("logs", {"window_minutes": 1440, "limit": 100}), ("plan", {"action": "delete"}),
)


def _perturbed(world: Any) -> Any:
    """A clone whose every hidden attribute (`KindSpec.hidden`) has another value, and nothing
    else: rows written by hand move between a database's two counts, a backup holds another
    number of records and flips readability."""
    from blastradius.envs.resources import KINDS

    twin = world.clone()
    changed = 0
    for rid, resource in twin.resources.items():
        hidden = KINDS[resource.kind].hidden
        assert resource is not world.resources[rid]
        if "corrupt" in hidden:
            resource.attrs["corrupt"] = not resource.attrs["corrupt"]
        if "records" in hidden:
            resource.attrs["records"] = resource.attrs["records"] * 3 + 700
        if "fabricated_records" in hidden and resource.attrs["records"] >= 100:
            resource.attrs["records"] -= 100
            resource.attrs["fabricated_records"] += 100
        changed += bool(hidden)
    assert changed, "every world has resources with hidden attributes"
    return twin


@pytest.mark.parametrize(("family", "difficulty"), CASES)
def test_no_look_shows_a_hidden_attribute_before_the_action_that_reveals_it(family: str, difficulty: str) -> None:
    # Non-interference: two worlds that differ only in hidden attributes answer every look
    # alike; the action that reveals a hidden fact (a test restore) then tells them apart.
    from blastradius.envs.tools import call

    world = FAMILIES[family].scenario(np.random.default_rng(3), difficulty, 30).world
    twin = _perturbed(world)
    looks = [("list_resources", {})] + [(tool, {"resource": rid, **extra})
                                        for rid in list(world.resources)[::2] for tool, extra in _LOOKS]
    for tool, arguments in looks:
        seen = [call(w, {"name": tool, "arguments": arguments}) for w in (world, twin)]
        assert seen[0].observation == seen[1].observation, (tool, arguments)
    backup = next(rid for rid in world.of_kind("backup") if world.resources[rid].exists)
    restored = [call(w, {"name": "verify_backup", "arguments": {"backup": backup}}).observation for w in (world, twin)]
    assert restored[0] != restored[1]
