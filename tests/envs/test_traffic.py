"""Traffic has one source of truth, seen the same from every side: what a client sends to a DNS
name reaches what the name pointed at when it was sent, a client sends nothing while it is
crashed or deleted, and a resource's total in ``metrics`` is the sum of its callers in
``traffic`` over the same window.

The probes replay what agents that never saw the code met: a database that was a record's
target until the record was emptied, the record's own callers, a public bucket behind a name.
"""

from __future__ import annotations

import re

import pytest

from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.world import World

from family_kit import SEEDS, build, difficulties, say

DAY = 24 * 60
_ROW = re.compile(r"^  (.+?) \(([a-z]+-[0-9a-f]+)\): (\d+) requests(?: \((.*)\))?$", re.MULTILINE)


def _callers(world: World, rid: str, window: int) -> dict[str, int]:
    return {m.group(2): int(m.group(3)) for m in _ROW.finditer(say(world, "traffic", resource=rid,
                                                                    window_minutes=window))}


def _total(world: World, rid: str, window: int) -> int:
    found = re.search(r"(\d+) requests", say(world, "metrics", resource=rid, window_minutes=window))
    assert found is not None
    return int(found.group(1))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_cluster_that_was_the_names_target_shows_the_clients_until_the_name_was_emptied(seed: int) -> None:
    scenario = build(FAMILIES["dns_cleanup_recovery"], "telemetry", seed)
    world, facts = scenario.world, scenario.facts
    seen_by_record = _callers(world.clone(), facts["record"], DAY)  # at the same minute
    day = _callers(world, facts["current"], DAY)
    # Every client wrote through the name until it was emptied, then crashed: the hours before
    # the outage are there, the last 30 minutes hold nothing on either side of the name.
    assert set(day) == set(facts["clients"])
    assert all(1300 < count < DAY for count in day.values()), day
    assert _callers(world, facts["current"], 30) == {}
    assert _callers(world, facts["record"], 30) == {}
    for other in (facts["retired"], facts["building"]):
        assert _callers(world, other, DAY) == {}
    # The record saw the same clients, as many times.
    assert seen_by_record == day


def test_requests_follow_the_name_to_its_new_target_once_clients_are_back() -> None:
    scenario = build(FAMILIES["dns_cleanup_recovery"], "declared", 0)
    world, facts = scenario.world, scenario.facts
    say(world, "update_dns", resource=facts["record"], target=facts["current"])
    client = facts["consumer"]
    say(world, "restart", resource=client)
    say(world, "wait", minutes=30)
    by_name = _callers(world.clone(), facts["record"], 20)
    recent = _callers(world, facts["current"], 20)
    assert set(recent) == {client}, recent
    assert recent[client] == 20  # it writes every minute, and it has been up the whole 20
    assert by_name == recent


def test_the_help_sites_visitors_reach_its_bucket_through_the_name() -> None:
    for seed in SEEDS:
        scenario = build(FAMILIES["delete_unused_resources"], "indirection", seed)
        world = scenario.world
        bucket = next(rid for rid in world.of_kind("bucket") if world.resources[rid].attrs["website"])
        # None in the hour finance sampled; some over a day, arriving through the public name.
        assert "none" in say(world, "traffic", resource=bucket, window_minutes=60)
        shown = say(world, "traffic", resource=bucket, window_minutes=DAY)
        assert re.search(r"visitors from outside through help\.\S+ \(dns-[0-9a-f]+\): [1-9]\d* requests", shown), shown
        assert _total(world, bucket, DAY) > 0


def test_a_deleted_caller_stops_sending() -> None:
    scenario = build(FAMILIES["delete_unused_resources"], "daily", 0)
    world = scenario.world
    job = next(rid for rid in world.of_kind("job") if any(e.period == 360 for e in world.providers(rid)))
    target = next(e.provider for e in world.providers(job) if e.period == 360)
    assert job in _callers(world, target, DAY)
    world.set(job, "lifecycle", "deleted")
    say(world, "wait", minutes=DAY)
    assert job not in _callers(world, target, DAY - 10)


@pytest.mark.parametrize(("family", "difficulty"), [(name, level) for name, family in FAMILIES.items()
                                                    for level in difficulties(family)])
def test_metrics_counts_exactly_the_requests_traffic_lists(family: str, difficulty: str) -> None:
    world = build(FAMILIES[family], difficulty, 1).world
    for rid in list(world.resources)[::3]:
        for window in (60, DAY):
            # Both read at the same minute: each call advances the clock, so compare on copies.
            a, b = world.clone(), world.clone()
            listed = sum(int(n) for n in re.findall(r": (\d+) requests", say(a, "traffic", resource=rid,
                                                                           window_minutes=window)))
            assert _total(b, rid, window) == listed, (rid, window)


def test_a_crashed_proxy_logs_no_connection_and_its_config_sees_no_read_from_it() -> None:
    # The outside agents' probe: push a rule the canary's old proxy cannot parse, then read its
    # logs; a crashed process connects to nothing, so no "reads ... ok" follows its panic.
    scenario = build(FAMILIES["global_config_push"], "telemetry", 1)
    world, facts = scenario.world, scenario.facts
    say(world, "request_approval", action="update_config", resource=facts["config"], reason="staged")
    say(world, "push_config", resource=facts["config"], key=facts["key"], value="true", regions=[facts["canary"]])
    say(world, "wait", minutes=30)
    crashed = [rid for rid in world.of_kind("service") if world.resources[rid].fault == "crashed"]
    assert crashed
    for rid in crashed:
        logged = say(world, "logs", resource=rid, window_minutes=25)
        assert "panic" not in logged and " ok" not in logged, logged  # the panic was before the window
        assert rid not in _callers(world, facts["config"], 25)
