"""What a run measures: `RunConfig`, and the episodes it plans (`episodes_of`).

A config is the whole of what a run's numbers depend on (families, levels, seeds, trials, the
world's size and chaos, the agents and their arguments, sealing), recorded in ``run.json``; two
runs of one config give the same records. How the episodes are played is not part of it
(`blastradius.bench.runner.Execution`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..agents.loader import agent_label
from ..envs import FAMILIES
from ..envs.chaos import DEFAULT_CHAOS
from ..envs.errors import did_you_mean
from ..envs.scenarios import Family
from ..envs.scenarios.loader import resolve_family
from ..envs.topology import DEFAULT_SIZE
from .agent_thread import DEFAULT_STEP_TIMEOUT
from .episode import EpisodeSpec
from .sealing import parse_secret

__all__ = ["DEFAULT_AGENTS", "MAX_EPISODES", "MAX_SIZE", "MIN_SIZE", "RunConfig", "check_levels", "episodes_of",
           "families_of"]

DEFAULT_AGENTS = ("noop", "random", "reckless", "careful", "liar", "reference")
"""The default suite's agents: the baselines, and the ``reference`` oracle, so that every
family's table shows what its own careful solution scores (``reckless`` is the other oracle)."""
MIN_SIZE, MAX_SIZE = 10, 5000
"""The topology sizes a run may ask for: below, not even one service stack fits; above, one
reset takes seconds and the world no longer reads like one team's cloud."""
MAX_SEED = 2**63 - 1
MAX_TRIALS = 100
MAX_EPISODES = 1_000_000
"""The most episodes one run may plan per difficulty level: a bigger plan is several runs."""


@dataclass(frozen=True)
class RunConfig:
    """What to run. ``difficulties`` empty means each family's default; ``("all",)`` every level.

    ``agents`` are specs (see `blastradius.agents.loader`); ``agent_kwargs`` holds the keyword
    arguments of each, by position (empty: none for any). An agent is named in episode keys and
    on the leaderboard by `blastradius.agents.loader.agent_label` (the spec, with its arguments
    when it has any), so the same spec may run twice with different arguments, never twice
    alike; ``agent_names`` (one per agent, or none) names them instead, as a run file's
    ``[agents.NAME]`` tables do. ``step_timeout`` bounds each agent call in seconds.

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
    agent_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check_scale()
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
        if not (self.step_timeout > 0 and math.isfinite(self.step_timeout)):
            raise ValueError(f"step_timeout must be a positive, finite number of seconds, got {self.step_timeout!r}")
        if self.agent_names:
            if len(self.agent_names) != len(self.agents):
                raise ValueError(f"agent_names has {len(self.agent_names)} names for {len(self.agents)} agents; "
                                 "name every agent, or none")
            bad = [name for name in self.agent_names if not 0 < len(name) <= 200 or not name.isprintable()
                   or name != name.strip()]
            if bad:
                raise ValueError(f"agent name {bad[0]!r}: give a name of 1 to 200 printable characters, without "
                                 "spaces around it")
        labels = self.labels()
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"agent {twice[0]!r} is given twice with the same arguments; give it once")

    def _check_scale(self) -> None:
        """A plan this machine can hold, of episodes that can be told apart."""
        if not self.seeds:
            raise ValueError("seeds is empty: give at least one seed")
        if len(set(self.seeds)) < len(self.seeds):
            twice = sorted({seed for seed in self.seeds if self.seeds.count(seed) > 1})
            raise ValueError(f"seed {twice[0]} is given twice: it would be one episode under two keys; give each "
                             "seed once (--trials K plays each seed K times)")
        if min(self.seeds) < 0 or max(self.seeds) > MAX_SEED:
            raise ValueError(f"seeds must be between 0 and {MAX_SEED}")
        if not 1 <= self.trials <= MAX_TRIALS:
            raise ValueError(f"trials must be between 1 and {MAX_TRIALS}, got {self.trials}")
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ValueError(f"size must be between {MIN_SIZE} (one service stack and the shared resources) and "
                             f"{MAX_SIZE} resources, got {self.size}")
        per_agent = len(self.seeds) * self.trials * max(1, len(self.families))
        if per_agent * max(1, len(self.agents)) > MAX_EPISODES:
            raise ValueError(f"the run would plan over {MAX_EPISODES:,} episodes per difficulty; split it into "
                             "several runs (fewer seeds, families or agents each) and pool them with "
                             "'blastradius leaderboard'")

    def kwargs_of(self, index: int) -> dict[str, Any]:
        """The keyword arguments of the ``index``-th agent."""
        return dict(self.agent_kwargs[index]) if self.agent_kwargs else {}

    def labels(self) -> tuple[str, ...]:
        """Each agent's name in episode keys and on the leaderboard, in ``agents`` order."""
        if self.agent_names:
            return self.agent_names
        return tuple(agent_label(spec, self.kwargs_of(i)) for i, spec in enumerate(self.agents))

    def recorded(self) -> dict[str, Any]:
        """The config as ``run.json`` records it when the run starts: without the secret."""
        return {**asdict(self), "secret": None}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.recorded(), sort_keys=True, default=repr).encode()).hexdigest()



def families_of(config: RunConfig) -> dict[str, Family]:
    """The families ``config`` names (built-in ids, files or modules), by family id."""
    resolved = [resolve_family(spec) for spec in config.families]
    return {family.id: family for family in resolved}


def check_levels(difficulties: Sequence[str], families: Iterable[Family]) -> None:
    """Refuse a difficulty some of ``families`` lack: never a silent substitution, which would
    pool different levels under one name in the tables.

    Raises:
        ValueError: naming each family that lacks it, with its levels.
    """
    families = list(families)
    every = sorted({d.name for f in families for d in f.difficulties})
    for difficulty in difficulties:
        lacking = {f.id: ", ".join(d.name for d in f.difficulties) for f in families
                   if difficulty != "all" and difficulty not in {d.name for d in f.difficulties}}
        if lacking:
            hint = did_you_mean(difficulty, every, aside=True)
            raise ValueError(f"difficulty {difficulty!r}{hint} is not a level of "
                             + "; ".join(f"{fid} (levels: {levels})" for fid, levels in lacking.items())
                             + ". Give a level every family has, 'all', or run those families apart")


def episodes_of(config: RunConfig) -> list[EpisodeSpec]:
    """Every episode of ``config``, in the order they run."""
    specs: list[EpisodeSpec] = []
    for family in families_of(config).values():
        levels = [d.name for d in family.difficulties]
        chosen = levels if config.difficulties == ("all",) else [
            d for d in config.difficulties if d in levels] or [family.default_difficulty]
        for difficulty in chosen:
            for seed in config.seeds:
                for trial in range(config.trials):
                    specs.extend(EpisodeSpec(family.id, difficulty, seed, trial, label) for label in config.labels())
    return specs
