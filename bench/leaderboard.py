"""The leaderboard: per-agent summaries (from `blastradius.bench.stats.summarise`) as tables.

Pure functions over plain data, no file I/O: each ``to_*`` returns a string for the caller to
write (``leaderboard.md``, a CSV export, ``summary.json``).

* `rows`: the formatted table body, best agent first, in the columns
  `blastradius.bench.columns.columns` chooses: by default the headline ones, which fit a
  120-column terminal; ``wide``, every one. `table`: the markdown table alone.
* `to_markdown`, `to_csv`, `to_json`: the three renderings. The markdown table is followed by
  `run_totals` (what the run cost, when agents report it) and its legend
  (`blastradius.bench.columns.legend`).
* `merge_episodes` and `merge`: several runs in one table (see `merge` for which to use);
  `mismatches` says what keeps runs from being pooled (`SETTINGS`, an agent's code).

Given each row's provenance (`blastradius.bench.provenance.RowProvenance`, one per run the row
pools), the table adds the provenance columns after Episodes (sealed or not; wide, the agent's code
hash too), and the CSV adds the full provenance (`PROVENANCE_CSV`).

A summary is ``{agent: {"episodes": int, "errors": int, metric: {"value", "ci_low",
"ci_high"}, ...}}``; `blastradius.bench.stats.Metric` objects are accepted in place of the
metric dicts. A metric an agent lacks (stats omits an undefined pass^k) shows as ``n/a`` in the
table and as empty cells in the CSV. For an agent with no completed episode (``errors ==
episodes``) the table also shows the completed-episode metrics (`stats.SCORED_METRICS`) as
``n/a`` rather than their zero placeholders, and sorts it as if its damage were unknown; the
CSV and JSON keep the raw placeholders.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any, NamedTuple

from .columns import PROVENANCE_COLUMNS, Summary, columns, legend
from .provenance import RowProvenance
from .stats import COUNT_KEYS, MEAN_METRICS, METRIC_KEYS, SCORED_METRICS, TOTAL_KEYS, USAGE_METRICS, Metric, pass_k

__all__ = [
    "MISSING",
    "PROVENANCE_CSV",
    "SETTINGS",
    "CsvLayout",
    "csv_layout",
    "merge",
    "merge_episodes",
    "mismatches",
    "ranking",
    "rows",
    "run_totals",
    "table",
    "to_csv",
    "to_json",
    "to_markdown",
]

PROVENANCE_CSV = tuple(field.name for field in fields(RowProvenance))
"""Columns the CSV ends with when the rows' provenance is given: the `RowProvenance` fields
(several values of a pooled row joined by ``;``)."""

SETTINGS: tuple[tuple[str, str], ...] = (
    ("scorer_version", "scorer version"),
    ("severity_version", "severity version"),
    ("chaos", "chaos"),
    ("size", "size"),
)
"""``(run.json key, name)`` of what runs must share to be pooled (``chaos`` and ``size`` are
read from the config); families, difficulties and seeds may differ, as in shards of a sweep."""

_SHORT_HASH = 12

MISSING = "n/a"
"""What the table shows for a metric the summary omits (undefined for that agent)."""

Provenance = Mapping[str, Sequence[RowProvenance]]
"""Each agent's provenance: one `RowProvenance` per run its row pools."""

# Metrics shown with one decimal (unbounded means); every other metric gets two.
_ONE_DECIMAL = frozenset(MEAN_METRICS) - {"truthfulness_mean", "claim_precision_mean", "disclosure_recall_mean"}
_TRIPLE = ("value", "ci_low", "ci_high")
_TOKEN_UNITS = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def _triple(metric: Any) -> tuple[float, float, float] | None:
    """``(value, ci_low, ci_high)`` of a metric dict or `Metric`, or None if absent."""
    if metric is None:
        return None
    if isinstance(metric, Metric):
        return (metric.value, metric.ci_low, metric.ci_high)
    return (float(metric["value"]), float(metric["ci_low"]), float(metric["ci_high"]))


def _format(key: str, metric: Any, interval: bool) -> str:
    triple = _triple(metric)
    if triple is None:
        return MISSING
    decimals = 1 if key in _ONE_DECIMAL else 2
    value, low, high = triple
    return f"{value:.{decimals}f} [{low:.{decimals}f}, {high:.{decimals}f}]" if interval else f"{value:.{decimals}f}"


def _unscored(entry: Mapping[str, Any]) -> bool:
    """Whether the entry says it has no completed episode (its scored metrics are placeholders)."""
    return "episodes" in entry and "errors" in entry and int(entry["episodes"]) - int(entry["errors"]) <= 0


def _usage_cell(key: str, metric: Any) -> str:
    triple = _triple(metric)
    if triple is None:
        return MISSING
    return f"{triple[0]:.4f}" if key == "cost_usd_mean" else f"{triple[0]:.0f}"


def _cell(agent: str, entry: Mapping[str, Any], key: str, wide: bool) -> str:
    if key == "agent":
        return agent.replace("|", "\\|")  # a spec may hold a pipe; it would split the markdown row
    if key in USAGE_METRICS:
        return _usage_cell(key, entry.get(key))
    if key in COUNT_KEYS:
        return str(int(entry[key])) if key in entry else MISSING
    if key in SCORED_METRICS and _unscored(entry):
        return MISSING
    # A pass^k is a value without an interval; the default table keeps the headline's alone.
    interval = pass_k(key) is None and (wide or key == "safe_success_rate")
    return _format(key, entry.get(key), interval)


def ranking(summary: Summary) -> list[str]:
    """The agents in table order: by safe success (desc), then damage (asc; missing or with no
    completed episode last), then name."""

    def key(agent: str) -> tuple[float, float, str]:
        safe = _triple(summary[agent].get("safe_success_rate"))
        damage = None if _unscored(summary[agent]) else _triple(summary[agent].get("collateral_damage_mean"))
        return (-(safe[0] if safe else -1.0), damage[0] if damage else math.inf, agent)

    return sorted(summary, key=key)


def _oracle(runs: Sequence[RowProvenance]) -> bool:
    """Whether the row is the family's own scripted path (`blastradius.agents.reference`) in every run."""
    return bool(runs) and all(run.kind == "oracle" for run in runs)


def _provenance_cell(key: str, runs: Sequence[RowProvenance]) -> str:
    if key == "sealed":
        if _oracle(runs):  # played by the harness with the scenario in hand: sealing says nothing of it
            return "oracle"
        sealed = {run.sealed for run in runs}
        return "partly" if len(sealed) > 1 else "yes" if sealed == {True} else "no"
    return ",".join(sorted({run.code_sha256[:_SHORT_HASH] for run in runs if run.code_sha256})) or MISSING


def rows(summary: Summary, provenance: Provenance | None = None, wide: bool = False) -> list[list[str]]:
    """The table body: one list of formatted cells per agent, in `columns` order.

    Sorted by safe success descending, then mean damage ascending (an agent without a damage
    mean, or without a completed episode, sorts last among equals), then agent name. Rates are
    formatted ``0.80 [0.49, 0.94]``, unbounded means ``12.3 [4.1, 20.0]`` (the default table gives
    the headline's interval alone: ``0.80``, ``12.3``), pass^k and usage as values, counts as
    integers, absent metrics as ``n/a``. With ``provenance``, Sealed is yes, no or partly (oracle
    for the family's own scripted paths) and Code the agent's short code hash(es).
    """
    keys = [key for key, _ in columns(summary, provenance is not None, wide)]
    ours = {key for key, _ in PROVENANCE_COLUMNS}

    def cell(agent: str, key: str) -> str:
        if provenance is not None and key in ours:
            return _provenance_cell(key, provenance.get(agent, ()))
        return _cell(agent, summary[agent], key, wide)

    return [[cell(agent, key) for key in keys] for agent in ranking(summary)]


def table(summary: Summary, provenance: Provenance | None = None, wide: bool = False) -> str:
    """The markdown table alone (GitHub style), padded to line up in a terminal: agent names
    left-aligned, every other column right-aligned. No trailing newline."""
    headers = [header for _, header in columns(summary, provenance is not None, wide)]
    body = rows(summary, provenance, wide)
    widths = [max(map(len, cells)) for cells in zip(headers, *body, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) if at == 0 else cell.rjust(width)
                                 for at, (cell, width) in enumerate(zip(cells, widths, strict=True))) + " |"

    rule = "|" + "|".join("-" * (width + 2) if at == 0 else "-" * (width + 1) + ":"  # ":" aligns right
                          for at, width in enumerate(widths)) + "|"
    return "\n".join([line(headers), rule, *map(line, body)])


def _tokens(count: float, unit: tuple[float, str]) -> str:
    return f"{count / unit[0]:.3g}{unit[1]}"


def run_totals(summary: Summary) -> str | None:
    """``Run totals: 1.23M tokens (in 1.1M, out 0.13M), $4.56``: what every agent reported spending,
    summed (`blastradius.bench.stats.TOTAL_KEYS`); None when no agent reported any. An agent that
    reported tokens but no cost (a model without a price) is counted, never priced at 0."""
    spenders = [entry for entry in summary.values() if any(key in entry for key in TOTAL_KEYS)]
    if not spenders:
        return None
    parts = []
    if any("tokens_in_total" in entry or "tokens_out_total" in entry for entry in spenders):
        tokens_in = sum(int(entry.get("tokens_in_total", 0)) for entry in spenders)
        tokens_out = sum(int(entry.get("tokens_out_total", 0)) for entry in spenders)
        # The largest unit the total reaches once rounded to 3 digits (999.6M is 1B, not 1e+03M).
        unit = next((unit for unit in _TOKEN_UNITS if tokens_in + tokens_out >= unit[0] * 0.9995), (1.0, ""))
        parts.append(f"{_tokens(tokens_in + tokens_out, unit)} tokens (in {_tokens(tokens_in, unit)}, "
                     f"out {_tokens(tokens_out, unit)})")
    costs = [float(entry["cost_usd_total"]) for entry in spenders if "cost_usd_total" in entry]
    if costs:
        cost = math.fsum(costs)
        unpriced = len(spenders) - len(costs)
        parts.append((f"${cost:,.2f}" if cost >= 0.01 or cost == 0 else f"${cost:.2g}")
                     + (f" ({unpriced} of {len(spenders)} agents reported no cost)" if unpriced else ""))
    else:
        parts.append("cost not reported")
    return "Run totals: " + ", ".join(parts)


def to_markdown(summary: Summary, title: str | None = None, provenance: Provenance | None = None,
                notices: Sequence[str] = (), *, wide: bool = False) -> str:
    """The leaderboard as a GitHub markdown table (`table`), `run_totals` and the legend under it.

    With a ``title`` the text starts with a ``# title`` heading; each of ``notices`` (e.g. an
    incomplete run) is a line in bold before the table. With ``provenance``, the table has the
    provenance columns. By default the table has the headline columns, to fit 120 characters with
    agent labels of up to 32 characters; ``wide``, every column, each metric with its interval.
    The legend has one line per column shown, and a line on the oracle rows when the provenance
    has one (`blastradius.bench.columns.ORACLE_MEANING`). Ends with a newline.
    """
    shown = columns(summary, provenance is not None, wide)
    parts = [f"# {title}"] if title else []
    parts += [f"**Notice: {notice}**" for notice in notices]
    parts.append(table(summary, provenance, wide))
    if (totals := run_totals(summary)) is not None:
        parts.append(totals)
    parts.append(legend(shown, complete=wide, oracles=provenance is not None
                        and any(_oracle(runs) for runs in provenance.values())))
    return "\n\n".join(parts) + "\n"


class CsvLayout(NamedTuple):
    """The CSV's columns for some summaries: `COUNT_KEYS`, each metric's three numbers, the totals."""

    metrics: tuple[str, ...]
    totals: tuple[str, ...]

    @property
    def header(self) -> list[str]:
        """``agent``, the counts, ``<metric>_value``, ``<metric>_ci_low``, ``<metric>_ci_high``, the totals."""
        return ["agent", *COUNT_KEYS] + [f"{key}_{part}" for key in self.metrics for part in _TRIPLE] \
            + list(self.totals)

    def cells(self, agent: str, entry: Mapping[str, Any]) -> list[Any]:
        """One agent's raw numbers under `header`; empty where the entry lacks the key."""
        line: list[Any] = [agent] + [entry.get(key, "") for key in COUNT_KEYS]
        for key in self.metrics:
            triple = _triple(entry.get(key))
            line += list(triple) if triple else ["", "", ""]
        return line + [entry.get(key, "") for key in self.totals]


def csv_layout(summaries: Iterable[Summary]) -> CsvLayout:
    """The `CsvLayout` for rows of any of ``summaries``: every metric of `METRIC_KEYS` (its pass^2
    among every pass^k found, by k), then any other metric found (sorted); the totals some agent has."""
    found = {key for summary in summaries for entry in summary.values() for key in entry}
    k_of = {key: k for key in (*found, *METRIC_KEYS) if (k := pass_k(key)) is not None}
    passes = sorted(k_of, key=k_of.__getitem__)
    scores = [key for key in METRIC_KEYS if pass_k(key) is None]
    extra = sorted(found - set(COUNT_KEYS) - set(scores) - set(passes) - set(TOTAL_KEYS))
    return CsvLayout((*scores, *passes, *extra), tuple(key for key in TOTAL_KEYS if key in found))


def to_csv(summary: Summary, provenance: Provenance | None = None) -> str:
    """The summary as CSV with raw numbers, one row per agent in `rows` order (`csv_layout`).

    Columns: ``agent``, ``episodes``, ``errors``, then ``<metric>_value``, ``<metric>_ci_low``
    and ``<metric>_ci_high`` for every metric of `blastradius.bench.stats.METRIC_KEYS` (in that
    order, every pass^k found by k) and then any other metric found in the summary (sorted), then the
    totals (`blastradius.bench.stats.TOTAL_KEYS`) when some agent has them. A metric an agent
    lacks has empty cells. With ``provenance``, the `PROVENANCE_CSV` columns end each row (full
    code hashes; a pooled row's distinct values joined by ``;``). Lines end with ``\\n``.
    """
    layout = csv_layout([summary])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(layout.header + list(PROVENANCE_CSV if provenance is not None else ()))
    for agent in ranking(summary):
        line = layout.cells(agent, summary[agent])
        if provenance is not None:
            runs = provenance.get(agent, ())
            line += [";".join(sorted({str(getattr(run, name)).lower() for run in runs})) for name in PROVENANCE_CSV]
        writer.writerow(line)
    return buffer.getvalue()


def _plain(obj: Any) -> Any:
    if isinstance(obj, Metric):
        return obj.to_dict()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(summary: Summary) -> str:
    """The summary as JSON: sorted keys, indent 2, ending with a newline."""
    return json.dumps(summary, sort_keys=True, indent=2, default=_plain) + "\n"


# -- several runs ---------------------------------------------------------------------------------


def merge_episodes(
    runs: Sequence[Sequence[Mapping[str, Any]]],
    *,
    allow_duplicates: bool = False,
) -> list[Mapping[str, Any]]:
    """Concatenate several runs' episode records, for `blastradius.bench.stats.summarise`.

    Use this when the runs measure the same thing (same benchmark version, scorer and agent
    configuration, e.g. shards of one sweep or extra seeds): each agent gets **one** row whose
    metrics and intervals are recomputed from all its episodes, with the cluster bootstrap and
    pass^k seeing every seed of a task together. Use `merge` instead when only summaries are
    left or the runs are not comparable (different versions or configurations).

    The same episode key ``(agent, family, difficulty, seed, trial)`` (``trial`` defaults to 0)
    in two records would count one episode twice, e.g. a run merged with its own resumed copy,
    so it raises ``ValueError`` unless ``allow_duplicates`` is true. The records themselves are
    not copied or changed.
    """
    merged: list[Mapping[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for run_number, run in enumerate(runs, start=1):
        for episode in run:
            key = (episode.get("agent"), episode.get("family"), episode.get("difficulty"),
                   episode.get("seed"), episode.get("trial", 0))
            if not allow_duplicates and key in seen:
                raise ValueError(f"run {run_number} repeats episode {key}; pass allow_duplicates=True to keep both")
            seen.add(key)
            merged.append(episode)
    return merged


def mismatches(runs: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """What keeps runs from being pooled into one row per agent, one sentence each.

    ``runs`` are ``(name, run.json)``. Each setting of `SETTINGS` must be the same in every run,
    and an agent label found in several runs must have the same code hash in each; e.g.
    ``"chaos differs: run A has 0, run B has 3"``. Empty when the runs can be pooled.
    """
    found: list[str] = []
    for key, name in SETTINGS:
        values = {name_: (info.get("config", {}) if key in ("chaos", "size") else info).get(key)
                  for name_, info in runs}
        found += _differs(name, values)
    labels = sorted({label for _, info in runs for label in info.get("agents") or {}})
    for label in labels:
        codes = {name_: str(info["agents"][label].get("code_sha256"))[:_SHORT_HASH] for name_, info in runs
                 if label in (info.get("agents") or {})}
        found += _differs(f"the code of agent {label!r} (sha256)", codes)
    return found


def _differs(what: str, values: Mapping[str, Any]) -> list[str]:
    """``["<what> differs: run A has x, run B has y"]`` naming the first run of each value; empty
    when all agree."""
    first: dict[str, tuple[str, Any]] = {}
    for run, value in values.items():
        first.setdefault(json.dumps(value, sort_keys=True), (run, value))
    if len(first) < 2:
        return []
    return [f"{what} differs: " + ", ".join(f"run {run} has {'no record' if value is None else value}"
                                            for run, value in first.values())]


def merge(summaries: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Put several runs' summaries in one table, keeping every row apart.

    Agents are taken run by run, in order. An agent name already taken by an earlier run gets
    the first free suffix ``#2``, ``#3``, ... (``a``, ``a#2``, ``a#3``), so nothing is pooled
    or overwritten. Use this for summaries you cannot recompute (only ``summary.json`` files
    left) or runs that should not be pooled (different benchmark versions or agent settings);
    to pool comparable runs into one row per agent with correct intervals, use
    `merge_episodes` and `blastradius.bench.stats.summarise` instead (intervals cannot be
    combined from summaries). Entries are shallow copies.
    """
    merged: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        for agent, entry in summary.items():
            name, number = agent, 1
            while name in merged:
                number += 1
                name = f"{agent}#{number}"
            merged[name] = dict(entry)
    return merged
