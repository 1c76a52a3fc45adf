"""Where episodes run: in this thread, on threads, in processes, or as Ray tasks.

Every executor plays an episode with the same function (`play`) and hands back its record and
trajectory, made into the text the run folder stores (`blastradius.bench.storage.stored`), as a
`concurrent.futures.Future`; the runner alone schedules (``jobs`` in flight, and for processes
one more waiting behind each, so ``--max-cost`` can stop it; `blastradius.bench.backlog` says in
what order), stores each episode as it ends and summarises them in plan order. So the records are the same whatever the executor, only the order of the lines of
``episodes.jsonl`` differs.

* ``local``: ``jobs`` threads of this process (an LLM agent's time goes to waiting for its
  model, and the simulation is cheap); with ``jobs == 1`` the episode runs in the caller's own
  thread, so Ctrl-C reaches it at once.
* ``process``: ``jobs`` fresh (spawned) processes, for agents that compute: each resolves the
  families and agents of the config itself, once, and plays a seed's episodes one after another
  (it keeps the worlds it built).
* ``ray``: one Ray task per episode, on ``ray.init()`` of this machine or of ``address`` (a
  cluster the user already runs, whose nodes have blastradius installed); the optional ``ray``
  extra.

A stop (Ctrl-C, SIGTERM, ``--max-cost``) is a flag that every episode in flight reads before each
agent call (`set_stop`): it ends its agent (and the agent's child processes) and raises
`blastradius.bench.episode.Stopped`, and is not recorded, so a resumed run plays it again.
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from ..agents.base import Agent
from ..agents.loader import resolve_agent
from ..agents.rate_limit import set_default_max_connections
from ..envs import CUSTOM_NAMESPACE
from ..envs.scenarios import Family
from .backlog import world_of
from .episode import EpisodeSpec, env_id, run_episode
from .storage import Stored, stored

__all__ = ["EXECUTORS", "Executor", "failed", "make_executor", "play", "prime", "stopping"]

EXECUTORS = ("local", "process", "ray")

# The stop flag of this process: a threading.Event here, a multiprocessing.Event in a pool's
# processes (shared with the runner's), a Ray actor's answer in a Ray task.
_stop: Any = threading.Event()
# What a process or task resolves once per config: (the config, families, agent factories).
_resolved: tuple[Any, dict[str, Family], dict[str, Callable[[], Agent]]] | None = None
_resolving = threading.Lock()


def stopping() -> bool:
    """Whether the run is stopping: episodes in flight end before their agent's next call."""
    return bool(_stop.is_set())


def play(spec: EpisodeSpec, config: Any) -> Stored:
    """Play one episode of ``config`` (a `blastradius.bench.runner.RunConfig`); a crash anywhere,
    even in the env, is the episode's error. Raises `blastradius.bench.episode.Stopped` when the
    run stops during it."""
    from .episode import Stopped

    try:
        families, factories = _resolve(config)
        family = families[spec.family]
        result = run_episode(spec, family, factories[spec.agent], config.size, config.chaos, config.step_timeout,
                             config.secret, config.sealed, stopping)
    except Stopped:
        raise
    except Exception as exc:  # noqa: BLE001 - one episode's crash never loses the run
        return failed(spec, config, f"{type(exc).__name__}: {exc}")
    try:
        return stored(result.record, result.trajectory)
    except Exception as exc:  # noqa: BLE001 - what an agent made that cannot be stored costs its episode only
        return failed(spec, config, f"the episode's record could not be stored: {type(exc).__name__}: {exc}")


def failed(spec: EpisodeSpec, config: Any, reason: str) -> Stored:
    """The record and empty trajectory of an episode that failed for ``reason``, with the
    traceback of the exception being handled."""
    record = {"key": spec.key, "family": spec.family, "difficulty": spec.difficulty, "seed": spec.seed,
              "trial": spec.trial, "agent": spec.agent, "env_id": _env_id(spec.family, config),
              "chaos": config.chaos, "status": "error", "error": reason, "traceback": traceback.format_exc(),
              "steps": 0, "terminated": False, "truncated": False, "reward": 0.0, "score": None,
              "duration_seconds": 0.0}
    # Made of plain strings: nothing in it can fail to be stored.
    return stored(record, {"key": spec.key, "briefing": "", "steps": [], "health_timeline": [], "explanation": []})


def _env_id(family_id: str, config: Any) -> str:
    try:
        return env_id(_resolve(config)[0][family_id])
    except Exception:  # noqa: BLE001 - the family itself is what failed: name it as a custom one would be
        return f"{CUSTOM_NAMESPACE}/{''.join(part.capitalize() for part in family_id.split('_'))}-v1"


def prime(config: Any, families: dict[str, Family], factories: dict[str, Callable[[], Agent]]) -> None:
    """Give this process the families and agent factories of ``config`` the runner already has
    (a sealed run's factories start sealed agents, which `_resolve` would not make)."""
    global _resolved
    with _resolving:
        _resolved = (config, families, factories)


def _resolve(config: Any) -> tuple[dict[str, Family], dict[str, Callable[[], Agent]]]:
    """The families and agent factories of ``config``, resolved once in this process (a pool's
    worker gets its own copy of the config with each episode: equal, not the same object)."""
    global _resolved
    from .run_config import families_of

    with _resolving:
        if _resolved is None or not (_resolved[0] is config or _resolved[0] == config):
            factories = {label: resolve_agent(spec, config.kwargs_of(i))
                         for i, (spec, label) in enumerate(zip(config.agents, config.labels(), strict=True))}
            _resolved = (config, families_of(config), factories)
        return _resolved[1], _resolved[2]


class Executor(ABC):
    """Runs episodes; a context manager. ``submit`` returns the episode's future; ``stop`` sets
    the stop flag every episode in flight reads."""

    keeps_builds = False
    """Whether an episode's world is kept only by the process that built it, so that a world's
    episodes are best played one after another (`blastradius.bench.backlog`)."""
    queued_per_job = 0
    """Episodes the runner submits beyond ``jobs``, to wait for a free worker: none where a
    worker takes the next episode as soon as it is handed over."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def __enter__(self) -> Executor:
        _stop.clear()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    @abstractmethod
    def submit(self, spec: EpisodeSpec, config: Any) -> Future[Stored]:
        """Start playing ``spec``'s episode of ``config``."""

    def stop(self) -> None:
        _stop.set()

    def shutdown(self) -> None:  # noqa: B027 - not abstract: doing nothing is right for some executors
        """Wait for the episodes in flight (a stop ends them at their next agent call); one that
        plays each episode in `submit` has none."""


class _Here(Executor):
    """One episode at a time, in the caller's thread: its ``submit`` returns a finished future."""

    def submit(self, spec: EpisodeSpec, config: Any) -> Future[Stored]:
        future: Future[Stored] = Future()
        try:
            future.set_result(play(spec, config))
        except Exception as exc:  # noqa: BLE001 - Stopped, handed to the runner like any executor's
            future.set_exception(exc)
        return future


class _Threads(Executor):
    def __init__(self, jobs: int) -> None:
        super().__init__(jobs)
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="episode")

    def submit(self, spec: EpisodeSpec, config: Any) -> Future[Stored]:
        return self._pool.submit(play, spec, config)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _worker_init(stop: Any, max_connections: int | None) -> None:
    """A pool process's start: share the runner's stop flag, and leave Ctrl-C and SIGTERM to the
    runner (a terminal or a service manager sends them to the whole process group), which stops
    the episodes in flight cleanly, through the flag."""
    import signal

    global _stop
    _stop = stop
    set_default_max_connections(max_connections)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class _Processes(Executor):
    """``jobs`` processes, each a pool of its own, so that an episode goes to the process that
    played the last episode of its world (`blastradius.bench.backlog`), which kept the build. Each
    process has an episode waiting behind the one it plays, so that it never idles while the
    runner stores the last one and hands it the next."""

    keeps_builds = True
    queued_per_job = 1

    def __init__(self, jobs: int, max_connections: int | None) -> None:
        super().__init__(jobs)
        # Spawned, not forked: a fork of a process with threads (the runner's, an agent's) can
        # inherit a held lock; a spawned worker starts clean and imports only what it needs.
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._pools = [ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_worker_init,
                                           initargs=(self._stop, max_connections)) for _ in range(jobs)]
        self._flight: list[list[Future[Stored]]] = [[] for _ in range(jobs)]  # each pool's episodes not yet ended
        self._home: dict[tuple[str, str, int], int] = {}  # the pool that played each world

    def submit(self, spec: EpisodeSpec, config: Any) -> Future[Stored]:
        for flight in self._flight:
            flight[:] = [future for future in flight if not future.done()]
        world = world_of(spec)
        pool = self._home.get(world)
        if pool is None:  # a world not built yet: the process with the least to do
            pool = self._home[world] = min(range(self.jobs), key=lambda i: len(self._flight[i]))
        future = self._pools[pool].submit(play, spec, config)
        self._flight[pool].append(future)
        return future

    def stop(self) -> None:
        super().stop()
        self._stop.set()

    def shutdown(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)


class _Ray(Executor):
    def __init__(self, jobs: int, address: str | None, max_connections: int | None) -> None:
        super().__init__(jobs)
        try:
            import ray
        except ImportError:
            raise RuntimeError("--executor ray needs Ray: pip install -e '.[ray]' (or pip install ray)") from None
        self._ray = ray
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        # Any: Ray's types give an actor handle's methods no `.remote`.
        self._flag: Any = ray.remote(num_cpus=0)(_StopFlag).remote()
        self._task = ray.remote(num_cpus=1, max_retries=0)(_play_remote)
        self._refs: list[Any] = []
        self._max_connections = max_connections

    def submit(self, spec: EpisodeSpec, config: Any) -> Future[Stored]:
        ref = self._task.remote(spec, config, self._flag, self._max_connections)
        self._refs.append(ref)
        return ref.future()

    def stop(self) -> None:
        super().stop()
        self._ray.get(self._flag.set.remote())

    def shutdown(self) -> None:
        if self._refs:
            self._ray.wait(self._refs, num_returns=len(self._refs))


class _StopFlag:
    """The stop flag of a Ray run, as a tiny actor the tasks ask."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


class _AskFlag:
    """The Ray flag as an Event-like object for `stopping`: asked at most every half second."""

    def __init__(self, flag: Any) -> None:
        import time

        self._flag, self._time, self._asked, self._answer = flag, time.monotonic, float("-inf"), False

    def is_set(self) -> bool:
        import ray

        now = self._time()
        if not self._answer and now - self._asked >= 0.5:
            self._asked, self._answer = now, bool(ray.get(self._flag.is_set.remote()))
        return self._answer

    def clear(self) -> None:
        self._answer = False


def _play_remote(spec: EpisodeSpec, config: Any, flag: Any, max_connections: int | None) -> Stored:
    global _stop
    _stop = _AskFlag(flag)
    set_default_max_connections(max_connections)
    return play(spec, config)


def make_executor(name: str, jobs: int, ray_address: str | None = None,
                  max_connections: int | None = None) -> Executor:
    """The executor ``name`` (one of `EXECUTORS`) running ``jobs`` episodes at once, with at most
    ``max_connections`` model requests in flight to one endpoint from each of its processes
    (`blastradius.agents.rate_limit`: one process for ``local``, each worker's for the others)."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    set_default_max_connections(max_connections)
    if name == "local":
        return _Here(jobs) if jobs == 1 else _Threads(jobs)
    if name == "process":
        return _Processes(jobs, max_connections)
    if name == "ray":
        return _Ray(jobs, ray_address, max_connections)
    raise ValueError(f"unknown executor {name!r}; choose from {', '.join(EXECUTORS)}")
