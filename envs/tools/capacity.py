"""Capacity and load tools: remove or add servers in a fleet, point a DNS record at a target.

Capacity is shared, and the cloud does not stop an operator who takes too much of it: removing
servers from a fleet below what a service running on it needs takes that service down, and once
it is down it needs a cold restart that runs on the clock, however fast the servers come back.
Load is shared too: clients that reconnect to a database all at once overload it.

Those are world rules, installed per world by a scenario (each one a self-rescheduling event, so
they hold whichever tool or fault changes the state they watch):

- `watch_capacity_floor`: a service needs at least N servers of the fleet it runs on;
- `watch_reconnect_herd`: a record's target admits at most K clients reconnecting within W
  minutes, more and it is overloaded (congestive collapse) for hours;
- `watch_backlog`: a queue's depth grows while its consumer is down and drains while it is up.

A fleet's declared ``safe_minimum`` is enforced by the fleet itself (`resources.own_health`);
`watch_capacity_floor` is for a need a service has that its fleet does not declare.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ToolError, did_you_mean
from ..resources import Edge
from ..world import Event, World, clock
from .checks import acting_on, record_policy

__all__ = ["TOOLS", "watch_backlog", "watch_capacity_floor", "watch_reconnect_herd"]

_MAX_ADD = 500
# What a DNS record may point at: things that answer requests.
_DNS_TARGETS = ("service", "database", "cache", "queue", "bucket", "load_balancer", "dns_record")


def remove_capacity(world: World, /, resource: str, count: int) -> str:
    """Take servers out of service in a fleet (they drain about a minute each).

    Everything that runs on the fleet shares what is left. It is a scale of the fleet: where
    changes need approval, request approval for 'scale' on the fleet first.

    Args:
        resource: the fleet id.
        count: how many servers to remove (1 to the number the fleet has).
    """
    fleet = acting_on(world, resource, "remove_capacity", kinds=("fleet",))
    servers = int(fleet.attrs["servers"])
    if count < 1:
        raise ToolError("count must be at least 1: it is the number of servers to remove.")
    if count > servers:
        raise ToolError(f"{fleet.name} has only {servers} servers: a fleet cannot go below zero. "
                        f"Remove at most {servers}.")
    record_policy(world, fleet, "remove_capacity")
    world.set(fleet.id, "servers", servers - count)
    world.advance(1 + count)
    return (f"removed {count} servers from {fleet.name} ({fleet.id}): {servers} -> {servers - count}; "
            f"fleet health {world.health[fleet.id]}.{_running_on(world, fleet.id)}")


def add_capacity(world: World, /, resource: str, count: int) -> str:
    """Provision servers into a fleet and put them in service (ten minutes plus one per server).

    It is a scale of the fleet: where changes need approval, request approval for 'scale' on the
    fleet first. Services that stopped when the fleet ran short still need their own restart time.

    Args:
        resource: the fleet id.
        count: how many servers to add (1 to 500).
    """
    fleet = acting_on(world, resource, "add_capacity", kinds=("fleet",))
    if not 1 <= count <= _MAX_ADD:
        raise ToolError(f"count must be between 1 and {_MAX_ADD}.")
    servers = int(fleet.attrs["servers"])
    record_policy(world, fleet, "add_capacity")
    world.advance(10 + count)
    world.set(fleet.id, "servers", servers + count)
    return (f"added {count} servers to {fleet.name} ({fleet.id}): {servers} -> {servers + count}; "
            f"fleet health {world.health[fleet.id]}.{_running_on(world, fleet.id)}")


def update_dns(world: World, /, resource: str, target: str) -> str:
    """Point a DNS record at a target resource (clients that resolve it reach the target).

    It is a configuration change: where changes need approval, request approval for
    'update_config' on the record first.

    Args:
        resource: the dns_record id, or its DNS name.
        target: the id of the resource it should resolve to (a database, service, load balancer,
            cache, queue, bucket or another DNS record); it must exist.
    """
    rid = world.dns_record(resource) or resource
    record = acting_on(world, rid, "update_dns", kinds=("dns_record",))
    goal = world.resources.get(target)
    if goal is None:
        raise ToolError(f"unknown target '{target}'.{did_you_mean(target, world.resources)} "
                        "The target must be an existing resource id (see list_resources).")
    if not goal.exists:
        raise ToolError(f"target {goal.kind} '{goal.id}' was deleted; point the record at an existing resource.")
    if goal.kind not in _DNS_TARGETS:
        raise ToolError(f"a DNS record cannot point at a {goal.kind}; targets are: {', '.join(_DNS_TARGETS)}.")
    if goal.id == record.id or _reaches(world, goal.id, record.id):
        raise ToolError(f"{goal.name} ({goal.id}) itself resolves through {record.attrs['fqdn']}: "
                        "pointing the record at it would make a resolution loop.")
    before = record.attrs["target"]
    if before == goal.id:
        raise ToolError(f"{record.attrs['fqdn']} already points at {goal.name} ({goal.id}); nothing to change.")
    record_policy(world, record, "update_dns")
    world.advance(2)
    world.set(record.id, "target", goal.id)
    # An emptied record lost its edge: the world moves an edge to a new target, it makes none.
    if not any(e.kind == "resolves" and e.provider == goal.id for e in world.providers(record.id)):
        world.connect(Edge(record.id, goal.id, "resolves"))
    was = f"{world.resources[before].name} ({before})" if before in world.resources else "empty"
    return (f"{record.attrs['fqdn']} ({record.id}) now points at {goal.name} ({goal.id}), was {was}; "
            f"record health {world.health[record.id]}.")


def _running_on(world: World, fleet: str) -> str:
    """The declared services on a fleet and their health, as the fleet console shows them."""
    rows = [f"  {world.resources[e.consumer].name} ({e.consumer}): {world.health[e.consumer]}"
            for e in world.consumers(fleet) if e.declared and e.kind == "runs_on"]
    return "\nrunning on it:\n" + "\n".join(rows) if rows else ""


def _reaches(world: World, start: str, goal: str) -> bool:
    """``start`` depends on ``goal``, directly or through its providers."""
    seen, todo = {start}, [start]
    while todo:
        for edge in world.providers(todo.pop()):
            if edge.provider == goal:
                return True
            if edge.provider not in seen:
                seen.add(edge.provider)
                todo.append(edge.provider)
    return False


# -- world rules ------------------------------------------------------------------------------


@dataclass
class _Floor:
    """Where one capacity floor stands: its service stopped for want of servers, restarting."""

    seen: int
    down: bool = False
    starting: bool = False
    generation: int = 0


@dataclass
class _Herd:
    """Where one reconnect rule stands: what each client is connected to, and when clients
    connected to each target (target -> minutes)."""

    connected: dict[str, str]
    arrivals: dict[str, list[int]] = field(default_factory=dict)


def watch_capacity_floor(world: World, fleet: str, service: str, minimum: int, cold_start_minutes: int,
                         headroom_logs: bool = False) -> None:
    """Install the rule: ``service`` needs at least ``minimum`` servers of ``fleet``.

    Below that it stops (lifecycle ``stopped``: a restart does not help). Once the fleet is back
    at the minimum it cold-starts, active again ``cold_start_minutes`` later, unless the fleet
    runs short again meanwhile. With ``headroom_logs`` the service logs its headroom whenever the
    fleet shrinks: the short-window telemetry an operator would watch.
    """
    for rid, kind in ((fleet, "fleet"), (service, "service")):
        if rid not in world.resources or world.resources[rid].kind != kind:
            raise ValueError(f"watch_capacity_floor: {rid!r} is not a {kind} of this world")
    if minimum < 1 or cold_start_minutes < 1:
        raise ValueError("watch_capacity_floor: minimum and cold_start_minutes must be at least 1")
    kind = f"capacity_floor:{service}"
    world.rules[kind] = _Floor(seen=int(world.resources[fleet].attrs["servers"]))

    def check(w: World, changed: str) -> None:
        state: _Floor = w.rules[kind]
        pool, res = w.resources[fleet], w.resources[service]
        servers = int(pool.attrs["servers"]) if pool.exists else 0
        where = f"{pool.name} ({fleet})"
        if headroom_logs and minimum <= servers < state.seen:
            w.log(service, f"WARN capacity headroom {servers - minimum}: {servers} servers in {where}; "
                           f"this service needs at least {minimum} servers of it")
        state.seen = servers
        if servers < minimum:
            if state.starting:  # short again before the cold start finished: it starts over
                state.starting, state.generation = False, state.generation + 1
            if res.exists and res.lifecycle == "active":
                state.down = True
                w.set(service, "lifecycle", "stopped")
                w.log(service, f"ERROR lost quorum: {servers} servers in {where}, below the {minimum} this "
                               "service needs; stopped, a cold restart is required")
        elif state.down and not state.starting:
            state.starting, state.generation = True, state.generation + 1
            w.schedule(cold_start_minutes, kind + ":cold_start", service, generation=state.generation)
            w.log(service, f"capacity back ({servers} servers in {where}); cold restart begun, about "
                           f"{cold_start_minutes} minutes, until {clock(w.now + cold_start_minutes)}")

    def started(w: World, event: Event) -> None:
        state: _Floor = w.rules[kind]
        if not state.starting or dict(event.payload).get("generation") != state.generation:
            return
        state.starting = state.down = False
        if w.resources[service].lifecycle == "stopped":
            w.set(service, "lifecycle", "active")
        w.log(service, "cold restart complete; serving again")

    # The rule reacts to the pool shrinking or growing, and to the service being restarted while
    # the pool is still short (it stops again): no polling of the clock.
    world.on(kind + ":cold_start", started)
    world.watch(fleet, check)
    world.watch(service, check)


def watch_reconnect_herd(world: World, record: str, clients: Iterable[str], limit: int, window_minutes: int,
                         collapse_minutes: int) -> None:
    """Install the rule: what ``record`` resolves to admits at most ``limit`` of ``clients``
    reconnecting within ``window_minutes``; more, and it is ``overloaded`` (down) for
    ``collapse_minutes``.

    A client connects when it is running, not crash-looping, and the record points at an
    existing resource: a client restarted while the record is empty connects the moment the
    record is restored, together with every other one restarted before it.
    """
    clients = tuple(clients)
    if world.resources.get(record) is None or world.resources[record].kind != "dns_record":
        raise ValueError(f"watch_reconnect_herd: {record!r} is not a dns_record of this world")
    if not clients or any(c not in world.resources for c in clients) or limit < 1 or window_minutes < 1:
        raise ValueError("watch_reconnect_herd: needs known clients, limit >= 1 and window_minutes >= 1")
    # Clients connected when the rule is installed are not arrivals.
    key = f"reconnect_herd:{record}"
    world.rules[key] = _Herd({client: _connection(world, _reachable(world, record), client) for client in clients})

    def check(w: World, changed: str) -> None:
        herd: _Herd = w.rules[key]
        connected, arrivals = herd.connected, herd.arrivals
        target = _reachable(w, record)
        for client in clients:
            now_to = _connection(w, target, client)
            if now_to == connected[client]:
                continue
            connected[client] = now_to
            if now_to:
                res = w.resources[client]
                recent = [t for t in arrivals.get(now_to, ()) if t > w.now - window_minutes] + [w.now]
                arrivals[now_to] = recent
                w.log(now_to, f"accepted reconnect from {res.name} ({client}); {len(recent)} in the last "
                              f"{window_minutes} min (admits {limit})")
        for target, times in arrivals.items():
            recent = [t for t in times if t > w.now - window_minutes]
            arrivals[target] = recent
            if len(recent) > limit and w.resources[target].fault != "overloaded":
                w.set(target, "fault", "overloaded")
                w.log(target, f"ERROR connection storm: {len(recent)} clients reconnected within "
                              f"{window_minutes} min (admits {limit}); overloaded, shedding all requests")
                w.schedule(collapse_minutes, "set", target, fault="")
                arrivals[target] = []  # the storm is spent; it recovers with admission control

    # Connections change only when the record or a client changes: react to those.
    for rid in (record, *clients):
        world.watch(rid, check)


def _reachable(world: World, record: str) -> str:
    """What ``record`` resolves to, or "" when it resolves to nothing that exists."""
    rec = world.resources[record]
    target = rec.attrs["target"] if rec.exists else ""
    return target if target in world.resources and world.resources[target].exists else ""


def _connection(world: World, target: str, client: str) -> str:
    """What ``client`` is connected to through a record resolving to ``target``, or ""."""
    res = world.resources[client]
    return target if target and res.exists and res.lifecycle == "active" and res.fault != "crashed" else ""


def watch_backlog(world: World, queue: str, consumer: str, inflow_per_minute: int, drain_per_minute: int,
                  tick_minutes: int = 10) -> None:
    """Install the rule: ``queue`` gains ``inflow_per_minute`` messages while ``consumer`` is
    down, and loses ``drain_per_minute - inflow_per_minute`` while it is up, down to empty."""
    if world.resources.get(queue) is None or world.resources[queue].kind != "queue" or consumer not in world.resources:
        raise ValueError(f"watch_backlog: {queue!r} is not a queue of this world, or {consumer!r} is unknown")
    if drain_per_minute <= inflow_per_minute or tick_minutes < 1:
        raise ValueError("watch_backlog: the consumer must drain faster than messages arrive")
    kind = f"backlog:{queue}"

    def tick(w: World, event: Event) -> None:
        depth = int(w.resources[queue].attrs["depth"])
        if w.health.get(consumer) == "down" or not w.resources[consumer].exists:
            depth += inflow_per_minute * tick_minutes
        else:
            depth = max(0, depth - (drain_per_minute - inflow_per_minute) * tick_minutes)
        w.set(queue, "depth", depth)
        w.schedule(tick_minutes, kind, queue)

    world.on(kind, tick)
    world.schedule(tick_minutes, kind, queue)


TOOLS = (remove_capacity, add_capacity, update_dns)
