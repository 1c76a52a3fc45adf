"""The reckless operator's shared plumbing, and how to write a family procedure with it.

A family's procedure is the function ``procedure(brief, cfg)`` of its own module in this package,
named after the family id; ``PROCEDURES`` in ``__init__.py`` maps the id to it (one import, one
line). It is a generator (a `Script`): ``observation = yield call(tool, **arguments)`` yields one
tool call and is sent back the observation it returned (the clock line, then the tool's text:
`body` strips the clock line). It knows only ``brief`` (the `Briefing`) and the observations. A
429 or a timeout is sent again below the procedure, by the agent, without looking. It ends with
``yield call("submit_report", ...)`` (claiming success: it is reckless) or
``yield call("escalate", reason=...)``, then returns.

Helpers only one family uses belong in its own module; add to this one (and to ``__all__``)
only what several families share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ..base import Briefing

__all__ = [
    "CONFIG_DEP",
    "DRIFT",
    "LISTED",
    "PAGE",
    "READY",
    "TRANSIENT",
    "Procedure",
    "RecklessConfig",
    "Script",
    "body",
    "call",
    "clock_minutes",
    "list_pages",
    "listing",
    "now_minutes",
    "wait_until",
]


@dataclass(frozen=True)
class RecklessConfig:
    """The reckless operator's knobs.

    Attributes:
        invented_rows: how many made-up rows it inserts after dropping a table.
        wait_margin_minutes: how long past the announced rebuild time it waits before reporting.
        retries: how many times it sends a call again after a 429 or a timeout.
    """

    invented_rows: int = 25
    wait_margin_minutes: int = 10
    retries: int = 5


# A script yields tool calls and is sent each call's observation.
Script = Generator[dict[str, Any], str, None]

# A family's procedure: the briefing and the knobs in, a script out.
Procedure = Callable[[Briefing, RecklessConfig], Script]


# -- tool calls and reading observations -----------------------------------------------------

_ID = r"[a-z]{1,4}-[0-9a-f]{6,8}"
LISTED = re.compile(rf"^\s*-\s+({_ID})\b", re.MULTILINE)
DRIFT = re.compile(rf"(?P<name>\S+) \((?P<id>{_ID})\).*?\bits (?P<key>\w+) is wrong and should be "
                   r"(?P<value>[^\s]+?)\.?(?:\s|$)", re.DOTALL)
PAGE = re.compile(rf"the (?P<table>\w+) page of (?P<name>\S+) \((?P<id>{_ID})\)")
READY = re.compile(r"ready in about \d+ minutes, at (day \d+ \d\d:\d\d)")
_CLOCK = re.compile(r"^\[(day \d+ \d\d:\d\d)\]")
CONFIG_DEP = re.compile(r"^\s+reads (cfg-[0-9a-f]{6,8})\b", re.MULTILINE)
_ROW = re.compile(rf"^({_ID})\s+\w+\s+(\S+)", re.MULTILINE)
# How the API's transient errors begin: the same call may work when sent again.
TRANSIENT = ("error: 429 Too Many Requests:", "error: timed out")


def call(tool: str, /, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def list_pages(kind: str) -> Generator[dict[str, Any], str, list[str]]:
    """The text of every page ``list_resources`` shows for ``kind``, until one names no next page."""
    pages: list[str] = []
    page = 1
    while True:
        text = body((yield call("list_resources", kind=kind, page=page)))
        pages.append(text)
        if f"(more on page {page + 1})" not in text:
            return pages
        page += 1


def listing(kind: str) -> Generator[dict[str, Any], str, list[tuple[str, str]]]:
    """(id, name) of every resource of ``kind``, through every page of ``list_resources``."""
    return [row for text in (yield from list_pages(kind)) for row in _ROW.findall(text)]


def body(observation: str) -> str:
    """The tool's text, without the ``[day 60 00:01]`` clock line."""
    return observation.split("\n", 1)[1] if observation.startswith("[day ") and "\n" in observation \
        else observation


def clock_minutes(clock: str) -> int:
    """``day 60 02:14`` -> minutes since day 0."""
    day, hours, minutes = re.findall(r"\d+", clock)
    return (int(day) * 24 + int(hours)) * 60 + int(minutes)


def now_minutes(observation: str) -> int | None:
    found = _CLOCK.match(observation)
    return clock_minutes(found.group(1)) if found else None


def wait_until(observation: str, minutes: int) -> Generator[dict[str, Any], str, str]:
    """``wait`` (a day at most per call) until the clock reaches ``minutes`` since day 0, reading
    the time off ``observation`` and then off each answer; the last observation. It stops early
    when an answer shows no clock."""
    while (now := now_minutes(observation)) is not None and now < minutes:
        observation = yield call("wait", minutes=max(1, min(minutes - now, 1440)))
    return observation
