"""One episode: an agent against one scenario seed, recorded whatever the agent does.

The agent sees only the briefing and observations. Whatever it does (raise, return something
that is not a tool call) costs its own episode, recorded with the reason and traceback; the
run goes on. The record is built from the env's score, never from the agent's say-so.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..agents.base import Agent, Briefing
from ..envs import ENV_IDS, BlastRadiusEnv
from ..envs.scenarios import Family

__all__ = ["EpisodeSpec", "EpisodeResult", "env_id", "run_episode"]

_ENV_ID = {family: env_id for env_id, family in ENV_IDS.items()}


def env_id(family: Family) -> str:
    """The Gymnasium id of a built-in family; ``custom/<id>`` for a user's own."""
    return _ENV_ID.get(family.id, f"custom/{family.id}")


@dataclass(frozen=True, order=True)
class EpisodeSpec:
    """What identifies an episode: the unique key of its line in ``episodes.jsonl``."""

    family: str
    difficulty: str
    seed: int
    trial: int
    agent: str

    @property
    def key(self) -> str:
        return f"{self.family}/{self.difficulty}/{self.seed}/{self.trial}/{self.agent}"


@dataclass(frozen=True)
class EpisodeResult:
    """An episode's record (one line of ``episodes.jsonl``) and its trajectory."""

    record: dict[str, Any]
    trajectory: dict[str, Any]


def run_episode(spec: EpisodeSpec, family: Family, make_agent: Callable[[], Agent], size: int,
                chaos: int) -> EpisodeResult:
    """Play one episode to its end and score it; never raises for the agent's faults."""
    started = time.perf_counter()
    # The env itself ends the episode at its step budget (no TimeLimit needed), and takes a
    # custom family object as readily as a built-in id.
    env = BlastRadiusEnv(family=family, size=size, chaos=chaos)
    steps: list[dict[str, Any]] = []
    status, reason, tb = "completed", "", ""
    terminated = truncated = False
    reward = 0.0
    try:
        observation, info = env.reset(seed=spec.seed, options={"difficulty": spec.difficulty})
        briefing = Briefing.from_reset_info(info, spec.seed)
        try:
            agent = make_agent()
            agent.reset(briefing)
            while not (terminated or truncated):
                action = agent.act(observation)
                if not isinstance(action, (dict, str)):
                    raise TypeError(f"act() returned {type(action).__name__}; an action is a tool-call "
                                    'dict {"name": ..., "arguments": {...}} or its JSON string')
                observation, reward, terminated, truncated, info = env.step(action)
                steps.append({"action": action, "observation": observation, "tool": info["tool"],
                              "action_error": info["action_error"], "clock_minutes": info["clock_minutes"]})
        except Exception as exc:  # noqa: BLE001 - the agent's fault costs its episode, never the run
            status, reason, tb = "error", f"{type(exc).__name__}: {exc}", traceback.format_exc()
        scored = env.episode_score() if status == "completed" else None
        score = scored.to_dict() if scored else None
        explanation = scored.explain() if scored else []
        world = env.scenario.world
        timeline = [[point.time - world.start_time, point.resource, point.health]
                    for point in world.ledger.health]
        briefing_text = env.scenario.briefing
    finally:
        env.close()
    record = {
        "key": spec.key, "family": spec.family, "difficulty": spec.difficulty, "seed": spec.seed,
        "trial": spec.trial, "agent": spec.agent, "env_id": env_id(family), "chaos": chaos,
        "status": status,
        "error": reason or None, "traceback": tb or None, "steps": len(steps),
        "terminated": terminated, "truncated": truncated, "reward": float(reward), "score": score,
        "duration_seconds": round(time.perf_counter() - started, 6),
    }
    trajectory = {"key": spec.key, "briefing": briefing_text, "steps": steps,
                  "health_timeline": timeline, "explanation": explanation}
    return EpisodeResult(record, trajectory)
