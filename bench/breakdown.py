"""The leaderboard broken down by family or by difficulty: one table per group.

The overall table says which agent is safest; the next question is where each one fails: on
which incident (``--by family``), or with which evidence to find (``--by difficulty``: the
levels ``declared``, ``telemetry``, ``owner``... recur across families, so a level pools every
family that has it). Each group's episodes are summarised on their own
(`blastradius.bench.stats.summarise`), so every number of a group's table, its interval and its
pass^k are exactly what stats gives for that subset, with intervals as wide as its few
episodes make them.

* `BY`: what a breakdown may group by; `split`: the episodes per group; `summarise_by`: the
  summary per group.
* `to_markdown`, `to_json`, `to_csv`: the three renderings, as `blastradius.bench.leaderboard`'s.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from . import leaderboard
from .columns import Summary, columns, legend
from .stats import summarise

__all__ = ["BY", "split", "summarise_by", "to_csv", "to_json", "to_markdown"]

BY = ("family", "difficulty")
"""The episode record fields a breakdown may group by."""


def split(episodes: Sequence[Mapping[str, Any]], by: str) -> dict[str, list[Mapping[str, Any]]]:
    """``episodes`` by their ``by`` value (as a string), groups in name order, records in their order.

    Raises:
        ValueError: ``by`` is not one of `BY`.
    """
    if by not in BY:
        raise ValueError(f"cannot break the leaderboard down by {by!r}; choose one of {', '.join(BY)}")
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for episode in episodes:
        groups.setdefault(str(episode[by]), []).append(episode)
    return dict(sorted(groups.items()))


def summarise_by(episodes: Sequence[Mapping[str, Any]], by: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{group: summary}``: `blastradius.bench.stats.summarise` of each group of `split`.

    Raises:
        ValueError: ``by`` is not one of `BY`, or a record cannot be summarised.
    """
    return {group: summarise(records) for group, records in split(episodes, by).items()}


def _pooled(groups: Mapping[str, Summary]) -> dict[str, Mapping[str, Any]]:
    """Every group's entries in one summary, for the columns any of the tables shows."""
    entries = [entry for summary in groups.values() for entry in summary.values()]
    return {str(number): entry for number, entry in enumerate(entries)}


def to_markdown(groups: Mapping[str, Summary], by: str, *, wide: bool = False, notices: Sequence[str] = ()) -> str:
    """One ``## <by>: <group>`` section per group with its table (`blastradius.bench.leaderboard.table`),
    then one legend for every column shown. Each of ``notices`` is a bold line at the top. By
    default each table has the headline columns; ``wide``, every one. Ends with a newline."""
    parts = [f"**Notice: {notice}**" for notice in notices]
    parts.append(f"Each table is computed from that {by}'s episodes alone.")
    for group, summary in groups.items():
        parts += [f"## {by}: {group}", leaderboard.table(summary, wide=wide)]
    parts.append(legend(columns(_pooled(groups), wide=wide), complete=wide))
    return "\n\n".join(parts) + "\n"


def to_json(groups: Mapping[str, Summary], by: str) -> str:
    """``{"by": by, "groups": {group: summary}}``, each summary in ``summary.json``'s format:
    sorted keys, indent 2, ending with a newline."""
    return json.dumps({"by": by, "groups": groups}, sort_keys=True, indent=2) + "\n"


def to_csv(groups: Mapping[str, Summary], by: str) -> str:
    """One row per group and agent: the ``by`` column (the group), then the columns of
    `blastradius.bench.leaderboard.to_csv` (shared by every group: a metric a group lacks has
    empty cells). Groups in order, agents in table order within each. Lines end with ``\\n``."""
    layout = leaderboard.csv_layout(groups.values())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([by, *layout.header])
    for group, summary in groups.items():
        for agent in leaderboard.ranking(summary):
            writer.writerow([group, *layout.cells(agent, summary[agent])])
    return buffer.getvalue()
