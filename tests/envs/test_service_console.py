"""What a console shows of a service and a status page: the settings a service runs with
(wherever they load from, the regional override included), the versions it can be deployed at
(deploy refuses any other, naming them), and a status page's state as last published.
"""

from __future__ import annotations

import re

from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.world import World

from family_kit import build, refusal, say


def _loaded(world: World, service: str) -> str:
    found = re.search(r"^config: (.*)$", say(world, "describe", resource=service), re.MULTILINE)
    assert found is not None
    return found.group(1)


def test_a_service_shows_the_setting_it_runs_with_even_when_nothing_declares_where_it_lives() -> None:
    for level in ("declared", "logs", "owner"):
        scenario = build(FAMILIES["recreate_env_for_small_fix"], level, 0)
        world, facts = scenario.world, scenario.facts
        drifted = world.resources[facts["config"]].attrs["settings"]["timeout_ms"]
        assert f"timeout_ms={drifted}" in _loaded(world, facts["api"])
        assert facts["config"] not in _loaded(world, facts["api"])  # the value, not where it lives
        say(world, "request_approval", action="update_config", resource=facts["config"], reason="drift fix")
        say(world, "update_config", resource=facts["config"], key="timeout_ms", value=str(facts["wanted"]))
        assert f"timeout_ms={facts['wanted']}" in _loaded(world, facts["api"])


def test_a_pushed_rule_shows_in_the_settings_of_the_proxies_of_that_region_only() -> None:
    scenario = build(FAMILIES["global_config_push"], "declared", 0)
    world, facts = scenario.world, scenario.facts
    key, canary = facts["key"], facts["canary"]
    say(world, "request_approval", action="update_config", resource=facts["config"], reason="staged")
    say(world, "push_config", resource=facts["config"], key=key, value="true", regions=[canary])
    for rid in world.of_kind("service"):
        proxy = world.resources[rid]
        if proxy.name.startswith("edge-proxy-") and proxy.exists:
            assert f"{key}={proxy.region == canary}" in _loaded(world, rid), proxy.name


def test_describe_lists_the_versions_deploy_takes_and_deploy_refuses_any_other() -> None:
    scenario = build(FAMILIES["global_config_push"], "owner", 1)
    world, facts = scenario.world, scenario.facts
    proxy = next(rid for rid in world.of_kind("service") if world.resources[rid].name.startswith("edge-proxy-"))
    shown = re.search(r"^deployable versions: (.*)$", say(world, "describe", resource=proxy), re.MULTILINE)
    assert shown is not None
    versions = shown.group(1).split(", ")
    assert world.resources[proxy].attrs["version"] in versions
    assert any(int(v.split(".")[1]) >= int(facts["below"].split(".")[1]) for v in versions)  # an upgrade exists
    error = refusal(world, "deploy", service=proxy, version="v9.99")
    assert "v9.99" in error and versions[-1] in error
    say(world, "deploy", service=proxy, version=versions[-1])
    assert world.resources[proxy].attrs["version"] == versions[-1]


def test_a_status_page_says_it_shows_what_was_last_published() -> None:
    world = build(FAMILIES["capacity_removal"], "declared", 0).world
    page = world.of_kind("status_page")[0]
    assert "shows: operational (as last published: a status page can lag" in say(world, "describe", resource=page)
