"""The careful operator's shared plumbing, and how to write a family procedure with it.

Writing a family procedure
--------------------------
A family's procedure is the function ``procedure(brief, cfg, notes)`` of its own module in this
package, named after the family id; ``PROCEDURES`` in ``__init__.py`` maps the id to it (one
import, one line). It is a generator (a `Script`) that reads top to bottom like a runbook:

- ``observation = yield call("describe", resource=rid)``: it yields one tool call (a dict made by
  `call`) and is sent back the observation that call returned: the clock line ``[day 60 00:01]``,
  then the tool's text (`body` strips the clock line; `failed` says the answer is an ``error:``).
  It knows only ``brief`` (the `Briefing`: task text, family, difficulty) and the observations;
  parse them with the helpers here (`parse_describe`, `list_rows` / `list_ids` with
  ``yield from``, `parse_policies` for ``whoami``, `parse_health`, `resolved`, ...; the ones
  that only read text live in `reading` and are re-exported here).
- Part of the flaky API is handled below the procedure, by `Link`: a throttled call (429), a
  read-only call that timed out, and a read whose answer may be a stale cached copy are sent
  again before the procedure sees their answer. Everything else reaches the procedure as it
  came: a change that timed out (see `change` below), any other ``error:``, and a 429 or a
  timeout once the retries ran out. A check whose answer is an error was not made: never cite it.
- ``notes`` (a `Notebook`) is the raw material of the report: append every change the procedure
  made to ``notes.changes`` as ``{"resource": rid, "action": tool}``, and record every check
  whose answer came back without error with ``notes.verified(tool, resource, result)``. The
  report cites exactly these. ``notes.steps`` counts the calls sent so far, retries included (``cfg.max_steps``
  is the budget).
- Make each change with ``done = yield from change(call(...), check, cfg.change_attempts)``. A
  change that ``timed out`` may or may not have happened, so after a timeout `change` runs
  ``check`` (a `Check`: a generator function without arguments that reads the state, e.g. with
  ``describe``, records a verification when it sees the change, and returns True if the change
  is in effect, False if not, None if the read failed; `describes` makes the usual one) before
  it tries the change again.
  ``done.made`` says the change happened (then record it in ``notes.changes``), ``done.seen``
  that the check already verified it, ``done.timed_out`` that a call of it timed out (a retry
  refused because the change is already in effect then means it happened), and
  ``done.observation`` is the last answer.
- Ask before a change that needs it with ``if not (yield from approved(action, rid, reason,
  refused)): return``: `approved` escalates with ``refused(answer)`` when the answer is not an
  approval.
- End with ``yield report(notes, outcome, summary, impact, data_loss=...)`` (the
  ``submit_report`` call listing ``notes.changes`` and ``notes.verifications`` as recorded) or
  with ``yield call("escalate", reason=...)``, then return. A procedure that returns without
  either is escalated by the agent.

Helpers only one family uses belong in its own module; add to this one (and to ``__all__``)
only what several families share (one that only reads text goes in `reading`, and is imported
and listed in ``__all__`` here too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from ...envs.tool_specs import SPECS
from ..base import Briefing
from .reading import (
    DRIFT,
    ID,
    LAG,
    PAGE,
    RECORDS,
    TRAFFIC_ROW,
    Described,
    Policies,
    Row,
    body,
    failed,
    flagged,
    names,
    parse_count,
    parse_describe,
    parse_health,
    parse_policies,
    parse_rows,
    product_of,
    resolved,
    snapshot_id,
)

__all__ = [
    "DRIFT",
    "ID",
    "LAG",
    "PAGE",
    "RECORDS",
    "TRAFFIC_ROW",
    "CarefulConfig",
    "Change",
    "Check",
    "Described",
    "Link",
    "Notebook",
    "Policies",
    "Procedure",
    "Row",
    "Script",
    "approved",
    "body",
    "call",
    "change",
    "describes",
    "failed",
    "flagged",
    "list_ids",
    "list_rows",
    "names",
    "parse_count",
    "parse_describe",
    "parse_health",
    "parse_policies",
    "parse_rows",
    "product_of",
    "report",
    "resolved",
    "snapshot_id",
]


@dataclass(frozen=True)
class CarefulConfig:
    """The careful operator's knobs.

    Attributes:
        traffic_window_minutes: how far back ``traffic`` looks for callers (30 days catches
            monthly jobs).
        logs_window_minutes: how far back ``logs`` looks for what a service connects to.
        poll_minutes: how long each ``wait`` lasts while a transient fault clears by itself.
        patience_minutes: how long to wait for a recovery before reporting it did not happen.
        max_steps: a guard on the procedures' waiting loops: stop and report before this many
            tool calls. A built-in family's step budget (`Family.step_budget`) is at least 2.5
            times the longest episode this agent was measured to take (``blastradius budgets``).
        verify_snapshots: test-restore each snapshot before deleting what it copied.
        retries: how many times a call is sent again after a ``429`` (or a read-only call after
            a timeout) before its error is taken as the answer.
        change_attempts: how many times a change is tried in all when its calls time out and
            the state shows it did not happen.
    """

    traffic_window_minutes: int = 30 * 24 * 60
    logs_window_minutes: int = 60
    poll_minutes: int = 45
    patience_minutes: int = 8 * 60
    max_steps: int = 90
    verify_snapshots: bool = True
    retries: int = 5
    change_attempts: int = 3


# A script yields tool calls and is sent each call's observation.
Script = Generator[dict[str, Any], str, None]


@dataclass
class Notebook:
    """What the operator did and checked in this episode: the raw material of its report."""

    steps: int = 0
    changes: list[dict[str, str]] = field(default_factory=list)
    verifications: list[dict[str, str]] = field(default_factory=list)

    def verified(self, tool: str, resource: str, result: str) -> None:
        self.verifications.append({"tool": tool, "resource": resource, "result": result})


# A family's procedure: the briefing, the knobs and the notebook in, a script out.
Procedure = Callable[[Briefing, CarefulConfig, Notebook], Script]


# -- a flaky API -----------------------------------------------------------------------------

# How the API's transient errors begin (after the clock line).
_THROTTLED = "error: 429 Too Many Requests:"
_TIMED_OUT = "error: timed out"
# Reads the API may answer from a stale cache: the text the identical read returned before.
_CACHED_READS = frozenset(spec.name for spec in SPECS.values() if spec.chaos == "stale")


@dataclass
class Link:
    """The operator's side of a flaky API, below the scripts: it re-sends a call the API
    throttled, a read-only call that timed out, and once a cacheable read whose answer repeats
    the identical read's last answer. Anything else goes to the script as it came."""

    retries: int
    sent: dict[str, Any] | None = None
    tries: int = 0
    rechecked: bool = False
    answers: dict[str, str] = field(default_factory=dict)  # a read's key -> the text it last returned

    def send(self, action: dict[str, Any]) -> dict[str, Any]:
        self.sent, self.tries, self.rechecked = action, 0, False
        return action

    def again(self, observation: str) -> dict[str, Any] | None:
        """The call to send again for ``observation`` of the last call, or None to pass it on."""
        action, text = self.sent, body(observation)
        if action is None:
            return None
        if self.tries < self.retries and (text.startswith(_THROTTLED)
                                          or (text.startswith(_TIMED_OUT) and _repeatable(action))):
            self.tries += 1
            return action
        if action["name"] in _CACHED_READS and not text.startswith("error:"):
            key = json.dumps(action, sort_keys=True)
            before, self.answers[key] = self.answers.get(key), text
            if text == before and not self.rechecked:
                self.rechecked = True
                return action
        return None


def _repeatable(action: dict[str, Any]) -> bool:
    """A call that is safe to send again without looking first: a read-only query, a dry run
    (it changes nothing, whether it timed out or not), or a snapshot (at worst one spare copy in
    the vault; it changes nothing in the resource)."""
    name: str = action["name"]
    arguments = action.get("arguments", {})
    if name == "run_statement":
        return str(arguments.get("statement", "")).lstrip().upper().startswith(("SELECT", "SHOW"))
    return name == "snapshot" or arguments.get("dry_run") is True


def _timed_out(observation: str) -> bool:
    return body(observation).startswith(_TIMED_OUT)


# A script that reads the state after a change timed out: True (it is in effect), False (it is
# not) or None (the read failed). Unless True, the change is tried again: a retry refused because
# it is already done tells the rest.
Check = Callable[[], Generator[dict[str, Any], str, bool | None]]


@dataclass
class Change:
    """How one change went: the last observation, whether it is made, whether a call of it timed
    out, and whether a check after a timeout saw it in effect (then no further check is needed)."""

    observation: str = ""
    made: bool = False
    timed_out: bool = False
    seen: bool = False


def change(action: dict[str, Any], happened: Check, attempts: int) -> Generator[dict[str, Any], str, Change]:
    """Make one change. After a timeout, look (``happened``) before trying again."""
    outcome = Change()
    for _ in range(attempts):
        outcome.observation = yield action
        if not _timed_out(outcome.observation):
            outcome.made = not failed(outcome.observation)
            return outcome
        outcome.timed_out = True
        if (yield from happened()):
            outcome.made = outcome.seen = True
            return outcome
    return outcome


def describes(rid: str, holds: Callable[[Described], bool]) -> Check:
    """The usual `Check`: ``describe`` ``rid``; None if the read failed (no id in the answer), else
    whether ``holds`` sees the change in effect in what it showed (``holds`` may record a
    verification when it does)."""
    def check() -> Generator[dict[str, Any], str, bool | None]:
        after = parse_describe((yield call("describe", resource=rid)))
        if not after.id:
            return None
        return holds(after)
    return check


# -- tool calls and the report ---------------------------------------------------------------


def call(tool: str, /, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def report(notes: Notebook, outcome: str, summary: str, impact: list[dict[str, Any]],
           data_loss: str = "none", figures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The final report, as an operator writes it: one entry per kind of change, naming every
    resource it was made on, and the checks exactly as recorded. It destroys no data it has not
    snapshotted and verified, so its data loss is ``none`` or, when it deleted a store that held
    data, ``recoverable``."""
    arguments: dict[str, Any] = {
        "outcome": outcome, "summary": summary, "changes_made": _grouped(notes.changes), "impact": impact,
        "data_loss": data_loss, "verifications": list(notes.verifications)}
    if figures:
        arguments["figures"] = figures
    return call("submit_report", **arguments)


def _grouped(changes: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Changes with one action per entry: a list of resources where it was made on several."""
    by_action: dict[str, list[str]] = {}
    for change in changes:
        by_action.setdefault(change["action"], [])
        if change["resource"] not in by_action[change["action"]]:
            by_action[change["action"]].append(change["resource"])
    return [{"action": action, "resource": rids[0] if len(rids) == 1 else rids} for action, rids in by_action.items()]


def approved(action: str, rid: str, reason: str,
             refused: Callable[[str], str]) -> Generator[dict[str, Any], str, bool]:
    """Ask for approval of ``action`` on ``rid``. True if it came; if not, escalate with the reason
    ``refused(answer)`` (the answer's text, stripped) and return False: the procedure then ends."""
    answer = body((yield call("request_approval", action=action, resource=rid, reason=reason)))
    if answer.startswith("APPROVED"):
        return True
    yield call("escalate", reason=refused(answer.strip()))
    return False


def list_rows(kind: str) -> Generator[dict[str, Any], str, list[Row] | None]:
    """Every row ``list_resources`` shows for ``kind``, page by page; None if a page failed."""
    rows: list[Row] = []
    page = 1
    while True:
        text = body((yield call("list_resources", kind=kind, page=page)))
        if text.startswith("error:"):
            return None
        rows += parse_rows(text)
        if f"(more on page {page + 1})" not in text:
            return rows
        page += 1


def list_ids(kind: str) -> Generator[dict[str, Any], str, list[str] | None]:
    rows = yield from list_rows(kind)
    return None if rows is None else [row.id for row in rows]
