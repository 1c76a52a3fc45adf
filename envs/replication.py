"""Replication progress as a function of simulated time: the one model every tool reads.

A database's state holds its replication as of the minute it was last set: ``records`` (and
``fabricated_records``), ``replication_lag_minutes``, ``replication_source``, and
``writes_per_hour`` (how fast a database that replicates from nothing takes new records while it
is up). What the tools show at any later minute is derived here, at read time, from that state,
the ledger (when each field was last set, when the database was down) and the world's own
schedule (the event that will end a catch-up or a re-seed): nothing is stored per minute and no
event is scheduled for it, so the same seed reads the same figures.

- A database that replicates from nothing holds ``records`` plus the writes it took since
  ``records`` was last set, at ``writes_per_hour`` for every minute it was not down.
- A replica streaming with no lag holds what its source holds.
- A replica whose lag a pending event will set to 0 is *catching up*: its lag shrinks steadily
  from the figure last set to 0 at that event.
- A replica with a lag and nothing scheduled to clear it is *stalled*: it applies nothing, so
  its lag grows a minute a minute and its record count stays where it stopped.
- A replica being re-seeded (``lifecycle`` creating, with a pending event that completes it)
  holds the share of its source's records copied so far, in proportion to the time elapsed.
- A replica that only serves stale reads reports no lag figure (``None``, NULL in SQL).

Where the figures show is decided here too: the control plane reports a database's replication
figures where it knows the stream (a labelled role, or a declared stream), monitoring where the
stream shows in its traffic, and the logs where it shows in logs. A self-managed host whose
stream shows in none of them reports nothing, the same on both ends: the database itself
(``run_statement``) always answers truthfully.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .resources import Resource
from .timeline import outage_minutes
from .world import Event, World, clock

__all__ = ["Channel", "Stream", "progress", "progress_text", "records", "replication_source", "reported", "status",
           "stream", "writes_per_hour"]

Channel = Literal["describe", "traffic", "logs"]
State = Literal["none", "streaming", "catching_up", "stalled", "reseeding", "unknown", "empty"]

# A replica's log writes a progress line this often while it catches up, re-seeds or stalls.
_LOG_EVERY = {"catching_up": 15, "reseeding": 15, "stalled": 60}


@dataclass(frozen=True)
class Stream:
    """A database's replication at one minute.

    ``lag`` is in minutes (None where it is not known); ``since`` is when the current state
    began (the lag or the re-seed was last set), ``until`` when a catch-up or re-seed completes;
    ``copied`` of ``total`` records are copied by a re-seed.
    """

    state: State
    source: str
    lag: int | None
    since: int
    until: int | None = None
    lag_then: int = 0
    copied: int = 0
    total: int = 0

    def lag_at(self, minute: int) -> int:
        """The lag at ``minute`` (between ``since`` and now) of a catching-up or stalled replica."""
        if self.state == "stalled":
            return self.lag_then + minute - self.since
        if self.state == "catching_up" and self.until is not None:
            span = max(1, self.until - self.since)
            return -(-self.lag_then * max(0, self.until - minute) // span)  # rounded up: 0 only once caught up
        return self.lag or 0

    def copied_at(self, minute: int) -> int:
        """The records a re-seed has copied by ``minute``."""
        span = max(1, (self.until or self.since) - self.since)
        return self.total * min(span, max(0, minute - self.since)) // span


def replication_source(world: World, res: Resource) -> str:
    """The database ``res`` replicates from: its declared source, else the database its
    replication stream reads (a self-managed replica the control plane does not label). A
    database labelled primary replicates from nothing."""
    if res.attrs["role"] == "primary":
        return ""
    source: str = res.attrs["replication_source"]
    if source in world.resources and world.resources[source].kind == "database":
        return source
    return next((edge.provider for edge in world.providers(res.id) if edge.kind == "reads"
                 and edge.provider != res.id and world.resources[edge.provider].kind == "database"), "")


def stream(world: World, rid: str) -> Stream:
    """The replication of database ``rid`` now."""
    res = world.resources[rid]
    source = replication_source(world, res)
    done = _pending(world, rid, lambda payload: payload.get("lifecycle") == "active" and "records" in payload)
    if res.lifecycle == "creating" and done is not None and source:
        since = _last_set(world, rid, "lifecycle")
        payload = dict(done.payload)
        total = int(payload["records"]) + int(payload.get("fabricated_records", 0))
        seeding = Stream("reseeding", source, None, since, done.time, total=total)
        return Stream("reseeding", source, None, since, done.time, copied=seeding.copied_at(world.now), total=total)
    if not res.exists or res.fault == "emptied":
        return Stream("empty", source, None, world.now)
    if res.fault == "stale_reads":
        return Stream("unknown", source, None, world.now)
    lag, since = int(res.attrs["replication_lag_minutes"]), _last_set(world, rid, "replication_lag_minutes")
    if lag <= 0:
        return Stream("streaming" if source else "none", source, 0, since)
    caught = _pending(world, rid, lambda payload: payload.get("replication_lag_minutes") == 0)
    state: State = "catching_up" if caught is not None else "stalled"
    now = Stream(state, source, None, since, caught.time if caught else None, lag_then=lag)
    return Stream(state, source, now.lag_at(world.now), since, now.until, lag_then=lag)


def records(world: World, rid: str) -> int:
    """The records database ``rid`` holds now (invented ones included, as a count sees them)."""
    for _ in range(len(world.resources)):  # a streaming replica holds what its source holds
        now = stream(world, rid)
        if now.state == "reseeding":
            return now.copied
        if now.state != "streaming" or world.health[rid] == "down":
            break
        rid = now.source
    res = world.resources[rid]
    held = int(res.attrs["records"]) + int(res.attrs["fabricated_records"])
    if res.attrs["writes_per_hour"] and res.exists and not replication_source(world, res):
        since = _last_set(world, rid, "records")
        down = outage_minutes(world.ledger.health_timeline(rid), since, world.now).down
        held += int(res.attrs["writes_per_hour"]) * max(0, world.now - since - down) // 60
    return held


def reported(world: World, res: Resource, channel: Channel) -> bool:
    """Whether ``channel`` (describe, metrics' ``traffic``, ``logs``) shows the replication
    figures of database ``res``: always for a labelled role or a declared stream; for a
    self-managed host, where its replication stream is evidenced in that channel."""
    if res.attrs["role"] != "unknown":
        return True
    streams = [edge for edge in (*world.providers(res.id), *world.consumers(res.id))
               if edge.kind == "reads" and world.resources[edge.provider].kind == "database"
               and world.resources[edge.consumer].kind == "database"]
    return any(edge.declared or (channel != "describe" and channel in edge.evidence) for edge in streams)


def status(world: World, rid: str) -> str:
    """What the replication of ``rid`` is doing now, as an operator reads it; empty for a
    database that replicates from nothing and takes no writes."""
    now = stream(world, rid)
    source = _name(world, now.source)
    if now.state == "catching_up" and now.until is not None:
        rate = now.lag_then / max(1, now.until - now.since)
        return (f"catching up{source}: lag shrinking ~{rate:.1f} min per minute, caught up in "
                f"~{now.until - world.now} min (at {clock(now.until)})")
    if now.state == "stalled":
        return (f"stalled{source}: applying nothing since {clock(world.now - (now.lag or 0))}, "
                "the lag grows 1 min per minute")
    if now.state == "reseeding" and now.until is not None:
        return (f"re-seeding{source}: {100 * now.copied // max(1, now.total)}% ({now.copied} of {now.total} "
                f"records copied), done in ~{now.until - world.now} min (at {clock(now.until)})")
    if now.state == "streaming":
        return f"streaming{source}, no lag"
    if now.state == "empty" and now.source:
        return f"stopped{source}: the data directory is empty"
    return ""


def writes_per_hour(world: World, rid: str) -> int:
    """The new records an hour ``rid`` takes now: its write rate while it is up and replicates
    from nothing, else 0."""
    res = world.resources[rid]
    if not res.exists or world.health[rid] == "down" or replication_source(world, res):
        return 0
    return int(res.attrs["writes_per_hour"])


def progress(world: World, rid: str, start: int, end: int) -> list[tuple[int, Stream]]:
    """The minutes in ``[start, end]`` at which ``rid``'s log records its replication progress,
    each with the stream it describes (`progress_text` words it): a line every few minutes of
    every catch-up and re-seed the ledger shows, and of the one under way or a stall, from when
    it began, and one when each finished."""
    found = []
    for period in (*_finished(world, rid), stream(world, rid)):
        every = _LOG_EVERY.get(period.state)
        if every is None:
            continue
        began = period.since - period.lag_then if period.state == "stalled" else period.since
        last = min(world.now, period.until if period.until is not None else world.now)
        minutes = [*range(began + every, last + (period.until != last), every)]
        if period.until is not None and period.until <= world.now:
            minutes.append(period.until)
        found += [(minute, period) for minute in minutes if start <= minute <= end]
    return sorted(found, key=lambda line: line[0])


def progress_text(period: Stream, minute: int, world: World) -> str:
    """The log line of a stream's progress at ``minute``."""
    source = _name(world, period.source)
    if period.state == "catching_up":
        if period.until is not None and minute >= period.until:
            return f"replication caught up{source}: streaming, lag 0 min"
        return (f"replication catching up{source}: lag {period.lag_at(minute)} min, caught up in "
                f"~{(period.until or minute) - minute} min")
    if period.state == "reseeding":
        if period.until is not None and minute >= period.until:
            return f"re-seed{source} complete: {period.total} records copied; streaming"
        copied = period.copied_at(minute)
        return (f"re-seed{source}: {copied} of {period.total} records copied "
                f"({100 * copied // max(1, period.total)}%)")
    return f"WARN replication stalled{source}: no WAL applied, lag {period.lag_at(minute)} min"


def _finished(world: World, rid: str) -> list[Stream]:
    """The catch-ups and re-seeds of ``rid`` that ended during the episode, from the ledger: a lag
    the clock brought to 0, a re-seed the clock completed."""
    source = replication_source(world, world.resources[rid])
    found: list[Stream] = []
    lag, lag_since, seeding, copied = -1, world.start_time, -1, (-1, 0)
    for change in world.ledger.changes:
        if change.resource != rid:
            continue
        timed = change.cause.startswith("event:")
        if change.field == "replication_lag_minutes":
            lag = int(change.before) if lag < 0 else lag
            if change.after == 0 and lag > 0 and timed:
                found.append(Stream("catching_up", source, 0, lag_since, change.time, lag_then=lag))
            lag, lag_since = int(change.after), change.time
        elif change.field == "records":
            copied = (change.time, int(change.after))
        elif change.field == "lifecycle" and change.after == "creating":
            seeding = change.time
        elif change.field == "lifecycle" and change.after == "active" and seeding >= 0 and timed and source:
            total = copied[1] if copied[0] == change.time else int(world.resources[rid].attrs["records"])
            found.append(Stream("reseeding", source, 0, seeding, change.time, total=total, copied=total))
            seeding = -1
    return found


def _name(world: World, rid: str) -> str:
    return f" from {world.resources[rid].name} ({rid})" if rid else ""


def _pending(world: World, rid: str, wanted: Callable[[dict[str, Any]], bool]) -> Event | None:
    """The first event scheduled on ``rid`` that sets fields as ``wanted`` (a predicate on its
    payload) says: what will end a catch-up or a re-seed."""
    return next((event for event in world.pending(rid) if event.kind == "set" and wanted(dict(event.payload))),
                None)


def _last_set(world: World, rid: str, field: str) -> int:
    """When ``field`` of ``rid`` last changed: the episode's start if it never did."""
    return next((change.time for change in reversed(world.ledger.changes)
                 if change.resource == rid and change.field == field), world.start_time)
