"""What owning teams know about their resources, and how they answer a question (`ask_owner`).

A team's knowledge of a resource is of two kinds. What uses it comes from the dependency graph:
every consumer whose edge is evidenced to ``"owner"`` (`blastradius.envs.resources.Edge`), with
how often it comes when that is rare. Everything else is a `Fact` a scenario records in
`World.owner_notes`: a sentence tagged with the topics it answers (where the resource's settings
or reads come from, its role, its capacity needs, what is safe to change, what its ids are, what
an operation on it really does, what happened to it lately).

An owner answers the question asked. `intents` reads which topics a question is about, in an
outsider's words ("who depends on this?", "what's the floor for this pool", "which box is the
primary", "can I bump the version?"); the answer gives the team's facts on those topics and
says plainly "we don't know ..." of an asked topic it knows nothing about. A question on no
topic in particular ("anything I should know?") gets everything the team knows. "As far as we
know nothing uses it" is said only to a question about what uses the resource, or to a general
one. The same question about the same resource gets the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from .errors import did_you_mean

if TYPE_CHECKING:
    from .resources import Resource
    from .world import World

__all__ = ["TOPICS", "Fact", "Topic", "answer", "fact", "intents"]

Topic = Literal["consumers", "sources", "role", "capacity", "change", "identity", "operations", "events"]
TOPICS: tuple[Topic, ...] = get_args(Topic)
"""What a team may know about a resource: what uses it (and how often); where its settings,
reads or target come from; its role (primary, replica, current or retired); its minimum or
capacity needs; what is safe to change on it (versions, rules, deploys); what it and its ids
are, and whose; what an operation on it really does (read-only or not); what happened to it
lately (a re-sync, a failover, a migration, planned maintenance)."""

_UNKNOWN: dict[Topic, str] = {
    "sources": "we don't know where its settings, data or target come from.",
    "role": "we don't know of a particular role it has (primary, replica, current or retired).",
    "capacity": "we don't know its minimum or how much capacity it needs.",
    "change": "we don't know whether that change is safe: we know of no version or compatibility issue with it.",
    "identity": "we don't know more about what it is, or whose it is, than its description shows.",
    "operations": "we don't know what that operation does to it beyond its documentation.",
    "events": "we don't know of anything that happened to it lately.",
}


@dataclass(frozen=True)
class Fact:
    """One thing the owning team knows about a resource, and the topics it answers."""

    text: str
    topics: frozenset[Topic]

    def __post_init__(self) -> None:
        if not isinstance(self.topics, frozenset) or not self.topics:
            raise ValueError(f"a Fact needs a non-empty frozenset of topics, got {self.topics!r}")
        for topic in self.topics:
            if topic not in TOPICS:
                raise ValueError(f"unknown owner topic {topic!r}{did_you_mean(str(topic), TOPICS, aside=True)}; "
                                 f"choose from {list(TOPICS)}")


def fact(text: str, *topics: Topic) -> Fact:
    """A `Fact` answering ``topics``: ``fact("it was re-synced at 06:00", "events")``."""
    return Fact(text, frozenset(topics))


# -- reading a question ------------------------------------------------------------------

# Compounds an outsider may hyphenate or split: joined before names with hyphens are blanked.
_COMPOUNDS = ((r"read[- ]only", "readonly"), (r"dry[- ]run", "dryrun"), (r"re-?sync", "resync"),
              (r"side[- ]effects?", "sideeffect"), (r"fail[- ]?over", "failover"), (r"roll[- ]?out", "rollout"),
              (r"non[- ]destructive", "nondestructive"), (r"up[- ]to[- ]date", "uptodate"),
              (r"what's", "what is"), (r"who's", "who is"), (r"where's", "where is"), (r"which's", "which is"),
              (r"it's", "it is"), (r"isn't", "is not"), (r"doesn't", "does not"))
_NAMEISH = re.compile(r"[\w'/:]*[-.:/][\w'/:.-]*\w|\w*\d\w*")  # ids, host and DNS names, versions, figures
_SUBJ = r"(?:it|this|that|they|these|those|the \w+(?: \w+)?|its \w+)"
_USE = (r"(?:us(?:e|es|ed|ing)|read(?:s|ing)?|call\w*|depend\w*|rel(?:y|ies|ied|ying)|consum\w*|need\w*|"
        r"referenc\w*|talk\w*|connect\w*|hit(?:s|ting)?|quer(?:y|ies|ying|ied)|writ(?:e|es|ing)|wrote|resolv\w*|"
        r"load\w*|authenticat\w*|access\w*|touch\w*|fetch\w*|subscrib\w*|poll\w*|mount\w*|sync\w*)")
_AUX = r"(?:do|does|did|will|would|can|could|should|might)"
_UNITS = r"(?:servers?|nodes?|hosts?|instances?|machines?|boxes|links?|capacity)"

_PATTERNS: tuple[tuple[Topic, str], ...] = (
    # What uses it: someone else is the subject of a use ("who still reads it?", "does x use it?"),
    # or the resource is its object ("is it still used?").
    ("consumers", r"\b(?:who|whom|what|which|anything|anyone|anybody|something|someone|somebody|else|other|any)"
                  rf"(?:\s+(?!{_AUX}\b|it\b|this\b|that\b|they\b)\w+){{0,3}}?\s+(?:still\s+|currently\s+|ever\s+)?"
                  rf"{_USE}\b"),
    ("consumers", rf"\b(?:{_AUX}|is|are)\s+x\s+(?:\w+\s+)?{_USE}\b"),
    ("consumers", rf"\b{_USE}\s+(?:on\s+|from\s+|to\s+|with\s+)?(?:it|this|that|them)\b(?!\s+(?:from|on)\b)"),
    ("consumers", rf"\b(?:is|are|was|were)\s+{_SUBJ}\s+(?:\w+\s+)?(?:used|read|called|needed|consumed|referenced|"
                  r"relied|depended|accessed|queried|in use|hit)\b"),
    ("consumers", r"\b(?:consumers?|dependents?|dependants?|downstream|callers?|clients?|users?|readers?|"
                  r"subscribers?|in use|unused|orphan\w*|idle|break|breaks|broken by|blast radius|impact\w*|"
                  r"affected|usage|traffic)\b"),
    ("consumers", r"\b(?:delet\w*|remov\w* (?:it|this|that|them)|removal|drop|dropping|retire|retiring|"
                  r"decommission\w*|get rid|clean\w* up|tear\w* down|turn\w* (?:it )?off|shut\w* (?:it )?down|"
                  r"switch\w* (?:it )?off|kill|revoke|revoking|rotate|rotating|rotation)\b"),
    # Where its settings, reads or target come from: the resource is the subject of a use.
    ("sources", rf"\b{_AUX}\s+{_SUBJ}\s+(?:\w+\s+)?(?:read|use|call|query|load|get|pull|fetch|take|depend|rely|point|"
                r"resolve|talk|connect|source|come)\b(?!\s+(?:on\s+|from\s+|to\s+|with\s+)?(?:it|this|that|them)\b)"),
    ("sources", rf"\b(?:is|are)\s+{_SUBJ}\s+(?:\w+\s+)?(?:reading|loading|getting|pulling|fetching|pointing|"
                r"resolving|talking|connecting|sourced|backed|configured|set)\b"),
    ("sources", r"\b(?:where|whence|comes? from|coming from|sources?|upstream|backed by|backing|"
                r"points? (?:at|to)|pointing (?:at|to)|resolves? to|resolving to|targets?|configured|"
                r"(?:get|gets|read|reads|load|loads|pull|pulls|fetch|fetches) (?:\w+ ){0,3}from)\b"
                r"(?!\s+(?:it|this|that|them|these|those)\b)"),
    ("sources", r"\b(?:which|what)\b[^?]*(?<!this )(?<!that )\b(?:config\w*|settings?|holds?|lives? (?:in|on|at)|"
                r"stored|defined)\b"),
    # Its role.
    ("role", r"(?<!this )(?<!that )\b(?:primary|primaries|replica(?! count)|secondary|leader|follower|master|"
             r"standby|writer|role|promoted|demoted|authoritative|canonical|source of truth)\b"),
    ("role", r"\b(?:which|what)\b[^?]*\b(?:current|live(?! with)|active|right|correct|real|newest|latest)\b"),
    ("role", r"\bwhich (?:of (?:the|these|those) (?:\w+ )?)?(?:one|host|box|server|node|cluster|database|db|"
             r"instance|machine)s? (?:is|are|was|were|should|takes|handles|serves|accepts|receives|gets)\b"),
    ("role", r"\b(?:takes?|taking|gets?|getting|handles?|handling|accepts?|receives?) (?:the |all (?:the )?)?writes\b"),
    # Its minimum and capacity needs.
    ("capacity", r"\b(?:how many|how much|how low|how big|how large|minimum|minimal|min|floor|at least|lowest|"
                 r"smallest|fewest|capacity(?! assessment| audit)|headroom|quorum|enough|scale (?:down|in)|"
                 r"shrink\w*|spare|safe limit|peak load|sizing|size)\b"),
    ("capacity", rf"\b(?:remove|removing|take|taking|pull|pulling|drain|draining|cut|cutting|free|freeing|lose|"
                 rf"losing)\b[^?]*\b{_UNITS}\b"),
    ("capacity", rf"\b(?:down to x|x {_UNITS})\b"),
    ("capacity", r"\bneeds? (?:\w+ ){0,2}to (?:run|stay|keep|survive|carry|serve|work|function)\b"),
    # What is safe to change on it: versions, rules, deploys.
    ("change", r"\b(?:versions?|upgrade\w*|bump\w*|update\w*|patch\w*|deploy\w*|rollout\w*|releases?|enable\w*|"
               r"flip\w*|push\w*|migrat\w*|compatib\w*|support\w*|parse\w*|handle|cope|crash\w*|rules?|flags?|"
               r"feature)\b"),
    ("change", r"\b(?:turn|switch|flip)\w*\s+(?:\w+\s+){0,2}?on\b"),
    ("change", rf"\b{_AUX}\s+(?:i|we|you)\s+(?:safely\s+)?(?:change|modify|touch|restart|set|alter|upgrade|edit)\b"),
    ("change", r"\bsafe to (?:change|modify|touch|restart|upgrade|deploy|enable|update|alter|set|bump|edit)\b"),
    # What it (and its ids) are, and whose.
    ("identity", r"\b(?:ids?|identifiers?|what kind|what type|what sort|installations?|installed|installs?|"
                 r"belongs?|belonging|whose|owned by|which team|refers? to|referring to|stands? for|mean|means|"
                 r"which (?:app|application|product|customer|tenant|site)s?|customer ids?|tenants?|sites?)\b"),
    ("identity", r"\bwhat (?:is|are) (?:it|this|that|these|those|they)(?:\s*$|\s+(?:exactly|really|actually)\b)"),
    # What an operation on it really does.
    ("operations", r"\b(?:readonly|sideeffect|dryrun|safe to run|for real|harmless|nondestructive|destructive|"
                   r"idempotent|mutat\w*|(?:write|change|modify|touch|alter)s? (?:anything|nothing)|"
                   r"what (?:does|will|would) (?:\w+ ){1,3}do|what happens if|what would happen)\b"),
    ("operations", rf"\b{_AUX}\s+(?:it|this|that|the \w+|running \w+(?: \w+)?)\s+(?:\w+\s+)?(?:change|write|"
                   r"modify|drain|break|affect|mutate|alter|disrupt|take down|touch|disconnect|withdraw|impact|"
                   r"do anything)\b"),
    # What happened to it lately.
    ("events", r"\b(?:why|what happened|happened|happening|recent\w*|lately|today|yesterday|tonight|last (?:week|night|"
               r"month)|this (?:morning|week)|history|incidents?|outages?|maintenance|resync\w*|failover|failed over|"
               r"migration|rebuil\w*|restor\w*|empty|no (?:rows|data|records|results)|stale|lag\w*|catch\w* up|"
               r"(?:fall\w*|fell|is|it is|far) behind|broken|wrong|going on|(?:is|it is|went|gone) down|slow|errors?|"
               r"when will|how long|expect\w*|planned|scheduled|upcoming|wait)\b"),
)
_RULES = tuple((topic, re.compile(pattern)) for topic, pattern in _PATTERNS)
_GENERAL = re.compile(
    r"\b(?:anything (?:else )?(?:i|we) (?:should|need to|ought to|must) know|what (?:should|do) (?:i|we) (?:need to )?"
    r"know|anything (?:important|else|unusual|special|odd)|tell (?:me|us) (?:about|everything|what you know)|"
    r"what do (?:you|you all|your team) know|any (?:problems?|issues?|concerns?|gotchas?|caveats?|risks?|"
    r"warnings?|advice|tips?|notes?|known issues?)|heads up|fill (?:me|us) in|background|overview|"
    r"the story|everything)\b")


def _asked(question: str, own: Iterable[str], others: Iterable[str]) -> str:
    """The part of ``question`` that asks, lower case, the resource's own names and ids said as
    "it" and any other's as "x": the sentences with a question mark when there are any (the rest
    is context), else all of it."""
    text = " " + question.lower() + " "
    for names, said in ((own, " it "), (others, " x ")):
        text = _say_names(text, {name.lower() for name in names if name}, said)
    for pattern, joined in _COMPOUNDS:
        text = re.sub(rf"\b{pattern}\b", joined, text)
    sentences = re.split(r"(?<=[.!;:?])\s+", text)
    asking = [sentence for sentence in sentences if "?" in sentence] or sentences
    plain = _NAMEISH.sub(" x ", " ".join(asking))
    return " ".join(re.sub(r"[^\w\s]", " ", plain).split())


def _say_names(text: str, names: set[str], said: str) -> str:
    """``text`` with each of ``names`` that stands as a word of its own (no letter, digit, ``_``,
    ``.`` or ``-`` before it, no letter, digit, ``_`` or ``-`` after) replaced by ``said``; the
    longest name wins where several start at one place.

    What ``re.sub`` of the alternation of ``names`` does, without compiling one: every world
    has names of its own, so such a pattern was compiled for nearly every question asked."""
    by_first: dict[str, list[str]] = {}
    for name in sorted(names, key=len, reverse=True):
        by_first.setdefault(name[0], []).append(name)
    pieces: list[str] = []
    done, at, end = 0, 0, len(text)
    while at < end:
        candidates = by_first.get(text[at])
        if candidates is not None and (at == 0 or not _joins_before(text[at - 1])):
            for name in candidates:
                after = at + len(name)
                if text.startswith(name, at) and (after == end or not _joins_after(text[after])):
                    pieces += (text[done:at], said)
                    done = at = after
                    break
            else:
                at += 1
            continue
        at += 1
    return "".join(pieces) + text[done:] if pieces else text


def _joins_after(char: str) -> bool:
    """``char`` would make a name part of a longer word (``\\w`` or ``-``, as ``re`` reads them)."""
    return char.isalnum() or char in "_-"


def _joins_before(char: str) -> bool:
    """As `_joins_after`, a full stop too: ``x.orders-db`` is a DNS name, not ``orders-db``."""
    return char.isalnum() or char in "_.-"


def intents(question: str, own: Iterable[str] = (), others: Iterable[str] = ()) -> frozenset[Topic]:
    """The topics ``question`` asks about. ``own`` are the names and ids of the resource asked
    about, ``others`` those of the rest of the world: a host called ``db-replica`` says nothing
    about roles. Empty: a general question (or one on no topic a team keeps), which everything
    the team knows answers."""
    text = _asked(question, own, others)
    if _GENERAL.search(text):
        return frozenset()
    return frozenset(topic for topic, rule in _RULES if rule.search(text))


# -- answering -----------------------------------------------------------------------------

def answer(world: World, res: Resource, question: str) -> str:
    """What ``res``'s owning team says to ``question``: the facts it knows on the topics asked,
    "we don't know" of an asked topic it knows nothing about, everything to a general question."""
    notes = world.owner_notes.get(res.id, [])
    for note in notes:
        if not isinstance(note, Fact):
            raise TypeError(f"World.owner_notes[{res.id!r}] holds {note!r}: owner notes are "
                            "blastradius.envs.owners.Fact (fact(text, *topics))")
    own = (res.id, res.name, str(res.attrs.get("fqdn", "")))
    others = [name for other in world.resources.values() if other.id != res.id for name in (other.id, other.name)]
    asked = intents(question, own, others)
    wanted = set(asked or TOPICS)
    said = [f"{res.owner} about {res.name}:"]
    if "consumers" in wanted:
        users = [f"{world.resources[e.consumer].name} ({e.consumer}), which {e.kind.replace('_', ' ')} it"
                 + (f" every {e.period // 1440} days" if e.period >= 2880 else "")
                 for e in world.consumers(res.id)
                 if "owner" in e.evidence and world.resources[e.consumer].exists]
        said += [f"  it is used by {user}" for user in users] or ["  as far as we know nothing uses it."]
    said += [f"  {note.text}" for note in notes if note.topics & wanted]
    known = {topic for note in notes for topic in note.topics}
    said += [f"  {_UNKNOWN[topic]}" for topic in TOPICS if topic in asked and topic != "consumers" and topic not in known]
    return "\n".join(said)
