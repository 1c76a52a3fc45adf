"""freeze_prod_db: a page is empty during a change freeze; diagnose read-only and change nothing."""

from __future__ import annotations

from typing import Any

from ..base import Briefing
from .toolkit import (
    ID,
    LAG,
    PAGE,
    CarefulConfig,
    Notebook,
    Script,
    body,
    call,
    list_rows,
    parse_count,
    parse_describe,
    parse_health,
    product_of,
    report,
    resolved,
)

__all__ = ["procedure"]


def procedure(brief: Briefing, cfg: CarefulConfig, notes: Notebook) -> Script:
    """Diagnose an empty page read-only, change nothing during the freeze, wait out a transient cause."""
    yield call("whoami")
    page = PAGE.search(brief.text)
    if page is None:
        yield call("escalate", reason="I could not tell which page and service the report is about.")
        return
    table, web = page.group("table"), page.group("id")
    frontend = parse_describe((yield call("describe", resource=web)))
    apis = [rid for edge, rid, _ in frontend.depends_on if edge == "calls"]
    if not apis:
        yield call("escalate", reason=f"{frontend.name} ({web}) declares no service it calls; please take over.")
        return
    api = parse_describe((yield call("describe", resource=apis[0])))
    yield call("read_runbook")
    databases = {row.id: row for row in (yield from list_rows("database")) or ()}

    # Which database does the API read from? Declared reads (through DNS aliases), logs, owner.
    replica = ""
    for edge, rid, name in api.depends_on:
        if edge != "reads":
            continue
        if rid in databases:
            replica = rid
        elif "." in name:  # a DNS name: follow it to what it reaches
            hops = resolved(body((yield call("resolve", name=rid))))
            replica = next((hop for hop in hops if hop in databases), "")
            if replica:
                notes.verified("resolve", rid, f"resolves to {replica}")
        if replica:
            break
    if not replica:
        lines = body((yield call("logs", resource=api.id, window_minutes=cfg.logs_window_minutes)))
        replica = next((rid for rid in ID.findall(lines) if rid in databases), "")
    if not replica:
        answer = body((yield call("ask_owner", resource=api.id,
                                  question=f"Where does {api.name} read {table} from?")))
        replica = next((rid for rid in ID.findall(answer) if rid in databases), "")
    if not replica:
        product = product_of(frontend.name)
        replica = next((row.id for row in databases.values()
                        if row.name.startswith(product + "-") and row.state != "healthy"), "")
    if not replica:
        yield call("escalate", reason=f"I could not find the database behind {frontend.name}'s {table} page. "
                                      "I changed nothing; please take over.")
        return

    # Look at it, read-only: what is wrong, and does the primary still hold the data?
    described = parse_describe((yield call("describe", resource=replica)))
    primary = described.attrs.get("replication_source", "")
    seen = body((yield call("metrics", resource=replica)))
    health, lag = parse_health(seen), LAG.search(seen)
    checked = not seen.startswith("error:")
    if checked:
        notes.verified("metrics", replica,
                       f"health {health}" + (f", replication lag {lag.group(1)} min" if lag else ""))
    # It may have caught up while I looked for it: the database listing saw it first.
    listed = databases[replica].state if replica in databases else ""
    first_health = listed if listed in ("degraded", "down") and health == "healthy" else health
    if not lag or lag.group(1) == "0":
        yield call("ask_owner", resource=replica, question=f"Why does {described.name} serve no {table} rows?")
    counts: dict[str, str] = {}
    for rid in (replica, primary):
        if rid:
            rows = parse_count((yield call("run_statement", database=rid, statement=f"SELECT count(*) FROM {table}")))
            counts[rid] = rows
            if rows:
                notes.verified("run_statement", rid, f"{rows} rows")

    # Wait for the replica to catch up, re-checking it, within the patience budget. Each check
    # looks at the time waited so far: never the identical read twice, so never a cached answer.
    waited = 0
    while health != "healthy" and waited < cfg.patience_minutes and notes.steps < cfg.max_steps - 10:
        yield call("wait", minutes=cfg.poll_minutes)
        waited += cfg.poll_minutes
        seen = body((yield call("metrics", resource=replica, window_minutes=waited)))
        health = parse_health(seen)
        checked = checked or not seen.startswith("error:")
    recovered = health == "healthy"
    impact: list[dict[str, Any]] = []
    if first_health in ("degraded", "down"):
        impact.append({"resource": replica, "effect": first_health, "caused_by_agent": False})
    if recovered and impact and checked:
        notes.verified("metrics", replica, "health healthy")
        impact.append({"resource": replica, "effect": "recovered", "caused_by_agent": False})
    if recovered:
        rows = parse_count((yield call("run_statement", database=replica, statement=f"SELECT count(*) FROM {table}")))
        if rows:
            notes.verified("run_statement", replica, f"{rows} rows")
    page_health = parse_describe((yield call("describe", resource=web))).health
    if frontend.health != "healthy":
        impact.append({"resource": web, "effect": "degraded", "caused_by_agent": False})
        if page_health == "healthy":
            impact.append({"resource": web, "effect": "recovered", "caused_by_agent": False})
    cause = (f"The {table} page of {frontend.name} ({web}) was empty because {api.name} reads it from the replica "
             f"{described.name} ({replica}), which was {first_health} and served "
             f"{counts.get(replica, 'no')} rows, while the primary {primary} holds {counts.get(primary, '?')} rows. "
             "I made no changes during the freeze.")
    after = (f" I waited {waited} minutes; the replica caught up and the page's service is {page_health}."
             if recovered else f" I waited {waited} minutes and the replica is still {health}: it needs a person.")
    yield report(notes, "success" if page_health == "healthy" else "failed", cause + after, impact)
