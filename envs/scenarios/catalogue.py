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
                  for d in family.difficulties]
    return "\n".join(lines) + "\n"
