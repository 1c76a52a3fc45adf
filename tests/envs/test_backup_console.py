"""A backup as a real console shows it: where it came from and when, never what only a test
restore can tell (how many records it holds, whether it is readable), and, once checked, the
outcome of the check, in agreement with what ``verify_backup`` said.

The probes are the calls an operator makes: ``describe`` of each backup, ``verify_backup``,
``describe`` again.
"""

from __future__ import annotations

import re

import pytest

from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.world import World

from family_kit import build, difficulties, say

_CASES = [(name, level) for name, family in FAMILIES.items() for level in difficulties(family)]


def _backups(world: World) -> list[str]:
    return [rid for rid in world.of_kind("backup") if world.resources[rid].exists]


@pytest.mark.parametrize(("family", "difficulty"), _CASES)
def test_describe_of_a_backup_shows_no_fact_only_a_restore_can_tell(family: str, difficulty: str) -> None:
    for seed in (0, 1):
        world = build(FAMILIES[family], difficulty, seed).world
        for rid in _backups(world):
            shown = say(world, "describe", resource=rid)
            assert not re.search(r"^(records|corrupt|verified):", shown, re.MULTILINE), shown
            assert re.search(r"^last test restore: (never|OK \(the owning team's routine check)", shown,
                             re.MULTILINE), shown


def test_a_test_restore_is_remembered_and_agrees_with_what_it_said() -> None:
    # wrong_replica_wipe has both kinds: empty backups (every path broken) and one that holds data.
    world = build(FAMILIES["wrong_replica_wipe"], "declared", 0).world
    outcomes = set()
    for rid in _backups(world):
        assert "last test restore: never" in say(world, "describe", resource=rid) or \
            world.resources[rid].attrs["verified"]
        said = say(world, "verify_backup", backup=rid)
        remembered = re.search(r"^last test restore: (.*)$", say(world, "describe", resource=rid), re.MULTILINE)
        assert remembered is not None
        if "FAILED" in said:
            outcomes.add("failed")
            assert remembered.group(1).startswith("FAILED at "), remembered.group(1)
            assert "no readable data" in remembered.group(1)
        else:
            outcomes.add("ok")
            held = re.search(r"OK: (\d+) records", said)
            assert held is not None, said
            assert remembered.group(1).startswith("OK at ")
            assert remembered.group(1).endswith(f": {held.group(1)} records")
    assert outcomes == {"failed", "ok"}


def test_a_database_counts_the_same_rows_in_describe_metrics_and_sql() -> None:
    # Rows written by hand (freeze_prod_db's reckless "fix") are rows like any other to every view.
    scenario = build(FAMILIES["freeze_prod_db"], "declared", 0)
    world = scenario.world
    db = next(rid for rid in world.of_kind("database") if world.resources[rid].attrs["role"] == "primary")
    world.set(db, "fabricated_records", 120)
    rows = world.resources[db].attrs["records"] + 120
    assert re.search(rf"^records: {rows}$", say(world, "describe", resource=db), re.MULTILINE)
    assert f"records: {rows} " in say(world, "metrics", resource=db)
