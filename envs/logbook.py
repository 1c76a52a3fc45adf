"""What a resource's logs hold over any window: its recorded lines, its routine lines, and the
lines of its connections to what it uses.

Recorded lines are the ones scenarios, rules and tools write with `World.log`: events, stamped
when they happened. Routine lines and connection lines are not stored: they are derived at read
time from what the tools show anyway (a resource's health at each minute, its declared and
hidden dependencies' use), on a clock grid fixed by ``zlib.crc32`` of the resource id, so a day
of history costs nothing until someone reads it and the same seed reads the same lines.

A resource logs one routine line every 20 to 30 minutes while it is up (none while it is down,
a WARN while it is degraded); they name no resource and carry no number, so they add nothing to
what the referee counts as seen. A consumer logs one line an hour per connection it uses, at
its last use within the hour, with the health its provider had then (every use, for a
connection used hourly or less often: those are news, never left out for routine lines).
A database whose replication the logs evidence writes its progress while it catches up,
re-seeds or stalls (`blastradius.envs.replication`). Only the lines a read shows are made, so a
month's window costs what it shows.
"""

from __future__ import annotations

import bisect
import zlib
from dataclasses import dataclass
from typing import Protocol

from .ledger import HealthPoint
from .replication import progress, progress_text, reported
from .resources import Edge
from .traffic import sending
from .world import World

__all__ = ["LogLine", "ROUTINE", "lines_between", "segments", "tick_of"]

# What each kind writes while it is up, as an operator would expect to see it.
ROUTINE = {
    "service": "health check passed; serving requests",
    "database": "checkpoint complete",
    "cache": "memory and eviction stats within limits",
    "queue": "consumer heartbeat: processing normally",
    "load_balancer": "target health checks passing",
    "fleet": "periodic inventory check complete",
    "host": "hypervisor heartbeat ok",
    "network": "routing keepalive: sessions established",
    "job": "scheduler heartbeat: waiting for the next run",
    "tenant": "access log rotated",
    "bucket": "access log rotated",
    "app_install": "webhook heartbeat ok",
}
_HOUR = 60
_SLOW = "WARN health check slow: responses degraded"


@dataclass(frozen=True, order=True)
class LogLine:
    """One line of a resource's log. ``routine`` lines may be left out of a long window first."""

    time: int
    text: str
    routine: bool = False


def tick_of(rid: str) -> tuple[int, int]:
    """The routine clock of ``rid``: (period, phase) in minutes, stable across runs."""
    period = 20 + zlib.crc32(f"{rid}/log-period".encode()) % 11
    return period, zlib.crc32(f"{rid}/log-phase".encode()) % period


def lines_between(world: World, rid: str, start: int, end: int, limit: int | None = None) -> tuple[list[LogLine], int]:
    """The lines of ``rid``'s log stamped in ``[start, end]``, in time order, at most ``limit`` of
    them (leaving out routine lines first, oldest first, then the oldest of the rest), and how
    many were left out. Only the lines shown are made: a month's window costs what it shows."""
    res = world.resources[rid]
    news = [LogLine(time, text) for time, text in world.logs.get(rid, ()) if start <= time <= end]
    unseen = 0  # news lines not even made: older than the newest ``limit`` of a source
    routine: list[_Source] = []
    if res.kind in ROUTINE:
        routine.append(_Heartbeat(world, rid, start, end))
    if res.kind == "database" and reported(world, res, "logs"):
        progress = _Progress(world, rid, start, end)
        made = progress.newest(progress.count() if limit is None else limit)
        unseen += progress.count() - len(made)
        news += made
    for edge in world.providers(rid):
        if "logs" not in edge.evidence:
            continue
        source = _Connection(world, edge, start, end)
        if edge.period >= _HOUR:  # a connection used hourly or less often (a job's) is news
            made = source.newest(source.count() if limit is None else limit)
            unseen += source.count() - len(made)
            news += made
        else:
            routine.append(source)
    news.sort()
    room = len(news) + sum(source.count() for source in routine) if limit is None else limit
    kept = news[max(0, len(news) - room):]
    room -= len(kept)
    extra = sorted(line for source in routine for line in source.newest(room))
    kept = sorted(kept + extra[max(0, len(extra) - room):])
    total = unseen + len(news) + sum(source.count() for source in routine)
    return kept, total - len(kept)


class _Source(Protocol):
    """Lines derived at read time: how many fall in the window, and the newest of them."""

    def count(self) -> int: ...

    def newest(self, n: int) -> list[LogLine]: ...


class _Heartbeat:
    """A resource's routine line at every tick of its clock while it is up."""

    def __init__(self, world: World, rid: str, start: int, end: int) -> None:
        self.text = ROUTINE[world.resources[rid].kind]
        self.period, phase = tick_of(rid)
        self.segments = segments(world.ledger.health_timeline(rid), world.start_time, start, end)
        self.phase = phase

    def _ticks(self, low: int, high: int) -> range:
        return range(low + (self.phase - low) % self.period, high + 1, self.period)

    def count(self) -> int:
        return sum(len(self._ticks(low, high)) for low, high, health in self.segments if health != "down")

    def newest(self, n: int) -> list[LogLine]:
        found: list[LogLine] = []
        for low, high, health in reversed(self.segments):
            if health == "down":
                continue
            text = self.text if health == "healthy" else _SLOW
            for time in reversed(self._ticks(low, high)):
                if len(found) >= n:
                    return found
                found.append(LogLine(time, text, routine=True))
        return found


class _Progress:
    """A replica's progress line every few minutes while it catches up, re-seeds or stalls, from
    when that began (`blastradius.envs.replication`): news, with the figures of each minute."""

    def __init__(self, world: World, rid: str, start: int, end: int) -> None:
        self.world = world
        self.lines = progress(world, rid, start, end)

    def count(self) -> int:
        return len(self.lines)

    def newest(self, n: int) -> list[LogLine]:
        shown = self.lines[max(0, len(self.lines) - n):] if n > 0 else []
        return [LogLine(minute, progress_text(period, minute, self.world)) for minute, period in shown]


class _Connection:
    """A consumer's line an hour per connection, at its last use within the hour: (tick - 60, tick]."""

    def __init__(self, world: World, edge: Edge, start: int, end: int) -> None:
        self.edge, self.start, self.end = edge, start, end
        # A consumer logs a use only while it sends (`blastradius.envs.traffic.sending`): a
        # crashed or stopped one connects to nothing.
        self.up = sending(world, edge.consumer)
        self.always = any(low <= start and end < high for low, high in self.up)
        self.provider = world.resources[edge.provider]
        self.history = world.ledger.health_timeline(edge.provider)
        self.opened = world.start_time
        offset = zlib.crc32(f"{edge.consumer}->{edge.provider}".encode()) % _HOUR
        self.ticks = range(start + (offset - start) % _HOUR, end + _HOUR, _HOUR)

    def _used(self, tick: int) -> int | None:
        """The last use within the hour ending at ``tick``, clipped to the window; None if none."""
        low, high = max(self.start, tick - _HOUR + 1), min(self.end, tick)
        if low > high or not self.edge.uses_between(low, high + 1):
            return None
        last = high - (high - self.edge.phase) % self.edge.period
        return last if self.always or any(a <= last < b for a, b in self.up) else None

    def count(self) -> int:
        if not self.always:  # the consumer stopped sending within the window: count line by line
            return sum(self._used(tick) is not None for tick in self.ticks)
        if self.edge.period >= _HOUR:  # at most one use an hour: one line per use
            return self.edge.uses_between(self.start, self.end + 1)
        # Used more often than hourly: every whole hour holds a use; the clipped ends may not.
        ends = {self.ticks[0], self.ticks[-1]}
        whole = sum(1 for tick in ends if tick - _HOUR + 1 >= self.start and tick <= self.end)
        return len(self.ticks) - len(ends) + whole + sum(
            1 for tick in ends if not (tick - _HOUR + 1 >= self.start and tick <= self.end) and self._used(tick) is not None)

    def newest(self, n: int) -> list[LogLine]:
        found: list[LogLine] = []
        for tick in reversed(self.ticks):
            if len(found) >= n:
                break
            used = self._used(tick)
            if used is None:
                continue
            health = _health_at(self.history, used, self.opened) or "healthy"
            text = _connection(self.edge.kind, self.provider.name, self.provider.id, health)
            found.append(LogLine(used, text, routine=self.edge.period < _HOUR))
        return found


def segments(timeline: list[HealthPoint], opened: int, start: int, end: int) -> list[tuple[int, int, str]]:
    """The window ``[start, end]`` cut where the health changes: (first minute, last minute, health).
    Before the episode a resource has the health it started with; before one made during the
    episode existed, it is down (it writes nothing)."""
    if not timeline:
        return []
    points = [(point.time, point.health) for point in timeline]
    if points[0][0] > opened:
        points.insert(0, (start, "down"))
    found = []
    for i, (time, health) in enumerate(points):
        low = start if i == 0 else max(start, time)
        high = min(end, points[i + 1][0] - 1) if i + 1 < len(points) else end
        if low <= high:
            found.append((low, high, health))
    return found


def _connection(kind: str, name: str, pid: str, health: str) -> str:
    if health == "down":
        return f"ERROR {kind} {name} ({pid}) failed: unavailable"
    if health == "degraded":
        return f"WARN {kind} {name} ({pid}) slow or incomplete"
    return f"{kind} {name} ({pid}) ok"


def _health_at(timeline: list[HealthPoint], time: int, opened: int) -> str | None:
    """The health a timeline gives at ``time``; before the episode (``opened``), the health the
    resource started with; None before a resource made during the episode existed."""
    if not timeline:
        return None
    at = bisect.bisect_right(timeline, time, key=lambda point: point.time)
    if at:
        return timeline[at - 1].health
    return timeline[0].health if timeline[0].time <= opened else None
