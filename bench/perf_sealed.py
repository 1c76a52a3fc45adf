"""``blastradius perf --sealed-overhead``: what sealing costs an agent step.

Only the agent's side of a step is timed, since the env's step is the same either way: the
``noop`` agent answers the observations of a real episode (the reference solution of
``freeze_prod_db``, cycled) in process, through the `blastradius.bench.agent_thread.AgentThread`
an unsealed run uses, and sealed, through `blastradius.bench.sealed.SealedAgent` (one JSON line
each way over pipes to its own process, which runs as an unprivileged user when this one is
root). The two are measured in interleaved blocks, ``ROUNDS`` of each, and the median of each is
kept. Starting a sealed agent (two interpreters and the agent's imports, once per episode) is
reported apart, per episode.

Target (from the issue; reported, not enforced): sealing adds less than 1 ms per agent step.
"""

from __future__ import annotations

import functools
import json
import statistics
from dataclasses import asdict, dataclass
from time import perf_counter_ns
from typing import Any

__all__ = ["TARGET_OVERHEAD_MS", "OverheadResult", "measure_overhead", "run_cli"]

ROUNDS = 5
TARGET_OVERHEAD_MS = 1.0
_FAMILY = "freeze_prod_db"


@dataclass(frozen=True)
class OverheadResult:
    """An agent step in process and sealed, measured.

    Attributes:
        steps: agent steps timed on each path.
        rounds: interleaved blocks of each; the per-step times are medians over them.
        in_process_ms: one ``act`` through the unsealed runner's agent thread, in ms.
        sealed_ms: one ``act`` of the sealed agent (to its process and back), in ms.
        overhead_ms: ``sealed_ms - in_process_ms``: what sealing adds to each step.
        ratio: ``sealed_ms / in_process_ms``.
        start_ms: starting a sealed agent and answering its reset, once per episode, in ms (mean).
        isolation: what isolation the sealed agent had (`blastradius.bench.sealed.Isolation`).
    """

    steps: int
    rounds: int
    in_process_ms: float
    sealed_ms: float
    overhead_ms: float
    ratio: float
    start_ms: float
    isolation: dict[str, Any]


def _episode() -> tuple[Any, list[str]]:
    """A real briefing and the observations its reference solution gets."""
    from ..agents.base import Briefing
    from ..envs import BlastRadiusEnv

    env = BlastRadiusEnv(family=_FAMILY)
    first, info = env.reset(seed=0)
    observations = [first]
    for call in env.scenario.reference:  # type: ignore[union-attr]
        observations.append(env.step(call)[0])
    env.close()
    return Briefing.from_reset_info(info, 0), observations


def _time(act: Any, observations: list[str], steps: int) -> int:
    """Nanoseconds for ``steps`` calls of ``act``, cycling through ``observations``."""
    start = perf_counter_ns()
    for i in range(steps):
        act(observations[i % len(observations)])
    return perf_counter_ns() - start


def measure_overhead(steps: int = 20000, rounds: int = ROUNDS) -> OverheadResult:
    """Time ``steps`` agent steps on each path, in ``rounds`` interleaved blocks."""
    from ..agents.loader import resolve_agent
    from .agent_thread import AgentThread
    from .sealed import isolation, sealed_factory

    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    briefing, observations = _episode()
    where = isolation()
    in_process = resolve_agent("noop")()
    in_process.reset(briefing)
    worker = AgentThread(60.0)
    sealed = sealed_factory("noop", {}, 60.0, where)()
    starts: list[int] = []
    unsealed_ns: list[float] = []
    sealed_ns: list[float] = []
    block = max(1, steps // rounds)
    try:
        for _ in range(rounds):
            sealed.close()  # the last round's process: its end is not part of the start
            start = perf_counter_ns()
            sealed.reset(briefing)
            starts.append(perf_counter_ns() - start)
            unsealed_ns.append(_time(lambda o: worker.call("act()", functools.partial(in_process.act, o)),
                                     observations, block) / block)
            sealed_ns.append(_time(sealed.act, observations, block) / block)
    finally:
        sealed.close()
        worker.close()
    in_ms, sealed_ms = statistics.median(unsealed_ns) / 1e6, statistics.median(sealed_ns) / 1e6
    return OverheadResult(steps=block * rounds, rounds=rounds, in_process_ms=in_ms, sealed_ms=sealed_ms,
                          overhead_ms=sealed_ms - in_ms, ratio=sealed_ms / in_ms,
                          start_ms=statistics.fmean(starts) / 1e6, isolation=where.to_dict())


def run_cli(steps: int = 20000, as_json: bool = False) -> int:
    """Measure and print a line (or JSON); 0 whether or not the target is met: this reports."""
    result = measure_overhead(steps)
    if as_json:
        print(json.dumps({**asdict(result), "target_overhead_ms": TARGET_OVERHEAD_MS}, indent=2))
        return 0
    who = f"as {result.isolation['user']}" + (" (unprivileged)" if result.isolation["unprivileged"] else "")
    print(f"agent step in process: {result.in_process_ms:.3f} ms; sealed ({who}): {result.sealed_ms:.3f} ms; "
          f"sealing adds {result.overhead_ms:.3f} ms per step ({result.ratio:.1f}x; target < {TARGET_OVERHEAD_MS:g} ms)")
    print(f"{result.steps} steps each, median of {result.rounds} interleaved rounds; starting a sealed agent "
          f"takes {result.start_ms:.0f} ms per episode")
    return 0
