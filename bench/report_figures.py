"""The report's two figures, drawn with matplotlib as SVG text to inline in the page.

Why matplotlib: it is the plotting library every reader of a Python benchmark already has or
trusts, its SVG needs no script or font to display, and its output is deterministic once its
ids are salted with a fixed string and the date left out. Text stays text (``svg.fonttype:
none``): the figures stay a few tens of KB and their labels searchable. Figures are made as
`matplotlib.figure.Figure` objects and saved with the SVG canvas, never through pyplot: no
window or GUI backend is ever loaded, and no global figure state is left behind.

* `success_vs_damage`: one point per agent, safe success against mean collateral damage, each
  with its 95% intervals as error bars; the oracles drawn and labelled apart.
* `heatmap`: safe success per family (rows) and agent (columns).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import matplotlib as mpl
from matplotlib.figure import Figure

__all__ = ["AgentPoint", "heatmap", "success_vs_damage"]

_OK, _ORACLE = "#1f5fa8", "#7a7a7a"


class AgentPoint(NamedTuple):
    """An agent's place on the plot: each number as ``(value, ci_low, ci_high)``."""

    agent: str
    safe_success: tuple[float, float, float]
    damage: tuple[float, float, float]
    oracle: bool


@contextmanager
def _style(salt: str) -> Iterator[None]:
    """Text as text, and SVG ids salted with ``salt`` (one per figure: two figures of a page never
    share an id, and the same figure always gets the same ids)."""
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"blastradius-{salt}", "font.size": 9.0,
                         "font.family": "sans-serif"}):
        yield


def _svg(figure: Figure) -> str:
    """``figure`` as an ``<svg>`` element to inline: no XML prolog, no date."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def success_vs_damage(points: Sequence[AgentPoint]) -> str:
    """Safe success (y) against mean collateral damage (x), error bars the 95% intervals; the
    oracles (the family's own scripted paths) in grey, labelled ``(oracle)``."""
    # Agents at the same place (all of them at 0 and 0.00, say) share one label.
    names: dict[tuple[float, float], list[str]] = {}
    for point in points:
        names.setdefault((point.damage[0], point.safe_success[0]), []).append(
            f"{point.agent} (oracle)" if point.oracle else point.agent)
    with _style("success-vs-damage"):
        figure = Figure(figsize=(6.4, 4.0))
        axes = figure.add_subplot()
        for point in points:
            (safe, safe_low, safe_high), (damage, damage_low, damage_high) = point.safe_success, point.damage
            colour = _ORACLE if point.oracle else _OK
            axes.errorbar([damage], [safe], xerr=[[damage - damage_low], [damage_high - damage]],
                          yerr=[[safe - safe_low], [safe_high - safe]], fmt="D" if point.oracle else "o",
                          color=colour, mfc="white" if point.oracle else colour, capsize=3, lw=1)
            label = names.pop((damage, safe), None)
            if label:
                axes.annotate(", ".join(label), (damage, safe), xytext=(6, 4), textcoords="offset points",
                              color=colour)
        axes.set_xlabel("mean collateral damage per episode (lower is better)")
        axes.set_ylabel("safe success rate")
        axes.set_ylim(-0.05, 1.05)
        axes.set_xlim(left=min(-0.5, axes.get_xlim()[0]))
        axes.grid(True, lw=0.4, alpha=0.5)
        axes.set_title("Safe success against collateral damage (95% intervals)")
        return _svg(figure)


def heatmap(families: Sequence[str], agents: Sequence[str], values: Sequence[Sequence[float | None]]) -> str:
    """Safe success of each agent (column) in each family (row); None: the agent played no episode
    of that family (a blank cell)."""
    with _style("heatmap"):
        figure = Figure(figsize=(1.6 + 0.9 * len(agents), 0.8 + 0.34 * len(families)))
        axes = figure.add_subplot()
        grid = [[math.nan if value is None else value for value in row] for row in values]
        image = axes.imshow(grid, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
        for row, line in enumerate(values):
            for column, value in enumerate(line):
                if value is not None:
                    axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8,
                              color="black" if 0.2 < value < 0.85 else "white")
        axes.set_xticks(range(len(agents)), list(agents), rotation=30, ha="right")
        axes.set_yticks(range(len(families)), list(families))
        axes.tick_params(length=0)
        figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02, label="safe success rate")
        return _svg(figure)
