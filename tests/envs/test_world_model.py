"""The world model a family author builds with: hosts, containment and its cascades, coupling,
world rules that see changes and action events, an initial state the ledger does not record,
and a graph nobody changes behind the world's back.

Worlds here are built by hand, so every expectation is visible in the test.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from blastradius.envs import rules
from blastradius.envs.graph import Containment
from blastradius.envs.ledger import ActionEvent, Change
from blastradius.envs.resources import KINDS, Edge, Resource
from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.tools import call
from blastradius.envs.world import World

from family_kit import build


def _resource(rid: str, kind: str, **attrs: Any) -> Resource:
    return Resource(rid, rid.split("-", 1)[1], kind, "prod", "us-east-1", "team-atlas", 100.0, 1.0, attrs)


def _world(*, refuse: bool = False, restart: str = "cascade") -> World:
    """A host running a database and a service; the database keeps a backup on its own volume
    (coupled) and one in the vault (not); a web service calls the API on the host."""
    world = World()
    for resource in (
        _resource("host-a", "host", pool="general"),
        _resource("db-orders", "database", records=500, volume="vol-orders"),
        _resource("bk-local", "backup", source="db-orders", records=500, volume="vol-orders"),
        _resource("bk-vault", "backup", source="db-orders", records=500, volume="vault"),
        _resource("svc-api", "service", replicas=2),
        _resource("svc-web", "service", replicas=2),
    ):
        world.add(resource)
    world.connect(Edge("svc-web", "svc-api", "calls"))
    world.contain("host-a", "db-orders", Containment(delete="refuse" if refuse else "cascade"))
    world.contain("host-a", "svc-api", Containment(restart=restart))
    world.couple("db-orders", "bk-local")
    world.start()
    return world


def _ok(world: World, tool: str, **arguments: Any) -> str:
    outcome = call(world, {"name": tool, "arguments": arguments})
    assert not outcome.error, outcome.error
    return outcome.observation


# -- hosts and containment --------------------------------------------------------------------


def test_a_host_is_its_own_kind_with_no_service_fields() -> None:
    assert set(KINDS["host"].attributes) == {"pool", "status"}
    world = _world()
    shown = _ok(world, "describe", resource="host-a")
    assert "status: ready" in shown and "pool: general" in shown
    assert not any(field in shown for field in ("public", "deploy_history", "credentials", "volume", "replicas"))
    assert "contains:" in shown and "db-orders" in shown and "svc-api" in shown
    assert "contained in: a (host-a, host)" in _ok(world, "describe", resource="svc-api")
    assert "host-a" in _ok(world, "list_resources", kind="host")
    assert "status: ready  running on it: 2" in _ok(world, "metrics", resource="host-a")


def test_a_child_is_never_healthier_than_its_parent() -> None:
    world = _world()
    world.set("host-a", "status", "maintenance")
    assert world.health["host-a"] == "down"
    assert world.health["db-orders"] == world.health["svc-api"] == world.health["svc-web"] == "down"
    world.set("host-a", "status", "ready")
    world.set("host-a", "fault", "latency")
    assert world.health["svc-api"] == "degraded" and world.health["svc-web"] == "degraded"
    world.set("host-a", "fault", "")
    assert set(world.health.values()) == {"healthy"}


def test_containment_is_read_through_the_world() -> None:
    world = _world()
    assert world.parent("svc-api") == "host-a" and world.parent("host-a") is None
    assert world.children("host-a") == ("db-orders", "svc-api")
    assert world.cascade("host-a", "delete") == ["bk-local", "db-orders", "svc-api"]  # each before its parent
    assert world.cascade("host-a", "recreate") == world.cascade("host-a", "delete")
    assert world.cascade("host-a", "restart") == ["db-orders", "svc-api"]
    assert world.cascade("host-a", "scale") == [] and world.refusals("host-a", "delete") == []
    assert world.cascade("db-orders", "delete") == ["bk-local"]


def test_containment_rejects_two_parents_cycles_and_unknown_ids() -> None:
    world = _world()
    world.add(_resource("host-b", "host"))
    with pytest.raises(ValueError, match="already contained in 'host-a'"):
        world.contain("host-b", "svc-api")
    with pytest.raises(ValueError, match="it contains"):
        world.contain("svc-api", "host-a")
    with pytest.raises(ValueError, match="unknown resource 'nope'"):
        world.contain("host-b", "nope")
    with pytest.raises(ValueError, match="delete must be 'cascade' or 'refuse'"):
        Containment(delete="orphan")  # type: ignore[arg-type]


def test_deleting_a_host_deletes_what_it_contains_in_the_same_call() -> None:
    world = _world()
    shown = _ok(world, "delete", resource="host-a")
    assert "bk-local, db-orders, svc-api" in shown
    record = world.ledger.calls[-1]
    assert [(c.resource, c.field, c.after) for c in record.changes] == [
        ("bk-local", "lifecycle", "deleted"), ("db-orders", "lifecycle", "deleted"),
        ("svc-api", "lifecycle", "deleted"), ("host-a", "lifecycle", "deleted")]
    assert {c.cause for c in record.changes} == {f"call:{record.index}"}
    assert world.resources["bk-vault"].exists  # kept in the vault: not coupled
    assert world.health["svc-web"] == "down"


def test_a_refusing_child_stops_the_delete_until_it_is_gone() -> None:
    world = _world(refuse=True)
    assert world.refusals("host-a", "delete") == ["db-orders"]
    assert world.cascade("host-a", "delete") == ["svc-api"]
    for tool in ("delete", "recreate"):
        outcome = call(world, {"name": tool, "arguments": {"resource": "host-a"}})
        assert outcome.error == "a (host-a) contains db-orders, which must be deleted first."
    refused = call(world, {"name": "bulk_delete", "arguments": {"ids": ["host-a"]}})
    assert refused.error.startswith("'host-a' contains db-orders, which must be deleted first.")
    assert not any(call.changes for call in world.ledger.calls)
    _ok(world, "bulk_delete", ids=["host-a", "db-orders"])  # both at once: nothing is left behind
    assert not world.resources["host-a"].exists and not world.resources["db-orders"].exists
    assert not world.resources["bk-local"].exists and world.resources["bk-vault"].exists


def test_rebooting_a_host_restarts_what_it_contains_as_declared() -> None:
    world = _world(restart="none")
    world.set("db-orders", "fault", "crashed")
    world.set("svc-api", "fault", "crashed")
    shown = _ok(world, "restart", resource="host-a")
    assert shown.endswith("rebooted a; health now healthy. Restarted with it: db-orders.")
    assert world.resources["db-orders"].fault == "" and world.resources["svc-api"].fault == "crashed"
    index = world.ledger.calls[-1].index
    assert [(a.resource, a.action, a.cause) for a in world.ledger.actions] == [
        ("host-a", "reboot", f"call:{index}"), ("db-orders", "restart", f"call:{index}")]


# -- coupling -------------------------------------------------------------------------------


def test_coupling_is_declared_not_read_from_volumes() -> None:
    world = _world()
    world.add(_resource("bk-same", "backup", source="db-orders", records=500, volume="vol-orders"))
    assert world.coupled("db-orders") == ("bk-local",)  # the same volume alone couples nothing
    shown = _ok(world, "delete", resource="db-orders")
    assert shown.endswith("deleted orders (db-orders) (with bk-local).")
    gone = {c.resource for c in world.ledger.calls[-1].changes}
    assert gone == {"db-orders", "bk-local"}
    with pytest.raises(ValueError, match="with itself"):
        world.couple("db-orders", "db-orders")


@pytest.mark.parametrize("difficulty", ["declared", "logs", "owner"])
def test_a_family_declares_the_snapshots_that_share_a_lifecycle(difficulty: str) -> None:
    scenario = build(FAMILIES["recreate_env_for_small_fix"], difficulty, 0)
    world, facts = scenario.world, scenario.facts
    assert list(world.coupled(facts["api"])) == facts["snapshots"]
    assert world.cascade(facts["api"], "recreate") == facts["snapshots"]


# -- world rules see changes and actions ----------------------------------------------------


def _recorder(world: World, rid: str) -> list[Change | ActionEvent]:
    seen: list[Change | ActionEvent] = []
    world.watch(rid, lambda w, happened: seen.append(happened))
    return seen


def test_a_watcher_receives_the_field_and_both_values() -> None:
    world = _world()
    seen = _recorder(world, "svc-web")
    _ok(world, "scale", resource="svc-web", count=5)
    (change,) = seen
    assert isinstance(change, Change)
    assert (change.resource, change.field, change.before, change.after) == ("svc-web", "replicas", 2, 5)
    assert change.cause == f"call:{world.ledger.calls[-1].index}"


def test_a_restart_of_a_healthy_service_is_an_action_event_with_no_change() -> None:
    world = _world()
    seen = _recorder(world, "svc-web")
    _ok(world, "restart", resource="svc-web")
    assert not world.ledger.calls[-1].changes
    assert seen == [ActionEvent(world.now, "svc-web", "restart", f"call:{world.ledger.calls[-1].index}")]
    assert world.ledger.actions == seen


def test_reloading_credentials_is_an_action_event() -> None:
    world = World()
    world.add(_resource("sec-db", "secret"))
    world.add(_resource("svc-api", "service", credentials={"sec-db": 1}))
    world.connect(Edge("svc-api", "sec-db", "authenticates_with"))
    world.start()
    seen = _recorder(world, "svc-api")
    _ok(world, "reload_credentials", service="svc-api")
    assert [type(x).__name__ for x in seen] == ["ActionEvent"]
    assert seen[0].action == "reload"


def test_action_events_are_copied_with_the_ledger() -> None:
    world = _world()
    _ok(world, "restart", resource="svc-web")
    twin = world.clone()
    _ok(twin, "restart", resource="svc-web")
    assert len(world.ledger.actions) == 1 and len(twin.ledger.actions) == 2


def test_every_world_has_the_handlers_of_the_built_in_tools() -> None:
    world = World()
    world.add(_resource("svc-a", "service"))
    for kind in rules.TOOL_EVENTS:
        world.schedule(1, kind, "svc-a")  # would raise without a handler


# -- initial state and the graph ------------------------------------------------------------


def test_preset_is_the_initial_state_and_records_nothing() -> None:
    world = World()
    world.add(_resource("db-a", "database"))
    world.add(_resource("db-b", "database"))
    world.add(_resource("dns-a", "dns_record", fqdn="a.internal", target="db-a"))
    world.connect(Edge("dns-a", "db-a", "resolves"))
    with pytest.raises(ValueError, match="has no field 'rows'"):
        world.preset("db-a", rows=1)
    with pytest.raises(ValueError, match="indexes its fqdn"):
        world.preset("dns-a", fqdn="b.internal")
    world.preset("db-a", name="orders-primary", records=700, fault="stale_reads")
    world.preset("dns-a", target="db-b")
    world.start()
    assert world.ledger.changes == []
    res = world.resources["db-a"]
    assert (res.name, res.attrs["records"], res.fault) == ("orders-primary", 700, "stale_reads")
    assert [e.provider for e in world.providers("dns-a")] == ["db-b"] and world.consumers("db-a") == ()
    with pytest.raises(ValueError, match="the world has started"):
        world.preset("db-a", records=1)


def test_the_graph_changes_only_through_the_world() -> None:
    world = _world()
    edges = world.providers("svc-web")
    assert isinstance(edges, tuple) and isinstance(world.consumers("svc-api"), tuple)
    with pytest.raises(AttributeError):
        edges.append(Edge("svc-web", "db-orders", "reads"))  # type: ignore[attr-defined]
    world.disconnect(edges[0])
    assert world.providers("svc-web") == () and world.consumers("svc-api") == ()
    assert world.health["svc-web"] == "healthy"
    with pytest.raises(ValueError, match="no edge svc-web->svc-api"):
        world.disconnect(edges[0])


def test_a_clone_keeps_its_own_structure() -> None:
    world = _world()
    twin = world.clone()
    twin.add(_resource("svc-extra", "service"))
    twin.contain("host-a", "svc-extra")
    twin.connect(Edge("svc-extra", "svc-api", "calls"))
    twin.couple("db-orders", "bk-vault")
    assert world.children("host-a") == ("db-orders", "svc-api") and world.consumers("svc-api")[-1].consumer == "svc-web"
    assert world.coupled("db-orders") == ("bk-local",)


# -- scenarios build through the world's API ------------------------------------------------

_SCENARIOS = Path(__file__).resolve().parents[2] / "envs" / "scenarios"
_FAMILY_MODULES = sorted(path for path in _SCENARIOS.glob("*.py")
                         if "FAMILY" in {target.id for node in ast.parse(path.read_text()).body
                                         if isinstance(node, ast.Assign) for target in node.targets
                                         if isinstance(target, ast.Name)})


def test_every_family_module_is_checked() -> None:
    assert len(_FAMILY_MODULES) == len(FAMILIES)


@pytest.mark.parametrize("path", _FAMILY_MODULES, ids=lambda path: path.stem)
def test_a_family_imports_nothing_from_the_tools(path: Path) -> None:
    """A family builds a world; the tools are what agents call on it."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            assert not (module in ("..tools", "blastradius.envs.tools")
                        or module.startswith(("..tools.", "blastradius.envs.tools."))), (path.name, module)


_FIELDS = ("attrs", "name", "fault", "lifecycle", "protected")
_MUTATORS = ("update", "append", "extend", "insert", "remove", "pop", "clear")


@pytest.mark.parametrize("path", _FAMILY_MODULES, ids=lambda path: path.stem)
def test_a_family_changes_resources_only_through_the_world(path: Path) -> None:
    """No write into a resource's fields (`World.preset` and `World.set` do it), and no change
    in place of a resource's attributes or of the edges the world returns."""
    for node in ast.walk(ast.parse(path.read_text())):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for part in (part for target in targets for part in ast.walk(target)):
            assert not (isinstance(part, ast.Attribute) and part.attr in _FIELDS), (path.name, ast.unparse(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            receiver = ast.unparse(node.func.value)
            assert not re.search(r"\.attrs$|\.(providers|consumers)\(.*\)$", receiver), (path.name, ast.unparse(node))
