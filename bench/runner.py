"""The runner: the episodes of a `RunConfig` into one run folder, however they are executed.

Deterministic: the same config gives the same records, timing fields aside (a sealed run: the
same config and ``secret``), one episode after another or several at once on any executor
(`Execution`; ``episodes.jsonl`` then holds them in the order they ended). One episode's crash
or hang is recorded as its ``error`` or ``timeout`` and never loses the run; a stopped run is
concluded, marked incomplete, and `blastradius.bench.resume` finishes it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..agents.base import Agent
from ..agents.loader import ORACLES, resolve_agent
from . import leaderboard, provenance, stats
from .agent_thread import DEFAULT_STEP_TIMEOUT
from .backlog import Backlog
from .episode import EpisodeSpec, Stopped
from .executors import EXECUTORS, Executor, failed, make_executor, prime, stopping
from .monitor import Monitor
from .provenance import run_info
from .run_config import DEFAULT_AGENTS, MAX_EPISODES, RunConfig, check_levels, episodes_of, families_of
from .sealed import Isolation, isolation, passed_env, run_fields, sealed_factory
from .sealing import new_secret
from .storage import SECRET_FILE, RunFolder, Stored

__all__ = ["DEFAULT_AGENTS", "DEFAULT_STEP_TIMEOUT", "MAX_EPISODES", "Execution", "Monitor", "RunConfig",
           "RunInterrupted", "RunOutcome", "Terminated", "agent_factories", "begin", "check_execution", "check_levels",
           "conclude", "episodes_of", "families_of", "fresh_folder", "play_into", "run", "run_info"]

@dataclass
class RunOutcome:
    """What a run recorded: its folder, its episodes in plan order and their summary; ``planned``
    episodes in all, and why it ``stopped`` before its end (None when it did not)."""

    folder: RunFolder
    episodes: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    planned: int = 0
    stopped: str | None = None

    @property
    def complete(self) -> bool:
        return len(self.episodes) == self.planned

    @property
    def errors(self) -> int:
        return sum(1 for episode in self.episodes if episode["status"] != "completed")


@dataclass(frozen=True)
class Execution:
    """How a run's episodes are played, which changes when its records come, never what they say.

    ``jobs`` episodes at once on ``executor`` (`blastradius.bench.executors`; ``ray_address``: a
    Ray cluster's, None to start one here); no new episode once the run's recorded cost would
    pass ``max_cost`` US dollars (None: no bound); at most ``max_connections`` requests in flight
    to one model endpoint from this process (None: no bound). Recorded in ``run.json`` as
    ``execution``, and taken from there by a resumed run unless it is given anew.
    """

    jobs: int = 1
    executor: str = "local"
    ray_address: str | None = None
    max_cost: float | None = None
    max_connections: int | None = None

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {self.jobs}")
        if self.executor not in EXECUTORS:
            raise ValueError(f"unknown executor {self.executor!r}; choose from {', '.join(EXECUTORS)}")
        if self.ray_address is not None and self.executor != "ray":
            raise ValueError("ray_address is the address of a Ray cluster: add executor='ray' (--executor ray)")
        if self.max_cost is not None and not (self.max_cost > 0 and math.isfinite(self.max_cost)):
            raise ValueError(f"max_cost must be a positive number of US dollars, got {self.max_cost!r}")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {self.max_connections}")


def run(config: RunConfig, output_dir: Path, argv: Sequence[str] = (), monitor: Monitor | None = None,
        execution: Execution = Execution(), files: Mapping[str, str] | None = None) -> RunOutcome:
    """Run every episode of ``config`` into a new folder under ``output_dir``.

    ``episodes.jsonl`` gets each line as its episode ends, and the records, the summary and the
    leaderboard are the same however the run is executed (`RunOutcome.episodes` is in the order
    of `episodes_of`). ``files`` are written into the folder as it is made (name: text; the
    command line's resolved run file). A run stopped before its end (Ctrl-C, SIGTERM, ``execution.max_cost``)
    still writes its summary and leaderboard, marked incomplete, and `blastradius.bench.resume`
    finishes it.

    A sealed run's folder is readable by its owner only while the run goes on (its agents run as
    another user when the harness is root); when the run ends, however it ends, ``run.json``
    gets the secret (`blastradius.bench.sealed.run_fields`) and the folder the usual mode.
    """
    if config.sealed:
        config = replace(config, secret=config.secret or new_secret())
    check_execution(config, execution)
    where = isolation() if config.sealed else None
    factories = agent_factories(config, where)
    families = families_of(config)
    check_levels(config.difficulties, families.values())
    info = run_info(config, families, argv)  # before the folder: what fails here leaves none behind
    info["execution"] = asdict(execution)
    folder = RunFolder.create(fresh_folder(output_dir, config))
    for name, text in (files or {}).items():
        folder.write_text(name, text)
    return play_into(folder, config, info, {}, execution, monitor, where, factories)


def check_execution(config: RunConfig, execution: Execution) -> None:
    """Refuse an execution the config cannot have, before anything is written.

    Raises:
        ValueError: a sealed run on another executor than ``local``.
    """
    if config.sealed and execution.executor != "local":
        raise ValueError("a sealed agent is a process of its own already: run a sealed run with the local "
                         "executor (--jobs N for several at once)")


def play_into(folder: RunFolder, config: RunConfig, info: dict[str, Any], done: dict[str, dict[str, Any]],
              execution: Execution, monitor: Monitor | None, where: Isolation | None,
              factories: dict[str, Callable[[], Agent]]) -> RunOutcome:
    """Play the episodes of ``config`` not in ``done`` (records by key) into ``folder``, then
    write its summary, leaderboard and ``run.json`` (``info``, marked complete or not)."""
    begin(folder, config, info)
    specs = episodes_of(config)
    records = dict(done)
    monitor = monitor or Monitor()
    monitor.started(len(specs), len(records))
    stopped: str | None = "the harness failed"
    interrupted: KeyboardInterrupt | None = None
    try:
        with make_executor(execution.executor, execution.jobs, execution.ray_address,
                           execution.max_connections) as executor:
            if execution.executor == "local":
                prime(config, families_of(config), factories)
            stopped = _schedule(executor, [s for s in specs if s.key not in records], config, folder, records,
                                execution.max_cost, monitor)
    except KeyboardInterrupt as exc:  # also after a second Ctrl-C while the episodes in flight end
        interrupted = exc
        stopped = "stopped by SIGTERM" if isinstance(exc, Terminated) else "interrupted"
    finally:
        outcome = conclude(folder, config, info, [records[s.key] for s in specs if s.key in records], len(specs),
                            stopped, where)
    if interrupted is not None:
        raise RunInterrupted(outcome, interrupted) from interrupted
    return outcome


def fresh_folder(output_dir: Path, config: RunConfig) -> Path:
    """A new run folder's path under ``output_dir``: the time it starts and the config's digest."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return _fresh(output_dir / f"{stamp}-{config.digest()[:8]}")


def begin(folder: RunFolder, config: RunConfig, info: dict[str, Any]) -> None:
    """Open ``folder`` for a run: ``run.json`` marked incomplete, and a sealed run's secret kept
    where only the harness can read it (so that a run killed outright can be resumed)."""
    if config.sealed:
        folder.path.chmod(0o700)
        folder.write_private(SECRET_FILE, config.secret or "")
    folder.write_json("run.json", {**info, "complete": False})


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread (`blastradius.bench.run_command` installs the handler):
    a run stops for it as for Ctrl-C."""


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM (``cause``), after its folder was concluded: ``outcome``
    holds what it recorded, marked incomplete."""

    def __init__(self, outcome: RunOutcome, cause: KeyboardInterrupt) -> None:
        super().__init__(str(outcome.folder.path))
        self.outcome, self.cause = outcome, cause


def conclude(folder: RunFolder, config: RunConfig, info: dict[str, Any], ordered: list[dict[str, Any]],
              planned: int, stopped: str | None, where: Isolation | None) -> RunOutcome:
    """Write ``run.json`` (marked complete or not, with why it stopped), the summary and the
    leaderboard of the records ``ordered`` (in plan order), and the records' fingerprints."""
    complete = len(ordered) == planned
    info.update(run_fields(config.secret, where), complete=complete, episodes_planned=planned,
                episodes_recorded=len(ordered), stopped=None if complete else stopped)
    folder.write_json("run.json", info)
    if config.sealed:
        folder.remove(SECRET_FILE)
        folder.path.chmod(0o777 & ~_umask())
    outcome = RunOutcome(folder, ordered, stats.summarise(ordered), planned, None if complete else stopped)
    folder.write_json("summary.json", outcome.summary)
    rows = {label: [provenance.row_provenance(info, label)] for label in config.labels()}
    notices = [] if complete else [f"incomplete: {len(ordered)} of {planned} episodes ({stopped})"]
    folder.write_text("leaderboard.md", leaderboard.to_markdown(
        outcome.summary, title="blastradius leaderboard", provenance=rows, notices=notices))
    # Written again now that the records are final: their fingerprints, for `blastradius verify`.
    folder.write_json("run.json", {**info, "content_sha256": provenance.content_hashes(folder.path)})
    return outcome


def _schedule(executor: Executor, todo: list[EpisodeSpec], config: RunConfig, folder: RunFolder,
              records: dict[str, dict[str, Any]], max_cost: float | None, monitor: Monitor) -> str | None:
    """Keep ``executor.jobs`` episodes of ``todo`` in flight, and the executor's queue full (in
    processes, a world at a time: `Backlog`), storing each as it ends; return why the run stopped
    early (None: it did not). On Ctrl-C or SIGTERM, the episodes in flight end at their agent's
    next call and are not recorded."""
    backlog = Backlog(todo, by_world=executor.keeps_builds)
    # The slots free, by the episode that freed each.
    freed: list[EpisodeSpec | None] = [None] * (executor.jobs * (1 + executor.queued_per_job))
    running: dict[Future[Stored], EpisodeSpec] = {}
    stopped: str | None = None
    try:
        while True:
            while stopped is None and freed:
                if max_cost is not None and (over := _over_budget(records.values(), len(running), max_cost)):
                    stopped = over
                    monitor.note(over)
                    break
                spec = backlog.next(freed.pop())
                if spec is None:
                    break
                running[executor.submit(spec, config)] = spec
            if not running:
                return stopped
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                spec = running.pop(future)
                _collect(future, spec, config, folder, records, monitor)
                freed.append(spec)
    except BaseException:
        executor.stop()
        for future in list(running):
            future.cancel()
        wait(running)  # each ends at its agent's next call, its agent closed
        for future, spec in running.items():
            if not future.cancelled():
                _collect(future, spec, config, folder, records, monitor)
        raise


def _collect(future: Future[Stored], spec: EpisodeSpec, config: RunConfig, folder: RunFolder,
             records: dict[str, dict[str, Any]], monitor: Monitor) -> None:
    """Store the episode ``future`` played, unless it was stopped."""
    try:
        episode = future.result()
    except Stopped:
        return
    except Exception as exc:  # noqa: BLE001 - the executor lost the episode (a worker process died)
        if stopping():  # it died of the stop itself (a signal to the whole process group): play it again
            return
        episode = failed(spec, config, f"its worker failed: {type(exc).__name__}: {exc}")
    folder.append(episode)
    records[spec.key] = episode.record
    monitor.episode(episode.record)


def _over_budget(records: Iterable[dict[str, Any]], running: int, max_cost: float) -> str | None:
    """Why no episode may start now: the cost recorded so far, with the mean cost of an episode
    for each one in flight and the next, would pass ``max_cost`` (None: it may start)."""
    costs = [cost for record in records if (cost := (record.get("agent_stats") or {}).get("cost_usd")) is not None]
    spent = sum(costs)
    mean = spent / len(costs) if costs else 0.0
    if spent + mean * (running + 1) <= max_cost:
        return None
    return (f"max cost ${max_cost:.2f} reached: ${spent:.2f} recorded over {len(costs)} episodes; no new episode "
            "started. Resume with --resume RUN_DIR and a higher --max-cost to finish the run")


def agent_factories(config: RunConfig, where: Isolation | None) -> dict[str, Callable[[], Agent]]:
    """Each agent's factory, by label: sealed ones when ``where`` is given, and then no code of
    the agents is loaded here, so none can reach the harness; the oracles (`ORACLES`) aside,
    which are the harness's own code and play the scenario it hands them, so run here."""
    made: dict[str, Callable[[], Agent]] = {}
    env = passed_env(config.sealed_env)
    for i, (spec, label) in enumerate(zip(config.agents, config.labels(), strict=True)):
        kwargs = config.kwargs_of(i)
        made[label] = (sealed_factory(spec, kwargs, config.step_timeout, where, env)
                       if where is not None and spec not in ORACLES else resolve_agent(spec, kwargs))
    return made


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fresh(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate
