"""Replication moves with the clock, and every tool says the same about it (issue 12).

Played as an agent plays it: metrics, describe, run_statement and logs on a replica at several
minutes, the clock moved by waiting. A catching-up replica's lag shrinks to 0 at its catch-up
with a rate and the time left; a stalled one's grows; a re-seed shows its progress and the
replica's count grows with it; a primary that takes writes gains records; and at any one minute
describe, metrics and the database itself give the same figures.
"""

from __future__ import annotations

import re

from blastradius.envs.replication import records
from blastradius.envs.scenarios import FAMILIES, Scenario
from blastradius.envs.world import World

from family_kit import build, say

FREEZE = FAMILIES["freeze_prod_db"]
WIPE = FAMILIES["wrong_replica_wipe"]
_LAG = re.compile(r"replication lag: (\d+) min")
_LEFT = re.compile(r"caught up in ~(\d+) min")
_RECORDS = re.compile(r"^records: (\d+)", re.MULTILINE)
_COPIED = re.compile(r"re-seeding from .*?: (\d+)% \((\d+) of (\d+) records copied\), done in ~(\d+) min")


def _number(pattern: re.Pattern[str], text: str, group: int = 1) -> int:
    found = pattern.search(text)
    assert found, text
    return int(found.group(group))


def _sql_lag(text: str) -> int:
    """The replay lag of a pg_stat_wal_receiver answer, in minutes."""
    hours, minutes, _ = text.splitlines()[1].split(" | ")[1].split(":")
    return 60 * int(hours) + int(minutes)


def _at_once(world: World, rid: str) -> tuple[str, str, str]:
    """describe, metrics and pg_stat_wal_receiver of ``rid``, each read at the same minute (two
    minutes from now) on its own copy of the world."""
    reads = []
    for tool, waited, kwargs in (("describe", 1, {"resource": rid}), ("metrics", 0, {"resource": rid}),
                                 ("run_statement", 1, {"database": rid,
                                                       "statement": "SELECT * FROM pg_stat_wal_receiver"})):
        copy = world.clone()
        if waited:
            say(copy, "wait", minutes=waited)
        reads.append(say(copy, tool, **kwargs))
    return reads[0], reads[1], reads[2]


def test_a_catching_up_replica_counts_down_to_its_catch_up_with_a_rate_and_the_time_left() -> None:
    scenario = build(FREEZE, "declared", 0)
    world, facts = scenario.world, scenario.facts
    replica, catch_up = facts["replica"], facts["catch_up_minutes"]
    due = world.start_time + catch_up
    lags = []
    for _ in range(4):
        seen = say(world, "metrics", resource=replica)
        lag, left = _number(_LAG, seen), _number(_LEFT, seen)
        # It clears a minute of lag a minute, so the lag is the time left, and both reach 0 on time.
        assert lag == left == due - world.now, seen
        assert "catching up from" in seen and "~1.0 min per minute" in seen
        lags.append(lag)
        say(world, "wait", minutes=catch_up // 5)
    assert lags == sorted(lags, reverse=True) and len(set(lags)) == 4 and lags[-1] > 0
    say(world, "wait", minutes=due - world.now + 1)
    seen = say(world, "metrics", resource=replica)
    assert "replication lag: 0 min" in seen and "streaming from" in seen and "alert" not in seen


def test_describe_metrics_and_the_database_agree_at_one_minute() -> None:
    for family, level in ((FREEZE, "declared"), (WIPE, "declared"), (WIPE, "telemetry")):
        scenario = build(family, level, 1)
        world, replica = scenario.world, scenario.facts["replica"]
        for _ in range(3):
            described, seen, answered = _at_once(world, replica)
            if level != "telemetry":  # telemetry's control plane knows no role: describe reports no figure
                lag = int(re.search(r"replication_lag_minutes: (\d+)", described).group(1))  # type: ignore[union-attr]
                assert lag == _number(_LAG, seen), (described, seen)
                assert _number(_RECORDS, described) == _number(_RECORDS, seen)
            assert _number(_LAG, seen) == _sql_lag(answered), (seen, answered)
            say(world, "wait", minutes=25)


def test_a_stalled_replica_falls_further_behind_while_the_primary_takes_writes() -> None:
    scenario = build(WIPE, "declared", 2)
    world, facts = scenario.world, scenario.facts
    primary, replica = facts["primary"], facts["replica"]
    seen, minutes = [], []
    for _ in range(2):
        for rid in (replica, primary):
            seen.append(say(world, "metrics", resource=rid))
            minutes.append(world.now)
        say(world, "wait", minutes=120)
    # The replica applies nothing: it falls behind a minute a minute and its count does not move;
    # the primary gains its writes for every minute between the two reads.
    assert _number(_LAG, seen[2]) - _number(_LAG, seen[0]) == minutes[2] - minutes[0] > 120
    assert "stalled from" in seen[2] and "applying nothing" in seen[2]
    assert _number(_RECORDS, seen[2]) == _number(_RECORDS, seen[0])
    rate = facts["writes_per_hour"]
    gained = _number(_RECORDS, seen[3]) - _number(_RECORDS, seen[1])
    assert gained == rate * (minutes[3] - world.start_time) // 60 - rate * (minutes[1] - world.start_time) // 60 > 0
    assert f"taking ~{rate} writes an hour" in seen[3]


def _reseeding(scenario: Scenario) -> tuple[World, str, str]:
    world, facts = scenario.world, scenario.facts
    primary, replica = facts["primary"], facts["replica"]
    say(world, "wipe_data", database=replica)
    say(world, "resync_replica", replica=replica)
    return world, primary, replica


def test_a_reseed_shows_its_progress_and_the_replica_count_grows_with_it() -> None:
    world, primary, replica = _reseeding(build(WIPE, "indirection", 3))
    progress = []
    for _ in range(4):
        described = say(world, "describe", resource=replica)
        percent, copied, total, left = (_number(_COPIED, described, group) for group in (1, 2, 3, 4))
        assert _number(_RECORDS, described) == copied == records(world, replica)
        assert percent == 100 * copied // total
        progress.append((copied, left))
        say(world, "wait", minutes=15)
    assert [copied for copied, _ in progress] == sorted(copied for copied, _ in progress)
    assert len({copied for copied, _ in progress}) == 4 and progress[-1][0] < total
    assert [left for _, left in progress] == sorted((left for _, left in progress), reverse=True)
    say(world, "wait", minutes=progress[-1][1] + 5)
    # Done: it streams with no lag and holds what the primary holds at that minute.
    described = say(world, "describe", resource=replica)
    assert "replication: streaming from" in described and "replication_lag_minutes: 0" in described
    assert _number(_RECORDS, described) == records(world, primary) > total


def test_logs_tell_the_progress_at_the_minutes_it_happened() -> None:
    scenario = build(FREEZE, "declared", 0)
    world, facts = scenario.world, scenario.facts
    say(world, "wait", minutes=facts["catch_up_minutes"] + 30)
    logged = say(world, "logs", resource=facts["replica"], window_minutes=600, limit=100)
    lags = [int(found) for found in re.findall(r"catching up from .*?: lag (\d+) min", logged)]
    assert len(lags) >= 3 and lags == sorted(lags, reverse=True)
    caught = [line for line in logged.splitlines() if "caught up from" in line]
    due = world.start_time + facts["catch_up_minutes"]
    assert len(caught) == 1 and caught[0].endswith("lag 0 min") and f"{due % 1440 // 60:02d}:{due % 60:02d}" in caught[0]

    world, _, replica = _reseeding(build(WIPE, "declared", 3))
    say(world, "wait", minutes=60)
    logged = say(world, "logs", resource=replica, window_minutes=60, limit=100)
    copied = [int(found) for found in re.findall(r"re-seed from .*?: (\d+) of \d+ records copied", logged)]
    assert len(copied) >= 3 and copied == sorted(copied) and len(set(copied)) == len(copied)


def test_the_quiet_levels_report_no_figure_for_either_host_and_the_servers_tell_the_truth() -> None:
    for level in ("indirection", "owner"):
        scenario = build(WIPE, level, 4)
        world, facts = scenario.world, scenario.facts
        for rid in (facts["primary"], facts["replica"]):
            for tool in ("describe", "metrics"):
                shown = say(world, tool, resource=rid)
                assert "not reported (self-managed host)" in shown and not _LAG.search(shown), shown
            assert "writes_per_hour" not in say(world, "describe", resource=rid)
        answered = say(world, "run_statement", database=facts["replica"], statement="SELECT * FROM pg_stat_wal_receiver")
        assert _sql_lag(answered) > facts["lag_minutes"]
