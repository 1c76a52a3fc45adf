"""The ledger: ground truth of an episode, append-only, never shown to the agent.

It holds every tool call with its arguments and the exact observation returned, every state
change with its cause, every action done to a resource (`ActionEvent`: a restart changes no
state, yet it happened), and the health timeline of every resource. Scoring reads only this and
the final state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["ActionEvent", "CallRecord", "Change", "HealthPoint", "Ledger", "Violation"]


# The ledger's records are NamedTuples, not frozen dataclasses: they are made on every step and
# every state change, and a NamedTuple is several times cheaper to create.


class Change(NamedTuple):
    """One attribute of one resource changed at ``time``; ``cause`` is a call index or an event."""

    time: int
    resource: str
    field: str
    before: Any
    after: Any
    cause: str


class ActionEvent(NamedTuple):
    """``action`` was done to ``resource`` at ``time`` (a restart, a reload, a reboot), whether or
    not it changed any state: a restart of a healthy service changes nothing a `Change` could
    show, yet a world rule may react to it (a restarted client reconnects)."""

    time: int
    resource: str
    action: str
    cause: str


class HealthPoint(NamedTuple):
    time: int
    resource: str
    health: str


# What `HealthPoint(...)` returns, without the Python function a NamedTuple's ``__new__`` is: a
# world records a point per resource when it starts, and another whenever a health changes.
_new_tuple = tuple.__new__


class CallRecord(NamedTuple):
    """One step of the agent: what it sent, what it got back, what it changed."""

    index: int  # type: ignore[assignment]  # the step's number; it hides tuple.index, which nothing calls
    start: int
    end: int
    name: str
    arguments: Any
    observation: str
    error: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Violation:
    """A policy the agent broke: ``kind`` is ``unapproved``, ``freeze`` or ``out_of_scope``."""

    time: int
    call: int
    kind: str
    action: str
    resource: str


@dataclass
class Ledger:
    calls: list[CallRecord] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    health: list[HealthPoint] = field(default_factory=list)
    events: list[tuple[int, str, str]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    actions: list[ActionEvent] = field(default_factory=list)
    # Indexes over ``health`` so scoring costs what changed, not the size of the world.
    # Tuples, replaced on each new point: a copy of the ledger (two per episode) shares them.
    _timelines: dict[str, tuple[HealthPoint, ...]] = field(default_factory=dict, repr=False)
    _moved: set[str] = field(default_factory=set, repr=False)
    _touched: set[str] = field(default_factory=set, repr=False)

    def copy(self) -> Ledger:
        """A ledger with the same records that records on its own (`blastradius.envs.world.World.clone`);
        the records themselves are immutable and shared."""
        return Ledger(list(self.calls), list(self.changes), list(self.health), list(self.events),
                      list(self.violations), list(self.actions),
                      dict(self._timelines),
                      set(self._moved), set(self._touched))

    def record_change(self, change: Change) -> None:
        self.changes.append(change)
        self._touched.add(change.resource)

    def record_health(self, time: int, resource: str, health: str) -> None:
        point = _new_tuple(HealthPoint, (time, resource, health))
        self.health.append(point)
        timeline = self._timelines[resource] = (*self._timelines.get(resource, ()), point)
        if len(timeline) > 1:
            self._moved.add(resource)

    def record_event(self, time: int, kind: str, target: str) -> None:
        self.events.append((time, kind, target))

    def record_action(self, action: ActionEvent) -> None:
        self.actions.append(action)

    def record_violation(self, violation: Violation) -> None:
        self.violations.append(violation)

    def record_call(
        self, start: int, end: int, name: str, arguments: Any, observation: str, error: str,
        first_change: int,
    ) -> CallRecord:
        """Close a call: its changes are those recorded since ``first_change`` that it caused
        (scheduled events that fired while its time passed are not its doing)."""
        index = len(self.calls)
        cause = f"call:{index}"
        changes = () if first_change == len(self.changes) else tuple(
            change for change in self.changes[first_change:] if change.cause == cause)
        record = CallRecord(index, start, end, name, arguments, observation, error, changes)
        self.calls.append(record)
        return record

    def health_timeline(self, resource: str) -> list[HealthPoint]:
        return list(self._timelines.get(resource, ()))

    def moved(self) -> set[str]:
        """Resources whose health changed at least once after their first point."""
        return set(self._moved)

    def touched(self) -> set[str]:
        """Resources with at least one recorded change, whatever caused it."""
        return set(self._touched)

    def was_changed(self, resource: str) -> bool:
        """Whether ``resource`` has a recorded change (`touched` without its copy)."""
        return resource in self._touched
