"""The runner: episodes over families x difficulties x seeds x agents, into one run folder.

Sequential and deterministic: the same config gives the same ``episodes.jsonl``, timing fields
aside. One episode's crash or hang is recorded as its ``error`` or ``timeout`` and never loses
the run.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
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
from . import leaderboard, stats
from .agent_thread import DEFAULT_STEP_TIMEOUT
from .episode import EpisodeSpec, env_id, run_episode
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

    def __post_init__(self) -> None:
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

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=repr).encode()).hexdigest()


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
        progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> RunOutcome:
    """Run every episode of ``config`` into a new folder under ``output_dir``."""
    factories = {label: resolve_agent(spec, config.kwargs_of(i))
                 for i, (spec, label) in enumerate(zip(config.agents, config.labels(), strict=True))}
    families = families_of(config)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder = RunFolder.create(_fresh(output_dir / f"{stamp}-{config.digest()[:8]}"))
    folder.write_json("run.json", _run_info(config, families, argv))
    outcome = RunOutcome(folder)
    specs = episodes_of(config)
    for index, spec in enumerate(specs):
        record, trajectory = _safely(spec, families[spec.family], factories[spec.agent], config)
        folder.append_episode(record, trajectory)
        outcome.episodes.append(record)
        if progress:
            progress(index + 1, len(specs), record)
    outcome.summary = stats.summarise(outcome.episodes)
    folder.write_json("summary.json", outcome.summary)
    folder.write_text("leaderboard.md", leaderboard.to_markdown(outcome.summary, title="blastradius leaderboard"))
    return outcome


def _safely(spec: EpisodeSpec, family: Family, make_agent: Callable[[], Agent],
            config: RunConfig) -> tuple[dict, dict]:
    """Run one episode; a crash anywhere (even in the env) is recorded, not raised."""
    try:
        result = run_episode(spec, family, make_agent, config.size, config.chaos, config.step_timeout)
        return result.record, result.trajectory
    except Exception as exc:  # noqa: BLE001 - one episode's crash never loses the run
        record = {"key": spec.key, "family": spec.family, "difficulty": spec.difficulty, "seed": spec.seed,
                  "trial": spec.trial, "agent": spec.agent, "env_id": env_id(family),
                  "chaos": config.chaos, "status": "error",
                  "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(), "steps": 0,
                  "terminated": False, "truncated": False, "reward": 0.0, "score": None,
                  "duration_seconds": 0.0}
        return record, {"key": spec.key, "briefing": "", "steps": [], "health_timeline": [], "explanation": []}


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
        "config": asdict(config),
        "config_hash": config.digest(),
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
