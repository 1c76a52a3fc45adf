"""An episode as text: what the agent did, what it saw, what went down and when, the verdict.

After the briefing comes what was at stake: the family's documented consequence of the reckless
path, as the run recorded it (runs made before it was recorded show none)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["render_episode"]

_WIDTH = 400


def render_episode(record: dict[str, Any], trajectory: dict[str, Any]) -> str:
    lines = [f"episode {record['key']}  status: {record['status']}  steps: {record['steps']}", "",
             "briefing:", _indent(trajectory["briefing"]), ""]
    if trajectory.get("consequence"):
        lines += ["the reckless path's documented consequence:", _indent(trajectory["consequence"]), ""]
    for number, step in enumerate(trajectory["steps"], 1):
        lines.append(f"[{number}] +{step['clock_minutes']} min  {_cut(_action(step))}")
        lines.append(_indent(_cut(step["observation"], 1200)))
    changes = _changes(trajectory["health_timeline"])
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
    lines += ["", "why:"] + [f"  {line}" for line in trajectory["explanation"]]
    return "\n".join(lines)


def _action(step: dict[str, Any]) -> str:
    """``tool {arguments}``: the tool's name first, so a long call cut short still says what it was."""
    action = step["action"]
    if isinstance(action, dict) and step["tool"]:
        return f"{step['tool']} {json.dumps(action.get('arguments', {}), sort_keys=True)}"
    return action if isinstance(action, str) else json.dumps(action, sort_keys=True)


def _changes(timeline: list[list[Any]]) -> list[list[Any]]:
    """Drop each resource's first point (its initial health): only what changed."""
    seen: set[str] = set()
    changed = []
    for minute, resource, health in timeline:
        if resource in seen:
            changed.append([minute, resource, health])
        seen.add(resource)
    return changed


def _cut(text: str, width: int = _WIDTH) -> str:
    return text if len(text) <= width else text[: width - 20] + " [... cut ...]"


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
