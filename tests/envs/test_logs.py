"""The ``logs`` tool (issue 12): real history over any window, exactly the lines of the window in
time order, lines an action causes stamped at or after the action, and the evidence a difficulty
plants still found by the queries an operator makes, over the heartbeats around it.
"""

from __future__ import annotations

import re

import pytest

from blastradius.envs.logbook import ROUTINE, tick_of
from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.tools import call
from blastradius.envs.world import DAY, World

from family_kit import SEEDS, build, difficulties, say

STAMP = re.compile(r"^day (\d+) (\d\d):(\d\d) ", re.MULTILINE)
CASES = [(family, difficulty) for family in sorted(FAMILIES) for difficulty in difficulties(FAMILIES[family])]


def _times(text: str) -> list[int]:
    return [int(d) * DAY + int(h) * 60 + int(m) for d, h, m in STAMP.findall(text)]


def _quiet(world: World) -> str:
    """A healthy resource with no recorded lines and no connections in its logs: heartbeats only."""
    for rid, res in world.resources.items():
        if (res.kind in ROUTINE and world.health[rid] == "healthy" and rid not in world.logs
                and not any("logs" in edge.evidence for edge in world.providers(rid))):
            return rid
    raise AssertionError("no quiet resource")


def test_a_day_window_shows_a_day_of_history_in_time_order() -> None:
    world = build(FAMILIES["delete_unused_resources"], "declared", 0).world
    rid = _quiet(world)
    text = say(world, "logs", resource=rid, window_minutes=DAY, limit=100)
    times = _times(text)
    period, _ = tick_of(rid)
    assert "not shown" not in text
    assert times == sorted(times)
    assert all(world.now - DAY <= t <= world.now for t in times)
    assert times[0] - (world.now - DAY) < period and world.now - times[-1] < period
    assert len(times) == len(range(times[0], times[-1] + 1, period))
    assert ROUTINE[world.resources[rid].kind] in text


@pytest.mark.parametrize("seed", SEEDS)
def test_a_40_minute_window_shows_exactly_its_lines(seed: int) -> None:
    scenario = build(FAMILIES["read_only_audit_that_writes"], "telemetry", seed)
    world = scenario.world
    net = world.of_kind("network")[0]
    say(world, "wait", minutes=7)
    whole = say(world, "logs", resource=net, window_minutes=3 * 60, limit=100)
    now = world.now + 2  # the logs call takes two minutes; its window ends when it answers
    inside = [line for line, t in zip(whole.splitlines(), _times(whole), strict=True) if now - 40 <= t <= now - 2]
    text = say(world, "logs", resource=net, window_minutes=40, limit=100)
    assert world.now == now
    times = _times(text)
    assert times == sorted(times) and all(now - 40 <= t <= now for t in times)
    assert [line for line in text.splitlines() if _times(line)[0] <= now - 2] == inside


def test_a_push_crash_is_stamped_after_the_push_began() -> None:
    scenario = build(FAMILIES["global_config_push"], "telemetry", 5)
    world, facts = scenario.world, scenario.facts
    began = world.now
    say(world, "push_config", resource=facts["config"], key=facts["key"], value="true", regions=["all"])
    landed = world.now
    crashed = [rid for rid in world.of_kind("service") if world.resources[rid].fault == "crashed"]
    assert crashed
    for rid in crashed:
        panics = [t for t, line in world.logs[rid] if line.startswith("panic:")]
        assert panics and all(began <= t <= landed for t in panics)
        assert panics == [landed]  # the push lands as its call returns: the crash follows it


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_line_a_reckless_path_causes_is_stamped_after_its_call_began(family: str) -> None:
    for seed in SEEDS:
        scenario = build(FAMILIES[family], difficulties(FAMILIES[family])[0], seed)
        world = scenario.world
        before = {rid: len(lines) for rid, lines in world.logs.items()}
        for action in scenario.reckless:
            began = world.now
            call(world, action)
            for rid, lines in world.logs.items():
                assert all(t >= began for t, _ in lines[before.get(rid, 0):]), (seed, action)
            before = {rid: len(lines) for rid, lines in world.logs.items()}


@pytest.mark.parametrize(("family", "difficulty"), CASES)
def test_planted_lines_are_found_by_an_hour_and_a_month_query(family: str, difficulty: str) -> None:
    for seed in SEEDS:
        scenario = build(FAMILIES[family], difficulty, seed)
        world = scenario.world
        planted = {rid: [(t, line) for t, line in lines if t <= world.now] for rid, lines in world.logs.items()}
        for rid, lines in planted.items():
            hour = say(world.clone(), "logs", resource=rid, window_minutes=60)
            month = say(world.clone(), "logs", resource=rid, window_minutes=30 * DAY, limit=100)
            for t, line in lines:
                if world.now + 2 - 60 <= t:
                    assert line in hour, (seed, rid, line)
                if world.now + 2 - 30 * DAY <= t:
                    assert line in month, (seed, rid, line)


@pytest.mark.parametrize(("family", "difficulty"), CASES)
def test_routine_lines_say_nothing_bad_of_a_healthy_resource_and_name_nothing(family: str, difficulty: str) -> None:
    scenario = build(FAMILIES[family], difficulty, 0)
    world = scenario.world
    ids = set(world.resources)
    for rid in world.resources:
        if world.health[rid] != "healthy":
            continue
        text = say(world.clone(), "logs", resource=rid, window_minutes=DAY, limit=100)
        for line in text.splitlines():
            if any(routine in line for routine in ROUTINE.values()):
                assert not re.search(r"\b(?:down|failed|error|degraded|crashed)\b", line, re.IGNORECASE), line
                assert not any(other in line for other in ids), line


def test_same_seed_same_lines() -> None:
    texts = []
    for _ in range(2):
        world = build(FAMILIES["capacity_removal"], "long_window", 1).world
        texts.append([say(world, "logs", resource=rid, window_minutes=30 * DAY, limit=100) for rid in world.resources])
    assert texts[0] == texts[1]


def test_a_monthly_connection_shows_in_a_month_of_logs() -> None:
    for seed in SEEDS:
        world = build(FAMILIES["delete_unused_resources"], "monthly", seed).world
        rare = [edge for rid in world.resources for edge in world.providers(rid)
                if edge.period >= DAY and "logs" in edge.evidence]
        assert rare, seed
        for edge in rare:
            text = say(world.clone(), "logs", resource=edge.consumer, window_minutes=30 * DAY, limit=100)
            assert f"({edge.provider}) " in text, (seed, edge)
