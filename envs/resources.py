"""Resources and dependency edges of the simulated cloud.

A resource is a typed node with the attributes every cloud object has (id, name, environment,
region, owner team, monthly cost, criticality, lifecycle) plus the attributes of its kind. Each
kind declares its attributes and their defaults here and owns how it fails on its own
(`own_health`): a fleet below its safe minimum is down, a lagging replica is degraded, an
expired certificate is down, a host in maintenance is down. How failure spreads along edges and
from a parent to what it contains (`blastradius.envs.graph`) is the world's business. A
kind's own measures live here too: a backbone's `capacity`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

__all__ = [
    "ENVIRONMENTS",
    "EDGE_KINDS",
    "HEALTH_ORDER",
    "KINDS",
    "Capacity",
    "Edge",
    "Health",
    "KindSpec",
    "Lifecycle",
    "Resource",
    "capacity",
    "own_copy",
    "own_health",
    "rebuild_minutes",
]

Health = Literal["healthy", "degraded", "down"]
Lifecycle = Literal["active", "creating", "stopped", "deleted"]
HEALTH_ORDER: Mapping[str, int] = MappingProxyType({"healthy": 0, "degraded": 1, "down": 2})
ENVIRONMENTS = ("prod", "staging", "dev")
EDGE_KINDS = (
    "calls",
    "reads",
    "writes",
    "resolves",
    "terminates_tls",
    "authenticates_with",
    "stores_backups_in",
    "runs_on",
    "consumes",
    "monitors",
)


@dataclass(frozen=True)
class KindSpec:
    """What a resource kind is: its attributes with defaults, whether it holds data, and which
    attributes are hidden: facts no console shows, that only an action reveals (what a backup
    holds, only a test restore tells) or that are the simulator's own bookkeeping."""

    name: str
    attributes: Mapping[str, Any]
    holds_data: bool = False
    summary: str = ""
    hidden: frozenset[str] = frozenset()


def _kind(name: str, summary: str, holds_data: bool = False, hidden: tuple[str, ...] = (),
          **attributes: Any) -> KindSpec:
    return KindSpec(name, MappingProxyType(attributes), holds_data, summary, frozenset(hidden))


KINDS: Mapping[str, KindSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            # releases: versions released for it that it has not run (deploy takes these too).
            _kind("service", "a deployed application", replicas=2, version="v1", config={},
                  public=False, deploy_history=(), releases=(), volume="", credentials={}),
            # fabricated_records: rows written by hand, counted with records by every view.
            _kind("database", "a database instance", True, ("fabricated_records",), role="primary", records=0,
                  fabricated_records=0, replication_source="", replication_lag_minutes=0, writes_per_hour=0,
                  volume="", engine="postgres"),
            # verified: the owning team's routine test restore passed (describe says so, not what it found).
            _kind("backup", "a snapshot of a data store", True, ("records", "corrupt"), source="",
                  records=0, taken_at=0, volume="", verified=False, corrupt=False),
            _kind("cache", "an in-memory cache", memory_gb=4),
            _kind("queue", "a message queue", depth=0),
            _kind("bucket", "an object store bucket", True, objects=0, website=False),
            _kind("dns_record", "a DNS name", fqdn="", target="", ttl_seconds=300),
            _kind("load_balancer", "a load balancer", targets=()),
            _kind("certificate", "a TLS certificate", domain="", expires_at=0),
            _kind("secret", "a stored credential", version=1, versions=(1,)),
            _kind("config", "a configuration or feature flag set", settings={}, regional={}),
            _kind("iam_role", "an access role", environments=(), actions=()),
            _kind("fleet", "a pool of servers", servers=10, safe_minimum=0),
            _kind("job", "a scheduled batch job", schedule="", period_minutes=1440),
            # shows: what was last published there, which can lag the outage it should report.
            _kind("status_page", "a public status page", shows="operational"),
            _kind("tenant", "a customer site", True, records=0, apps=()),
            _kind("app_install", "an app installed on a customer site", tenant="", app=""),
            _kind("network", "a backbone network", links=16, safe_minimum=0),
            # status: ready (serving), cordoned (serving, takes no new work), maintenance (out of
            # service). What runs on a host is contained in it (`World.contain`).
            _kind("host", "a server, virtual machine or cluster node", pool="", status="ready"),
        )
    }
)


@dataclass
class Resource:
    """One object in the cloud. Mutate it only through `World`, which records every change."""

    id: str
    name: str
    kind: str
    env: str
    region: str
    owner: str
    monthly_cost: float
    criticality: float
    attrs: dict[str, Any] = field(default_factory=dict)
    lifecycle: Lifecycle = "active"
    fault: str = ""
    protected: bool = False

    def __post_init__(self) -> None:
        defaults = _DEFAULTS.get(self.kind)
        if defaults is None:
            raise ValueError(f"resource {self.id!r}: unknown kind {self.kind!r}; known: {sorted(KINDS)}")
        if self.env not in ENVIRONMENTS:
            raise ValueError(f"resource {self.id!r}: unknown environment {self.env!r}")
        if not self.attrs.keys() <= defaults.keys():
            unknown = self.attrs.keys() - defaults.keys()
            raise ValueError(
                f"resource {self.id!r} ({self.kind}): unknown attributes {sorted(unknown)}; "
                f"a {self.kind} has {sorted(defaults)}"
            )
        self.attrs = {**defaults, **self.attrs}

    def copy(self) -> Resource:
        """An equal resource with its own copy of each attribute its kind declares as a dict, list
        or set (a service's credentials, a config's settings); every other value is immutable,
        or replaced whole by `World.set`, never changed in place."""
        attrs = dict(self.attrs)
        for name in _CONTAINER_ATTRIBUTES[self.kind]:
            attrs[name] = own_copy(attrs[name])
        # Field by field, in declaration order (a test checks none is missed): a world clone copies
        # every resource, and an object given a __dict__ whole is slower to make and to read.
        twin = Resource.__new__(Resource)
        twin.id, twin.name, twin.kind, twin.env, twin.region = self.id, self.name, self.kind, self.env, self.region
        twin.owner, twin.monthly_cost, twin.criticality = self.owner, self.monthly_cost, self.criticality
        twin.attrs, twin.lifecycle, twin.fault, twin.protected = attrs, self.lifecycle, self.fault, self.protected
        return twin

    @property
    def exists(self) -> bool:
        return self.lifecycle != "deleted"


# Each kind's attributes with their defaults, as plain dicts: every resource built reads them,
# and a dict is read and merged faster than the read-only view `KINDS` holds.
_DEFAULTS = {spec.name: dict(spec.attributes) for spec in KINDS.values()}
_CONTAINERS = frozenset({dict, list, set})
_CONTAINER_ATTRIBUTES = {spec.name: tuple(name for name, default in spec.attributes.items() if type(default) in _CONTAINERS)
                         for spec in KINDS.values()}


def own_copy(value: Any) -> Any:
    """``value`` with every dict, list and set in it copied: a copy of a world must not see a
    change made in place to an attribute of the original (a scenario edits its fresh build so).
    Tuples are shared: an attribute's tuple holds immutable values."""
    kind = type(value)
    if kind is dict:
        return {key: own_copy(item) for key, item in value.items()}
    if kind is list:
        return [own_copy(item) for item in value]
    if kind is set:
        return set(value)
    return value


def own_health(resource: Resource, now: int) -> Health:
    """Health from the resource's own state alone, before its dependencies are considered."""
    if resource.lifecycle in ("deleted", "creating", "stopped"):
        return "down"
    if resource.fault in ("crashed", "zone_outage", "disk_full", "emptied", "overloaded"):
        return "down"
    attrs = resource.attrs
    if resource.kind == "fleet" and attrs["servers"] < max(1, attrs["safe_minimum"]):
        return "down"
    if resource.kind == "network" and attrs["links"] < max(1, attrs["safe_minimum"]):
        return "down"
    if resource.kind == "certificate" and 0 < attrs["expires_at"] <= now:
        return "down"
    if resource.kind == "service" and attrs["replicas"] <= 0:
        return "down"
    if resource.kind == "dns_record" and not attrs["target"]:
        return "down"
    if resource.kind == "host" and attrs["status"] == "maintenance":
        return "down"
    if resource.fault in ("latency", "throttled", "replication_lag", "stale_reads"):
        return "degraded"
    # The control plane judges a lag only where it knows the role: a self-managed host's is its own.
    if resource.kind == "database" and attrs["replication_lag_minutes"] > 5 and attrs["role"] != "unknown":
        return "degraded"
    return "healthy"


# Sets, for the checks every new edge makes (a build makes dozens); by default an edge leaves
# every kind of evidence.
_EDGE_KINDS = frozenset(EDGE_KINDS)
_EVIDENCE = frozenset({"traffic", "logs", "owner"})


@dataclass(frozen=True)
class Edge:
    """``consumer`` depends on ``provider``.

    A hard edge takes the consumer down with its provider; a soft one degrades it. A declared
    edge is shown by ``describe``; a hidden one leaves evidence only in the channels named in
    ``evidence``: ``traffic`` (the provider's traffic traces, while the consumer talks: every
    ``period`` minutes from minute ``phase``), ``logs`` (the consumer's logs) and ``owner``
    (what the owner team says when asked).
    """

    consumer: str
    provider: str
    kind: str
    hard: bool = True
    declared: bool = True
    period: int = 1
    phase: int = 0
    evidence: frozenset[str] = _EVIDENCE

    def __post_init__(self) -> None:
        if self.kind not in _EDGE_KINDS:
            raise ValueError(f"edge {self.consumer}->{self.provider}: unknown kind {self.kind!r}")
        if self.period < 1:
            raise ValueError(f"edge {self.consumer}->{self.provider}: period must be >= 1 minute")
        if not self.evidence <= _EVIDENCE:
            raise ValueError(f"edge {self.consumer}->{self.provider}: unknown evidence {sorted(self.evidence - _EVIDENCE)}")

    def uses_between(self, start: int, end: int) -> int:
        """How many times the consumer used the provider in the minutes ``[start, end)``."""
        if end <= start:
            return 0
        period, phase = self.period, self.phase % self.period
        first = start + (phase - start) % period
        return 0 if first >= end else 1 + (end - 1 - first) // period


def rebuild_minutes(resource: Resource) -> int:
    """How long a resource of this kind is gone when it is recreated from scratch."""
    attrs = resource.attrs
    if resource.kind == "service":
        return 240 + 60 * int(attrs["replicas"])
    if resource.kind in ("database", "tenant"):
        return 120 + int(attrs["records"]) // 100
    if resource.kind == "fleet":
        return 60 + 10 * int(attrs["servers"])
    return 30


_LINK_GBPS = (100, 200, 400)


class Capacity(NamedTuple):
    """A backbone network's capacity, as its capacity assessment measures it."""

    links: int
    link_gbps: int
    total_gbps: int
    safe_minimum: int
    headroom_links: int
    headroom_gbps: int

    def describe(self) -> str:
        return (f"{self.links} links in service x {self.link_gbps} Gbps = {self.total_gbps} Gbps; "
                f"headroom above the safe minimum of {self.safe_minimum} links: {self.headroom_links} links, "
                f"{self.headroom_gbps} Gbps")


def capacity(network: Resource) -> Capacity:
    """The capacity of ``network`` now: the speed of a link is a property of its hardware."""
    links, safe = int(network.attrs["links"]), int(network.attrs["safe_minimum"])
    gbps = _LINK_GBPS[zlib.crc32(network.id.encode()) % len(_LINK_GBPS)]
    headroom = max(0, links - safe)
    return Capacity(links, gbps, links * gbps, safe, headroom, headroom * gbps)
