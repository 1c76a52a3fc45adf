"""World rules: what the simulated cloud does on its own, between and during tool calls.

A rule is a watcher (`World.watch`: it receives each `Change` of the resources it watches and
each `ActionEvent` done to them) or the handler of a scheduled event (`World.on`). Rules are
registered when a world is built, never while a tool runs, in one of two ways:

- the continuations of built-in tools, which every world has (`TOOL_EVENTS`, registered by
  `World` itself): a soft delete purged when its recovery window ends, a consumer locked out of
  a secret crash-looping, the on-site team returning a backbone's links;
- the rules a family installs as it builds its scenario, for the dynamics its incident needs:
  `watch_capacity_floor` (a service needs N servers of a shared fleet), `watch_reconnect_herd`
  (clients reconnecting at once overload what a record resolves to), `watch_backlog` (a queue
  grows while its consumer is down) and `watch_config_sync` (old consumers crash on a setting).

Worlds are cloned and rules shared by the clones, so a rule keeps what it remembers in
`World.rules`, never in its closure. What rules and tools both need to know lives here too:
which secret a consumer's credential names (`credential_secret`, `credential_version`) and which
value of a regional config a consumer loads (`effective`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .ledger import ActionEvent, Change
from .resources import Resource
from .world import Event, EventHandler, World, clock

__all__ = [
    "CREDENTIAL_CHECK",
    "CREDENTIAL_RETRY_MINUTES",
    "ONSITE_RESTORE",
    "SOFT_DELETE_PURGE",
    "TOOL_EVENTS",
    "credential_secret",
    "credential_version",
    "deployable",
    "effective",
    "loaded_config",
    "named_secret",
    "watch_backlog",
    "watch_capacity_floor",
    "watch_config_sync",
    "watch_reconnect_herd",
    "version_key",
]

# The events built-in tools schedule, by kind.
SOFT_DELETE_PURGE = "soft_delete_purge"
CREDENTIAL_CHECK = "credential_check"
ONSITE_RESTORE = "backbone_onsite_restore"
# How often a consumer locked out of its secret retries (and crashes again) after a restart.
CREDENTIAL_RETRY_MINUTES = 10


# -- the continuations of built-in tools ------------------------------------------------------


def _purge(world: World, event: Event) -> None:
    """The recovery window of a soft delete ended: the resource is deleted for good, with what
    goes with it (`World.cascade`), unless it was undeleted, or soft-deleted again later, whose
    own purge is still to come."""
    res = world.resources.get(event.target)
    if res is None or res.lifecycle != "stopped" or any(e.kind == SOFT_DELETE_PURGE for e in world.pending(res.id)):
        return
    for rid in world.cascade(res.id, "delete"):
        world.set(rid, "lifecycle", "deleted")
    world.set(res.id, "lifecycle", "deleted")


def _onsite_restore(world: World, event: Event) -> None:
    """The on-site team returns a backbone's links, and the session's path to the control plane."""
    links = dict(event.payload)["links"]
    if event.target in world.resources:
        world.set(event.target, "links", links)
        world.log(event.target, f"on-site team returned {links} links to service; remote management reachable")
    world.session.lockout = ""


def credential_version(world: World, consumer: Resource, secret: str) -> int | None:
    """The version of ``secret`` (an id) that ``consumer`` holds, by id or by name; None if none."""
    for key, version in consumer.attrs.get("credentials", {}).items():
        found = credential_secret(world, consumer, key)
        if found is not None and found.id == secret:
            return int(version)
    return None


def _credential_check(world: World, event: Event) -> None:
    """A consumer locked out of a secret it names by name crashes again after each restart."""
    consumer = world.resources.get(event.target)
    if consumer is None or not consumer.exists or not _locked_out(world, consumer):
        return
    if consumer.fault != "crashed":
        world.set(consumer.id, "fault", "crashed")
    world.schedule(CREDENTIAL_RETRY_MINUTES, CREDENTIAL_CHECK, consumer.id)


def _locked_out(world: World, consumer: Resource) -> bool:
    for key, version in consumer.attrs.get("credentials", {}).items():
        secret = credential_secret(world, consumer, key)
        if secret is not None and secret.exists and version not in secret.attrs["versions"]:
            return True
    return False


def credential_secret(world: World, consumer: Resource, key: str) -> Resource | None:
    """The secret a credentials key means: a secret id, or a name in the consumer's environment."""
    found = world.resources.get(key)
    if found is not None:
        return found if found.kind == "secret" else None
    return named_secret(world, key, consumer.env)


def named_secret(world: World, name: str, env: str) -> Resource | None:
    """The existing secret called ``name`` in ``env``: how a secrets CLI and a consumer find it."""
    for rid in world.of_kind("secret"):
        secret = world.resources[rid]
        if secret.name == name and secret.env == env and secret.exists:
            return secret
    return None


# -- rules a family installs ----------------------------------------------------------------


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

    def check(w: World, happened: Change | ActionEvent) -> None:
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

    def check(w: World, happened: Change | ActionEvent) -> None:
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

def effective(config: Resource, key: str, region: str) -> Any:
    """The value of ``key`` a consumer in ``region`` loads: the region's override, else the setting."""
    return config.attrs["regional"].get(region, {}).get(key, config.attrs["settings"].get(key))


def loaded_config(world: World, service: Resource) -> dict[str, Any]:
    """The settings ``service`` runs with: its own, overlaid by those of every config it reads
    (the override for its region where one is pushed), as its admin endpoint would show them."""
    settings = dict(service.attrs["config"])
    for edge in world.providers(service.id):
        config = world.resources[edge.provider]
        if config.kind == "config" and config.exists and edge.kind == "reads":
            settings.update({key: effective(config, key, service.region) for key in config.attrs["settings"]})
    return settings


def deployable(service: Resource) -> list[str]:
    """The versions ``deploy`` accepts for ``service``, oldest first: those released for it,
    the one it runs and the ones it ran."""
    versions = {*service.attrs["releases"], *service.attrs["deploy_history"], service.attrs["version"]}
    return sorted(versions, key=lambda v: (version_key(v), v))


def watch_config_sync(world: World, config: str, *, key: str, below: str) -> None:
    """Install the rule: consumers of ``config`` running a version below ``below`` crash while
    ``key`` is enabled in their region (their parser cannot take it), and start again once it
    is off. The rule reacts to the config changing and to a consumer changing (a restarted
    proxy loads the config again and crashes again), so it never polls the clock.
    """
    limit = version_key(below)

    def sync(w: World, happened: Change | ActionEvent) -> None:
        res = w.resources[config]
        for edge in w.consumers(config):
            consumer = w.resources[edge.consumer]
            if consumer.kind != "service" or not consumer.exists or version_key(consumer.attrs["version"]) >= limit:
                continue
            enabled = bool(effective(res, key, consumer.region))
            if enabled and consumer.fault != "crashed":
                w.set(consumer.id, "fault", "crashed")
                w.log(consumer.id, f"panic: loading {key} from {res.name}: index out of range in the rule "
                                   "parser; process exited, restarting")
            elif not enabled and consumer.fault == "crashed":
                w.set(consumer.id, "fault", "")
                w.log(consumer.id, f"started; loaded {res.name} without {key}")

    world.watch(config, sync)
    for edge in world.consumers(config):
        world.watch(edge.consumer, sync)

def version_key(version: str) -> tuple[int, ...]:
    """A version's release order: its numbers in turn ('v1.15.2' -> (1, 15, 2))."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


TOOL_EVENTS: Mapping[str, EventHandler] = MappingProxyType({
    SOFT_DELETE_PURGE: _purge,
    CREDENTIAL_CHECK: _credential_check,
    ONSITE_RESTORE: _onsite_restore,
})
