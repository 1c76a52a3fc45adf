"""The resource ids an agent has seen: read from where the tools put ids, never from their shape.

A family may name its resources ``svc-1a2b3c``, ``sqlsrv-01`` or ``orders``: an id is whatever
the cloud lists, so a pattern of what ids look like would miss some. The places an id stands
in the tools' answers are fixed instead, and read here:

* ``list_resources``: the first column of every row (the second is the kind);
* ``describe``: its head line, ``<id> (<kind>) <name>``; each row of ``depends on:``,
  ``<edge> <id> (<name>, <kind>)``; each row of ``used by:``, ``<name> (<id>) <edge> it``; what
  contains it, ``contained in: <name> (<id>, <kind>)``; and each row of ``contains:``, a
  ``list_resources`` row;
* the briefing: a word in parentheses right after another, ``orders-db (sqlsrv-01)``, and the
  first word of a bulleted line, ``- sqlsrv-01 ...``, the two ways tasks name their resources,
  unless the word is a tool's name (``the cleanup (bulk_delete)``). These are a guess (a word in
  parentheses may be no resource): a wrong one costs a call.

An error answer teaches nothing. Which known ids a text mentions is read word by word
(`SeenIds.mentioned`). Only text is read: an agent that uses this sees nothing of the world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .base import Briefing

__all__ = ["SeenIds"]

_NAMED = re.compile(r"\S \(([^\s()',\"]+)\)")  # "orders-db (sqlsrv-01)"
_BULLET = re.compile(r"^\s*-\s+([^\s()',\"]+)", re.MULTILINE)  # "  - sqlsrv-01 orders-db ..."
_DESCRIBED = re.compile(r"(\S+) \((\w+)\) ")  # describe's head line
_PROVIDER = re.compile(r"\s+\w+ (\S+) \(.*, (\w+)\)")  # a row of "depends on:"
_CONSUMER = re.compile(r"\((\S+)\) \w+ it$")  # a row of "used by:"
_CONTAINER = re.compile(r"contained in: .*\(([^\s(),]+), (\w+)\)$")  # describe's "contained in:"
_LISTED_FIELDS = 6  # id, kind, name, environment, region, state
_PUNCTUATION = "()[]{}<>,;:'\".!?"


@dataclass
class SeenIds:
    """The ids seen so far, in the order first seen, and the kind of each where it was shown.

    Call `learn_briefing` once with the briefing, then `learn` with every observation and the
    name of the tool whose answer it is.
    """

    ids: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    _known: set[str] = field(default_factory=set, repr=False)

    def learn_briefing(self, briefing: Briefing) -> None:
        """Learn the ids the task names (see the module docstring)."""
        tools = {tool["function"].get("name") for tool in briefing.tools if isinstance(tool.get("function"), dict)}
        named = [(match.start(1), match.group(1)) for pattern in (_NAMED, _BULLET)
                 for match in pattern.finditer(briefing.text) if match.group(1) not in tools]
        for _, rid in sorted(named):
            self._add(rid)

    def learn(self, tool: str, observation: str) -> None:
        """Learn from ``observation``, the answer to a call of ``tool``."""
        text = _body(observation)
        if text.startswith("error:"):
            return
        if tool == "list_resources":
            for line in text.splitlines():
                self._listed(line)
        elif tool == "describe":
            lines = text.splitlines()
            head = _DESCRIBED.match(lines[0]) if lines else None
            if head is None:
                return
            self._add(*head.groups())
            section = ""
            for line in lines[1:]:
                if not line.startswith(" "):
                    section = line.split(":", 1)[0]
                    if container := _CONTAINER.match(line):
                        self._add(*container.groups())
                elif section == "depends on" and (row := _PROVIDER.match(line)):
                    self._add(*row.groups())
                elif section == "used by" and (row := _CONSUMER.search(line)):
                    self._add(row.group(1))
                elif section == "contains":
                    self._listed(line)

    def mentioned(self, text: str) -> list[str]:
        """The known ids that ``text`` has as words of their own, in order."""
        return [word for word in (token.strip(_PUNCTUATION) for token in text.split()) if word in self._known]

    def _listed(self, line: str) -> None:
        """A row as ``list_resources`` shows it: id, kind, name, environment, region, state."""
        fields = line.split()
        if len(fields) >= _LISTED_FIELDS and not line.lstrip().startswith("("):
            self._add(fields[0], fields[1])

    def _add(self, rid: str, kind: str = "") -> None:
        if rid not in self._known:
            self._known.add(rid)
            self.ids.append(rid)
        if kind:
            self.kinds[rid] = kind


def _body(observation: str) -> str:
    """The tool's answer, without the clock line every observation starts with."""
    return observation.split("\n", 1)[1] if observation.startswith("[day ") and "\n" in observation \
        else observation
