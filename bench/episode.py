"""One episode: an agent against one scenario seed, recorded whatever the agent does.

The agent sees only the briefing and observations. Whatever it does costs its own episode,
recorded with the reason, and the run goes on:

* it raises (when made, in ``reset``, ``act`` or ``close``), or returns from ``act`` something
  that is not a tool call (a dict or a string): status ``error``, with the traceback;
* a call overruns the step timeout: status ``timeout``, with where it was stuck. An in-process
  agent's calls run on a worker thread (`blastradius.bench.agent_thread`) so a hung one can be
  abandoned; a sealed agent (`blastradius.bench.sealed`) bounds its own calls and is killed;
* a subprocess agent dies or breaks the protocol: ``error``, its stderr kept in ``agent_stderr``.

The oracles (`blastradius.agents.reference`) are the one exception to "only the briefing and
observations": an agent whose type is exactly `PathAgent` is handed its path of the scenario
when it is made (`_made`), since that path is all it plays.

In a sealed run the world of episode seed ``n`` is built from
`blastradius.bench.sealing.world_seed` of the run's secret and ``n``; the agent is told ``n``
only, which rebuilds nothing without the secret.

The record is built from the env's score, never from the agent's say-so. An agent with the
optional protocols of `blastradius.agents.base` adds ``agent_stats`` (tokens, cost, latency,
calls) to the record and its ``transcript`` (chat messages) to the trajectory, whatever the
status; usage it reports in the wrong shape is an error of a completed episode.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..agents.base import STAT_KEYS, Agent, Briefing
from ..agents.reference import PathAgent
from ..envs import BlastRadiusEnv, family_env_id
from ..envs.env import MAX_ACTION
from ..envs.scenarios import Family, Scenario
from ..envs.scoring import EpisodeScore
from ..envs.tools import needs_resend
from .agent_thread import AgentThread, Caller, InThisThread, StepTimeout, Stopped, for_episodes
from .recordable import recordable
from .sealing import world_seed

__all__ = ["ACTION_LIMIT", "ECHO_LIMIT", "STDERR_LIMIT", "EpisodeSpec", "EpisodeResult", "Stopped", "env_id",
           "run_episode", "score_as_it_stands"]

STDERR_LIMIT = 8192
"""The most characters of an agent's stderr an episode record keeps (the last ones)."""
ACTION_LIMIT = 2 * MAX_ACTION
"""The most characters of JSON a trajectory keeps of one action: twice the env's action space
(`MAX_ACTION` characters of text), so that a real tool call is kept whole, escapes and all."""
ECHO_LIMIT = 2048
"""The most characters a trajectory keeps of a step's tool name and error: they echo the action,
which is kept already, and the error is in the observation too."""


def env_id(family: Family) -> str:
    """The Gymnasium id of a built-in family; for a user's own, ``custom/<EnvName>-v1``: the id
    `blastradius.envs.register_family` gives it by default (`blastradius.envs.family_env_id`)."""
    return family_env_id(family)


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


@dataclass
class _Outcome:
    """How the agent's part of an episode went."""

    status: str = "completed"
    reason: str = ""
    traceback: str = ""

    def fail(self, status: str, reason: str, tb: str) -> None:
        if self.status == "completed":  # the first failure is the one that ended the episode
            self.status, self.reason, self.traceback = status, reason, tb


def run_episode(spec: EpisodeSpec, family: Family, make_agent: Callable[[], Agent], size: int,
                chaos: int, step_timeout: float | None = None, secret: str | None = None,
                sealed: bool = False, stopping: Callable[[], bool] | None = None) -> EpisodeResult:
    """Play one episode to its end and score it; never raises for the agent's faults.

    ``step_timeout`` bounds each agent call (making it, ``reset``, each ``act``...) in seconds;
    None for no bound. ``secret`` is a sealed run's secret (None: the world of seed ``n`` is
    built from ``n``). ``sealed``: the agents are sealed ones, which bound their own calls (or
    the oracles, which run here and never hang).
    ``stopping`` is asked before each agent call and while one lasts; when it says True the
    episode ends, its agent closed, by raising `Stopped`.
    """
    started = time.perf_counter()
    # The env itself ends the episode at its step budget (no TimeLimit needed), and takes a
    # custom family object as readily as a built-in id.
    env = BlastRadiusEnv(family=family, size=size, chaos=chaos)
    steps: list[dict[str, Any]] = []
    outcome = _Outcome()
    terminated = truncated = False
    reward = 0.0
    worker: Caller = InThisThread() if sealed else for_episodes(step_timeout, stopping)
    agent: Agent | None = None
    extras: dict[str, Any] = {}
    try:
        observation, info = env.reset(seed=world_seed(secret, spec.seed), options={"difficulty": spec.difficulty})
        briefing = Briefing.from_reset_info(info, spec.seed)
        halted: BaseException | None = None

        def play() -> None:
            # Played on the agent's thread (`AgentThread.run`): no handoff between threads a step.
            nonlocal agent, observation, reward, terminated, truncated, halted
            agent = worker.call("making the agent", functools.partial(_made, make_agent, env.scenario))
            worker.call("reset()", functools.partial(agent.reset, briefing))
            while not (terminated or truncated):
                if stopping is not None and stopping():
                    halted = Stopped(spec.key)
                    break
                action = worker.call("act()", functools.partial(agent.act, observation))
                if not isinstance(action, (dict, str)):
                    raise TypeError(f"act() returned {type(action).__name__}; an action is a tool-call "
                                    'dict {"name": ..., "arguments": {...}} or its JSON string')
                # The env plays exactly what the trajectory keeps (a bounded, JSON-safe copy: NaN
                # as a string, no cycles), so `blastradius verify` can replay it byte for byte.
                played = recordable(action, ACTION_LIMIT)
                observation, reward, terminated, truncated, info = env.step(played)
                steps.append(_step(played, observation, info))

        try:
            worker.run(play)
        except StepTimeout as exc:
            where = f"the call was here when it was abandoned:\n{exc.stack}" if exc.stack else ""
            outcome.fail("timeout", str(exc), where)
        except Stopped as exc:
            if stopping is not None and stopping():
                halted = exc
            else:  # the agent's own raise of it: an error like any other, never a way out of the record
                outcome.fail("error", f"Stopped: {exc}", traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - the agent's fault costs its episode, never the run
            outcome.fail("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        except KeyboardInterrupt as exc:
            halted = exc
        try:
            if halted is not None:
                raise halted
            if agent is not None:
                extras = _finish(agent, worker, outcome)
        except (KeyboardInterrupt, Stopped):  # the run stops, even while the agent closes: end its processes
            _close_quietly(agent, sealed)
            worker.close()
            raise
        # The worker thread stays, for the next episode played from this thread (`for_episodes`).
        # Every episode the env played is scored, an agent's crash or hang included: an agent that
        # fails on purpose after doing damage must not take the damage out of the numbers.
        scored = env.episode_score() if outcome.status == "completed" else score_as_it_stands(env)
        score = scored.to_dict() if scored else None
        explanation = scored.explain() if scored else []
        scenario = env.current_scenario
        world = scenario.world
        timeline = [[point.time - world.start_time, point.resource, point.health]
                    for point in world.ledger.health]
        briefing_text = scenario.briefing
        consequence = scenario.consequence.description
    finally:
        env.close()
    record = {
        "key": spec.key, "family": spec.family, "difficulty": spec.difficulty, "seed": spec.seed,
        "trial": spec.trial, "agent": spec.agent, "env_id": env_id(family), "chaos": chaos,
        "status": outcome.status,
        "error": outcome.reason or None, "traceback": outcome.traceback or None, "steps": len(steps),
        "max_steps": env.max_steps,
        "terminated": terminated, "truncated": truncated, "reward": float(reward), "score": score,
        "duration_seconds": round(time.perf_counter() - started, 6),
    }
    for name in ("agent_stats", "agent_stderr"):
        if extras.get(name) is not None:
            record[name] = extras[name]
    # The consequence is the family's documented harm of the reckless path, kept so that
    # `blastradius show` can say what was at stake without loading the family.
    trajectory = {"key": spec.key, "briefing": briefing_text, "consequence": consequence, "steps": steps,
                  "health_timeline": timeline, "explanation": explanation}
    if extras.get("transcript") is not None:
        trajectory["transcript"] = extras["transcript"]
    return EpisodeResult(record, trajectory)


def _made(make_agent: Callable[[], Agent], scenario: Scenario | None) -> Agent:
    """A fresh agent. An oracle, exactly `PathAgent` (a subclass is a user's agent, which must
    never get the hidden scenario), is handed its path and the referee's way to tell that its
    last call must be sent again, so that it plays as `blastradius.envs.tools.replay` does."""
    agent = make_agent()
    if type(agent) is PathAgent and scenario is not None:
        world = scenario.world
        agent.follow(scenario.reference if agent.path == "reference" else scenario.reckless,
                     lambda: needs_resend(world))
    return agent


def _step(action: dict[str, Any] | str, observation: str, info: dict[str, Any]) -> dict[str, Any]:
    """A step as the trajectory keeps it: the action as played (already a bounded copy, made when
    it was sent: an agent may change its dict afterwards), and the tool name and error that echo
    it cut to bounds (`blastradius.bench.recordable`), so a trajectory stays a few MB whatever an
    agent sends."""
    return {"action": action, "observation": observation,
            "tool": recordable(info["tool"], ECHO_LIMIT), "action_error": recordable(info["action_error"], ECHO_LIMIT),
            "clock_minutes": info["clock_minutes"]}


def _close_quietly(agent: Agent | None, sealed: bool) -> None:
    """Close ``agent`` (ending its child processes) when the run stops; whatever it does then
    no longer matters, as long as it does not outlast a few seconds."""
    close = getattr(agent, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            (InThisThread() if sealed else AgentThread(5.0)).call("close()", close)


def _finish(agent: Agent, worker: Caller, outcome: _Outcome) -> dict[str, Any]:
    """Collect what the agent's optional protocols offer, then close it.

    Usage or a transcript in the wrong shape, or a ``close()`` that fails, is the agent's error
    in an episode that had none; after a failure they are kept when they can be had.
    """
    extras: dict[str, Any] = {}
    for name, check in (("episode_stats", _stats), ("transcript", _transcript)):
        method = getattr(agent, name, None)
        if not callable(method):
            continue
        try:
            extras["agent_stats" if name == "episode_stats" else name] = check(worker.call(f"{name}()", method))
        except Exception as exc:  # noqa: BLE001 - the agent's fault
            outcome.fail("error", f"{name}(): {type(exc).__name__}: {exc}", traceback.format_exc())
    close = getattr(agent, "close", None)
    if callable(close):
        try:
            worker.call("close()", close)
        except Exception as exc:  # noqa: BLE001 - the agent's fault
            outcome.fail("error", f"close(): {type(exc).__name__}: {exc}", traceback.format_exc())
    stderr = getattr(agent, "stderr", None)
    if outcome.status != "completed" and callable(stderr):
        try:
            text = worker.call("stderr()", stderr)
        except Exception:  # noqa: BLE001 - the episode has already failed for a better reason
            text = ""
        if isinstance(text, str) and text:
            extras["agent_stderr"] = text[-STDERR_LIMIT:]
    return extras


def _stats(value: Any) -> dict[str, float | int | None]:
    """``episode_stats()`` as recorded: every key of `STAT_KEYS`, None where not reported."""
    if not isinstance(value, dict):
        raise TypeError(f"returned {type(value).__name__}, not a dict with keys {', '.join(STAT_KEYS)}")
    unknown = sorted(str(key) for key in value if key not in STAT_KEYS)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; the keys are {', '.join(STAT_KEYS)}")
    stats: dict[str, float | int | None] = {}
    for key in STAT_KEYS:
        number = value.get(key)
        kinds = (int, float) if key in ("cost_usd", "latency_seconds") else (int,)
        if number is not None and (isinstance(number, bool) or not isinstance(number, kinds)
                                   or not math.isfinite(number) or number < 0):
            what = "number" if len(kinds) == 2 else "integer"
            raise ValueError(f"{key} must be a non-negative {what} or None, got {number!r}")
        stats[key] = number
    return stats


def _transcript(value: Any) -> list[dict[str, Any]]:
    """``transcript()`` as recorded: a list of chat messages, each with a string ``role``."""
    if not isinstance(value, list) or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in value):
        raise TypeError("must return a list of chat messages (dicts with a string 'role')")
    return value


def score_as_it_stands(env: BlastRadiusEnv) -> EpisodeScore | None:
    """The score of an episode the agent ended by failing, or None when the env cannot give one
    (it failed itself: the episode's error already says so)."""
    try:
        return env.episode_score()
    except Exception:  # noqa: BLE001 - the episode is recorded as failed either way
        return None
