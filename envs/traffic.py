"""Traffic: who sent requests to a resource over any window. One source for every view of it:
``traffic`` (the callers), ``metrics`` (their total) and a DNS record's own view of its lookups.

A consumer sends requests over an edge that leaves ``traffic`` evidence at the edge's period
(edges that are no flow of requests aside: running on a pool, holding a certificate), for the
minutes it is up (not down: a deleted, stopped or crashed service sends nothing). A DNS
name passes requests on: what is sent to a record reaches whatever the record targeted at that
minute, so the target's traffic shows them, through the name, for exactly the minutes the record
pointed at it, and a record moved elsewhere leaves its history with its old target. A name nobody
in the cloud uses is a public one: its ``resolves`` edge stands for its outside visitors.

Histories come from the ledger (health points, changes of a record's target), so a window of
30 days before the episode sees the state the episode opened with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .resources import Edge, Resource, own_health
from .world import World, assign

__all__ = ["Caller", "Spans", "callers", "requests", "sending"]

Spans = list[tuple[int, int]]  # half-open minute intervals [low, high), sorted, disjoint
_EVER = -(1 << 62)  # the start of time; its negation the end
# Dependencies that are no flow of requests: a name passes them on (its consumers are counted at
# its target), a service runs on a pool without calling it, a load balancer holds a certificate.
_NO_REQUESTS = frozenset({"resolves", "runs_on", "terminates_tls"})


class Caller(NamedTuple):
    """``sent`` requests from ``consumer`` (``""``: outside visitors of the name ``via``) over
    an edge of ``kind``, directly (``via`` empty) or through the DNS record ``via``."""

    consumer: str
    sent: int
    kind: str
    via: str


def requests(world: World, rid: str, start: int, end: int) -> int:
    """How many requests reached ``rid`` in the minutes ``[start, end)``."""
    return sum(caller.sent for caller in callers(world, rid, start, end))


def callers(world: World, rid: str, start: int, end: int) -> list[Caller]:
    """Who sent requests to ``rid`` in the minutes ``[start, end)``, and how many: every caller
    with at least one, in the order of the edges."""
    return [caller for caller in _arriving(world, rid, [(start, end)], "", {rid}) if caller.sent]


def _arriving(world: World, rid: str, spans: Spans, via: str, seen: set[str]) -> list[Caller]:
    found: list[Caller] = []
    res = world.resources[rid]
    for edge in world.consumers(rid):
        if edge.kind not in _NO_REQUESTS and "traffic" in edge.evidence:
            found.append(Caller(edge.consumer, _uses(world, edge, spans), edge.kind, via))
    if res.kind == "dns_record" and not _used_inside(world, rid):
        outside = next((e for e in world.providers(rid) if e.kind == "resolves" and "traffic" in e.evidence), None)
        if outside is not None:
            found.append(Caller("", _count(outside, spans), "resolves", via or rid))
    for record, pointed in _names_of(world, rid, spans):
        if record not in seen:
            found += _arriving(world, record, pointed, via or record, seen | {record})
    return found


def _used_inside(world: World, record: str) -> bool:
    return any(edge.kind not in _NO_REQUESTS and "traffic" in edge.evidence for edge in world.consumers(record))


def _uses(world: World, edge: Edge, spans: Spans) -> int:
    """The consumer's uses of ``edge`` within ``spans`` while it was sending."""
    return _count(edge, _intersect(spans, sending(world, edge.consumer)))


def sending(world: World, rid: str) -> Spans:
    """The minutes ``rid`` sent requests: while it existed and was not itself stopped, deleted or
    crashed. A caller whose own dependency is down still tries (and fails): it keeps sending."""
    return _while(world, rid, lambda state: own_health(state, world.now) != "down")


def _while(world: World, rid: str, holds: Callable[[Resource], bool]) -> Spans:
    """The minutes ``rid``'s state made ``holds`` true, replayed from the ledger's changes, dated
    ones before the episode included (before the first change, the state it replaced). Most
    resources never change: their state holds or fails for all time, read without a scan of
    the ledger (``metrics`` and ``traffic`` ask this of every caller)."""
    if not world.ledger.was_changed(rid):
        return [(_EVER, -_EVER)] if holds(world.resources[rid]) else []
    moves = sorted((c for c in world.ledger.changes if c.resource == rid), key=lambda c: c.time)
    state = world.resources[rid].copy()
    for move in reversed(moves):
        assign(state, move.field, move.before)
    spans: Spans = []
    since = _EVER if holds(state) else None
    for move in moves:
        assign(state, move.field, move.after)
        if holds(state):
            since = move.time if since is None else since
        elif since is not None:
            spans.append((since, move.time))
            since = None
    if since is not None:
        spans.append((since, -_EVER))
    return spans


def _count(edge: Edge, spans: Spans) -> int:
    return sum(edge.uses_between(low, high) for low, high in spans)


def _names_of(world: World, rid: str, spans: Spans) -> list[tuple[str, Spans]]:
    """The DNS records that pointed at ``rid`` within ``spans``, each with the minutes it did."""
    records = {e.consumer for e in world.consumers(rid) if e.kind == "resolves"}
    records |= {c.resource for c in world.ledger.changes if c.field == "target" and rid in (c.before, c.after)}
    found = []
    for record in sorted(records):
        pointed = _intersect(spans, _while(world, record, lambda state: state.attrs["target"] == rid))
        if pointed:
            found.append((record, pointed))
    return found


def _intersect(a: Spans, b: Spans) -> Spans:
    return [(max(x, y), min(p, q)) for x, p in a for y, q in b if max(x, y) < min(p, q)]
