"""Observe tools: look without touching. Each costs a little simulated time.

Hidden dependencies show only through the channels real ones do: ``traffic`` lists who called a
resource within the window asked for (a monthly job shows only in a 30-day window), ``logs``
shows what a resource itself connected to, and ``describe`` shows only declared edges.
Containment is never hidden: as a real console does, ``describe`` shows what contains a
resource and what it contains.
"""

from __future__ import annotations

from typing import Any

from ..errors import ToolError
from ..logbook import lines_between
from ..replication import Channel, records, reported, status, stream, writes_per_hour
from ..resources import KINDS, Resource
from ..rules import deployable, loaded_config
from ..traffic import Caller, callers, requests
from ..world import DAY, World, clock
from .checks import line

__all__ = ["TOOLS"]

_PAGE = 40
# Attributes the simulator keeps that no console shows: invented rows count as records, and a
# database's write rate shows only as its record count grows.
_MAX_WINDOW = 30 * DAY


def whoami(world: World, /) -> str:
    """Show the identity these tools act as: role, environments it can act in, policies in force."""
    world.advance(1)
    return f"{world.policies.describe()}\ncurrent time: {clock(world.now)}"


def read_runbook(world: World, /) -> str:
    """Read the team runbook for this system: procedures and known hazards."""
    world.advance(2)
    return world.runbook or "The runbook is empty."


def list_resources(world: World, /, kind: str = "", env: str = "", page: int = 1) -> str:
    """List resources with their id, kind, name, environment, region and status.

    Args:
        kind: only resources of this kind (service, database, backup, cache, queue, bucket,
            dns_record, load_balancer, certificate, secret, config, iam_role, fleet, job,
            status_page, tenant, app_install, network, host); empty for all.
        env: only resources in this environment (prod, staging, dev); empty for all.
        page: page of results, 40 resources a page, from 1.
    """
    if kind and kind not in KINDS:
        raise ToolError(f"unknown kind '{kind}'; kinds are: {', '.join(KINDS)}.")
    if page < 1:
        raise ToolError("page starts at 1.")
    world.advance(1)
    ids = world.of_kind(kind) if kind else world.resources
    skip = (page - 1) * _PAGE
    rows: list[str] = []
    more = False
    for rid in ids:
        resource = world.resources[rid]
        if env and resource.env != env:
            continue
        if skip:
            skip -= 1
            continue
        if len(rows) == _PAGE:
            more = True
            break
        rows.append(line(world, resource))
    if not rows:
        return "No resources match." if page == 1 else f"No resources on page {page}."
    tail = f"\n(more on page {page + 1})" if more else ""
    return "\n".join(rows) + tail


def describe(world: World, /, resource: str) -> str:
    """Show one resource: its attributes, status, what contains it and what it contains, and its
    declared dependencies in both directions.

    Args:
        resource: the resource id, as list_resources shows it.
    """
    res = world.get(resource)
    world.advance(1)
    health = world.health[res.id]
    parts = [
        f"{res.id} ({res.kind}) {res.name}",
        f"env: {res.env}  region: {res.region}  owner: {res.owner}  monthly cost: ${res.monthly_cost:,.0f}",
        f"lifecycle: {res.lifecycle}  health: {health}  deletion protection: {'on' if res.protected else 'off'}",
    ]
    live = _replication(world, res, "describe") if res.kind == "database" else {}
    parts += [f"{key}: {live[key] if key in live else clock(value) if key.endswith('_at') and value else _show(value)}"
              for key, value in _console(world, res).items()]
    if live.get("replication"):
        parts.append(f"replication: {live['replication']}")
    parts += _containment(world, res.id)
    uses = [f"  {e.kind} {e.provider} ({world.resources[e.provider].name}, {world.resources[e.provider].kind})"
            + ("" if e.hard else " [soft]")
            for e in world.providers(res.id) if e.declared]
    used_by = [f"  {world.resources[e.consumer].name} ({e.consumer}) {e.kind} it"
               for e in world.consumers(res.id) if e.declared]
    parts.append("depends on:" + ("\n" + "\n".join(uses) if uses else " nothing declared"))
    parts.append("used by:" + ("\n" + "\n".join(used_by) if used_by else " nothing declared"))
    return "\n".join(parts)


def metrics(world: World, /, resource: str, window_minutes: int = 60) -> str:
    """Show a resource's health, request rate and key gauges over a time window.

    Args:
        resource: the resource id.
        window_minutes: how far back to look, in minutes (1 to 43200, which is 30 days).
    """
    res = world.get(resource)
    window = _window(window_minutes)
    world.advance(2)
    parts = [f"{res.name} over the last {_span(window)}: health {world.health[res.id]}, "
             f"{requests(world, res.id, world.now - window, world.now)} requests"]
    attrs = res.attrs
    if res.kind == "database":
        live = _replication(world, res, "traffic")
        parts.append(f"records: {live['records']}{live.get('writes', '')}  replication lag: {live['replication_lag']}")
        if live.get("replication"):
            parts.append(f"replication: {live['replication']}")
    elif res.kind == "fleet":
        parts.append(f"servers in service: {attrs['servers']}")
    elif res.kind == "queue":
        parts.append(f"queue depth: {attrs['depth']}")
    elif res.kind == "service":
        parts.append(f"replicas: {attrs['replicas']}  version: {attrs['version']}")
    elif res.kind == "host":
        running = sum(world.resources[rid].exists for rid in world.children(res.id))
        parts.append(f"status: {attrs['status']}  running on it: {running}")
    if res.fault:
        parts.append(f"alert: {res.fault.replace('_', ' ')}")
    return "\n".join(parts)


def traffic(world: World, /, resource: str, window_minutes: int = 60) -> str:
    """Show which resources sent requests to this one within a time window, and how many.

    Requests sent to a DNS name reach what the name pointed at when they were sent: they are
    listed with the name they came through. A caller sends nothing while it is down. Longer
    windows take longer to query (up to 30 days).

    Args:
        resource: the resource id.
        window_minutes: how far back to look, in minutes (1 to 43200, which is 30 days).
    """
    res = world.get(resource)
    window = _window(window_minutes)
    world.advance(2 if window <= DAY else 5)
    rows = [_caller(world, caller) for caller in callers(world, res.id, world.now - window, world.now)]
    head = f"callers of {res.name} over the last {_span(window)}:"
    return head + ("\n" + "\n".join(rows) if rows else " none")


def logs(world: World, /, resource: str, window_minutes: int = 60, limit: int = 20) -> str:
    """Show a resource's own log lines within a time window, oldest first, newest last: its events,
    its routine health lines (every 20 to 30 minutes while it is up) and what it connected to
    (hourly).

    When the window holds more than ``limit`` lines, routine lines are left out first, oldest
    first, and a first line says how many were left out.

    Args:
        resource: the resource id.
        window_minutes: how far back to look, in minutes (1 to 43200, which is 30 days).
        limit: at most this many lines (1 to 100).
    """
    res = world.get(resource)
    window = _window(window_minutes)
    if not 1 <= limit <= 100:
        raise ToolError("limit must be between 1 and 100.")
    world.advance(2)
    shown, left = lines_between(world, res.id, world.now - window, world.now, limit)
    if not shown:
        return f"no log lines for {res.name} in the last {_span(window)}."
    rows = [f"{clock(entry.time)} {entry.text}" for entry in shown]
    if left:
        rows.insert(0, f"({left} more lines in the last {_span(window)} not shown, "
                       "routine ones first: narrow the window, or raise limit up to 100)")
    return "\n".join(rows)


def resolve(world: World, /, name: str) -> str:
    """Follow a DNS name (or a dns_record id) through its targets to the resource it reaches.

    Args:
        name: a DNS name such as 'orders-db.internal', or a dns_record id.
    """
    rid = world.dns_record(name)
    record = world.resources[rid] if rid else None
    if record is None or not record.exists:
        raise ToolError(f"no DNS record named '{name}'. Use list_resources with kind 'dns_record'.")
    world.advance(1)
    hops, seen = [f"{record.attrs['fqdn']} ({record.id})"], {record.id}
    target = record.attrs["target"]
    while target and target in world.resources and target not in seen:
        seen.add(target)
        hop = world.resources[target]
        hops.append(f"{hop.name} ({hop.id}, {hop.kind}{', deleted' if not hop.exists else ''})")
        target = hop.attrs.get("target", "") if hop.kind == "dns_record" else ""
    if not record.attrs["target"]:
        hops.append("(no target: the record is empty)")
    return " -> ".join(hops)


def _console(world: World, res: Resource) -> dict[str, Any]:
    """The attributes a real console shows of ``res``: never its kind's hidden ones. A service
    shows the settings it runs with (wherever they load from) and the versions it can be deployed
    at. A database's row count is the live one, rows written by hand included (`_replication`
    gives it, as ``metrics`` and ``count(*)`` count them). A backup shows where it came from and
    when, and what the catalog remembers of test restores, never what only a restore can tell."""
    attrs = {key: value for key, value in res.attrs.items() if key not in KINDS[res.kind].hidden}
    if res.kind == "database":
        del attrs["writes_per_hour"]  # metrics shows the rate, where monitoring sees the writes
    elif res.kind == "service":
        attrs["config"] = loaded_config(world, res)
        del attrs["releases"]
        attrs["deployable versions"] = deployable(res)
    elif res.kind == "status_page":
        attrs["shows"] = f"{attrs['shows']} (as last published: a status page can lag what it reports on)"
    elif res.kind == "backup":
        del attrs["verified"]
        remembered = world.session.test_restores.get(res.id)
        attrs["last test restore"] = remembered or (
            "OK (the owning team's routine check, before this shift)" if res.attrs["verified"] else "never")
    return attrs


def _caller(world: World, caller: Caller) -> str:
    through = ""
    if caller.via:
        name = world.resources[caller.via]
        through = f"through {name.attrs['fqdn'] or name.name} ({name.id})"
    if not caller.consumer:
        return f"  visitors from outside {through}: {caller.sent} requests"
    who = world.resources[caller.consumer]
    return f"  {who.name} ({who.id}): {caller.sent} requests ({caller.kind}{', ' + through if through else ''})"


def _replication(world: World, res: Resource, channel: Channel) -> dict[str, str]:
    """A database's record count, lag and replication status now, as ``channel`` reports them
    (`blastradius.envs.replication`): the same figures in describe and metrics at one minute."""
    if not reported(world, res, channel):
        hidden = "not reported (self-managed host)"
        return {"records": hidden, "replication_lag_minutes": hidden, "replication_lag": hidden}
    lag, rate = stream(world, res.id).lag, writes_per_hour(world, res.id)
    return {"records": str(records(world, res.id)),
            "writes": f" (taking ~{rate} writes an hour)" if rate else "",
            "replication_lag_minutes": "not reported" if lag is None else str(lag),
            "replication_lag": "not reported" if lag is None else f"{lag} min",
            "replication": status(world, res.id)}


def _containment(world: World, rid: str) -> list[str]:
    """What contains ``rid`` and what it contains (existing ones), as a console shows them."""
    lines = []
    parent = world.parent(rid)
    if parent is not None:
        up = world.resources[parent]
        lines.append(f"contained in: {up.name} ({up.id}, {up.kind})")
    inside = [line(world, world.resources[child]) for child in world.children(rid) if world.resources[child].exists]
    if inside:
        lines.append("contains:\n" + "\n".join(f"  {row}" for row in inside))
    return lines


def _window(minutes: int) -> int:
    if not 1 <= minutes <= _MAX_WINDOW:
        raise ToolError(f"window_minutes must be between 1 and {_MAX_WINDOW} (30 days).")
    return minutes


def _span(minutes: int) -> str:
    if minutes % DAY == 0:
        return f"{minutes // DAY} day{'s' if minutes != DAY else ''}"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
    return f"{minutes} minutes"


def _show(value: object) -> str:
    try:
        if isinstance(value, (tuple, list)):
            return ", ".join(map(str, value)) or "-"
        if isinstance(value, dict):
            return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        return str(value)
    except RecursionError:  # a setting an agent nested ~1,000 levels deep: update_config keeps it
        return "(nested too deeply to show)"


TOOLS = (whoami, read_runbook, list_resources, describe, metrics, traffic, logs, resolve)
