"""``blastradius perf``: how much an env step costs, in CartPole steps, at two world sizes.

The workload is the reference solutions: every scenario family in turn (round-robin, each
family cycling through its difficulty levels), reset with successive seeds, replaying the
careful operator's tool calls of the scenario it got. Actions are sent as JSON text, as the
``Text`` action space declares and an LLM agent sends them; the text is encoded before the
clock starts. Only ``env.step`` is timed (one ``perf_counter_ns`` pair around each run of
steps between resets); reset time is measured on its own and reported per episode, and the
episode's last step (which ends the episode and scores it, cloning the no-op counterfactual it is
scored against) is also reported apart from the rest.

The yardstick is Gymnasium's ``CartPoleEnv``, unwrapped like ours, stepped in the same process
and run with a fixed alternating action sequence. To resist noise (CPU frequency, other
processes) the two are measured in interleaved blocks, ``ROUNDS`` of each, and the median rate
of each is kept. The cost of a blastradius step is ``cartpole rate / blastradius rate``: how
many CartPole steps one blastradius step costs. A reset is costed the same way, twice: with a
seed never built before (the scenario is built), and again with the same seed (the build is
reused: `blastradius.envs.builds`).

The harness is costed against the env alone, on the same episodes (`harness_cost`): the
``careful`` agent plays each through `blastradius.bench.episode.run_episode`, then its recorded
actions are sent again through ``run_episode`` by an agent that only replays them, and again on
a bare env; the harness cost is the ratio of the replayed run's time to the bare env's (what the
harness adds, with no agent's own thinking in it), and the careful agent's own run is reported
beside it.

Targets (from the issue; this command reports them, it does not fail on them): a step costs at
most 5 CartPole steps at the default topology size, and a step at ten times that size costs at
most 2x a step at the default size; a reset at the default size takes at most 0.5 ms; an episode
through the harness costs at most 1.5x the env's own steps.
"""

from __future__ import annotations

import functools
import json
import platform
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from time import perf_counter_ns
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_SCALES",
    "ROUNDS",
    "TARGET_COST_AT_DEFAULT",
    "TARGET_HARNESS_COST",
    "TARGET_RESET_MS",
    "TARGET_SCALING_AT_10X",
    "HarnessCost",
    "PerfResult",
    "cartpole_rate",
    "harness_cost",
    "measure",
    "run_cli",
]

ROUNDS = 5
DEFAULT_SCALES: tuple[float, ...] = (1.0, 10.0)
# The targets, for the humans reading the report.
TARGET_COST_AT_DEFAULT = 5.0  # CartPole steps per blastradius step, at DEFAULT_SIZE
TARGET_SCALING_AT_10X = 2.0  # cost at 10x DEFAULT_SIZE / cost at DEFAULT_SIZE
TARGET_RESET_MS = 0.5  # one reset at DEFAULT_SIZE
TARGET_HARNESS_COST = 1.5  # an episode through run_episode / the same episode on a bare env


@dataclass(frozen=True)
class PerfResult:
    """One size, measured.

    Attributes:
        size: the ``size`` the envs were built with.
        resources: resources in a freshly reset world, averaged over the episodes.
        steps: env steps timed.
        episodes: episodes started (the last one may have been cut short by the step budget).
        rounds: interleaved blocks of each env; the rates are the medians over them.
        blastradius_steps_per_s: median rate of ``BlastRadiusEnv.step``.
        cartpole_steps_per_s: median rate of ``CartPoleEnv.step`` in the same process and run.
        cost_in_cartpole_steps: ``cartpole_steps_per_s / blastradius_steps_per_s``.
        reset_ms_per_episode: mean wall time of one ``reset`` with a seed never built, in ms.
        reset_cost_in_cartpole_steps: that reset in CartPole steps (at the median CartPole rate).
        seen_reset_ms: mean wall time of a ``reset`` to a seed built before, in ms.
        seen_reset_cost_in_cartpole_steps: that reset in CartPole steps.
        harness_cost: an episode through ``run_episode``, its recorded actions sent by an agent
            that only replays them / the same episode on a bare env (median over rounds); see the
            module docstring.
        run_steps_per_s: env steps per second through ``run_episode``, the actions replayed
            (median over rounds).
        harness_cost_with_agent: as ``harness_cost``, the careful agent choosing each action
            (its own parsing and planning included).
        tool_mix: tool name -> timed steps that called it.
        action_errors: timed steps whose observation was an error (the reference should make none).
        unfinished: episodes whose whole reference ran without ending the episode (should be 0).
        end_step_ms: mean wall time of an episode's last reference step (the one that ends the
            episode, and pays for scoring it), in ms; over all rounds, not a median.
        other_step_us: mean wall time of every other step, in microseconds; over all rounds.
    """

    size: int
    resources: float
    steps: int
    episodes: int
    rounds: int
    blastradius_steps_per_s: float
    cartpole_steps_per_s: float
    cost_in_cartpole_steps: float
    reset_ms_per_episode: float
    tool_mix: dict[str, int] = field(default_factory=dict)
    action_errors: int = 0
    unfinished: int = 0
    end_step_ms: float = 0.0
    other_step_us: float = 0.0
    reset_cost_in_cartpole_steps: float = 0.0
    seen_reset_ms: float = 0.0
    seen_reset_cost_in_cartpole_steps: float = 0.0
    harness_cost: float = 0.0
    run_steps_per_s: float = 0.0
    harness_cost_with_agent: float = 0.0


def cartpole_rate(steps: int, seed: int = 0) -> float:
    """Steps per second of a raw ``CartPoleEnv`` (no wrappers), resets excluded.

    Reset with ``seed``, then stepped with the actions 0, 1, 0, 1, ...; reset again whenever
    the pole falls.
    """
    from gymnasium.envs.classic_control import CartPoleEnv

    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    env = CartPoleEnv()
    env.reset(seed=seed)
    step: Callable[[int], tuple[Any, float, bool, bool, dict[str, Any]]] = env.step  # looked up once
    done = elapsed = 0
    while done < steps:
        terminated = False
        start = perf_counter_ns()
        while done < steps:
            _, _, terminated, _, _ = step(done & 1)
            done += 1
            if terminated:
                break
        elapsed += perf_counter_ns() - start
        if terminated:
            env.reset()
    env.close()
    return steps * 1e9 / max(elapsed, 1)


class _Replay:
    """The reference solutions of every family, replayed back to back across timed blocks.

    A block may end in the middle of an episode; the next block carries on with it.
    """

    def __init__(self, size: int, seed: int) -> None:
        from blastradius.envs import FAMILIES, BlastRadiusEnv

        # Chaos off: the benchmark times the simulation, not the retries of injected faults.
        self.envs = [BlastRadiusEnv(family=family, size=size, chaos=0) for family in FAMILIES]
        self.seed = seed
        self.episodes = 0
        self.reset_ns = self.seen_reset_ns = 0
        self.resources = 0
        self.mix: Counter[str] = Counter()
        self.errors = 0
        self.unfinished = 0
        self.end_ns = self.end_steps = 0
        self.other_ns = self.other_steps = 0
        self._env: Any = None
        self._pending: list[str] = []
        self._names: list[str] = []

    def _close_episode(self) -> None:
        """Tally what the episode just left behind (its ledger knows every timed call)."""
        if self._env is None:
            return
        world = self._env.scenario.world
        self.errors += sum(1 for record in world.ledger.calls if record.error)
        if not self._pending and world.session.finish is None:
            self.unfinished += 1

    def _next_episode(self) -> None:
        self._close_episode()
        index = self.episodes
        env = self.envs[index % len(self.envs)]
        difficulties = env.family.difficulties
        difficulty = difficulties[(index // len(self.envs)) % len(difficulties)].name
        options = {"difficulty": difficulty}
        start = perf_counter_ns()
        env.reset(seed=self.seed + index, options=options)
        middle = perf_counter_ns()
        env.reset(seed=self.seed + index, options=options)  # the same episode, its build reused
        self.reset_ns += middle - start
        self.seen_reset_ns += perf_counter_ns() - middle
        scenario = env.current_scenario  # the referee's object: fine for a benchmark
        self.resources += len(scenario.world.resources)
        self._pending = [json.dumps(call) for call in scenario.reference]
        self._names = [call["name"] for call in scenario.reference]
        self._env = env
        self.episodes += 1

    def run(self, steps: int) -> int:
        """Time ``steps`` env steps; return the nanoseconds spent inside ``env.step``."""
        elapsed = 0
        while steps > 0:
            if not self._pending:
                self._next_episode()
            take = min(steps, len(self._pending))
            ends = take == len(self._pending)  # this batch holds the episode's last step
            batch, body = self._pending[:take], self._pending[: take - 1 if ends else take]
            del self._pending[:take]
            self.mix.update(self._names[:take])
            del self._names[:take]
            step = self._env.step
            start = perf_counter_ns()
            for action in body:
                step(action)
            middle = perf_counter_ns()
            if ends:
                step(batch[-1])
            end = perf_counter_ns()
            elapsed += end - start
            self.other_ns += middle - start
            self.other_steps += len(body)
            if ends:
                self.end_ns += end - middle
                self.end_steps += 1
            steps -= take
        return elapsed

    def close(self) -> None:
        self._close_episode()
        self._env = None
        for env in self.envs:
            env.close()


class HarnessCost(NamedTuple):
    """The same episodes through ``run_episode`` and on a bare env (medians over rounds)."""

    ratio: float  # run_episode's time, its agent sending recorded actions / the bare env's
    run_steps_per_s: float  # env steps per second through run_episode, recorded actions sent
    with_agent_ratio: float  # the same, the careful agent deciding each action itself


class _RecordedAgent:
    """An agent that sends the actions it was given, in order: the harness's cost without any
    agent's own (the careful agent parses every observation)."""

    def __init__(self, actions: list[Any]) -> None:
        self._actions = iter(actions)

    def reset(self, briefing: Any) -> None:
        del briefing

    def act(self, observation: str) -> Any:
        del observation
        return next(self._actions)


def harness_cost(episodes: int, size: int, seed: int = 0, rounds: int = ROUNDS) -> HarnessCost:
    """Time ``episodes`` episodes of the ``careful`` agent through ``run_episode`` (its thread,
    bounded copies, records, scores): played by the agent itself, and with its recorded actions
    sent back by an agent that only replays them; then those actions again on a bare env (reset,
    then ``env.step`` after ``env.step``, the last one scoring), in ``rounds`` blocks. The harness
    cost is the replayed run's time over the bare env's; the agent's own time is reported apart.

    The episodes cycle through the families and their difficulties, seeds from ``seed``, chaos
    off; each is built once before it is timed, so all three start from a build already made.
    """
    from ..agents.loader import resolve_agent
    from ..envs import FAMILIES, BlastRadiusEnv
    from .agent_thread import DEFAULT_STEP_TIMEOUT
    from .episode import EpisodeSpec, run_episode

    if episodes <= 0:
        raise ValueError(f"episodes must be positive, got {episodes}")
    make_agent = resolve_agent("careful", {})
    envs = [BlastRadiusEnv(family=family, size=size, chaos=0) for family in FAMILIES.values()]
    ratios, agent_ratios, rates = [], [], []
    index = 0
    for block in _split(episodes, rounds):
        agent_ns = run_ns = bare_ns = steps = 0
        for _ in range(block):
            env = envs[index % len(envs)]
            levels = env.family.difficulties
            options = {"difficulty": levels[(index // len(envs)) % len(levels)].name}
            spec = EpisodeSpec(env.family.id, options["difficulty"], seed + index, 0, "careful")
            index += 1
            env.reset(seed=spec.seed, options=options)  # untimed: the build all three reuse
            start = perf_counter_ns()
            played = run_episode(spec, env.family, make_agent, size, 0, DEFAULT_STEP_TIMEOUT)
            middle = perf_counter_ns()
            actions = [step["action"] for step in played.trajectory["steps"]]
            replayed = run_episode(spec, env.family, functools.partial(_RecordedAgent, actions), size, 0,
                                   DEFAULT_STEP_TIMEOUT)
            replay_end = perf_counter_ns()
            env.reset(seed=spec.seed, options=options)
            for action in actions:
                env.step(action)
            bare_ns += perf_counter_ns() - replay_end
            agent_ns += middle - start
            run_ns += replay_end - middle
            steps += replayed.record["steps"]
        ratios.append(run_ns / max(bare_ns, 1))
        agent_ratios.append(agent_ns / max(bare_ns, 1))
        rates.append(steps * 1e9 / max(run_ns, 1))
    for env in envs:
        env.close()
    return HarnessCost(statistics.median(ratios), statistics.median(rates), statistics.median(agent_ratios))


def _split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` near-equal positive chunks (fewer chunks when total is small)."""
    parts = max(1, min(parts, total))
    return [total // parts + (i < total % parts) for i in range(parts)]


def measure(steps: int, size: int, seed: int = 0, rounds: int = ROUNDS) -> PerfResult:
    """Time ``steps`` blastradius env steps at topology ``size``, and CartPole alongside; then
    the harness, over an episode per 400 steps (`harness_cost`).

    The steps are split into ``rounds`` blocks, each preceded by a CartPole block of the same
    number of steps; the result holds the median rate of each.
    """
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    replay = _Replay(size, seed)
    cartpole: list[float] = []
    blastradius: list[float] = []
    try:
        for block in _split(steps, rounds):
            cartpole.append(cartpole_rate(block))
            blastradius.append(block * 1e9 / max(replay.run(block), 1))
    finally:
        replay.close()
    br_rate = statistics.median(blastradius)
    cp_rate = statistics.median(cartpole)
    reset_ms = replay.reset_ns / replay.episodes / 1e6
    seen_reset_ms = replay.seen_reset_ns / replay.episodes / 1e6
    harness = harness_cost(max(rounds, steps // 400), size, seed + 10**6, rounds)
    return PerfResult(
        size=size,
        resources=replay.resources / replay.episodes,
        steps=steps,
        episodes=replay.episodes,
        rounds=len(blastradius),
        blastradius_steps_per_s=br_rate,
        cartpole_steps_per_s=cp_rate,
        cost_in_cartpole_steps=cp_rate / br_rate,
        reset_ms_per_episode=reset_ms,
        tool_mix=dict(replay.mix.most_common()),
        action_errors=replay.errors,
        unfinished=replay.unfinished,
        end_step_ms=replay.end_ns / replay.end_steps / 1e6 if replay.end_steps else 0.0,
        other_step_us=replay.other_ns / replay.other_steps / 1e3 if replay.other_steps else 0.0,
        reset_cost_in_cartpole_steps=reset_ms * cp_rate / 1e3,
        seen_reset_ms=seen_reset_ms,
        seen_reset_cost_in_cartpole_steps=seen_reset_ms * cp_rate / 1e3,
        harness_cost=harness.ratio,
        run_steps_per_s=harness.run_steps_per_s,
        harness_cost_with_agent=harness.with_agent_ratio,
    )


# --- the command --------------------------------------------------------------------------


def _scale_name(scale: float) -> str:
    return f"{scale:g}x"


def _scaling(results: list[tuple[float, PerfResult]]) -> dict[str, Any] | None:
    """The largest scale's step cost relative to the base (scale 1, else the smallest)."""
    if len(results) < 2:
        return None
    base = next(((s, r) for s, r in results if s == 1), min(results, key=lambda item: item[0]))
    top = max(results, key=lambda item: item[0])
    if top[0] == base[0]:
        return None
    return {
        "from_scale": base[0],
        "to_scale": top[0],
        "from_size": base[1].size,
        "to_size": top[1].size,
        "cost_ratio": top[1].cost_in_cartpole_steps / base[1].cost_in_cartpole_steps,
    }


def run_cli(steps: int = 20000, as_json: bool = False, scales: list[float] | None = None) -> int:
    """Measure each scale of ``DEFAULT_SIZE`` and print a table (or JSON); return the exit code.

    0 whether or not the targets are met: this reports. 2 when a scale makes a topology
    smaller than the generator allows.
    """
    from blastradius.envs.topology import DEFAULT_SIZE

    scales = list(DEFAULT_SCALES if scales is None else scales)
    sizes = [round(DEFAULT_SIZE * scale) for scale in scales]
    too_small = [f"{_scale_name(s)} (size {n})" for s, n in zip(scales, sizes, strict=True) if n < 10]
    if too_small:
        print(f"blastradius perf: topologies need at least 10 resources; too small: {', '.join(too_small)}",
              file=sys.stderr)
        return 2
    results = [(scale, measure(steps, size)) for scale, size in zip(scales, sizes, strict=True)]
    scaling = _scaling(results)

    if as_json:
        import gymnasium

        from . import __version__

        print(json.dumps({
            "steps": steps,
            "rounds": ROUNDS,
            "default_size": DEFAULT_SIZE,
            "results": [{"scale": scale, **asdict(result)} for scale, result in results],
            "scaling": scaling,
            "targets": {"max_cost_in_cartpole_steps_at_default_size": TARGET_COST_AT_DEFAULT,
                        "max_cost_ratio_at_10x_size": TARGET_SCALING_AT_10X,
                        "max_reset_ms_at_default_size": TARGET_RESET_MS,
                        "max_harness_cost": TARGET_HARNESS_COST},
            "versions": {"blastradius": __version__, "gymnasium": gymnasium.__version__,
                         "python": platform.python_version()},
        }, indent=2))
        return 0

    from tabulate import tabulate

    rows = [[r.size, r.resources, r.blastradius_steps_per_s, r.cartpole_steps_per_s, r.cost_in_cartpole_steps,
             r.reset_ms_per_episode] for _, r in results]
    headers = ["size", "resources", "steps/s", "CartPole steps/s", "cost in CartPole steps", "reset ms"]
    print(tabulate(rows, headers=headers, floatfmt=("d", ".0f", ",.0f", ",.0f", ".2f", ".2f")))
    print(f"{steps} timed steps per size, median of {ROUNDS} interleaved rounds; reset ms is per episode.")
    for scale, r in results:
        name = _scale_name(scale)
        print(f"at {name}: an episode's last step (it ends and scores the episode) takes "
              f"{r.end_step_ms:.2f} ms, every other step {r.other_step_us:.1f} us (means)")
        print(f"at {name}: a reset takes {r.reset_ms_per_episode:.2f} ms ({r.reset_cost_in_cartpole_steps:.0f} "
              f"CartPole steps) with a new seed, {r.seen_reset_ms:.2f} ms ({r.seen_reset_cost_in_cartpole_steps:.0f}) "
              "with a seed built before")
        print(f"at {name}: the harness costs {r.harness_cost:.2f}x the bare env: the careful agent's recorded "
              f"episodes run {r.run_steps_per_s:,.0f} env steps/s through run_episode, "
              f"{r.run_steps_per_s * r.harness_cost:,.0f} replayed bare; played by the agent itself, "
              f"{r.harness_cost_with_agent:.2f}x (its own thinking included)")
    for scale, r in results:
        mix = ", ".join(f"{name} {count / r.steps:.0%}" for name, count in r.tool_mix.items())
        print(f"tool mix at {_scale_name(scale)} ({r.episodes} episodes): {mix}")
        if r.action_errors or r.unfinished:
            print(f"warning at {_scale_name(scale)}: the reference solutions made {r.action_errors} action "
                  f"errors and left {r.unfinished} episodes unfinished", file=sys.stderr)
    if scaling is not None:
        print(f"{_scale_name(scaling['to_scale'])} size costs {scaling['cost_ratio']:.2f}x "
              f"the {_scale_name(scaling['from_scale'])} step")
    return 0
