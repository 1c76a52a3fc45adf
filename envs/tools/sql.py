"""The read-only SQL that ``run_statement`` answers: what each query reads from the world.

The world models a database by its role, its replication stream (the database it replicates
from, declared or not, and its lag in minutes) and one record count, both as they stand at the
minute of the query (`blastradius.envs.replication`); the clock is the simulated clock. A query is answered only where those facts decide its answer, as the database itself would
give it: a replica knows it is in recovery even where the control plane reports no role. Any other
query is refused with the list of the ones that are modelled, never answered with a number that
merely looks right (a ``WHERE`` the simulator cannot evaluate is not answered with the total).
Columns are the ones those facts decide (a view's other columns are left out), and a figure the
world does not know (the lag of a replica that only serves stale reads) is NULL, never 0. Answers
are printed as psql prints them: a header line, one line per row, ``(n rows)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ToolError
from ..replication import records, replication_source, stream
from ..resources import Resource
from ..world import World, clock

__all__ = ["READ_VERBS", "Query", "parse"]

READ_VERBS = ("SELECT", "SHOW")

_Answer = Callable[[World, Resource, "re.Match[str]"], str]


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [" | ".join(header), *(" | ".join(str(value) for value in row) for row in rows)]
    return "\n".join([*lines, f"({len(rows)} row{'' if len(rows) == 1 else 's'})"])


def _interval(minutes: int | None) -> str:
    return "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _lag(world: World, res: Resource) -> int | None:
    """A replica's replay lag in minutes now, or None (NULL) where the world does not know it: a
    replica serving stale reads reports no lag figure."""
    return stream(world, res.id).lag


def _count(world: World, res: Resource, match: re.Match[str]) -> str:
    # The world models one record count per database: every table of it answers that count.
    return _table(["count"], [[records(world, res.id)]])


def _in_recovery(world: World, res: Resource, match: re.Match[str]) -> str:
    return _table(["pg_is_in_recovery"], [["t" if replication_source(world, res) else "f"]])


def _read_only_setting(world: World, res: Resource, match: re.Match[str]) -> str:
    on = bool(replication_source(world, res))
    if res.attrs["engine"] == "mysql":
        return _table([f"@@{match.group(1) or ''}read_only"], [[1 if on else 0]])
    return _table(["transaction_read_only"], [["on" if on else "off"]])


def _replicas_of(world: World, res: Resource) -> list[Resource]:
    """The replicas streaming from ``res`` now: up, and replicating from it."""
    return [world.resources[rid] for rid in world.of_kind("database")
            if rid != res.id and world.resources[rid].exists and world.health[rid] != "down"
            and replication_source(world, world.resources[rid]) == res.id]


def _stat_replication(world: World, res: Resource, match: re.Match[str]) -> str:
    rows = [[r.name, r.id, _interval(_lag(world, r))] for r in _replicas_of(world, res)]
    return _table(["application_name", "client_hostname", "replay_lag"], rows)


def _wal_receiver(world: World, res: Resource, match: re.Match[str]) -> str:
    source = replication_source(world, res)
    return _table(["sender_host", "replay_lag"], [[source, _interval(_lag(world, res))]] if source else [])


def _replay_timestamp(world: World, res: Resource, match: re.Match[str]) -> str:
    lag = _lag(world, res) if replication_source(world, res) else None
    replayed = "" if lag is None else clock(world.now - lag)
    return _table(["pg_last_xact_replay_timestamp"], [[replayed]])


def _replay_delay(world: World, res: Resource, match: re.Match[str]) -> str:
    delay = _interval(_lag(world, res)) if replication_source(world, res) else ""
    return _table([match.group(1) or "?column?"], [[delay]])


def _now(world: World, res: Resource, match: re.Match[str]) -> str:
    return _table(["now" if match.group(1) == "now()" else "current_timestamp"], [[clock(world.now)]])


def _replica_status(world: World, res: Resource, match: re.Match[str]) -> str:
    source = replication_source(world, res)
    if not source:
        return "Empty set"
    header = ["Master_Host", "Seconds_Behind_Master"] if match.group(1) == "slave" else \
        ["Source_Host", "Seconds_Behind_Source"]
    lag = _lag(world, res)
    return _table(header, [[source, "NULL" if lag is None else 60 * lag]])


class _Modelled(NamedTuple):
    """A query the world answers: on which engines (None: any), as an operator writes it, the
    pattern it matches (on the statement lowercased, its spaces collapsed) and its answer."""

    engines: tuple[str, ...] | None
    query: str
    pattern: str
    reply: _Answer


_TABLE = r'[\w."]+'
_QUERIES = tuple(_Modelled(*row) for row in (
    (None, "SELECT count(*) FROM <table>", rf"select count\((?:\*|1)\) from {_TABLE}", _count),
    (None, "SELECT now()", r"select (now\(\)|current_timestamp)", _now),
    (("postgres",), "SELECT pg_is_in_recovery()", r"select pg_is_in_recovery\(\)", _in_recovery),
    (("postgres",), "SHOW transaction_read_only", r"show transaction_read_only", _read_only_setting),
    (("postgres",), "SELECT * FROM pg_stat_replication", r"select \* from pg_stat_replication", _stat_replication),
    (("postgres",), "SELECT * FROM pg_stat_wal_receiver", r"select \* from pg_stat_wal_receiver", _wal_receiver),
    (("postgres",), "SELECT pg_last_xact_replay_timestamp()", r"select pg_last_xact_replay_timestamp\(\)",
     _replay_timestamp),
    (("postgres",), "SELECT now() - pg_last_xact_replay_timestamp()",
     r"select now\(\) - pg_last_xact_replay_timestamp\(\)(?: as (\w+))?", _replay_delay),
    (("mysql",), "SELECT @@read_only", r"select @@(global\.)?read_only", _read_only_setting),
    (("mysql",), "SHOW REPLICA STATUS", r"show (replica|slave) status", _replica_status),
))

# Queries operators ask that the world cannot answer truthfully, with the reason.
_UNANSWERABLE = (
    (rf"select count\((?:\*|1)\) from {_TABLE} where ",
     "the simulator models one record count per database, not the rows themselves, so it cannot "
     "evaluate a WHERE clause"),
    (r"select max\(",
     "the simulator models no row contents or timestamps; metrics and logs show a database's activity"),
)


def modelled(res: Resource) -> list[str]:
    """The read-only queries answered on ``res``, as an operator writes them."""
    return [known.query for known in _QUERIES if known.engines is None or res.attrs["engine"] in known.engines]


@dataclass(frozen=True)
class Query:
    """A read-only query ``parse`` accepted: ``run`` answers it from the world as it is then."""

    res: Resource
    match: re.Match[str]
    reply: _Answer

    def run(self, world: World) -> str:
        return self.reply(world, self.res, self.match)


def parse(res: Resource, statement: str) -> Query:
    """The read-only ``statement`` on ``res`` as a query the world answers, or a refusal."""
    lowered = " ".join(statement.strip().rstrip(";").split()).lower()
    for known in _QUERIES:
        match = re.fullmatch(known.pattern, lowered)
        if match and (known.engines is None or res.attrs["engine"] in known.engines):
            return Query(res, match, known.reply)
    reason = next((why for pattern, why in _UNANSWERABLE if re.match(pattern, lowered)),
                  "the simulator does not model what it reads")
    raise ToolError(f"not answered: {reason}. On {res.name} (a {res.attrs['engine']} database) the read-only "
                    f"queries answered are: {'; '.join(modelled(res))}. Send one of them as written, one per call.")
