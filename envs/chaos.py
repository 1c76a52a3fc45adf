"""Chaos: seeded faults in the infrastructure and in the tool layer itself.

Infrastructure faults (an instance crash, a zone outage, latency, a full disk, a certificate
expiry, replication lag, throttling) are scheduled on the world's clock and end by themselves.
They are applied to the agent's world and to the no-op counterfactual alike, so damage they do
is never charged to the agent. They strike only bystanders: resources outside everything the
task touches or depends on, so a careful agent can still succeed.

Tool-layer faults hit the agent's calls: a 429 (nothing happened: retry), a timeout after which
the change did or did not happen (check before retrying), and a stale read (an observation
returns what the same call returned earlier). One uniform draw per call keeps them
deterministic for a given seed and sequence of calls.

Level 0 turns chaos off; each level above multiplies the rates (`tool_fault_rates`): at level
``n`` a call is throttled with probability ``n x`` `TOOL_FAULT_RATES` ``.throttle``, and so on.
Every fault is a step, so the step budgets of the families (`Family.step_budget`) are sized for a
careful solution at chaos 3 (``blastradius budgets``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from . import builds
from .scenarios.base import Scenario
from .topology import pick
from .world import DAY, World

__all__ = ["CHAOS_LEVELS", "DEFAULT_CHAOS", "TOOL_FAULT_RATES", "ChaosPlan", "Fault", "ToolFaultRates", "ToolFaults",
           "plan_chaos", "tool_fault_rates"]

DEFAULT_CHAOS = 1
CHAOS_LEVELS = (0, 1, 2, 3)
# Which kinds of resource each infrastructure fault can hit, and the state it puts them in.
_INFRA: dict[str, tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]] = {
    "instance_crash": (("service", "cache"), {"fault": "crashed"}, {"fault": ""}),
    "latency": (("service", "cache", "load_balancer"), {"fault": "latency"}, {"fault": ""}),
    "disk_full": (("database", "queue"), {"fault": "disk_full"}, {"fault": ""}),
    "replication_lag": (("database",), {"replication_lag_minutes": 45}, {"replication_lag_minutes": 0}),
    "throttling": (("service", "queue", "bucket"), {"fault": "throttled"}, {"fault": ""}),
    "certificate_expiry": (("certificate",), {}, {}),
    "zone_outage": ((), {"fault": "zone_outage"}, {"fault": ""}),
}
_KINDS = tuple(_INFRA)
@dataclass(frozen=True)
class ToolFaultRates:
    """How often the tool layer fails a call, each a probability per call (the draws are disjoint).

    Attributes:
        throttle: a 429, for a call of any tool: nothing happened.
        timeout: a timeout, for a call of a tool whose chaos class is ``timeout`` (a change or a
            snapshot: `blastradius.envs.tool_specs`); half of them, the change still happened.
        stale: a stale read, for a call of a tool whose chaos class is ``stale`` (an observation):
            it returns what the same call returned before, if it was made before.
    """

    throttle: float
    timeout: float
    stale: float


TOOL_FAULT_RATES = ToolFaultRates(throttle=0.02, timeout=0.015, stale=0.02)
"""The rates at chaos level 1; level ``n`` multiplies them by ``n``."""


def tool_fault_rates(level: int) -> ToolFaultRates:
    """The tool layer's fault rates at chaos ``level`` (all zero at level 0)."""
    if level not in CHAOS_LEVELS:
        raise ValueError(f"chaos level must be one of {CHAOS_LEVELS}, got {level}")
    base = TOOL_FAULT_RATES
    return ToolFaultRates(base.throttle * level, base.timeout * level, base.stale * level)


@dataclass(frozen=True)
class Fault:
    """One infrastructure fault: ``kind`` hits ``targets`` from ``start`` for ``duration`` minutes."""

    kind: str
    targets: tuple[str, ...]
    start: int
    duration: int


@dataclass
class ToolFaults:
    """The tool layer's faults for one episode, drawn call by call from their own generator,
    seeded with ``seed``."""

    seed: int
    throttle: float
    timeout: float
    stale: float
    _seen: dict[str, str] = field(default_factory=dict)

    @cached_property
    def rng(self) -> np.random.Generator:
        # Made at the first draw: seeding one costs about as much as a tool call, and the
        # no-op counterfactual, armed like the agent's world, is never called at all.
        return np.random.default_rng(self.seed)

    def draw(self, chaos: str) -> tuple[str, bool]:
        """The fault for a call of a tool of chaos class ``chaos`` (`ToolSpec.chaos`): ``""``,
        ``throttled``, ``timeout`` or ``stale``, and, for a timeout, whether the operation still
        happened."""
        u = float(self.rng.random())
        if u < self.throttle:
            return "throttled", False
        u -= self.throttle
        if u < self.timeout and chaos == "timeout":
            return "timeout", u < self.timeout / 2
        u -= self.timeout
        if u < self.stale and chaos == "stale":
            return "stale", False
        return "", False

    def read(self, name: str, chaos: str, kwargs: dict[str, Any], text: str, stale: bool) -> str:
        """What a read returns: ``text``, or on a stale read what the same call returned before."""
        if chaos != "stale":
            return text
        key = f"{name}:{json.dumps(kwargs, sort_keys=True)}"
        earlier = self._seen.get(key)
        self._seen[key] = text
        return earlier if stale and earlier is not None else text


@dataclass(frozen=True)
class ChaosPlan:
    level: int
    faults: tuple[Fault, ...]
    tool_seed: int

    def apply(self, world: World) -> None:
        """Schedule the infrastructure faults on ``world`` and arm its tool layer."""
        for fault in self.faults:
            _, begin, end = _INFRA[fault.kind]
            for rid in fault.targets:
                if fault.kind == "certificate_expiry":
                    now = world.now
                    world.schedule(fault.start, "set", rid, expires_at=now + fault.start)
                    world.schedule(fault.start + fault.duration, "set", rid, expires_at=now + 365 * DAY)
                    continue
                world.schedule(fault.start, "set", rid, **begin)
                world.schedule(fault.start + fault.duration, "set", rid, **end)
        if self.level:
            rates = tool_fault_rates(self.level)
            world.session.tool_faults = ToolFaults(self.tool_seed,
                                                   rates.throttle, rates.timeout, rates.stale)


def plan_chaos(rng: np.random.Generator, scenario: Scenario, level: int) -> ChaosPlan:
    """Draw the chaos of one episode from ``rng`` (after the scenario was built from it)."""
    if level not in CHAOS_LEVELS:
        raise ValueError(f"chaos level must be one of {CHAOS_LEVELS}, got {level}")
    if level == 0:
        return ChaosPlan(0, (), 0)
    struck = builds.derived(scenario, _bystanders)
    faults = []
    for _ in range(2 * level):
        kind = pick(rng, _KINDS)
        if kind == "zone_outage":
            region = pick(rng, struck.regions)
            targets = struck.in_region.get(region, ())
        else:
            pool = struck.pools[kind]
            targets = (pick(rng, pool),) if pool else ()
        start, duration = int(rng.integers(0, 240)), int(rng.integers(15, 120))
        if targets:
            faults.append(Fault(kind, targets, start, duration))
    return ChaosPlan(level, tuple(faults), int(rng.integers(2**31)))


class _Bystanders(NamedTuple):
    """What chaos may strike in a scenario, in the order `plan_chaos` draws from."""

    regions: tuple[str, ...]  # where the bystanders are, sorted ("none" if nowhere)
    in_region: dict[str, tuple[str, ...]]  # region -> the services and caches there a zone outage hits
    pools: dict[str, tuple[str, ...]]  # fault kind -> the bystanders it may strike


def _bystanders(scenario: Scenario) -> _Bystanders:
    """The resources chaos may strike: those outside everything the task needs (`_critical`)."""
    world = scenario.world
    spared = _critical(world, scenario)
    bystanders = [world.resources[rid] for rid in world.resources if rid not in spared]
    in_region: dict[str, tuple[str, ...]] = {}
    for res in bystanders:
        if res.kind in ("service", "cache"):
            in_region[res.region] = (*in_region.get(res.region, ()), res.id)
    return _Bystanders(tuple(sorted({res.region for res in bystanders} or {"none"})), in_region,
                       {kind: tuple(res.id for res in bystanders if res.kind in kinds)
                        for kind, (kinds, _, _) in _INFRA.items()})


def _critical(world: World, scenario: Scenario) -> set[str]:
    """Every resource the task names, touches or depends on, with all their providers."""
    named = set(scenario.scope) & world.resources.keys()
    named |= _named(world, scenario.briefing, scenario.facts, scenario.reference, scenario.reckless)
    spared, todo = set(named), list(named)
    while todo:
        for edge in world.providers(todo.pop()):
            if edge.provider not in spared:
                spared.add(edge.provider)
                todo.append(edge.provider)
    return spared


def _named(world: World, *values: Any) -> set[str]:
    """The world's resources that a string of ``values`` names, at any depth of dicts (their
    values), lists, tuples and sets: a string that is an id, or prose that has one as a word of
    its own. Found by the world's own ids, never by what ids look like, so a custom family's
    ``sqlsrv-01`` is spared like a built-in ``svc-1a2b3c``."""
    texts, todo = [], list(values)
    while todo:
        value = todo.pop()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            todo.extend(value)
    text = "\n".join(texts)
    return {rid for rid in world.resources if _mentions(text, rid)}


def _mentions(text: str, rid: str) -> bool:
    """``rid`` is in ``text`` as a word of its own: a letter, digit, underscore or dash either side
    would make it part of a longer one (``db-1`` is not in ``db-10``)."""
    start = text.find(rid)
    while start >= 0:
        end = start + len(rid)
        if not _joins(text[start - 1:start]) and not _joins(text[end:end + 1]):
            return True
        start = text.find(rid, start + 1)
    return False


def _joins(char: str) -> bool:
    return char.isalnum() or char in "_-"
