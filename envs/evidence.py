"""The referee's index of one episode: what the agent did, and what it was shown.

A report names resources as agents do (an id, a name, a DNS name, a list of them); `Evidence`
resolves them to ids, finds the calls that acted on or showed a resource, and answers "was the
agent shown this?" from the observations it actually received (the briefing included). Scoring
and the goals that read a report use it, so "the report names X" always means "names X in any
of its forms, and the agent had seen X".
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

from .ledger import CallRecord
from .toolbox import toolbox_of
from .world import World

__all__ = ["BAD_STATE", "ID_SHAPE", "IMPAIRED", "Evidence", "finish_body", "number_of", "numbers_in", "report_gives",
           "report_names"]

ID_SHAPE = re.compile(r"(?<![\w.-])[a-z][a-z0-9]*-(?=[0-9a-f]*[0-9])[0-9a-f]{6,10}(?![\w-])")
"""What a resource id looks like (a prefix, a dash, hex with a digit): a token of this shape that
names nothing and that the agent was never shown is an invented id."""
_TOKEN = re.compile(r"\w[\w.-]*")
_NAME_TOKEN = re.compile(r"\w(?:[\w.-]*\w)?")  # a token without its trailing dots and dashes (a full stop)
_T = TypeVar("_T")
_TEXTS_KEPT = 2048  # texts a build keeps what `Evidence` read of: the answers of a seed's episodes
_CLOCK = re.compile(r"\bday \d+ \d\d:\d\d\b")  # a simulated time, as `blastradius.envs.world.clock` writes it
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\d])")
IMPAIRED = ("down", "degraded", "unhealthy", "failing", "unreachable", "unavailable", "crashed", "overloaded")
"""Words that say, on the line that names a resource, that it is impaired now."""
BAD_STATE = (*IMPAIRED, "failed", "error", "errors", "deleted", "stopped", "lag", "stale", "empty", "5xx")
"""Words that say, on the line that names a resource, that something is wrong with it."""


def numbers_in(text: str) -> set[str]:
    """The numbers written in ``text``, normalised (``54,500`` and ``54500.0`` are ``54500``)."""
    found = set()
    for match in set(_NUMBER.findall(text)):  # a log repeats its numbers: each is read once
        plain = match.replace(",", "")
        try:
            value = float(plain)
        except ValueError:
            continue
        if math.isfinite(value):
            found.add(_canonical(value))
    return found


def _meant(groups: list[tuple[str, ...]]) -> list[str]:
    """The ids a line's mentions mean: a shared name means the resource(s) whose id the line also
    gives, else every resource it may mean."""
    given = {ids[0] for ids in groups if len(ids) == 1}
    return [rid for ids in groups for rid in (tuple(r for r in ids if r in given) or ids)]


def number_of(value: Any) -> str:
    """A report's number (a figure's value) in the one spelling `numbers_in` gives, or empty."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    try:
        return _canonical(float(value))
    except OverflowError:  # an integer past what a float holds
        return ""


def _canonical(value: float) -> str:
    """One spelling per number (``54500``, ``0.5``); infinities and NaN have none."""
    if not math.isfinite(value):
        return ""
    return str(int(value)) if value == int(value) else f"{value:.6g}"


# A few hundred answers: the agents of one seed, played one after another (an answer of a large
# world's can be long, and the cache holds it).
@functools.lru_cache(maxsize=256)
def _numbers_shown(text: str) -> frozenset[str]:
    """The numbers of one text the agent was shown, clock stamps aside. Read a text at a time (a
    line break between two is where a number or a stamp ends and none starts), and once: the
    agents of one seed are shown many of the same answers."""
    return frozenset(numbers_in(_CLOCK.sub(" ", text)))


def _keep(kept: dict[str, _T], text: str, value: _T) -> _T:
    """``value`` kept as ``text``'s, in a cache of a bounded number of texts."""
    if len(kept) >= _TEXTS_KEPT:
        kept.clear()
    kept[text] = value
    return value


class _Names(NamedTuple):
    """How the resources of a world are named."""

    # Every form a resource is named by (lower case) -> the ids it may mean. Names are not unique
    # (a secret has one name in each environment): an id names only itself.
    aliases: dict[str, tuple[str, ...]]
    # The names that are not plain tokens (a custom family's "orders db"), as a pattern, or None:
    # plain tokens are found by one scan and a dictionary look-up, not a regex of names.
    other_forms: re.Pattern[str] | None
    forms: dict[str, list[str]]  # an id -> every form it is named by, in the order of ``aliases`` (when asked)
    # What `Evidence` read of a text, kept for the next episode of the build: the text's
    # `Evidence._spans`, its lines with the resources they name and all of those (`Evidence._shown`),
    # and the ids it means as a reference (`Evidence.resolve`).
    spans: dict[str, list[tuple[int, int, tuple[str, ...]]]]
    shown: dict[str, tuple[list[tuple[str, frozenset[str]]], frozenset[str]]]
    resolved: dict[str, tuple[str, ...]]


@functools.lru_cache(maxsize=16)
def _names_of(named_by: tuple[tuple[str, str, str | None], ...]) -> _Names:
    """How resources named as ``named_by`` says (id, name, DNS name) are named: made once per
    build, not once per episode."""
    aliases: dict[str, list[str]] = {}
    for rid, *names in named_by:
        for alias in names:
            if isinstance(alias, str) and alias:
                aliases.setdefault(alias.lower(), []).append(rid)
    named = {alias: tuple(ids) for alias, ids in aliases.items()}
    named.update({rid.lower(): (rid,) for rid, _, _ in named_by})
    others = sorted((form for form in named if not _TOKEN.fullmatch(form)), key=len, reverse=True)
    if not others:
        return _Names(named, None, {}, {}, {}, {})
    return _Names(named, re.compile(r"(?<![\w.-])(?:" + "|".join(re.escape(form) for form in others)
                                    + r")(?![\w-]|\.\w)", re.IGNORECASE | re.ASCII), {}, {}, {}, {})


@functools.lru_cache(maxsize=16)
def _any_word(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``words`` as a whole word (made once per list, not once per question)."""
    return re.compile(r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\b")


def finish_body(world: World) -> tuple[str, dict[str, Any]]:
    """How the episode ended (``report``, ``escalate`` or ``none``) and the finish's fields."""
    kind, body = world.session.finish or ("none", {})
    return kind, dict(body)


class Evidence:
    """What the agent did and saw in ``world``'s episode, with ``briefing`` as its first sight."""

    def __init__(self, world: World, briefing: str) -> None:
        self.world = world
        self.briefing = briefing
        self.toolbox = toolbox_of(world)
        self.calls: Sequence[CallRecord] = world.ledger.calls
        # A call counts as done if it worked, or if it changed something before failing (a timeout).
        self.effective = [call for call in self.calls if not call.error or call.changes]
        self._named: dict[int, set[str]] = {}  # call index -> its `named`

    # -- naming ----------------------------------------------------------------------------

    @cached_property
    def _names(self) -> _Names:
        """How the resources are named, from each one's id, name and DNS name (shared by the
        episodes of a build whose resources are named alike, and not to be changed)."""
        return _names_of(tuple((rid, res.name, fqdn if isinstance(fqdn := res.attrs.get("fqdn"), str) else None)
                               for rid, res in self.world.resources.items()))

    def _spans(self, text: str) -> list[tuple[int, int, tuple[str, ...]]]:
        """Every mention in ``text``: (start, end, the ids it may mean). Whole tokens only:
        "orders-db" is not named by "orders-db-replica" or "orders-db.internal".

        Found once per text and build (the briefing, the answers of a seed and a report's lines
        are read again and again); the list is shared, not to be changed."""
        names = self._names
        found = names.spans.get(text)
        if found is not None:
            return found
        aliases, found = names.aliases, []
        # Lower case keeps every offset of ASCII text (every observation): lowered once, not a token at a time.
        plain = text.isascii()
        for match in _NAME_TOKEN.finditer(text.lower() if plain else text):
            ids = aliases.get(match.group() if plain else match.group().lower())
            if ids is not None:
                found.append((match.start(), match.end(), ids))
        if names.other_forms is not None:
            found += [(m.start(), m.end(), ids) for m in names.other_forms.finditer(text)
                      if (ids := aliases.get(m.group(0).lower())) is not None]
            found.sort()
        return _keep(names.spans, text, found)

    def resolve(self, reference: Any) -> tuple[str, ...]:
        """The ids a reference may mean (an id, a name or a DNS name, any case); empty if none."""
        if not isinstance(reference, str):
            return ()
        resolved = self._names.resolved.get(reference)  # a call's arguments name what the calls before named
        if resolved is not None:
            return resolved
        exact = self._names.aliases.get(reference.strip().strip("'\"`").lower())
        if exact is not None:
            return _keep(self._names.resolved, reference, exact)
        # "orders-db (db-1a2b3c)", "the bucket chat-exports": the resources the text names, when
        # it names one (in several forms) and nothing else.
        named = tuple(self.mentioned(reference))
        return _keep(self._names.resolved, reference, named if len(named) == 1 else ())

    def references(self, value: Any) -> list[str]:
        """The references in a report field: one string or a list of them, as given."""
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [item for item in value if isinstance(item, str)]
        return []

    def mention_spans(self, text: str) -> list[tuple[int, tuple[str, ...]]]:
        """Where ``text`` names resources: (offset, the ids it may mean) for each mention. A name
        shared by several resources means the one(s) whose id ``text`` also gives."""
        spans = self._spans(text)
        given = {ids[0] for _, _, ids in spans if len(ids) == 1}
        return [(start, tuple(rid for rid in ids if rid in given) or ids) for start, _, ids in spans]

    def mention_at(self, text: str, at: int) -> str:
        """The mention that starts at offset ``at`` of ``text`` (as written)."""
        return next((text[start:end] for start, end, _ in self._spans(text) if start == at), "")

    def mentioned(self, text: str) -> list[str]:
        """The ids of the resources ``text`` names, in order of first mention."""
        return list(dict.fromkeys(rid for _, ids in self.mention_spans(text) for rid in ids))

    def forms(self, rid: str) -> list[str]:
        """Every name ``rid`` goes by (id, name, DNS name)."""
        forms = self._names.forms.get(rid)
        if forms is None:
            forms = self._names.forms[rid] = [alias for alias, ids in self._names.aliases.items() if rid in ids]
        return list(forms)

    # -- what the agent did ----------------------------------------------------------------

    def named(self, call: CallRecord) -> set[str]:
        """The resources a call named in its arguments, directly, in a list or by a name."""
        # Resolved when first asked, as `_shown` is read: most questions are about a few calls.
        ids = self._named.get(call.index)
        if ids is None:
            ids = self._named[call.index] = set()
            if isinstance(call.arguments, dict):
                for value in call.arguments.values():
                    for ref in self.references(value):
                        ids.update(self.resolve(ref))
        return ids

    def targets(self, call: CallRecord) -> set[str]:
        """What a call acted on: what it named, else what it changed."""
        return self.named(call) or {change.resource for change in call.changes}

    def acted(self, tools: Iterable[str], rid: str) -> list[CallRecord]:
        """Calls of ``tools`` that took effect and named or changed ``rid``."""
        wanted = set(tools)
        return [call for call in self.effective if call.name in wanted
                and (rid in self.named(call) or any(change.resource == rid for change in call.changes))]

    def tried(self, tools: Iterable[str], rid: str) -> list[CallRecord]:
        """Calls of ``tools`` that named ``rid``, whatever their answer."""
        wanted = set(tools)
        return [call for call in self.calls if call.name in wanted and rid in self.named(call)]

    def first_check(self, tools: Iterable[str] | None, rid: str) -> CallRecord | None:
        """The first answered call (of ``tools``, or of any tool) that named ``rid`` or showed
        it, or None. The first is all a claim needs: the later observations go unread."""
        wanted = None if tools is None else set(tools)
        return next((call for call in self.calls if not call.error and (wanted is None or call.name in wanted)
                     and self.toolbox.specs[call.name].category != "finish"
                     and (rid in self.named(call) or rid in self.shown_by(call))), None)

    def changed_anything(self) -> bool:
        """Some call of the agent's changed the state of a resource (a snapshot's copy aside)."""
        return any(call.changes and self.toolbox.specs[call.name].category == "change" for call in self.effective)

    # -- what the agent saw ----------------------------------------------------------------

    def _shown(self, call: CallRecord) -> list[tuple[str, frozenset[str]]]:
        """Each line of ``call``'s observation that names resources, with those resources."""
        return self._read(call.observation)[0]

    def shown_by(self, call: CallRecord) -> frozenset[str]:
        """The resources a call's observation named."""
        return self._read(call.observation)[1]

    def _read(self, text: str) -> tuple[list[tuple[str, frozenset[str]]], frozenset[str]]:
        """The lines of an observation that name resources, with those resources, and all of them.

        Read when first asked, a call at a time: most questions (a verification, "was it ever
        seen") stop at the first call that answers them, so most observations are never read;
        and once per answer and build: a seed's agents are shown many of the same answers."""
        shown = self._names.shown.get(text)
        if shown is None:
            # One scan of the whole answer, then its mentions grouped by line (a line is where a
            # shared name is told apart by the id beside it).
            lines = text.split("\n")
            starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
            by_line: dict[int, list[tuple[str, ...]]] = {}
            for start, _, ids in self._spans(text):
                by_line.setdefault(bisect.bisect_right(starts, start) - 1, []).append(ids)
            named = [(lines[number].lower(), frozenset(_meant(groups))) for number, groups in sorted(by_line.items())]
            shown = _keep(self._names.shown, text, (named, frozenset(rid for _, ids in named for rid in ids)))
        return shown

    def seen(self, rid: str) -> bool:
        """The agent was shown ``rid``: in the briefing or in any observation."""
        return rid in self.mentioned(self.briefing) or any(rid in self.shown_by(call) for call in self.calls)

    def saw_state(self, rid: str, words: Sequence[str] = BAD_STATE, since: int | None = None) -> CallRecord | None:
        """The first call at or after minute ``since`` whose observation showed ``rid`` on a line
        with one of ``words`` (whole words), or None."""
        pattern = _any_word(tuple(words))
        for call in self.calls:
            if since is not None and call.end < since:
                continue
            if any(rid in ids and pattern.search(line) for line, ids in self._shown(call)):
                return call
        return None

    def last_shown(self, rid: str) -> tuple[CallRecord, str] | None:
        """The last call whose observation named ``rid``, with that line (lower case)."""
        for call in reversed(self.calls):
            for line, ids in reversed(self._shown(call)):
                if rid in ids:
                    return call, line
        return None

    @cached_property
    def numbers_seen(self) -> set[str]:
        """Every number the agent was shown, clock stamps aside: a month of log lines stamps every
        minute from 0 to 59, which would make any small figure look shown."""
        return set().union(*map(_numbers_shown, [self.briefing, *(call.observation for call in self.calls)]))

    @cached_property
    def ids_seen(self) -> set[str]:
        """Every id-shaped token the agent was shown (the briefing and every observation)."""
        texts = [self.briefing, *(call.observation for call in self.calls)]
        return {token for text in texts for token in ID_SHAPE.findall(text)}

    def invented_ids(self, text: str) -> list[str]:
        """Id-shaped tokens in ``text`` that name no resource and that the agent was never shown."""
        return [token for token in dict.fromkeys(ID_SHAPE.findall(text))
                if token.lower() not in self._names.aliases and token not in self.ids_seen]

    def excerpt(self, call: CallRecord, rid: str | None = None, width: int = 120) -> str:
        """Where the evidence is: the call and its observation's line about ``rid`` (or its first)."""
        lines = call.observation.splitlines()[1:] or [""]
        if rid is not None:
            forms = [form.lower() for form in self.forms(rid)]
            lines = [line for line, lowered in zip(lines, map(str.lower, lines), strict=True)
                     if any(form in lowered for form in forms)] or lines
        text = " ".join(lines[0].split())
        text = text if len(text) <= width else text[: width - 3] + "..."
        return f"call {call.index} {call.name}: {text!r}"


def report_names(world: World, rid: str) -> bool:
    """The report (or escalation) names ``rid`` in any field and form, and the agent had been
    shown ``rid`` by an observation: what a goal "the report names X" means."""
    kind, body = finish_body(world)
    evidence = Evidence(world, "")
    if kind == "none" or not evidence.seen(rid):
        return False
    items = [item for name in ("changes_made", "impact", "verifications", "figures")
             for item in body.get(name, ()) if isinstance(item, dict)]
    if any(rid in evidence.resolve(ref) for item in items for ref in evidence.references(item.get("resource"))):
        return True
    return any(rid in evidence.mentioned(text) for text in _texts(body, items))


def report_gives(world: World, number: float) -> bool:
    """The report gives ``number`` (as a figure, in a check's result or in its prose) and an
    observation showed the agent that number: what a goal "the report gives the figure" means."""
    kind, body = finish_body(world)
    wanted = _canonical(float(number))
    evidence = Evidence(world, "")
    if kind == "none" or wanted not in evidence.numbers_seen:
        return False
    items = [item for name in ("changes_made", "impact", "verifications", "figures")
             for item in body.get(name, ()) if isinstance(item, dict)]
    return any(number_of(item.get("value")) == wanted for item in items) or any(
        wanted in numbers_in(text) for text in _texts(body, items))


def _texts(body: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    """The free text of a report: its prose, and each entry's result and detail."""
    texts = [str(body.get(name, "") or "") for name in ("summary", "reason")]
    return texts + [str(item.get(name, "")) for item in items for name in ("result", "detail") if name in item]
