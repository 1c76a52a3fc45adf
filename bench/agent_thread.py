"""An agent's calls on a thread of their own, each with a time limit, so a hung agent can be left.

Python cannot stop a thread, so a call that overruns its limit is abandoned: `AgentThread.call`
raises `StepTimeout` and the episode ends as ``timeout``, while the stuck call runs on, on a
daemon thread that never holds up the run or the interpreter's exit. The next call, if any,
gets a new thread. Every call of one agent (making it, ``reset``, ``act``...) runs on the same
thread while none times out, so an agent may keep thread-bound objects (a database connection)
between calls. An agent's ``sys.exit()`` is an error like any other, never the end of the run.

An episode hands its whole loop to that thread (`AgentThread.run`), env steps included: its
agent calls then cost no handoff between threads, and the thread that waits for the loop
watches each call's time. Work whose call was abandoned goes no further if the call returns.
The episodes played one after another from one thread hand their loops to one worker thread
(`for_episodes`), each in turn, so that a run does not start a thread an episode.
"""

from __future__ import annotations

import functools
import queue
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, TypeVar

__all__ = ["DEFAULT_STEP_TIMEOUT", "AgentThread", "Caller", "InThisThread", "StepTimeout", "Stopped", "for_episodes"]

DEFAULT_STEP_TIMEOUT = 120.0
"""Seconds an agent call may take by default (``--step-timeout``): room for a slow model call
and a few backed-off retries, short enough that a hung agent costs minutes, not the run."""

T = TypeVar("T")
_WATCH_SLICE = 0.1
"""Seconds between looks at the stop flag while a call lasts: a stop waits no longer."""

_Job = tuple[Callable[[], Any], dict[str, Any], threading.Event]


class Stopped(Exception):
    """The run stopped (Ctrl-C, SIGTERM, its cost bound) while this episode was being played: it
    ended before its agent's next call, or in the middle of a call that was abandoned, with the
    agent closed, and is not to be recorded (a resumed run plays it again)."""


class StepTimeout(Exception):
    """An agent call that did not return within its time limit.

    Attributes:
        stack: where the stuck call was when it was abandoned (formatted frames; empty if unknown).
    """

    def __init__(self, message: str, stack: str = "") -> None:
        super().__init__(message)
        self.stack = stack


class Caller(Protocol):
    """How an episode calls its agent: `AgentThread`, or `InThisThread` for an agent that bounds
    its own calls. ``run`` plays the work that makes the calls (the episode's loop)."""

    def call(self, what: str, function: Callable[[], T]) -> T: ...

    def run(self, work: Callable[[], T]) -> T: ...

    def close(self) -> None: ...


class InThisThread:
    """Calls in the calling thread: for a sealed agent (`blastradius.bench.sealed`), whose calls
    kill its process at the step timeout and raise `StepTimeout` themselves."""

    def call(self, what: str, function: Callable[[], T]) -> T:
        del what
        return function()

    def run(self, work: Callable[[], T]) -> T:
        return work()

    def close(self) -> None:
        """Nothing to release."""


class AgentThread:
    """Runs an agent's calls one at a time on a daemon worker thread, each limited to ``timeout``
    seconds.

    `call` hands the worker one call and waits for it. `run` hands it a whole piece of work (an
    episode's loop) whose agent calls go through `call` from the worker itself: they run there
    at once, and the thread waiting in `run` watches how long each lasts. Handing a call to
    another thread and back costs about as much as an env step, so `run` pays that once per
    episode instead of once per step; to the agent it is the same (every call on one thread).

    Args:
        timeout: seconds each call may take; None for no limit.
        name: the worker thread's name, for debuggers and ``threading.enumerate()``.
        stopping: asked while a call lasts; when it says True the call is abandoned (`Stopped`).
    """

    def __init__(self, timeout: float | None, name: str = "blastradius-agent",
                 stopping: Callable[[], bool] | None = None) -> None:
        self.timeout = timeout
        self.name = name
        self.stopping = stopping
        self._worker: _Worker | None = None

    def call(self, what: str, function: Callable[[], T]) -> T:
        """``function()`` on the worker thread: its value, or its exception re-raised here.

        Raises:
            StepTimeout: it did not return in time (``what`` names it in the message).
            Stopped: ``stopping`` said the run stops while the call went on: it is abandoned
                as a timed-out one is, so a stop never waits for a slow agent or model.
        """
        worker: _Worker | None = getattr(_on, "worker", None)
        if worker is not None and worker.owner is self:
            return worker.timed(what, function)  # from the work `run` handed over: time it from there
        return self.run(functools.partial(self.call, what, function))

    def run(self, work: Callable[[], T]) -> T:
        """``work()`` on the worker thread: its value, or its exception re-raised here. Each call
        it makes through `call` is bounded as if it had been made from here.

        Raises:
            StepTimeout, Stopped: as `call` does, for the call of ``work`` under way: the work is
                abandoned in it, and goes no further should the call ever return.
        """
        if self._worker is None:
            self._worker = _Worker(self, self.name)
        worker = self._worker
        box: dict[str, Any] = {}
        done = threading.Event()
        worker.jobs.put((work, box, done))
        try:
            self._watch(worker, done)
        except BaseException:  # a timeout, a stop, a Ctrl-C: the work goes on without us
            self._abandon(worker)
            raise
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    def _watch(self, worker: _Worker, done: threading.Event) -> None:
        """Wait for ``done``, looking at the call under way when its time is up and, with
        ``stopping``, every `_WATCH_SLICE` seconds."""
        while True:
            call = worker.current
            wait = None if self.timeout is None else (
                self.timeout if call is None else call.started + self.timeout - time.monotonic())
            if self.stopping is not None:
                wait = _WATCH_SLICE if wait is None else min(wait, _WATCH_SLICE)
            if done.wait(None if wait is None else max(wait, 0.0)):
                return
            call = worker.current
            if call is None:
                continue
            if self.timeout is not None and time.monotonic() - call.started >= self.timeout:
                frame = sys._current_frames().get(worker.thread.ident or -1)
                stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
                if worker.leave(call):
                    raise StepTimeout(f"{call.what} did not return within {self.timeout:g} s (the step timeout, "
                                      "--step-timeout)", stack)
            elif self.stopping is not None and self.stopping() and worker.leave(call):
                raise Stopped("the run stopped while the agent's call went on")

    def _abandon(self, worker: _Worker) -> None:
        worker.leave(None)
        self._worker = None  # the next call, if any, gets a new thread

    def close(self) -> None:
        """Let the worker thread end (it is a daemon: nothing waits for it)."""
        if self._worker is not None:
            self._worker.jobs.put(None)
            self._worker = None


_episodes = threading.local()  # .agent_thread: the AgentThread of the episodes played from this thread


def for_episodes(timeout: float | None, stopping: Callable[[], bool] | None = None) -> AgentThread:
    """The `AgentThread` for an episode played from this thread: the one the episode before it
    had, if it was made with the same ``timeout`` and ``stopping``. Starting a thread costs as
    much as resetting an env, and a run plays thousands of episodes; the worker thread goes on
    from one episode's agent to the next until a call is abandoned (the next call then gets a new
    one) or this thread ends."""
    kept: AgentThread | None = getattr(_episodes, "agent_thread", None)
    if kept is not None and kept.timeout == timeout and kept.stopping is stopping:
        return kept
    if kept is not None:
        kept.close()
    kept = _episodes.agent_thread = AgentThread(timeout, stopping=stopping)
    weakref.finalize(threading.current_thread(), kept.close)
    return kept


class _Call(NamedTuple):
    what: str
    started: float  # time.monotonic()


class _Abandoned(BaseException):
    """Unwinds work whose caller has left it: it must change nothing more (a BaseException, so
    that no ``except Exception`` of the work stops it)."""


_on = threading.local()  # .worker: the `_Worker` whose thread this is


class _Worker:
    """One worker thread of ``owner``: its queue of work, and the agent call under way on it."""

    def __init__(self, owner: AgentThread, name: str) -> None:
        self.owner = owner
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.current: _Call | None = None
        self._left = False
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._work, name=name, daemon=True)
        self.thread.start()

    def timed(self, what: str, function: Callable[[], T]) -> T:
        """``function()`` here, as the call under way: its caller may leave it (`leave`), and
        then the work goes no further, whether the call returns or raises."""
        call = _Call(what, time.monotonic())
        with self._lock:
            if self._left:
                raise _Abandoned
            self.current = call
        try:
            return function()
        finally:
            with self._lock:
                self.current = None
                if self._left:
                    raise _Abandoned  # whether the call returned or raised: nothing of the work may follow

    def leave(self, call: _Call | None) -> bool:
        """Abandon this thread if ``call`` is still the call under way (whatever is, for None);
        False when it has just ended, and the work goes on."""
        with self._lock:
            if call is not None and self.current is not call:
                return False
            if self._left:
                return True
            self._left = True
        self.jobs.put(None)  # the thread ends once its work does
        return True

    def _work(self) -> None:
        _on.worker = self  # a `call` from this thread runs here: work its caller left stops at it
        while (job := self.jobs.get()) is not None:
            work, box, done = job
            try:
                box["value"] = work()
            except _Abandoned:
                return
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc
            except BaseException as exc:  # noqa: BLE001 - an agent's sys.exit() must not end the run
                error = RuntimeError(f"the agent raised {type(exc).__name__}: {exc}")
                error.__cause__ = exc
                box["error"] = error
            finally:
                done.set()
                # Idle, hold nothing of this job: its error's traceback holds its caller's frames,
                # and so the caller, whose thread (a driven episode's) would then never be freed.
                del job, work, box, done
