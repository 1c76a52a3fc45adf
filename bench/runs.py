"""Run folders read back: what a run recorded, whether it finished, and several runs in one table.

`read_run_json` reads a folder's ``run.json``; `load_run` reads the whole folder strictly
(`blastradius.bench.storage.read_episodes`: only a torn last line is skipped, and reported);
`config_of` rebuilds the `RunConfig` its ``run.json``
records; `leaderboard_of` pools runs into one row per agent, refusing runs that measured
different things (`blastradius.bench.leaderboard.mismatches`) unless told to mix them, with a
notice for each run that did not finish.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..envs.scenarios.loader import FamilySpecError
from . import leaderboard, stats
from .provenance import RowProvenance, row_provenance
from .run_config import RunConfig, episodes_of
from .storage import read_episodes

__all__ = ["LoadedRun", "RunFolderError", "Table", "config_of", "leaderboard_of", "load_run", "read_run_json",
           "run_folders"]


class RunFolderError(ValueError):
    """A folder that cannot be read as a run folder; the message says what was wrong."""


def config_of(info: Mapping[str, Any]) -> RunConfig:
    """The `RunConfig` a ``run.json`` records.

    Raises:
        RunFolderError: the config is missing, has keys this version does not know, or is invalid.
    """
    recorded = info.get("config")
    if not isinstance(recorded, dict):
        raise RunFolderError("its run.json has no config")
    unknown = sorted(set(recorded) - {f.name for f in fields(RunConfig)})
    if unknown:
        raise RunFolderError(f"its config has keys this blastradius does not know ({', '.join(unknown)}); "
                             f"use the version that made it ({info.get('package_version', 'unknown')})")
    # JSON gave lists where the config holds tuples.
    values: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                              for key, value in recorded.items()}
    try:
        return RunConfig(**values)
    except (TypeError, ValueError) as exc:
        raise RunFolderError(f"its config is not valid: {exc}") from None


@dataclass(frozen=True)
class LoadedRun:
    """One run folder as read back.

    ``expected`` is the number of episodes its config plans, None when that cannot be counted
    (``why_uncounted`` says why: e.g. a custom family file that is not here).
    """

    path: Path
    info: dict[str, Any]
    episodes: list[dict[str, Any]]
    expected: int | None
    has_summary: bool
    why_uncounted: str = ""

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def notice(self) -> str | None:
        """``"run R is incomplete: N of M episodes (why)"``, or None when it finished.

        A run is complete when its ``run.json`` says so and it holds every planned episode; one
        from before runs were marked is judged by its episodes and summary alone.
        """
        if self.expected is None:
            return f"run {self.name}: its planned episodes cannot be counted ({self.why_uncounted})"
        marked = self.info.get("complete", self.has_summary)
        if marked and len(self.episodes) >= self.expected:
            return None
        why = self.info.get("stopped") or ("no summary.json: stopped, or still running" if not self.has_summary
                                           else "still running, or killed")
        return (f"run {self.name} is incomplete: {len(self.episodes)} of {self.expected} episodes ({why}); "
                f"finish it with: blastradius run --resume {self.name}")


def read_run_json(path: Path) -> dict[str, Any]:
    """The ``run.json`` of the run folder at ``path``.

    Raises:
        RunFolderError: ``path`` has no ``run.json`` or ``episodes.jsonl``, or ``run.json`` is not
            a JSON object.
    """
    if not (path / "run.json").is_file() or not (path / "episodes.jsonl").is_file():
        raise RunFolderError(f"{str(path)!r} is not a run folder (no run.json or episodes.jsonl); pass a folder "
                             "that 'blastradius run' created, e.g. results/runs/<run>")
    try:
        info = json.loads((path / "run.json").read_text())
    except ValueError as exc:
        raise RunFolderError(f"{path / 'run.json'} is not valid JSON: {exc}") from None
    if not isinstance(info, dict):
        raise RunFolderError(f"{path / 'run.json'} is not a JSON object")
    return info


def run_folders(paths: Sequence[str | Path]) -> list[Path]:
    """The run folders ``paths`` name: each run folder itself, and for a folder that holds run
    folders (``results/mcp``, where each served episode made one), those it holds, in name
    order. Anything else is kept as given, for `load_run` to say what is wrong with it."""
    found: list[Path] = []
    for given in map(Path, paths):
        held = [] if (given / "run.json").is_file() or not given.is_dir() else sorted(
            child for child in given.iterdir() if (child / "run.json").is_file())
        found += held or [given]
    return found


def load_run(path: Path, on_torn: Callable[[str], None] | None = None) -> LoadedRun:
    """Read the run folder at ``path``; a torn last episode line goes to ``on_torn``.

    Raises:
        RunFolderError: no ``run.json`` or ``episodes.jsonl``, or one of them unreadable (a
            damaged episode line is named by its number).
    """
    info = read_run_json(path)
    try:
        episodes = read_episodes(path, on_torn)
    except ValueError as exc:
        raise RunFolderError(str(exc)) from None
    try:
        expected: int | None = len(episodes_of(config_of(info)))
        why = ""
    except (RunFolderError, FamilySpecError) as exc:
        expected, why = None, str(exc)
    return LoadedRun(path, info, episodes, expected, (path / "summary.json").is_file(), why)


@dataclass(frozen=True)
class Table:
    """Several runs pooled: the summary, each agent's provenance, and notices to show with it;
    ``episodes`` are the pooled records the summary was made of, for tables of a part of them."""

    summary: dict[str, dict[str, Any]]
    provenance: dict[str, list[RowProvenance]]
    notices: list[str] = field(default_factory=list)
    episodes: list[Mapping[str, Any]] = field(default_factory=list)


def leaderboard_of(runs: Sequence[LoadedRun], allow_mixed: bool = False) -> Table:
    """One row per agent over every episode of ``runs``.

    Raises:
        RunFolderError: the runs differ in a setting of `blastradius.bench.leaderboard.SETTINGS` or
            an agent's code, unless ``allow_mixed`` (then each difference is a notice); or a folder
            is given twice; or alike runs repeat an episode (a run and its copy).
    """
    folders = [run.path.resolve() for run in runs]
    if len(set(folders)) < len(folders):
        raise RunFolderError("a run folder is given twice; pass each run folder once")
    differences = leaderboard.mismatches([(run.name, run.info) for run in runs])
    if differences and not allow_mixed:
        raise RunFolderError("these runs measured different things, so their episodes cannot be pooled: "
                             + "; ".join(differences) + ". Rerun them alike, or pass --allow-mixed to pool "
                             "them anyway")
    try:  # runs that differ on purpose hold different episodes under the same keys
        episodes = leaderboard.merge_episodes([run.episodes for run in runs], allow_duplicates=bool(differences))
    except ValueError as exc:
        raise RunFolderError(f"{exc}; pass each run folder once") from None
    provenance: dict[str, list[RowProvenance]] = {}
    for run in runs:
        for label in dict.fromkeys(str(record.get("agent")) for record in run.episodes):
            provenance.setdefault(label, []).append(row_provenance(run.info, label))
    try:
        summary = stats.summarise(episodes)
    except ValueError as exc:
        raise RunFolderError(f"an episode record cannot be summarised: {exc}") from None
    notices = [f"mixed on purpose (--allow-mixed): {difference}" for difference in differences]
    notices += [notice for run in runs if (notice := run.notice)]
    return Table(summary, provenance, notices, episodes)
