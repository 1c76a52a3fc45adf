"""Health over simulated time, read from the ledger: how long each resource was down or degraded.

Downtime is integrated over the episode, so "delete and recreate" is charged for the hours in
between even when the end state looks healthy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .ledger import HealthPoint, Ledger

__all__ = ["Outage", "outage_minutes", "outages"]


@dataclass(frozen=True)
class Outage:
    """Minutes a resource spent down and degraded within a time span."""

    down: int = 0
    degraded: int = 0


def outage_minutes(points: Iterable[HealthPoint], start: int, end: int) -> Outage:
    """Integrate one resource's health timeline over ``[start, end)``."""
    down = degraded = 0
    health, since = "healthy", start
    for point in points:
        if point.time > since:
            span = min(point.time, end) - since
            if span > 0:
                down += span if health == "down" else 0
                degraded += span if health == "degraded" else 0
            since = max(since, min(point.time, end))
        health = point.health
    if end > since:
        down += end - since if health == "down" else 0
        degraded += end - since if health == "degraded" else 0
    return Outage(down, degraded)


def outages(ledger: Ledger, start: int, end: int, resources: Iterable[str] | None = None) -> dict[str, Outage]:
    """The outage over ``[start, end)`` of ``resources`` (default: every resource in the ledger)."""
    ids = resources if resources is not None else {point.resource for point in ledger.health}
    return {rid: outage_minutes(ledger.health_timeline(rid), start, end) for rid in ids}
