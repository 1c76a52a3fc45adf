"""``blastradius report RUN_DIR...``: one HTML file that shows a run to someone who was not there.

The file stands alone: styles, a few lines of script (sortable tables, ``#episode=KEY`` opening
that episode) and the figures (inline SVG) are all in it, nothing is fetched, so it opens from
disk and travels as an e-mail attachment. It holds the leaderboard with the numbers of
``leaderboard.md`` (`blastradius.bench.runs.leaderboard_of` pools several runs exactly as
``blastradius leaderboard`` does, and `blastradius.bench.leaderboard.rows` formats them), the
runs' provenance and settings, the legend, safe success against damage per agent, safe success
per family and agent with per-family tables of damage and honesty, and the episodes
(`blastradius.bench.report_episodes`). Nothing is computed here that another module computes.

Why these libraries (the ``report`` extra): jinja2 keeps the page's markup in one template,
escaped by default, rather than in string pieces scattered through Python; matplotlib draws the
figures as SVG (`blastradius.bench.report_figures`). Both are long-kept, widely installed
libraries; the benchmark itself needs neither, so they are an extra, and without it ``report``
says how to install it.

Deterministic: the same runs give the same bytes (no time but the runs' own, fixed SVG ids).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import breakdown, leaderboard
from .columns import columns, legend
from .provenance import RowProvenance
from .report_episodes import LARGE, WORST, EpisodeView, episode_view, select
from .runs import LoadedRun, Table, leaderboard_of
from .storage import RunFolder

__all__ = ["EXTRA_HINT", "MissingExtra", "build", "render", "require_extra", "write"]

EXTRA_HINT = "pip install -e '.[report]'"
"""What to type to get the ``report`` extra (jinja2 and matplotlib)."""
TEMPLATE = "report.html.j2"
_FAMILY_KEYS = ("agent", "episodes", "collateral_damage_mean", "catastrophe_rate", "honesty_flag_rate",
                "false_success_claim_rate", "hidden_destructive_action_rate", "fabricated_rate",
                "false_unrecoverable_rate")
_SETTINGS = ("families", "difficulties", "seeds", "trials", "size", "chaos", "step_timeout", "sealed")
_BOLD, _CODE = re.compile(r"\*\*(.+?)\*\*"), re.compile(r"`(.+?)`")


class MissingExtra(ImportError):
    """jinja2 or matplotlib is not installed; the message says how to install them."""


def require_extra() -> None:
    """Import what the report needs, or raise `MissingExtra` naming what is missing."""
    try:
        import jinja2  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingExtra(f"the report needs {exc.name or 'jinja2 and matplotlib'}: {EXTRA_HINT}") from None


@dataclass(frozen=True)
class Cell:
    """A table cell: its text as ``leaderboard.md`` shows it and what a click on its header sorts by."""

    text: str
    sort: str


@dataclass(frozen=True)
class TableView:
    headers: tuple[str, ...]
    keys: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _sort_value(entry: Mapping[str, Any], key: str, text: str) -> str:
    """The raw number behind a cell (a metric's value, a count), else the text itself."""
    value = entry.get(key)
    if isinstance(value, Mapping):
        return repr(float(value["value"]))
    if isinstance(value, int | float) and not isinstance(value, bool) and text != leaderboard.MISSING:
        return repr(value)
    return text


def table_view(summary: Mapping[str, Mapping[str, Any]], provenance: leaderboard.Provenance | None = None,
               wide: bool = False, keys: Sequence[str] | None = None) -> TableView:
    """`blastradius.bench.leaderboard.rows` as cells, with the columns of ``keys`` only if given."""
    shown = columns(summary, provenance is not None, wide)
    body = leaderboard.rows(summary, provenance, wide)
    picked = [at for at, (key, _) in enumerate(shown) if keys is None or key in keys]
    agents = leaderboard.ranking(summary)
    return TableView(tuple(shown[at].header for at in picked), tuple(shown[at].key for at in picked),
                     tuple(tuple(Cell(line[at], _sort_value(summary[agent], shown[at].key, line[at])) for at in picked)
                           for agent, line in zip(agents, body, strict=True)))


def _inline(markdown: str) -> str:
    """The legend's markdown (bold and code only) as HTML, escaped first."""
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<strong>\1</strong>", html.escape(markdown)))


def _legend(summary: Mapping[str, Mapping[str, Any]], oracles: bool) -> tuple[list[str], str]:
    """`blastradius.bench.columns.legend` of the default table as (items, note), in HTML."""
    text = legend(columns(summary, True), complete=False, oracles=oracles)
    items, _, note = text.partition("\n\n")
    return [_inline(line[2:]) for line in items.splitlines()], _inline(" ".join(note.split()))


def _oracle(runs: Sequence[RowProvenance]) -> bool:
    return bool(runs) and all(run.kind == "oracle" for run in runs)


def _triple(entry: Mapping[str, Any], key: str) -> tuple[float, float, float]:
    metric = entry[key]
    return (float(metric["value"]), float(metric["ci_low"]), float(metric["ci_high"]))


def _run_view(run: LoadedRun) -> dict[str, Any]:
    info, config = run.info, run.info.get("config") or {}
    return {"name": run.name, "started_at": info.get("started_at", "unknown"),
            "package_version": info.get("package_version", "unknown"),
            "git": f"{info.get('git_commit') or 'unknown'}{'+dirty' if info.get('git_dirty') else ''}",
            "python": info.get("python", "unknown"), "platform": info.get("platform", "unknown"),
            "scorer": info.get("scorer_version", "unknown"), "severity": info.get("severity_version", "unknown"),
            "episodes": len(run.episodes), "notice": run.notice,
            "settings": [(name, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
                         for name in _SETTINGS if (value := config.get(name)) not in (None, [])],
            "argv": " ".join(info.get("argv") or [])}


def _listed(record: Mapping[str, Any]) -> str:
    """An episode the page does not show in full, as a line (made here: a template loop over
    thousands of records would be most of the report's time)."""
    score = record.get("score") or {}
    damage = float((score.get("damage") or {}).get("total", 0.0))
    return f"{record['key']}  {record['status']}  safe_success={score.get('safe_success')}  damage={damage:.1f}"


def build(runs: Sequence[LoadedRun], *, allow_mixed: bool = False, large: int = LARGE,
          worst: int = WORST) -> dict[str, Any]:
    """What the page shows of ``runs``, pooled as ``blastradius leaderboard`` pools them.

    Raises:
        RunFolderError: the runs cannot be pooled (`blastradius.bench.runs.leaderboard_of`).
    """
    from . import report_figures

    table: Table = leaderboard_of(runs, allow_mixed)
    summary, provenance = table.summary, table.provenance
    agents = leaderboard.ranking(summary)
    oracles = {agent for agent in agents if _oracle(provenance.get(agent, ()))}
    points = [report_figures.AgentPoint(agent, _triple(summary[agent], "safe_success_rate"),
                                        _triple(summary[agent], "collateral_damage_mean"), agent in oracles)
              for agent in agents if summary[agent]["episodes"] > summary[agent]["errors"]]
    families = breakdown.summarise_by(table.episodes, "family")
    heat = [[float(group[agent]["safe_success_rate"]["value"]) if agent in group else None for agent in agents]
            for group in families.values()]
    origin = {id(record): run for run in runs for record in run.episodes}
    shown, listed = select(table.episodes, large, worst)
    episodes: list[EpisodeView] = []
    for record in shown:
        run = origin[id(record)]
        try:
            trajectory = RunFolder(run.path).trajectory(str(record["key"]))
        except (OSError, ValueError):  # an unfinished or damaged folder: the record alone, said so
            trajectory = {"steps": [], "health_timeline": [], "briefing": "(no trajectory file in the run folder)"}
        episodes.append(episode_view(run.path, record, trajectory, run.info))
    legend_items, legend_note = _legend(summary, bool(oracles))
    return {
        "title": "blastradius report: " + ", ".join(Path(run.name).name for run in runs),
        "runs": [_run_view(run) for run in runs], "notices": table.notices,
        "leaderboard": table_view(summary, provenance), "wide": table_view(summary, provenance, wide=True),
        "totals": leaderboard.run_totals(summary), "legend": legend_items, "legend_note": legend_note,
        "provenance": [(agent, run) for agent in agents for run in provenance.get(agent, ())],
        "plot": report_figures.success_vs_damage(points),
        "heatmap": report_figures.heatmap(list(families), agents, heat) if families else "",
        "families": [(family, table_view(group, wide=True, keys=_FAMILY_KEYS)) for family, group in families.items()],
        "oracles": sorted(oracles), "episodes": episodes, "listed": [_listed(record) for record in listed],
        "large": large, "worst": worst, "total_episodes": len(table.episodes),
    }


def render(context: Mapping[str, Any]) -> str:
    """The page of a `build` context, through the template shipped with the package."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.PackageLoader("blastradius.bench", "templates"),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template(TEMPLATE).render(**context)


def write(runs: Sequence[LoadedRun], output: Path, *, allow_mixed: bool = False, large: int = LARGE,
          worst: int = WORST) -> Path:
    """Build and render the report of ``runs`` into ``output``; returns ``output``.

    Raises:
        MissingExtra: jinja2 or matplotlib is not installed.
        RunFolderError: the runs cannot be pooled.
        OSError: ``output`` cannot be written.
    """
    require_extra()
    output.write_text(render(build(runs, allow_mixed=allow_mixed, large=large, worst=worst)), encoding="utf-8")
    return output
