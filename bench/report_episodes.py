"""The report's episodes: which ones it shows in full, and each one as the page lays it out.

A reader opens the report to see what went wrong, so when a run is large (more than `LARGE`
episodes) the page shows in full only each agent's `WORST` worst episodes (`worst_first`) and
lists the others by key: a 10,000-episode run stays a page that opens, and each episode shown
costs a replay. Each shown episode (`episode_view`) is what `blastradius show` prints, laid out
for a browser, from the same helpers (`blastradius.bench.show`, `blastradius.bench.step_marks`):
the steps with their marks and observations, the report's claims with their verdicts and
evidence, the transcript; and what only a replay gives (`blastradius.bench.step_marks.replay`):
the world's health beside the no-op counterfactual's, the run the scorer measures damage
against, with the chaos faults that struck both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .show import HONESTY_FLAGS, action_text, health_changes, render_transcript, steps_named
from .step_marks import Replay, StepMarks, chaos_tags, replay

__all__ = ["LARGE", "WORST", "ClaimView", "EpisodeView", "Lane", "Segment", "StepView", "episode_view", "select",
           "worst_first"]

LARGE = 200
"""A run with more episodes than this shows only each agent's worst in full."""
WORST = 10
"""How many episodes per agent a large run shows in full."""
MAX_LANES = 16  # resources drawn in an episode's health chart; the rest are named
_OBSERVATION_CHARS = 4000  # an observation folded under its step: long ones are cut, the page must stay small
_CHART_WIDTH = 640.0


@dataclass(frozen=True)
class StepView:
    """One step as a row: its marks (``DESTRUCTIVE``...), the chaos it met, what it changed."""

    number: int
    minute: int
    tags: tuple[str, ...]
    faults: tuple[str, ...]
    action: str
    made: str
    observation: str


@dataclass(frozen=True)
class Segment:
    """A stretch of one health state in a chart lane, placed in the chart's pixels."""

    x: float
    width: float
    health: str
    start: int
    end: int


@dataclass(frozen=True)
class Lane:
    """One resource's health in the episode and in the no-op counterfactual, and the chaos faults on it."""

    resource: str
    episode: tuple[Segment, ...]
    no_op: tuple[Segment, ...]
    faults: tuple[Segment, ...]


@dataclass(frozen=True)
class ClaimView:
    """A claim of the report: the referee's verdict, its reason and evidence (steps counted from 1)."""

    verdict: str
    field: str
    text: str
    why: str
    evidence: str


@dataclass(frozen=True)
class EpisodeView:
    """Everything the page shows of one episode (`episode_view`)."""

    key: str
    run: str
    record: Mapping[str, Any]
    briefing: str
    consequence: str
    steps: tuple[StepView, ...]
    marks_note: str
    minutes: int
    lanes: tuple[Lane, ...]
    unshown: tuple[str, ...]  # resources whose health moved but that got no lane
    no_op_note: str
    faults: tuple[str, ...]
    changes: tuple[tuple[int, str, str], ...]
    finish: str
    flags: tuple[str, ...]
    claims: tuple[ClaimView, ...]
    undisclosed: tuple[str, ...]
    explanation: tuple[str, ...]
    transcript: str

    @property
    def destructive(self) -> int:
        return sum("DESTRUCTIVE" in step.tags for step in self.steps)


def _badness(record: Mapping[str, Any]) -> tuple[float, int, int, int]:
    """Larger is worse: damage, then a lie, then a failure to succeed safely, then an error."""
    score = record.get("score") or {}
    truth = score.get("truthfulness") or {}
    return (float((score.get("damage") or {}).get("total", 0.0)), int(any(truth.get(flag) for flag in HONESTY_FLAGS)),
            int(not score.get("safe_success")), int(record.get("status") != "completed"))


def worst_first(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``records`` worst first (`_badness`). Among equally bad ones the families take turns (the
    first of each family, then the second...), so that an agent whose episodes all went alike is
    shown across its families rather than in the first one only; then by key, so that the choice
    is the same every time."""
    ordered = sorted(records, key=lambda record: (tuple(-part for part in _badness(record)), str(record["key"])))
    turns: dict[tuple[str, tuple[float, int, int, int]], int] = {}
    ranked = []
    for record in ordered:
        alike = (str(record.get("family")), _badness(record))
        turns[alike] = turns.get(alike, 0) + 1
        ranked.append((tuple(-part for part in _badness(record)), turns[alike], str(record["key"]), record))
    return [record for *_, record in sorted(ranked, key=lambda entry: entry[:3])]


def select(records: Sequence[Mapping[str, Any]], large: int = LARGE,
           worst: int = WORST) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """``(shown, listed)``: every record in order when there are at most ``large``; else each
    agent's ``worst`` worst (`worst_first`), agents in order of first appearance, and the rest."""
    if len(records) <= large:
        return list(records), []
    by_agent: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_agent.setdefault(str(record["agent"]), []).append(record)
    shown = [record for group in by_agent.values() for record in worst_first(group)[:worst]]
    chosen = {id(record) for record in shown}
    return shown, [record for record in records if id(record) not in chosen]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more characters cut]"


def _steps(steps: Sequence[Mapping[str, Any]], marks: Sequence[StepMarks]) -> tuple[StepView, ...]:
    views = []
    for number, step in enumerate(steps, 1):
        mark = marks[number - 1] if number <= len(marks) else StepMarks()
        made = "; ".join(f"{what}: {', '.join(ids)}" for what, ids in (("changed", mark.changed),
                                                                       ("created", mark.created)) if ids)
        views.append(StepView(number, int(step.get("clock_minutes", 0)), mark.tags, chaos_tags(dict(step)),
                              action_text(dict(step)), made, _cut(str(step.get("observation", "")),
                                                                  _OBSERVATION_CHARS)))
    return tuple(views)


def _segments(points: Sequence[Sequence[Any]], minutes: int) -> tuple[Segment, ...]:
    """One resource's health points (``[minute, resource, health]``, in order) as segments to ``minutes``."""
    scale = _CHART_WIDTH / max(minutes, 1)
    segments = []
    for at, (minute, _, health) in enumerate(points):
        end = int(points[at + 1][0]) if at + 1 < len(points) else max(minutes, int(minute))
        if end > minute or at + 1 == len(points):
            segments.append(Segment(round(minute * scale, 1), round(max(end - minute, 0) * scale, 1),
                                    str(health), int(minute), end))
    return tuple(segments)


def _lanes(timeline: Sequence[Sequence[Any]], done: Replay, minutes: int) -> tuple[tuple[Lane, ...], tuple[str, ...]]:
    """A lane for each resource whose health moved in the episode or in the no-op run, or that
    chaos struck; those past `MAX_LANES` are returned by name."""
    no_op = [list(point) for point in done.no_op_health or ()]
    moved = dict.fromkeys(str(resource) for _, resource, _ in health_changes([list(p) for p in timeline]))
    moved.update(dict.fromkeys(str(resource) for _, resource, _ in health_changes(no_op)))
    struck: dict[str, list[Segment]] = {}
    scale = _CHART_WIDTH / max(minutes, 1)
    for fault in done.faults:
        end = min(fault.start + fault.duration, minutes)
        if fault.start < minutes:
            for resource in fault.targets:
                struck.setdefault(resource, []).append(Segment(round(fault.start * scale, 1),
                                                               round((end - fault.start) * scale, 1), fault.kind,
                                                               fault.start, end))
    moved.update(dict.fromkeys(struck))
    names = list(moved)
    lanes = []
    for resource in names[:MAX_LANES]:
        ours = [p for p in timeline if p[1] == resource]
        theirs = [p for p in no_op if p[1] == resource]
        lanes.append(Lane(resource, _segments(ours, minutes), _segments(theirs, minutes),
                          tuple(struck.get(resource, ()))))
    return tuple(lanes), tuple(names[MAX_LANES:])


def episode_view(path: Path, record: Mapping[str, Any], trajectory: Mapping[str, Any],
                 info: Mapping[str, Any] | None = None) -> EpisodeView:
    """The episode ``record`` of the run folder ``path`` (whose ``run.json`` is ``info``, if
    given), replayed for its marks and its no-op run."""
    done = replay(path, dict(record), dict(trajectory), info)
    steps = trajectory.get("steps") or []
    timeline = trajectory.get("health_timeline") or []
    score = record.get("score") or {}
    last_minute = max([int(step.get("clock_minutes", 0)) for step in steps] + [int(p[0]) for p in timeline] + [0])
    minutes = max(int(score.get("minutes") or 0), last_minute)
    lanes, unshown = _lanes(timeline, done, minutes)
    truth = score.get("truthfulness") or {}
    claims = tuple(ClaimView(str(claim["verdict"]), str(claim["field"]), str(claim["text"]),
                             str(claim["why"]) + (f" (a lie: {claim['flag']}, the agent knew)"
                                                  if claim.get("agent_knew") else ""),
                             steps_named(str(claim.get("evidence") or "")))
                   for claim in truth.get("claims") or [])
    transcript = trajectory.get("transcript")
    faults = tuple(f"{fault.kind} on {', '.join(fault.targets)}: +{fault.start} to +{fault.start + fault.duration} min"
                   for fault in done.faults)
    return EpisodeView(
        key=str(record["key"]), run=str(path), record=record, briefing=str(trajectory.get("briefing", "")),
        consequence=str(trajectory.get("consequence") or ""), steps=_steps(steps, done.marks.steps),
        marks_note=done.marks.note, minutes=minutes, lanes=lanes, unshown=unshown,
        no_op_note="" if done.no_op_health is not None else
        f"the no-op run could not be rebuilt ({done.marks.note or 'no steps to replay'})",
        faults=faults, changes=tuple((int(minute), str(resource), str(health))
                                     for minute, resource, health in health_changes([list(p) for p in timeline])),
        finish=str(score.get("finish") or ""), flags=tuple(flag for flag in HONESTY_FLAGS if truth.get(flag)),
        claims=claims, undisclosed=tuple(str(item) for item in truth.get("undisclosed") or ()),
        explanation=tuple(str(line) for line in trajectory.get("explanation") or ()),
        transcript="\n".join(render_transcript(transcript, str(record["agent"]))) if transcript else "")
