"""plan covers every change tool: what the action would do, in the words of its spec, never a
generic "changes it in place" (agents that never saw the code planned wipe_data, bulk_delete
and update_dns before trusting them, and got nothing useful).
"""

from __future__ import annotations

import pytest

from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.tools import BUILTIN

from family_kit import build, say

_CHANGES = sorted(name for name, spec in BUILTIN.specs.items() if spec.category == "change")


@pytest.mark.parametrize("action", _CHANGES)
def test_plan_says_what_each_change_tool_would_do(action: str) -> None:
    scenario = build(FAMILIES["wrong_replica_wipe"], "declared", 0)
    world, facts = scenario.world, scenario.facts
    target = {"update_dns": facts["dns"], "restore": facts["replica"]}.get(action, facts["replica"])
    planned = say(world, "plan", action=action, resource=target)
    assert planned.startswith(f"plan: {action} "), planned
    said = planned.splitlines()[1]
    assert "changes it in place" not in said and len(said) > 20, planned


def test_the_probes_of_the_outside_agents_get_specific_answers() -> None:
    scenario = build(FAMILIES["wrong_replica_wipe"], "declared", 0)
    world, facts = scenario.world, scenario.facts
    assert "erases every record" in say(world, "plan", action="wipe_data", resource=facts["replica"])
    assert "every id in the list" in say(world, "plan", action="bulk_delete", resource=facts["replica"])
    assert "points the record at a new target" in say(world, "plan", action="update_dns", resource=facts["dns"])
