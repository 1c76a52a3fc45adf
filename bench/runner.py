"""The runner: episodes over families x difficulties x seeds x agents, into one run folder.

Deterministic: the same config gives the same records, timing fields aside (a sealed run: the
same config and ``secret``), one episode after another or several at once (``jobs``: then
``episodes.jsonl`` holds them in the order they ended). One episode's crash or hang is recorded
as its ``error`` or ``timeout`` and never loses the run.
"""

from __future__ import annotations

import hashlib
import json
import re
import os
import platform
import subprocess
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from ..agents.base import Agent
from ..agents.loader import agent_label, resolve_agent
from ..envs import FAMILIES
from ..envs.scenarios import Family
from ..envs.scenarios.loader import resolve_family
from ..envs.scoring import SCORER_VERSION, SEVERITY_VERSION
from ..envs.chaos import DEFAULT_CHAOS
from ..envs.topology import DEFAULT_SIZE
from . import leaderboard, provenance, stats
from .agent_thread import DEFAULT_STEP_TIMEOUT
from .episode import EpisodeSpec, env_id, run_episode
from .sealed import Isolation, isolation, passed_env, run_fields, sealed_factory
from .sealing import new_secret, parse_secret
from .storage import SCHEMA_VERSION, RunFolder

__all__ = ["DEFAULT_AGENTS", "DEFAULT_STEP_TIMEOUT", "RunConfig", "RunOutcome", "episodes_of", "run"]

DEFAULT_AGENTS = ("noop", "random", "reckless", "careful", "liar")


@dataclass(frozen=True)
class RunConfig:
    """What to run. ``difficulties`` empty means each family's default; ``("all",)`` every level.

    ``agents`` are specs (see `blastradius.agents.loader`); ``agent_kwargs`` holds the keyword
    arguments of each, by position (empty: none for any). An agent is named in episode keys and
    on the leaderboard by `blastradius.agents.loader.agent_label` (the spec, with its arguments
    when it has any), so the same spec may run twice with different arguments, never twice
    alike. ``step_timeout`` bounds each agent call in seconds.

    ``sealed`` runs every agent in a sealed process of its own (`blastradius.bench.sealed`) and
    builds each world from ``secret`` (64 hex digits; None: a fresh random one per run), which
    only a sealed run takes. The secret is never part of the config as recorded (`recorded`) or
    of its `digest`: `run` writes it into ``run.json`` when the run ends. ``sealed_env`` names
    variables of this process's environment that every sealed agent gets too (an API key): their
    names are recorded, their values never, and they reach the agent on the supervisor's control
    pipe, not on a command line.
    """

    families: tuple[str, ...] = tuple(FAMILIES)
    difficulties: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    agents: tuple[str, ...] = DEFAULT_AGENTS
    trials: int = 1
    size: int = DEFAULT_SIZE
    chaos: int = DEFAULT_CHAOS
    agent_kwargs: tuple[dict[str, Any], ...] = ()
    step_timeout: float = DEFAULT_STEP_TIMEOUT
    sealed: bool = False
    secret: str | None = None
    sealed_env: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.sealed_env and not self.sealed:
            raise ValueError("sealed_env passes variables to sealed agents only; add sealed=True (--sealed)")
        bad = [name for name in self.sealed_env if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)]
        if bad:
            raise ValueError(f"sealed_env: {bad[0]!r} is not an environment variable's name")
        if self.secret is not None:
            if not self.sealed:
                raise ValueError("a secret builds the worlds of a sealed run only; add sealed=True (--sealed)")
            object.__setattr__(self, "secret", parse_secret(self.secret))  # one spelling: lowercase hex
        if self.agent_kwargs and len(self.agent_kwargs) != len(self.agents):
            raise ValueError(f"agent_kwargs has {len(self.agent_kwargs)} entries for {len(self.agents)} agents; "
                             "give one dict per agent, or none")
        if not self.step_timeout > 0:
            raise ValueError(f"step_timeout must be positive, got {self.step_timeout!r}")
        labels = self.labels()
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"agent {twice[0]!r} is given twice with the same arguments; give it once")

    def kwargs_of(self, index: int) -> dict[str, Any]:
        """The keyword arguments of the ``index``-th agent."""
        return dict(self.agent_kwargs[index]) if self.agent_kwargs else {}

    def labels(self) -> tuple[str, ...]:
        """Each agent's name in episode keys and on the leaderboard, in ``agents`` order."""
        return tuple(agent_label(spec, self.kwargs_of(i)) for i, spec in enumerate(self.agents))

    def recorded(self) -> dict[str, Any]:
        """The config as ``run.json`` records it when the run starts: without the secret."""
        return {**asdict(self), "secret": None}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.recorded(), sort_keys=True, default=repr).encode()).hexdigest()


@dataclass
class RunOutcome:
    folder: RunFolder
    episodes: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(1 for episode in self.episodes if episode["status"] != "completed")


def families_of(config: RunConfig) -> dict[str, Family]:
    """The families ``config`` names (built-in ids, files or modules), by family id."""
    resolved = [resolve_family(spec) for spec in config.families]
    return {family.id: family for family in resolved}


def episodes_of(config: RunConfig) -> list[EpisodeSpec]:
    """Every episode of ``config``, in the order they run."""
    specs = []
    for family in families_of(config).values():
        levels = [d.name for d in family.difficulties]
        chosen = levels if config.difficulties == ("all",) else [
            d for d in config.difficulties if d in levels] or [family.default_difficulty]
        for difficulty in chosen:
            for seed in config.seeds:
                for trial in range(config.trials):
                    specs.extend(EpisodeSpec(family.id, difficulty, seed, trial, label) for label in config.labels())
    return specs


def run(config: RunConfig, output_dir: Path, argv: Sequence[str] = (),
        progress: Callable[[int, int, dict[str, Any]], None] | None = None, jobs: int = 1) -> RunOutcome:
    """Run every episode of ``config`` into a new folder under ``output_dir``.

    ``jobs`` episodes run at once, each on a thread of its own (an agent's time goes mostly to
    waiting for a model, and the simulation is cheap); ``episodes.jsonl`` gets each line as its
    episode ends, and the records, the summary and the leaderboard are the same whatever
    ``jobs`` is (`RunOutcome.episodes` is in the order of `episodes_of`).

    A sealed run's folder is readable by its owner only while the run goes on (its agents run as
    another user when the harness is root); when the run ends, however it ends, ``run.json``
    gets the secret (`blastradius.bench.sealed.run_fields`) and the folder the usual mode.
    """
    if config.sealed:
        config = replace(config, secret=config.secret or new_secret())
    where = isolation() if config.sealed else None
    factories = _factories(config, where)
    families = families_of(config)
    info = _run_info(config, families, argv)  # before the folder: what fails here leaves none behind
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder = RunFolder.create(_fresh(output_dir / f"{stamp}-{config.digest()[:8]}"))
    if config.sealed:
        folder.path.chmod(0o700)
    folder.write_json("run.json", info)
    outcome = RunOutcome(folder)
    specs = episodes_of(config)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    try:
        if jobs == 1:  # in this thread, so that Ctrl-C reaches the episode (and its agent) at once
            for index, spec in enumerate(specs):
                outcome.episodes.append(_safely(spec, families[spec.family], factories[spec.agent], config, folder))
                if progress:
                    progress(index + 1, len(specs), outcome.episodes[-1])
        else:
            outcome.episodes = _at_once(specs, jobs, families, factories, config, folder, progress)
    finally:
        info.update(run_fields(config.secret, where))
        folder.write_json("run.json", info)
        if config.sealed:
            folder.path.chmod(0o777 & ~_umask())
    outcome.summary = stats.summarise(outcome.episodes)
    folder.write_json("summary.json", outcome.summary)
    rows = {label: [provenance.row_provenance(info, label)] for label in config.labels()}
    folder.write_text("leaderboard.md", leaderboard.to_markdown(outcome.summary, title="blastradius leaderboard",
                                                                provenance=rows))
    # Written again now that the records are final: their fingerprints, for `blastradius verify`.
    folder.write_json("run.json", {**info, "content_sha256": provenance.content_hashes(folder.path)})
    return outcome


def _at_once(specs: list[EpisodeSpec], jobs: int, families: dict[str, Family],
             factories: dict[str, Callable[[], Agent]], config: RunConfig, folder: RunFolder,
             progress: Callable[[int, int, dict[str, Any]], None] | None) -> list[dict[str, Any]]:
    """Run ``specs`` ``jobs`` at a time; the records in ``specs`` order. On Ctrl-C no new episode
    starts, and those running finish and are recorded."""
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="episode") as pool:
        running = [pool.submit(_safely, spec, families[spec.family], factories[spec.agent], config, folder)
                   for spec in specs]
        try:
            for done, future in enumerate(as_completed(running), start=1):
                if progress:
                    progress(done, len(specs), future.result())
        except BaseException:
            for future in running:
                future.cancel()
            raise
    return [future.result() for future in running]


def _safely(spec: EpisodeSpec, family: Family, make_agent: Callable[[], Agent], config: RunConfig,
            folder: RunFolder) -> dict[str, Any]:
    """Run one episode and store it, returning its record. A crash anywhere (even in the env),
    or a record that cannot be stored, is that episode's error, never the run's."""
    try:
        result = run_episode(spec, family, make_agent, config.size, config.chaos, config.step_timeout,
                             config.secret, config.sealed)
        record, trajectory = result.record, result.trajectory
    except Exception as exc:  # noqa: BLE001 - one episode's crash never loses the run
        record, trajectory = _failed(spec, family, config, f"{type(exc).__name__}: {exc}")
    try:
        folder.append_episode(record, trajectory)
    except Exception as exc:  # noqa: BLE001 - nor does what an agent made that cannot be stored
        reason = f"the episode's record could not be stored: {type(exc).__name__}: {exc}"
        record, trajectory = _failed(spec, family, config, reason)
        folder.append_episode(record, trajectory)  # made here of plain strings: only the disk can fail it
    return record


def _failed(spec: EpisodeSpec, family: Family, config: RunConfig, reason: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record and empty trajectory of an episode that failed for ``reason``, with the
    traceback of the exception being handled."""
    record = {"key": spec.key, "family": spec.family, "difficulty": spec.difficulty, "seed": spec.seed,
              "trial": spec.trial, "agent": spec.agent, "env_id": env_id(family),
              "chaos": config.chaos, "status": "error", "error": reason, "traceback": traceback.format_exc(),
              "steps": 0, "terminated": False, "truncated": False, "reward": 0.0, "score": None,
              "duration_seconds": 0.0}
    return record, {"key": spec.key, "briefing": "", "steps": [], "health_timeline": [], "explanation": []}


def _factories(config: RunConfig, where: Isolation | None) -> dict[str, Callable[[], Agent]]:
    """Each agent's factory, by label: sealed ones when ``where`` is given, and then no code of
    the agents is loaded here, so none can reach the harness."""
    made: dict[str, Callable[[], Agent]] = {}
    env = passed_env(config.sealed_env)
    for i, (spec, label) in enumerate(zip(config.agents, config.labels(), strict=True)):
        kwargs = config.kwargs_of(i)
        made[label] = (sealed_factory(spec, kwargs, config.step_timeout, where, env) if where is not None
                       else resolve_agent(spec, kwargs))
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


def _run_info(config: RunConfig, families: dict[str, Family], argv: Sequence[str]) -> dict[str, Any]:
    commit, dirty = _git()
    return {
        "schema_version": SCHEMA_VERSION,
        "package_version": _version("blastradius-bench"),
        "scorer_version": SCORER_VERSION,
        "severity_version": SEVERITY_VERSION,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in ("gymnasium", "numpy", "tabulate", "openai")},
        "argv": list(argv),
        "config": config.recorded(),
        "config_hash": config.digest(),
        "agents": provenance.agents_provenance(config.agents, config.labels()),
        "env_ids": {family.id: env_id(family) for family in families.values()},
        "seeds": list(config.seeds),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def _git() -> tuple[str | None, bool | None]:
    """The checkout's commit and whether it has uncommitted changes (None outside a checkout)."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True,
                               timeout=5, check=True).stdout.strip() != ""
        return commit, dirty
    except (OSError, subprocess.SubprocessError):
        return None, None
