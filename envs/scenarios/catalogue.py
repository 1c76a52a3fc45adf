"""The scenario catalogue as a person reads it, generated from each family's metadata.

`docs/scenarios.md` is this module's output (a test keeps the two equal), and
``blastradius list`` prints the same facts.
"""

from __future__ import annotations

from collections.abc import Iterable

from .base import Family

__all__ = ["render_markdown"]


def render_markdown(families: Iterable[Family], env_ids: dict[str, str]) -> str:
    families = list(families)
    lines = [
        "# Scenario families",
        "",
        "Generated from each family's metadata by `blastradius list --markdown`; do not edit by hand.",
        "Each family is grounded in a public incident. Its difficulty levels differ in how the trap",
        "is evidenced to an investigator, never in randomly unknowable facts.",
        "",
        "Owners (`ask_owner`) answer the question asked from what their team knows: what uses a",
        "resource (every consumer whose edge the team knows of, and how often a rare one comes), and",
        "the facts the level gives them on its settings' source, its role, its minimum, what is safe",
        "to change, what its ids are, what an operation on it does and what happened to it lately.",
        "Of a topic they know nothing about they say \"we don't know\"; to a general question they",
        "tell everything they know. Each level below says what its owners know.",
        "",
        "| family | env id | incident | date |",
        "|---|---|---|---|",
    ]
    lines += [f"| [`{f.id}`](#{f.id}) | `{env_ids.get(f.id, '-')}` | {f.incident.title} | {f.incident.date} |"
              for f in families]
    for family in families:
        lines += ["", f"## {family.id}", "", f"**{family.title}.** {family.tests}", "",
                  f"Grounded in: [{family.incident.title}]({family.incident.url}) ({family.incident.date}). "
                  f"{family.incident.summary}", "", "Difficulty levels:", ""]
        lines += [f"- `{d.name}`{' (default)' if d.name == family.default_difficulty else ''}: {d.evidence}"
                  + (f". Owners know: {d.owners}" if d.owners else "")
                  for d in family.difficulties]
    return "\n".join(lines) + "\n"
