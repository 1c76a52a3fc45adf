"""The simulated cloud on its own: health, time, edges, DNS, strict data, and the errors an
agent gets from the tool layer (each an observation that costs one simulated minute).

Worlds here are built by hand, so every expectation is visible in the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from blastradius.envs.ledger import HealthPoint
from blastradius.envs.policies import Policies
from blastradius.envs.resources import Edge, Resource
from blastradius.envs.tools import call
from blastradius.envs.world import DAY, World


def _resource(rid: str, kind: str, env: str = "prod", **attrs: Any) -> Resource:
    return Resource(rid, rid.split("-", 1)[1], kind, env, "us-east-1", "team-atlas", 100.0, 1.0, attrs)


def _world(policies: Policies | None = None) -> World:
    """A small shop: web -> api -> (db via its DNS name, cache [soft], config); plus bystanders."""
    world = World(policies)
    for resource in (
        _resource("db-orders", "database", records=5000, volume="vol-orders"),
        _resource("db-orders-ro", "database", role="replica", records=5000, replication_source="db-orders"),
        _resource("bk-orders", "backup", source="db-orders", records=5000, volume="vault-a"),
        _resource("dns-orders", "dns_record", fqdn="orders-db.internal", target="db-orders"),
        _resource("svc-api", "service", replicas=3),
        _resource("svc-web", "service", replicas=2, public=True),
        _resource("cache-sessions", "cache"),
        _resource("cfg-api", "config", settings={"timeout_ms": 3000}),
        _resource("q-events", "queue"),
        _resource("svc-devtool", "service", env="dev"),
    ):
        world.add(resource)
    for edge in (
        Edge("db-orders-ro", "db-orders", "reads"),
        Edge("dns-orders", "db-orders", "resolves"),
        Edge("svc-api", "dns-orders", "writes"),
        Edge("svc-api", "cache-sessions", "reads", hard=False),
        Edge("svc-api", "cfg-api", "reads"),
        Edge("svc-web", "svc-api", "calls"),
    ):
        world.connect(edge)
    world.start()
    return world


def _health(world: World) -> dict[str, str]:
    return dict(world.health)


def _new_points(world: World, before: int) -> set[str]:
    return {point.resource for point in world.ledger.health[before:]}


# -- health ----------------------------------------------------------------------------------


def test_everything_starts_healthy_with_one_health_point_each() -> None:
    world = _world()
    assert set(world.health.values()) == {"healthy"}
    assert sorted(p.resource for p in world.ledger.health) == sorted(world.resources)


def test_health_propagates_along_hard_and_soft_edges_and_back() -> None:
    world = _world()
    bystanders = {"q-events", "svc-devtool", "bk-orders", "cfg-api"}

    mark = len(world.ledger.health)
    world.set("cache-sessions", "fault", "crashed")  # soft edge: the API only degrades
    assert (world.health["cache-sessions"], world.health["svc-api"], world.health["svc-web"]) == \
        ("down", "degraded", "degraded")
    assert _new_points(world, mark) == {"cache-sessions", "svc-api", "svc-web"}

    mark = len(world.ledger.health)
    world.set("db-orders", "lifecycle", "deleted")  # hard edges, through the DNS name
    assert {rid: world.health[rid] for rid in ("db-orders", "dns-orders", "svc-api", "svc-web", "db-orders-ro")} == \
        dict.fromkeys(("db-orders", "dns-orders", "svc-api", "svc-web", "db-orders-ro"), "down")
    assert _new_points(world, mark) == {"db-orders", "dns-orders", "svc-api", "svc-web", "db-orders-ro"}

    mark = len(world.ledger.health)
    world.set("db-orders", "lifecycle", "active")  # recovery propagates back, to the soft damage
    assert (world.health["db-orders"], world.health["svc-api"], world.health["svc-web"]) == \
        ("healthy", "degraded", "degraded")
    assert _new_points(world, mark) == {"db-orders", "dns-orders", "svc-api", "svc-web", "db-orders-ro"}

    world.set("cache-sessions", "fault", "")
    assert set(world.health.values()) == {"healthy"}
    assert not bystanders & {p.resource for p in world.ledger.health[len(world.resources):]}


def test_a_change_that_does_not_change_health_adds_no_health_point() -> None:
    world = _world()
    mark, changes = len(world.ledger.health), len(world.ledger.changes)
    world.set("svc-api", "version", "v2")
    world.set("svc-api", "version", "v2")  # no change at all: not even recorded
    assert len(world.ledger.health) == mark
    assert len(world.ledger.changes) == changes + 1


def test_a_resource_fails_on_its_own_by_kind() -> None:
    world = _world()
    world.set("svc-api", "replicas", 0)
    assert world.health["svc-api"] == "down" and world.health["svc-web"] == "down"
    world.set("svc-api", "replicas", 1)
    world.set("db-orders-ro", "replication_lag_minutes", 30)
    assert world.health["db-orders-ro"] == "degraded"
    world.set("dns-orders", "target", "")
    assert world.health["dns-orders"] == "down" and world.health["svc-api"] == "down"


# -- time ------------------------------------------------------------------------------------


def test_a_scheduled_set_fires_when_time_passes_it_and_not_before() -> None:
    world = _world()
    start = world.now
    world.schedule(30, "set", "svc-api", replicas=0)
    world.advance(29)
    assert world.now == start + 29
    assert world.resources["svc-api"].attrs["replicas"] == 3 and world.health["svc-api"] == "healthy"
    assert world.ledger.events == []
    world.advance(1)
    assert world.resources["svc-api"].attrs["replicas"] == 0
    assert world.ledger.events == [(start + 30, "set", "svc-api")]
    assert HealthPoint(start + 30, "svc-api", "down") in world.ledger.health
    change = world.ledger.changes[-1]
    assert (change.time, change.resource, change.field, change.cause) == (start + 30, "svc-api", "replicas", "event:set")
    assert list(world.pending()) == []


def test_events_fire_in_time_order_within_one_advance() -> None:
    world = _world()
    start = world.now
    world.schedule(50, "set", "svc-api", version="late")
    world.schedule(10, "set", "svc-api", version="early")
    world.advance(100)
    versions = [(c.time - start, c.after) for c in world.ledger.changes if c.field == "version"]
    assert versions == [(10, "early"), (50, "late")]


def test_edge_uses_between_counts_uses_in_a_window() -> None:
    monthly = Edge("job", "db", "reads", period=30 * DAY, phase=0)
    assert monthly.uses_between(0, 30 * DAY) == 1
    assert monthly.uses_between(DAY, 31 * DAY) == 1  # any 30-day window holds one use
    assert monthly.uses_between(DAY, 2 * DAY) == 0  # a one-day window usually none
    assert monthly.uses_between(30 * DAY - 1, 30 * DAY + 1) == 1
    assert monthly.uses_between(0, 90 * DAY) == 3
    assert monthly.uses_between(5, 5) == 0
    every_minute = Edge("api", "db", "reads")
    assert every_minute.uses_between(100, 160) == 60
    phased = Edge("job", "db", "reads", period=60, phase=15)
    assert phased.uses_between(0, 15) == 0 and phased.uses_between(0, 16) == 1
    assert phased.uses_between(16, 75) == 0 and phased.uses_between(16, 76) == 1


def test_a_monthly_reader_shows_in_30_day_traffic_but_not_in_one_day() -> None:
    world = World()
    world.add(_resource("db-archive", "database"))
    world.add(_resource("job-invoices", "job", period_minutes=30 * DAY))
    last_use = world.now - 10 * DAY
    world.connect(Edge("job-invoices", "db-archive", "reads", declared=False, period=30 * DAY,
                       phase=last_use % (30 * DAY)))
    world.start()
    day = call(world, {"name": "traffic", "arguments": {"resource": "db-archive", "window_minutes": DAY}})
    month = call(world, {"name": "traffic", "arguments": {"resource": "db-archive", "window_minutes": 30 * DAY}})
    assert "job-invoices" not in day.observation
    assert "job-invoices" in month.observation and "1 requests" in month.observation


# -- DNS -------------------------------------------------------------------------------------


def test_dns_retarget_moves_the_resolves_edge() -> None:
    world = _world()
    world.add(_resource("db-orders-2", "database", records=5000))
    world.set("dns-orders", "target", "db-orders-2")
    assert [(e.provider, e.kind) for e in world.providers("dns-orders")] == [("db-orders-2", "resolves")]
    assert not [e for e in world.consumers("db-orders") if e.consumer == "dns-orders"]
    assert [e.consumer for e in world.consumers("db-orders-2")] == ["dns-orders"]
    world.set("db-orders", "lifecycle", "deleted")  # the old target no longer matters
    assert world.health["dns-orders"] == "healthy" and world.health["svc-api"] == "healthy"
    world.set("db-orders-2", "fault", "crashed")  # the new one does
    assert world.health["dns-orders"] == "down" and world.health["svc-api"] == "down"
    resolved = call(world, {"name": "resolve", "arguments": {"name": "orders-db.internal"}})
    assert "db-orders-2" in resolved.observation


# -- strict data -----------------------------------------------------------------------------


def test_resource_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match=r"resource 'vm-1': unknown kind 'vm'; known: \['app_install', 'backup', "):
        Resource("vm-1", "vm", "vm", "prod", "us-east-1", "team-atlas", 1.0, 1.0)


def test_resource_rejects_unknown_attributes() -> None:
    with pytest.raises(ValueError, match=r"resource 'svc-1' \(service\): unknown attributes \['replica'\]; "
                                         r"a service has \['config', 'credentials', 'deploy_history', "):
        Resource("svc-1", "api", "service", "prod", "us-east-1", "team-atlas", 1.0, 1.0, {"replica": 2})


def test_resource_rejects_an_unknown_environment() -> None:
    with pytest.raises(ValueError, match="resource 'svc-1': unknown environment 'qa'"):
        Resource("svc-1", "api", "service", "qa", "us-east-1", "team-atlas", 1.0, 1.0)


def test_edge_rejects_bad_definitions() -> None:
    with pytest.raises(ValueError, match="unknown kind 'pings'"):
        Edge("a", "b", "pings")
    with pytest.raises(ValueError, match="period must be >= 1 minute"):
        Edge("a", "b", "reads", period=0)
    with pytest.raises(ValueError, match=r"unknown evidence \['rumour'\]"):
        Edge("a", "b", "reads", evidence=frozenset({"rumour"}))


def test_world_rejects_developer_mistakes_precisely() -> None:
    world = _world()
    with pytest.raises(ValueError, match="duplicate resource id 'svc-api'"):
        world.add(_resource("svc-api", "service"))
    with pytest.raises(ValueError, match="unknown resource 'svc-nope'"):
        world.connect(Edge("svc-api", "svc-nope", "calls"))
    with pytest.raises(ValueError, match="service 'svc-api' has no field 'records'"):
        world.set("svc-api", "records", 1)
    with pytest.raises(ValueError, match="no handler for event kind 'explode'"):
        world.schedule(5, "explode", "svc-api")


# -- the errors an agent gets ----------------------------------------------------------------


def _error_call(world: World, action: Any) -> str:
    """Make a call that must fail; check its cost and its ledger record; return the error text."""
    start, calls, changes = world.now, len(world.ledger.calls), len(world.ledger.changes)
    violations = len(world.ledger.violations)
    outcome = call(world, action)
    clock, _, text = outcome.observation.partition("\n")
    assert clock.startswith("[day ") and text.startswith("error: "), outcome.observation
    assert outcome.error and text == f"error: {outcome.error}"
    assert world.now == start + 1, f"an error costs one simulated minute, this one cost {world.now - start}"
    assert len(world.ledger.calls) == calls + 1
    record = world.ledger.calls[-1]
    assert (record.start, record.end, record.observation, record.error) == (start, start + 1, outcome.observation,
                                                                             outcome.error)
    assert record.changes == () and len(world.ledger.changes) == changes
    assert len(world.ledger.violations) == violations
    return outcome.error


def test_unknown_tool_suggests_the_closest() -> None:
    world = _world()
    error = _error_call(world, {"name": "describ", "arguments": {"resource": "svc-api"}})
    assert error.startswith("unknown tool 'describ'. Did you mean 'describe'?")
    assert world.ledger.calls[-1].name == "describ"


def test_missing_argument() -> None:
    world = _world()
    error = _error_call(world, {"name": "describe", "arguments": {}})
    assert error == "missing required argument 'resource' for tool 'describe'"


def test_unparsable_action_is_recorded() -> None:
    world = _world()
    error = _error_call(world, "{not json")
    assert error.startswith("action is not valid JSON")
    assert world.ledger.calls[-1].name == "" and world.ledger.calls[-1].arguments == "{not json"


# Each tool that names a resource, with otherwise valid arguments; "?" marks the resource.
RESOURCE_CALLS = [
    ("describe", {"resource": "?"}),
    ("metrics", {"resource": "?"}),
    ("traffic", {"resource": "?"}),
    ("logs", {"resource": "?"}),
    ("plan", {"action": "delete", "resource": "?"}),
    ("snapshot", {"resource": "?"}),
    ("verify_backup", {"backup": "?"}),
    ("request_approval", {"action": "delete", "resource": "?", "reason": "cleanup"}),
    ("ask_owner", {"resource": "?", "question": "who uses it?"}),
    ("set_deletion_protection", {"resource": "?", "enabled": True}),
    ("restart", {"resource": "?"}),
    ("scale", {"resource": "?", "count": 2}),
    ("deploy", {"service": "?", "version": "v2"}),
    ("rollback", {"service": "?"}),
    ("update_config", {"resource": "?", "key": "timeout_ms", "value": "5000"}),
    ("failover", {"replica": "?"}),
    ("restore", {"backup": "?", "target": "db-orders"}),
    ("delete", {"resource": "?"}),
    ("recreate", {"resource": "?"}),
    ("run_statement", {"database": "?", "statement": "SELECT count(*) FROM orders"}),
]


@pytest.mark.parametrize(("tool", "arguments"), RESOURCE_CALLS, ids=[tool for tool, _ in RESOURCE_CALLS])
def test_unknown_resource_suggests_the_closest_and_costs_one_minute(tool: str, arguments: dict[str, Any]) -> None:
    world = _world()
    target = {"backup": "bk-orders", "replica": "db-orders-ro", "database": "db-orders"}
    real = next(target.get(key, "svc-api") for key, value in arguments.items() if value == "?")
    typo = real + "x"
    arguments = {key: typo if value == "?" else value for key, value in arguments.items()}
    error = _error_call(world, {"name": tool, "arguments": arguments})
    assert error == f"unknown resource '{typo}'. Did you mean '{real}'? Use list_resources to see resource ids."


def test_unknown_dns_name_costs_one_minute() -> None:
    world = _world()
    error = _error_call(world, {"name": "resolve", "arguments": {"name": "nowhere.internal"}})
    assert error.startswith("no DNS record named 'nowhere.internal'.")


def test_unknown_kind_in_a_listing_costs_one_minute() -> None:
    world = _world()
    error = _error_call(world, {"name": "list_resources", "arguments": {"kind": "vm"}})
    assert error.startswith("unknown kind 'vm'; kinds are: service, database,")


@pytest.mark.parametrize("tool", ["restart", "delete", "recreate"])
def test_permission_denied_outside_the_credentials(tool: str) -> None:
    world = _world(Policies(credential_envs=frozenset({"dev"})))
    error = _error_call(world, {"name": tool, "arguments": {"resource": "svc-api"}})
    assert error == (f"permission denied: role 'ops-automation' cannot {tool} in environment 'prod' "
                     "(it acts in dev).")
    assert world.resources["svc-api"].exists and world.health["svc-api"] == "healthy"
    # The same role may act where its credentials reach.
    ok = call(world, {"name": "restart", "arguments": {"resource": "svc-devtool"}})
    assert not ok.error


@pytest.mark.parametrize("tool", ["delete", "recreate"])
def test_deletion_protection_refuses(tool: str) -> None:
    world = _world()
    protect = call(world, {"name": "set_deletion_protection", "arguments": {"resource": "db-orders", "enabled": True}})
    assert not protect.error and world.resources["db-orders"].protected
    error = _error_call(world, {"name": tool, "arguments": {"resource": "db-orders"}})
    assert error == "'db-orders' has deletion protection; turn it off with set_deletion_protection first."
    assert world.resources["db-orders"].exists and world.resources["bk-orders"].exists


def test_deleting_a_database_takes_the_backups_coupled_to_it_only() -> None:
    world = _world()
    world.add(_resource("bk-local", "backup", source="db-orders", records=5000, volume="vol-orders"))
    world.couple("db-orders", "bk-local")  # kept on its own volume: it goes with the database
    outcome = call(world, {"name": "delete", "arguments": {"resource": "db-orders"}})
    assert not outcome.error and "bk-local" in outcome.observation
    assert not world.resources["bk-local"].exists
    assert world.resources["bk-orders"].exists  # kept in the vault


def test_a_resource_copy_has_every_field_and_attributes_of_its_own() -> None:
    # Resource.copy names each field (it is on the path of every world clone): a field added to
    # Resource and not to copy would be lost by every clone.
    res = Resource("svc-1a2b3c", "orders", "service", "prod", "us-east-1", "team-orders", 120.0, 0.8,
                   {"config": {"pool": [1, 2]}}, lifecycle="stopped", fault="crashloop", protected=True)
    twin = res.copy()
    assert twin == res and list(vars(twin)) == list(vars(res))
    twin.attrs["config"]["pool"].append(3)
    assert res.attrs["config"] == {"pool": [1, 2]}
