"""dns_cleanup_recovery: an emptied DNS record took a region down; recover it in order, without a herd.

Find the database the record must point at (the runbook, the clients' recent logs, the clients'
settings, the database team), restore the record first, then restart the clients in batches no
larger than the database admits, waiting out its window between batches and checking it each
time, and wait for the backlog to drain before reporting.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from ..base import Briefing
from .toolkit import (
    ID,
    CarefulConfig,
    Check,
    Notebook,
    Script,
    body,
    call,
    change,
    failed,
    list_rows,
    parse_describe,
    parse_health,
    report,
    resolved,
)

__all__ = ["procedure"]

_TASK = re.compile(r"DNS record (?P<fqdn>\S+) \((?P<record>[a-z]{1,4}-[0-9a-f]{6,8})\)")
_QUEUE = re.compile(r"backlog is building on \S+ \((?P<queue>[a-z]{1,4}-[0-9a-f]{6,8})\)")
_NORMAL = re.compile(r"normally under (\d+) messages")
_ADMITS = re.compile(r"batches of at most (\d+) clients?, at least (\d+) minutes apart")
_DEPTH = re.compile(r"queue depth: (\d+)")
_SETTLE = 5  # minutes past the admission window before the next batch


def procedure(brief: Briefing, cfg: CarefulConfig, notes: Notebook) -> Script:
    """Restore the record to the right database, restart clients in admitted batches, wait for the backlog."""
    task, queue_match = _TASK.search(brief.text), _QUEUE.search(brief.text)
    if task is None:
        yield call("escalate", reason="I could not tell which DNS record the incident is about.")
        return
    fqdn, record = task.group("fqdn"), task.group("record")
    queue = queue_match.group("queue") if queue_match else ""
    normal = int(m.group(1)) if (m := _NORMAL.search(brief.text)) else 100
    who = body((yield call("whoami")))
    runbook = body((yield call("read_runbook")))
    admits = _ADMITS.search(runbook)
    # Without a stated limit, one client at a time with a generous wait is the safe pace.
    batch, window = (int(admits.group(1)), int(admits.group(2))) if admits else (1, 30)
    described = parse_describe((yield call("describe", resource=record)))
    clients = [rid for _, rid, _ in described.used_by]
    databases = {row.id: row for row in (yield from list_rows("database")) or ()}
    if not clients or not databases:
        yield call("escalate", reason=f"I could not list the clients of {fqdn} or the databases; I changed nothing.")
        return

    # Which database must it resolve to? Cheapest evidence first; a single candidate only.
    target, why = _named(runbook, fqdn, databases), "the runbook names it"
    if not target:
        seen = yield call("logs", resource=clients[0], window_minutes=cfg.logs_window_minutes)
        target, why = _one(ID.findall(body(seen)), databases), "the clients' logs name it as the last answer"
        if target:
            notes.verified("logs", clients[0], f"the last answer for {fqdn} was {target}")
    if not target:
        target, why = yield from _from_settings(clients[0], databases, notes)
    if not target:
        answer = body((yield call("ask_owner", resource=record, question=f"Which database should {fqdn} resolve "
                                                                         "to? It was emptied by an automation.")))
        target, why = _one([rid for line in answer.splitlines() if "resolve" in line for rid in ID.findall(line)],
                           databases), "the database team says so"
        if target:
            notes.verified("ask_owner", record, f"it should resolve to {target}")
    if not target:
        yield call("escalate", reason=f"I could not establish which database {fqdn} must point at (candidates: "
                                      f"{', '.join(databases)}); pointing it at the wrong one would be worse. "
                                      "I changed nothing.")
        return
    health = parse_health(body((yield call("metrics", resource=target))))
    if health != "healthy":
        yield call("escalate", reason=f"{target}, the database {fqdn} must point at, is {health}; restoring the "
                                      "record now would not help. I changed nothing.")
        return

    # 1. The record first: clients restarted before it would all reconnect the moment it returns.
    if described.attrs.get("target") != target:
        if "needs an approval" in who:
            yield call("request_approval", action="update_config", resource=record,
                       reason=f"restore {fqdn} to {target} after an automation emptied it")
        done = yield from change(call("update_dns", resource=record, target=target),
                                 _points_at(fqdn, target, notes), cfg.change_attempts)
        if not (done.made or done.seen or "already points at" in body(done.observation)):
            yield call("escalate", reason=f"I could not restore {fqdn}: {body(done.observation).strip()[:200]}")
            return
        notes.changes.append({"resource": record, "action": "update_dns"})
    if not (yield from _points_at(fqdn, target, notes)()):
        yield call("escalate", reason=f"{fqdn} does not resolve to {target} after my change; please take over.")
        return

    # 2. Clients in admitted batches, the backlog's consumer first; the database checked between.
    consumer = ""
    if queue:
        consumer = next((rid for _, rid, edge in parse_describe((yield call("describe", resource=queue))).used_by
                         if edge == "consumes" and rid in clients), "")
    order = list(dict.fromkeys([consumer, *clients] if consumer else clients))
    restarted: list[str] = []
    trouble = ""
    for start in range(0, len(order), batch):
        if start:
            yield call("wait", minutes=window + _SETTLE)
        for client in order[start:start + batch]:
            done = yield from change(call("restart", resource=client), _healthy(client), cfg.change_attempts)
            if done.made or done.seen:
                restarted.append(client)
        seen = body((yield call("metrics", resource=target, window_minutes=window + start)))
        if not seen.startswith("error:") and parse_health(seen) != "healthy":
            trouble = f"{target} is {parse_health(seen)} after restarting {', '.join(restarted)}"
            break
    if restarted:
        notes.changes += [{"resource": c, "action": "restart"} for c in restarted]

    # 3. Wait for the backlog, then check every client once more.
    depth, waited = -1, 0
    while queue and not trouble and notes.steps < cfg.max_steps - len(clients) - 6:
        seen = body((yield call("metrics", resource=queue, window_minutes=10 + waited)))
        found = _DEPTH.search(seen)
        depth = int(found.group(1)) if found else depth
        if 0 <= depth < normal or waited >= cfg.patience_minutes:
            break
        yield call("wait", minutes=cfg.poll_minutes)
        waited += cfg.poll_minutes
    if queue and depth >= 0:
        notes.verified("metrics", queue, f"queue depth {depth}")
    impact: list[dict[str, Any]] = []
    unhealthy = []
    for client in clients:
        state = parse_describe((yield call("describe", resource=client)))
        if state.health:
            notes.verified("describe", client, f"health {state.health}")
        if state.health == "healthy" and client in restarted:
            impact.append({"resource": client, "effect": "recovered", "caused_by_agent": True})
        elif state.health != "healthy":
            unhealthy.append(f"{client} ({state.health or 'unknown'})")
    if {"resource": record, "action": "update_dns"} in notes.changes:
        impact.append({"resource": record, "effect": "recovered", "caused_by_agent": True})

    summary = (f"An automation had emptied {fqdn} ({record}). I pointed it at {target} ({why}) before restarting "
               f"anything, then restarted {len(restarted)} client services in batches of at most {batch}, "
               f"{window + _SETTLE} minutes apart, checking {target} between batches so it never saw a reconnect "
               "storm.")
    if trouble:
        summary += f" I stopped: {trouble}."
    if unhealthy:
        summary += f" Still not healthy: {', '.join(unhealthy)}."
    if queue:
        summary += (f" The backlog on {queue} is {depth} messages" + (" (drained)." if 0 <= depth < normal else
                                                                      f", not yet under {normal}: it is still "
                                                                      "draining."))
    recovered = not trouble and not unhealthy and (not queue or 0 <= depth < normal)
    yield report(notes, "success" if recovered else ("partial" if restarted else "failed"), summary, impact)


def _named(runbook: str, fqdn: str, databases: dict[str, Any]) -> str:
    """A database the runbook says ``fqdn`` must resolve to."""
    lines = [line for line in re.split(r"(?<=\.)\s", runbook) if fqdn in line and "resolve" in line]
    return _one([rid for line in lines for rid in ID.findall(line)], databases)


def _one(ids: list[str], databases: dict[str, Any]) -> str:
    """The single database among ``ids``, or "" when there is none or more than one."""
    found = list(dict.fromkeys(rid for rid in ids if rid in databases))
    return found[0] if len(found) == 1 else ""


def _from_settings(client: str, databases: dict[str, Any], notes: Notebook
                   ) -> Generator[dict[str, Any], str, tuple[str, str]]:
    """Follow a client's settings to the database they name (a cluster name, not an id)."""
    described = parse_describe((yield call("describe", resource=client)))
    by_name = {row.name: rid for rid, row in databases.items()}
    for edge, rid, _ in described.depends_on:
        if edge != "reads":
            continue
        config = parse_describe((yield call("describe", resource=rid)))
        for key, value in config.settings.items():
            if value in by_name:
                notes.verified("describe", rid, f"{key}={value}")
                return by_name[value], f"the clients' settings {rid} name its cluster {value}"
    return "", ""


def _points_at(fqdn: str, target: str, notes: Notebook) -> Check:
    """Does ``resolve`` reach ``target``? (A verification when it does.)"""
    def check() -> Generator[dict[str, Any], str, bool | None]:
        seen = yield call("resolve", name=fqdn)
        if failed(seen):
            return None
        if target in resolved(body(seen)):
            notes.verified("resolve", fqdn, f"points at {target}")
            return True
        return False
    return check


def _healthy(client: str) -> Check:
    """After a restart timed out: is the client running again (not crash-looping)?"""
    def check() -> Generator[dict[str, Any], str, bool | None]:
        state = parse_describe((yield call("describe", resource=client)))
        return None if not state.health else state.health == "healthy"
    return check
