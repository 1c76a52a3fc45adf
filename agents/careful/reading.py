"""The careful operator's reading of observations: the patterns and parsers its procedures use.

Every observation starts with the simulated clock, ``[day 60 00:01]``, then the tool's text
(`body` strips the clock line; `failed` says the answer is an ``error:``). These helpers only
read text: the calls that produce it are in `toolkit`, which re-exports everything here, so a
family module imports all it needs from ``.toolkit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "DRIFT",
    "ID",
    "LAG",
    "PAGE",
    "RECORDS",
    "TRAFFIC_ROW",
    "Described",
    "Policies",
    "Row",
    "body",
    "failed",
    "flagged",
    "names",
    "parse_count",
    "parse_describe",
    "parse_health",
    "parse_policies",
    "parse_rows",
    "product_of",
    "resolved",
    "snapshot_id",
]

ID = re.compile(r"\b[a-z]{1,4}-[0-9a-f]{6,8}\b")
TRAFFIC_ROW = re.compile(r"^\s+(.+?) \(([a-z]{1,4}-[0-9a-f]{6,8})\): (\d+) requests", re.MULTILINE)
_LIST_ROW = re.compile(r"^([a-z]{1,4}-[0-9a-f]{6,8})\s+(\w+)\s+(\S+)\s+(\w+)\s+(\S+)\s+(\w+)\s*$", re.MULTILINE)
_FLAGGED = re.compile(r"^\s*-\s+([a-z]{1,4}-[0-9a-f]{6,8})\s+\S+\s+\((\w+), (\w+)\)", re.MULTILINE)
DRIFT = re.compile(r"\((?P<id>[a-z]{1,4}-[0-9a-f]{6,8})\).*?\bits (?P<key>\w+) is wrong and should be "
                   r"(?P<value>[^\s]+?)\.?(?:\s|$)", re.DOTALL)
PAGE = re.compile(r"the (?P<table>\w+) page of \S+ \((?P<id>[a-z]{1,4}-[0-9a-f]{6,8})\)")
LAG = re.compile(r"replication lag: (\d+) min")
RECORDS = re.compile(r": (\d+) records")
_COUNT = re.compile(r"^count\n(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Row:
    """One line of ``list_resources``."""

    id: str
    kind: str
    name: str
    env: str
    region: str
    state: str


def parse_rows(text: str) -> list[Row]:
    """The rows of one page of ``list_resources``."""
    return [Row(*match) for match in _LIST_ROW.findall(text)]


@dataclass
class Described:
    """What ``describe`` showed about one resource."""

    id: str = ""
    kind: str = ""
    name: str = ""
    env: str = ""
    health: str = ""
    lifecycle: str = ""
    monthly_cost: float = 0.0
    attrs: dict[str, str] = field(default_factory=dict)
    depends_on: list[tuple[str, str, str]] = field(default_factory=list)  # (edge, id, name)
    used_by: list[tuple[str, str, str]] = field(default_factory=list)  # (name, id, edge)

    @property
    def settings(self) -> dict[str, str]:
        """A config's settings, ``timeout_ms=1500, pool_size=20`` -> {"timeout_ms": "1500", ...}."""
        pairs = (item.split("=", 1) for item in self.attrs.get("settings", "").split(", ") if "=" in item)
        return dict(pairs)


def body(observation: str) -> str:
    """The tool's text, without the clock line."""
    return observation.split("\n", 1)[1] if observation.startswith("[day ") and "\n" in observation \
        else observation


def failed(observation: str) -> bool:
    return body(observation).startswith("error:")


def parse_describe(observation: str) -> Described:
    text = body(observation)
    out = Described()
    if text.startswith("error:"):
        return out
    head = re.match(r"([a-z]{1,4}-[0-9a-f]{6,8}) \((\w+)\) (.*)", text)
    if head:
        out.id, out.kind, out.name = head.groups()
    fields = ((r"\benv: (\w+)", "env"), (r"\bhealth: (\w+)", "health"), (r"^lifecycle: (\w+)", "lifecycle"))
    for pattern, name in fields:
        found = re.search(pattern, text, re.MULTILINE)
        if found:
            setattr(out, name, found.group(1))
    cost = re.search(r"monthly cost: \$([\d,.]+)", text)
    out.monthly_cost = float(cost.group(1).replace(",", "")) if cost else 0.0
    section = ""
    for line in text.splitlines()[3:]:
        if line.startswith("depends on:"):
            section = "depends"
        elif line.startswith("used by:"):
            section = "used"
        elif section == "depends" and (dep := re.match(r"\s+(\w+) (\S+) \((.*?)\)", line)):
            out.depends_on.append((dep.group(1), dep.group(2), dep.group(3)))
        elif section == "used" and (user := re.match(r"\s+(.+?) \((\S+)\) (\w+) it", line)):
            out.used_by.append((user.group(1), user.group(2), user.group(3)))
        elif not section and (attr := re.match(r"(\w+): (.*)$", line)):
            out.attrs[attr.group(1)] = attr.group(2)
    return out


def parse_policies(observation: str) -> Policies:
    """What ``whoami`` says is in force."""
    text = body(observation)
    freeze = re.search(r"CHANGE FREEZE in force for ([\w, ]+):", text)
    approval = re.search(r"every change in ([\w, ]+) needs an approval", text)
    return Policies(frozenset(_words(freeze.group(1))) if freeze else frozenset(),
                    frozenset(_words(approval.group(1))) if approval else frozenset({"prod"}))


@dataclass(frozen=True)
class Policies:
    """The policies ``whoami`` reported: environments under a freeze, and those needing approval."""

    freeze_envs: frozenset[str]
    approval_envs: frozenset[str]


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[,\s]+", text) if word]


def flagged(briefing: str) -> list[str]:
    """The ids a cost-review briefing lists, one per ``- <id> <name> (<kind>, <env>)`` line."""
    return [rid for rid, _, _ in _FLAGGED.findall(briefing)]


def resolved(text: str) -> list[str]:
    """The ids a ``resolve`` chain reaches, after the record itself."""
    return [rid for hop in text.split(" -> ")[1:] for rid in ID.findall(hop)]


def parse_health(text: str) -> str:
    found = re.search(r"\bhealth:? (\w+)", text)
    return found.group(1) if found else "unknown"


def parse_count(observation: str) -> str:
    found = _COUNT.search(body(observation))
    return found.group(1) if found else ""


def names(entries: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"{name} ({rid})" for name, rid, _ in entries)


def product_of(name: str) -> str:
    """The product a stack's resource belongs to: ``orders-web`` -> ``orders``."""
    return name.rsplit("-", 1)[0] if "-" in name else name


def snapshot_id(text: str) -> str:
    """The id of the snapshot a ``snapshot`` answer (without the clock line) says it took; "" if it
    took none (``snapshot <id> of <resource> ...``: the id before " of ")."""
    taken = ID.search(text.split(" of ")[0]) if text.startswith("snapshot") else None
    return taken.group() if taken else ""
