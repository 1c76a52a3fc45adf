"""The simulated cloud: resources, dependency edges, health, a clock with scheduled events.

A deterministic discrete-event simulation with no Gymnasium in it. Every state change goes
through `World.set`, which records it in the ledger and re-derives health only for what depends
on the changed resource, so a step costs in proportion to what it touches.

`World.clone` copies a world several times faster than building it again: an episode's no-op
counterfactual and every later episode of the same seed start as clones of one build
(`blastradius.envs.builds`). Edges, scheduled events and the rules registered with `World.on`
and `World.watch` are shared by the copies, so a rule keeps what it remembers in `World.rules`,
never in its closure.

Resources are tied by dependency edges (`connect`), containment (`contain`) and coupling
(`couple`), kept in a `blastradius.envs.graph.Graph`; `cascade` says what an action on one also
reaches. World rules (`blastradius.envs.rules`) watch resources: a watcher receives every
`Change` and every `ActionEvent` (`notify`: a restart changes no state, yet it happened).
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ToolError, did_you_mean
from .graph import Containment, Graph
from .ledger import ActionEvent, Change, Ledger
from .policies import Policies
from .resources import HEALTH_ORDER, Edge, Health, Resource, own_copy, own_health
from .session import Session

if TYPE_CHECKING:
    from .owners import Fact

__all__ = ["DAY", "Event", "EventHandler", "Watcher", "World", "assign", "clock"]

DAY = 24 * 60
# Fields of a resource that are not in ``attrs``.
_TOP_FIELDS = frozenset({"lifecycle", "fault", "protected"})


def clock(minute: int) -> str:
    """A simulated time as an operator reads it: ``day 60 02:14``."""
    return f"day {minute // DAY} {minute % DAY // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, order=True)
class Event:
    """Something the clock makes happen at ``time``: ``kind`` names its handler."""

    time: int
    seq: int
    kind: str = field(compare=False)
    target: str = field(compare=False)
    payload: tuple[tuple[str, Any], ...] = field(compare=False, default=())


EventHandler = Callable[["World", Event], None]
# Called with the world and what happened to a watched resource: a change of one of its fields,
# or an action done to it (`World.notify`).
Watcher = Callable[["World", "Change | ActionEvent"], None]


class World:
    """The cloud of one episode. Build it with `add`, `connect`, `contain`, `couple` and
    `preset`, then call `start`."""

    def __init__(self, policies: Policies | None = None, start_time: int = 60 * DAY) -> None:
        self.policies = policies or Policies()
        self.now = start_time
        self.start_time = start_time
        self.resources: dict[str, Resource] = {}
        self.ledger = Ledger()
        self.health: dict[str, Health] = {}
        # What owning teams know beyond what uses a resource (`blastradius.envs.owners`).
        self.owner_notes: dict[str, list[Fact]] = {}
        self.logs: dict[str, list[tuple[int, str]]] = {}
        self.runbook: str = ""
        # The resources the change ticket covers: what an approver will sign off on.
        self.ticket: frozenset[str] = frozenset()
        # The agent's side of the episode: approvals, how it ended, the call under way.
        self.session = Session()
        # The episode's tools (`blastradius.envs.toolbox.Toolbox`): its family's, set when the
        # scenario is built (`blastradius.envs.builds`); None means the built-in ones.
        self.toolbox: Any = None
        self._by_kind: dict[str, list[str]] = {}
        self._backups: dict[str, list[str]] = {}
        self._dns: dict[str, str] = {}
        self._graph = Graph()
        self._queue: list[Event] = []
        self._seq = 0
        self._handlers: dict[str, EventHandler] = {"set": _apply_set, "recheck": _recheck, **_tool_events()}
        self._watchers: dict[str, list[Watcher]] = {}
        # What world rules remember between the changes they react to, by rule: copied with the
        # world, unlike the rules themselves.
        self.rules: dict[str, Any] = {}
        self._cause = "world"
        self._started = False

    def clone(self) -> World:
        """A copy that shares nothing mutable with this world, event handlers and watchers aside
        (see the module docstring). ``copy.deepcopy`` would take longer than a new build."""
        twin = World.__new__(World)
        twin.policies, twin.now, twin.start_time = self.policies, self.now, self.start_time
        twin.resources = {rid: resource.copy() for rid, resource in self.resources.items()}
        twin.ledger = self.ledger.copy()
        twin.health = dict(self.health)
        twin.owner_notes = {rid: list(notes) for rid, notes in self.owner_notes.items()}
        twin.logs = {rid: list(lines) for rid, lines in self.logs.items()}
        twin.runbook, twin.ticket = self.runbook, self.ticket
        twin.session = self.session.copy()
        twin.toolbox = self.toolbox
        twin._by_kind = {kind: list(ids) for kind, ids in self._by_kind.items()}
        twin._backups = {rid: list(ids) for rid, ids in self._backups.items()}
        twin._dns = dict(self._dns)
        twin._graph = self._graph.copy()
        twin._queue = [_own_event(event) for event in self._queue]
        twin._seq = self._seq
        twin._handlers = dict(self._handlers)
        twin._watchers = {rid: list(watchers) for rid, watchers in self._watchers.items()}
        # Most worlds' rules remember nothing: a deepcopy, even of nothing, costs a few microseconds.
        twin.rules = copy.deepcopy(self.rules) if self.rules else {}
        twin._cause, twin._started = self._cause, self._started
        return twin

    # -- building -------------------------------------------------------------------------

    def add(self, resource: Resource) -> Resource:
        if resource.id in self.resources:
            raise ValueError(f"duplicate resource id {resource.id!r}")
        self.resources[resource.id] = resource
        self._by_kind.setdefault(resource.kind, []).append(resource.id)
        if resource.kind == "backup":
            self._backups.setdefault(resource.attrs["source"], []).append(resource.id)
        elif resource.kind == "dns_record":
            self._dns[resource.attrs["fqdn"]] = resource.id
        self._graph.add(resource.id)
        if self._started:
            self.ledger.record_change(Change(self.now, resource.id, "lifecycle", None, resource.lifecycle, self._cause))
            self._refresh([resource.id])
        return resource

    def connect(self, edge: Edge) -> Edge:
        for end in (edge.consumer, edge.provider):
            if end not in self.resources:
                raise ValueError(f"edge {edge.consumer}->{edge.provider}: unknown resource {end!r}")
        self._graph.connect(edge)
        if self._started:
            self._refresh([edge.consumer])
        return edge

    def disconnect(self, edge: Edge) -> None:
        """Remove ``edge``, one `connect` made: how a scenario rewires the topology it was given
        (an edge hidden, or pointed elsewhere, by removing it and connecting its replacement)."""
        self._graph.disconnect(edge)
        if self._started:
            self._refresh([edge.consumer])

    def contain(self, parent: str, child: str,
                containment: Containment = Containment()) -> None:  # noqa: B008 - frozen: one is shared safely
        """Declare that ``parent`` contains ``child`` (a host its containers, a cluster its
        nodes): ``child`` is never healthier than ``parent``, and ``containment`` declares what
        deleting and restarting ``parent`` do to it. One parent at most, and no cycles."""
        self._known("contain", parent, child)
        self._graph.contain(parent, child, containment)
        if self._started:
            self._refresh([child])

    def couple(self, resource: str, other: str) -> None:
        """Declare that ``other`` lives and dies with ``resource``: deleting or recreating
        ``resource`` destroys it too, as a backup kept on a database's own volume goes with the
        database. Only destruction follows: ``other`` keeps its own health."""
        self._known("couple", resource, other)
        self._graph.couple(resource, other)

    def preset(self, rid: str, **fields: Any) -> None:
        """Set fields of ``rid`` (its ``name`` too) as the episode finds them: its initial state,
        before `start`, which the ledger does not record. `set` before `start` records a change:
        use it for what happened just before the episode opens (a replica emptied minutes ago),
        which scoring may read as such."""
        if self._started:
            raise ValueError(f"preset {rid!r}: the world has started; change it with World.set")
        resource = self.resources[rid]
        for name, value in fields.items():
            if (resource.kind, name) in (("dns_record", "fqdn"), ("backup", "source")):
                raise ValueError(f"preset {rid!r}: the world indexes its {name}; give it when you add it")
            if name == "name":
                resource.name = value
                continue
            before = assign(resource, name, value)
            if resource.kind == "dns_record" and name == "target" and before != value:
                self._graph.retarget(rid, before, value if value in self.resources else None)

    def watch(self, rid: str, watcher: Watcher) -> None:
        """Call ``watcher`` with every `Change` of ``rid``, after it is made, and every
        `ActionEvent` done to it (`notify`): how a world rule reacts to state (a pool below a
        minimum, a herd of reconnects) and to acts that change none (a restart of a healthy
        service) without polling the clock. A watcher must be idempotent: its own changes call
        the watchers of what it changes. What it remembers between calls lives in `rules`: a
        clone shares the watcher itself."""
        if rid not in self.resources:
            raise ValueError(f"cannot watch unknown resource {rid!r}")
        self._watchers.setdefault(rid, []).append(watcher)

    def on(self, kind: str, handler: EventHandler) -> None:
        """Register the handler for scheduled events of ``kind`` (scenarios and chaos add theirs).
        Like a watcher, it keeps what it remembers in `rules`, never in its closure."""
        self._handlers[kind] = handler

    def start(self) -> None:
        """Derive every resource's health and open the health timeline."""
        self._started = True
        health, derive, record, now = self.health, self._derive, self.ledger.record_health, self.now
        for rid in self._graph.upstream_order(self.resources):
            health[rid] = derived = derive(rid)
            record(now, rid, derived)
        # A certificate expiring changes health with no change of state: the clock must look.
        for rid in self.of_kind("certificate"):
            expiry = self.resources[rid].attrs["expires_at"]
            if expiry > self.now:
                self.schedule(expiry - self.now, "recheck", rid)

    # -- reading --------------------------------------------------------------------------

    def get(self, rid: Any) -> Resource:
        """The resource with id ``rid``, or the error an agent gets for an unknown id."""
        resource = self.resources.get(rid) if isinstance(rid, str) else None
        if resource is None:
            hint = did_you_mean(str(rid), self.resources)
            raise ToolError(f"unknown resource '{rid}'.{hint} Use list_resources to see resource ids.")
        return resource

    def of_kind(self, kind: str) -> list[str]:
        return self._by_kind.get(kind, [])

    def backups_of(self, rid: str) -> list[str]:
        """Ids of every backup ever taken of ``rid``, deleted ones included."""
        return self._backups.get(rid, [])

    def dns_record(self, name: str) -> str | None:
        """The id of the DNS record with fully qualified name (or id) ``name``."""
        if name in self.resources and self.resources[name].kind == "dns_record":
            return name
        return self._dns.get(name)

    def providers(self, rid: str) -> tuple[Edge, ...]:
        """Every edge from ``rid`` to what it depends on, hidden ones included (ground truth)."""
        return self._graph.providers[rid]

    def consumers(self, rid: str) -> tuple[Edge, ...]:
        """Every edge into ``rid`` from what depends on it, hidden ones included (ground truth)."""
        return self._graph.consumers[rid]

    def parent(self, rid: str) -> str | None:
        """The id of what contains ``rid`` (`contain`), or None."""
        return self._graph.parents.get(rid)

    def children(self, rid: str) -> tuple[str, ...]:
        """Ids of what ``rid`` contains directly, in the order declared, deleted ones included."""
        return self._graph.contents.get(rid, ())

    def coupled(self, rid: str) -> tuple[str, ...]:
        """Ids of what lives and dies with ``rid`` (`couple`), deleted ones included."""
        return self._graph.coupled(rid)

    def cascade(self, rid: str, action: str) -> list[str]:
        """Ids of the existing resources that ``action`` on ``rid`` also reaches, as declared, in
        the order to act on them; `refusals` names what stops it instead.

        ``delete`` and ``recreate`` destroy what is coupled to ``rid`` and the children whose
        containment cascades a delete, and in turn what goes with those, each before what it
        goes with. ``restart`` (a host's reboot) restarts the children whose containment
        cascades a restart, each after its parent. Any other action reaches nothing else.
        """
        if action in ("delete", "recreate"):
            return self._graph.destruction(rid, self._exists)[0]
        return self._graph.restarts(rid, self._exists) if action == "restart" else []

    def refusals(self, rid: str, action: str) -> list[str]:
        """Ids of the existing children whose containment refuses ``action`` on ``rid`` (a
        ``delete`` or ``recreate``), or on anything it would destroy with it: they must go first."""
        return self._graph.destruction(rid, self._exists)[1] if action in ("delete", "recreate") else []

    def _exists(self, rid: str) -> bool:
        return self.resources[rid].exists

    def _known(self, what: str, *ids: str) -> None:
        for rid in ids:
            if rid not in self.resources:
                raise ValueError(f"{what} {' -> '.join(map(repr, ids))}: unknown resource {rid!r}")

    def log(self, rid: str, line: str, time: int | None = None) -> None:
        self.logs.setdefault(rid, []).append((self.now if time is None else time, line))

    # -- changing -------------------------------------------------------------------------

    def caused_by(self, cause: str) -> None:
        """Attribute the changes that follow to ``cause`` (a call index, an event, chaos)."""
        self._cause = cause

    def set(self, rid: str, name: str, value: Any, *, at: int | None = None) -> None:
        """Change one field of one resource, record it, and re-derive health downstream.

        Before `start`, ``at`` stamps the change with the minute it happened before the episode
        opened (a record emptied 40 minutes ago), so every history read from the ledger (traffic
        through a name, a caller that stopped calling) sees it then, not at the opening."""
        if at is not None and (self._started or at > self.now):
            raise ValueError(f"set {rid!r} at {at}: only a change before the episode opens can be dated")
        resource = self.resources[rid]
        before = assign(resource, name, value)
        if before == value:
            return
        change = Change(self.now if at is None else at, rid, name, before, value, self._cause)
        self.ledger.record_change(change)
        if resource.kind == "dns_record" and name == "target":
            self._graph.retarget(rid, before, value if value in self.resources else None)
        if self._started:
            seeds = [rid]
            if resource.kind == "secret":  # a revoked version breaks consumers still using it
                seeds += [e.consumer for e in self._graph.consumers[rid] if e.kind == "authenticates_with"]
            self._refresh(seeds)
        for watcher in self._watchers.get(rid, ()):
            watcher(self, change)

    def notify(self, rid: str, action: str) -> None:
        """Record that ``action`` was done to ``rid`` (a ``restart``, a ``reload`` of credentials,
        a host's ``reboot``) and tell its watchers, whether or not any state changed. A tool calls
        it once its own changes are made, so a watcher sees the state the action left."""
        if rid not in self.resources:
            raise ValueError(f"cannot notify an action on unknown resource {rid!r}")
        event = ActionEvent(self.now, rid, action, self._cause)
        self.ledger.record_action(event)
        for watcher in self._watchers.get(rid, ()):
            watcher(self, event)

    def schedule(self, delay: int, kind: str, target: str, **payload: Any) -> None:
        if kind not in self._handlers:
            raise ValueError(f"no handler for event kind {kind!r}; register one with World.on")
        self._seq += 1
        heapq.heappush(self._queue, Event(self.now + max(0, delay), self._seq, kind, target,
                                          tuple(payload.items())))

    def pending(self, target: str | None = None) -> Iterator[Event]:
        """Scheduled events not yet fired, optionally only those for ``target``."""
        return (event for event in sorted(self._queue) if target is None or event.target == target)

    def advance(self, minutes: int) -> None:
        """Let ``minutes`` of simulated time pass, firing scheduled events in order."""
        until = self.now + max(0, minutes)
        cause = self._cause
        while self._queue and self._queue[0].time <= until:
            event = heapq.heappop(self._queue)
            self.now = event.time
            self._cause = f"event:{event.kind}"
            self.ledger.record_event(event.time, event.kind, event.target)
            self._handlers[event.kind](self, event)
        self.now = until
        self._cause = cause

    # -- health ---------------------------------------------------------------------------

    def _derive(self, rid: str) -> Health:
        resource, graph = self.resources[rid], self._graph
        worst = own_health(resource, self.now)
        if worst == "down":
            return worst
        parent = graph.parents.get(rid)
        if parent is not None:  # it runs inside its parent: never healthier
            worst = max(worst, self.health.get(parent, "healthy"), key=HEALTH_ORDER.__getitem__)
            if worst == "down":
                return worst
        for edge in graph.providers[rid]:
            provider = self.health.get(edge.provider, "healthy")
            if edge.kind == "authenticates_with" and _stale_credential(resource, self.resources[edge.provider]):
                provider = "down"
            if provider == "healthy":
                continue
            impact: Health = provider if edge.hard else "degraded"
            if HEALTH_ORDER[impact] > HEALTH_ORDER[worst]:
                worst = impact
                if worst == "down":
                    break
        return worst

    def _refresh(self, seeds: Iterable[str]) -> None:
        """Re-derive health from ``seeds`` outwards, stopping where nothing changes."""
        work = list(seeds)
        visits = 0
        consumers, contents = self._graph.consumers, self._graph.contents
        while work:
            rid = work.pop()
            visits += 1
            if visits > 4 * len(self.resources) + 16:
                raise RuntimeError("health propagation did not settle: the dependency graph has a cycle")
            health = self._derive(rid)
            if self.health.get(rid) == health:
                continue
            self.health[rid] = health
            self.ledger.record_health(self.now, rid, health)
            work.extend(edge.consumer for edge in consumers[rid])
            if rid in contents:
                work.extend(contents[rid])


def assign(resource: Resource, name: str, value: Any) -> Any:
    """Put ``value`` in the field ``name`` of ``resource``; return what was there."""
    if name in _TOP_FIELDS:
        before = getattr(resource, name)
        setattr(resource, name, value)
    elif name in resource.attrs:
        before = resource.attrs[name]
        resource.attrs[name] = value
    else:
        raise ValueError(f"{resource.kind} {resource.id!r} has no field {name!r}")
    return before


def _tool_events() -> dict[str, EventHandler]:
    """The handlers of the events built-in tools schedule (`blastradius.envs.rules`): every
    world has them, so no tool registers a handler while it runs."""
    from .rules import TOOL_EVENTS  # rules.py builds on this module: import it once a world is made

    return dict(TOOL_EVENTS)


def _own_event(event: Event) -> Event:
    """``event`` as a clone's queue holds it: an event is immutable, but a dict (list, set) it
    carries becomes a resource's value when it fires, so a clone gets its own."""
    if not any(type(value) in (dict, list, set) for _, value in event.payload):
        return event
    return Event(event.time, event.seq, event.kind, event.target,
                 tuple((name, own_copy(value)) for name, value in event.payload))


def _apply_set(world: World, event: Event) -> None:
    """The generic event: set fields of ``event.target`` (async completions, recoveries)."""
    if world.resources.get(event.target) is None:
        return
    for name, value in event.payload:
        world.set(event.target, name, value)


def _stale_credential(consumer: Resource, secret: Resource) -> bool:
    """The consumer authenticates with a version of ``secret`` that is no longer active."""
    version = consumer.attrs.get("credentials", {}).get(secret.id)
    return version is not None and version not in secret.attrs["versions"]


def _recheck(world: World, event: Event) -> None:
    """Re-derive health of ``event.target`` when time alone changes it (expiry)."""
    if event.target in world.resources:
        world._refresh([event.target])
