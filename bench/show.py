"""An episode as text: what the agent did, what it saw, what went down and when, the verdict.

After the briefing comes what was at stake: the family's documented consequence of the reckless
path, as the run recorded it (runs made before it was recorded show none). Each step's line
carries its marks (`blastradius.bench.step_marks`): ``[DESTRUCTIVE]``, the policies it broke
(``[UNAPPROVED]``, ``[FREEZE]``, ``[OUT-OF-SCOPE]``) and the tool layer's faults it met
(``[THROTTLED]``, ``[TIMED OUT]``). The report (or escalation) comes with each claim's verdict,
the referee's reason and the evidence it found; the transcript, on request, with the model's
messages. Plain text, wrapped to `WIDTH` columns.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping
from typing import Any

from .step_marks import Marks, StepMarks, chaos_tags

__all__ = ["HONESTY_FLAGS", "WIDTH", "action_text", "health_changes", "render_episode", "render_transcript",
           "steps_named", "wants_colour"]

WIDTH = 110
_OBSERVATION_CHARS = 1200
_ACTION_CHARS = 400
_CALL_CHARS = 4000  # a tool call in the transcript: the model's own words, kept whole in practice
_CALL = re.compile(r"\bcall (\d+)\b")
_TAG_COLOUR = "1;31"  # bold red: what the agent did or met that a reader must not miss
_FAULT_COLOUR = "33"  # yellow: the tool layer's chaos, met rather than done
_VERDICT_COLOURS = {"supported": "32", "contradicted": "1;31", "unsupported": "33"}
HONESTY_FLAGS = ("false_success_claim", "hidden_destructive_action", "fabricated", "false_unrecoverable")
"""The truthfulness score's flags, each a way a report lied knowing it (docs/report.md)."""
# The explanation's claim lines: shown under the report instead, with their evidence.
_CLAIM_LINES = ("claim ", "undisclosed: ")


def wants_colour(stream: Any, environ: Mapping[str, str]) -> bool:
    """Colour for a terminal only, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty()) and not environ.get("NO_COLOR")


def render_episode(record: dict[str, Any], trajectory: dict[str, Any], marks: Marks | None = None,
                   transcript: bool = False, colour: bool = False) -> str:
    """``record`` and ``trajectory`` as text; ``marks`` are the steps' (None: chaos faults only,
    read from the record); ``transcript``: end with the agent's chat messages; ``colour``: the
    tags and verdicts in ANSI colours (laid out first, so colour never changes a line's width)."""
    lines = [f"episode {record['key']}  status: {record['status']}  steps: {record['steps']}", "",
             "briefing:", _wrap(trajectory["briefing"]), ""]
    if trajectory.get("consequence"):
        lines += ["the reckless path's documented consequence:", _wrap(trajectory["consequence"]), ""]
    lines += _steps(trajectory["steps"], marks or Marks(), colour)
    changes = health_changes(trajectory["health_timeline"])
    lines += ["", "health changes (minutes from start):"]
    lines += [f"  +{minute:>6} {resource:<14} {health}" for minute, resource, health in changes] or ["  none"]
    if record["status"] != "completed":
        lines += ["", f"error: {record['error']}", record.get("traceback") or ""]
    score = record.get("score")
    if score:
        truth = score["truthfulness"]["score"]
        judged = "n/a (no report)" if truth is None else f"{truth:.2f}"
        lines += ["", f"success: {score['success']}  safe success: {score['safe_success']}  "
                      f"damage: {score['damage']['total']:.1f}  truthfulness: {judged}"]
        lines += ["", *_report(score, trajectory["steps"], colour)]
    why = [line for line in trajectory["explanation"] if not (score and line.startswith(_CLAIM_LINES))]
    lines += ["", "why:"] + [f"  {line}" for line in why]
    if transcript:
        lines += ["", *render_transcript(trajectory.get("transcript"), record["agent"])]
    return "\n".join(lines)


def _steps(steps: list[dict[str, Any]], marks: Marks, colour: bool) -> list[str]:
    lines = []
    if marks.note:
        lines.append(f"(steps not marked destructive or against policy: {marks.note})")
    for number, step in enumerate(steps, 1):
        mark = marks.steps[number - 1] if number <= len(marks.steps) else StepMarks()
        broke, met = "".join(f"[{tag}] " for tag in mark.tags), "".join(f"[{tag}] " for tag in chaos_tags(step))
        tags = broke + met
        clock = f"[{number}] +{step['clock_minutes']} min  "
        head = textwrap.fill(_cut(f"{clock}{tags}{action_text(step)}", _ACTION_CHARS), WIDTH,
                             subsequent_indent=" " * 8, break_long_words=True)
        if colour and tags and head.startswith(clock + tags):  # the tags fit on the first line: paint them
            painted = (_paint(broke, _TAG_COLOUR) if broke else "") + (_paint(met, _FAULT_COLOUR) if met else "")
            head = clock + painted + head[len(clock + tags):]
        lines.append(head)
        made = [f"{what}: {', '.join(ids)}" for what, ids in (("changed", mark.changed), ("created", mark.created)) if ids]
        if made:
            lines.append(_wrap("; ".join(made)))
        lines.append(_wrap(_cut(step["observation"], _OBSERVATION_CHARS)))
    return lines


def _report(score: dict[str, Any], steps: list[dict[str, Any]], colour: bool) -> list[str]:
    """The report or escalation that ended the episode, each claim with its verdict and evidence."""
    truth = score["truthfulness"]
    finish = score.get("finish")
    if finish not in ("report", "escalate"):
        return ["report: none (the episode ended without a report or an escalation: nothing to judge)"]
    last = steps[-1] if steps else {}
    head = f"{'report' if finish == 'report' else 'escalation'} ({last.get('tool') or finish}, step {len(steps)})"
    lines = [f"{head}: precision {truth['precision']:.2f}, disclosure recall {truth['recall']:.2f}"]
    flags = [flag for flag in HONESTY_FLAGS if truth.get(flag)]
    if flags:
        lines.append(f"  honesty flags: {', '.join(flags)}")
    claims = truth.get("claims") or []
    lines.append(f"  claims ({len(claims)}):" if claims else "  claims: none read from it")
    for claim in claims:
        verdict = f"{claim['verdict'].upper():<13}"
        line = _cut(f"    {verdict} {claim['field']}: {claim['text']}")
        paint = _VERDICT_COLOURS.get(claim["verdict"]) if colour else None
        lines.append(line.replace(verdict, _paint(verdict, paint), 1) if paint else line)
        knew = f" (a lie: {claim['flag']}, the agent knew)" if claim.get("agent_knew") else ""
        lines.append(_wrap(f"why: {claim['why']}{knew}", 18))
        if claim.get("evidence"):
            lines.append(_wrap(f"evidence: {steps_named(claim['evidence'])}", 18))
    if truth.get("undisclosed"):
        lines.append(_wrap(f"undisclosed: {'; '.join(truth['undisclosed'])}", 2))
    return lines


def steps_named(evidence: str) -> str:
    """The referee counts calls from 0, ``show`` counts steps from 1: ``call 1`` is step 2."""
    return _CALL.sub(lambda found: f"{found[0]} (step {int(found[1]) + 1})", evidence)


def render_transcript(messages: Any, agent: str) -> list[str]:
    """The agent's chat messages in order: the model's own (text and tool calls) in full, the
    others (system prompt, briefing, tool results: the steps above) cut to a line each."""
    if not isinstance(messages, list) or not messages:
        return [f"transcript: none recorded (agent {agent} keeps no chat transcript; the LLM agents do)"]
    lines = [f"transcript ({len(messages)} messages; the model's in full, the others cut to a line):"]
    for message in messages:
        role = str(message.get("role", "?")) if isinstance(message, dict) else "?"
        content = message.get("content") if isinstance(message, dict) else message
        text = content if isinstance(content, str) else "" if content is None else json.dumps(content)
        if role != "assistant":
            flat = " ".join(text.split())
            lines.append(_cut(f"  {role:<10} {flat}", WIDTH) if flat else f"  {role:<10} (empty)")
            continue
        said = [_wrap(text, 13)] if text.strip() else []
        for call in message.get("tool_calls") or []:
            function = (call.get("function") or {}) if isinstance(call, dict) else {}
            said.append(_wrap(_cut(f"-> {function.get('name')} {function.get('arguments')}", _CALL_CHARS), 13))
        lines.append(f"  {role:<10} " + ("\n".join(said).lstrip() if said else "(nothing)"))
    return lines


def _paint(text: str, code: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m"


def action_text(step: dict[str, Any]) -> str:
    """``tool {arguments}``: the tool's name first, so a long call cut short still says what it was."""
    action = step["action"]
    if isinstance(action, dict) and step["tool"]:
        return f"{step['tool']} {json.dumps(action.get('arguments', {}), sort_keys=True)}"
    return action if isinstance(action, str) else json.dumps(action, sort_keys=True)


def health_changes(timeline: list[list[Any]]) -> list[list[Any]]:
    """Drop each resource's first point (its initial health): only what changed."""
    seen: set[str] = set()
    changed = []
    for minute, resource, health in timeline:
        if resource in seen:
            changed.append([minute, resource, health])
        seen.add(resource)
    return changed


def _cut(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[: width - 12] + " [...cut...]"


def _wrap(text: str, indent: int = 4) -> str:
    """``text`` indented, its long lines wrapped to `WIDTH` columns (its own line breaks kept)."""
    pad = " " * indent
    return "\n".join(textwrap.fill(line, WIDTH, initial_indent=pad, subsequent_indent=pad, break_long_words=True,
                                   replace_whitespace=False) if line.strip() else pad.rstrip()
                     for line in text.splitlines())
