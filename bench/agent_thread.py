"""An agent's calls on a thread of their own, each with a time limit, so a hung agent can be left.

Python cannot stop a thread, so a call that overruns its limit is abandoned: `AgentThread.call`
raises `StepTimeout` and the episode ends as ``timeout``, while the stuck call runs on, on a
daemon thread that never holds up the run or the interpreter's exit. The next call, if any,
gets a new thread. Every call of one agent (making it, ``reset``, ``act``...) runs on the same
thread while none times out, so an agent may keep thread-bound objects (a database connection)
between calls. An agent's ``sys.exit()`` is an error like any other, never the end of the run.
"""

from __future__ import annotations

import queue
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

__all__ = ["DEFAULT_STEP_TIMEOUT", "AgentThread", "Caller", "InThisThread", "StepTimeout"]

DEFAULT_STEP_TIMEOUT = 120.0
"""Seconds an agent call may take by default (``--step-timeout``): room for a slow model call
and a few backed-off retries, short enough that a hung agent costs minutes, not the run."""

T = TypeVar("T")

_Job = tuple[Callable[[], Any], dict[str, Any], threading.Event]


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
    its own calls."""

    def call(self, what: str, function: Callable[[], T]) -> T: ...

    def close(self) -> None: ...


class InThisThread:
    """Calls in the calling thread: for a sealed agent (`blastradius.bench.sealed`), whose calls
    kill its process at the step timeout and raise `StepTimeout` themselves."""

    def call(self, what: str, function: Callable[[], T]) -> T:
        del what
        return function()

    def close(self) -> None:
        """Nothing to release."""


class AgentThread:
    """Runs calls one at a time on a daemon worker thread, each limited to ``timeout`` seconds.

    Args:
        timeout: seconds each call may take; None for no limit.
        name: the worker thread's name, for debuggers and ``threading.enumerate()``.
    """

    def __init__(self, timeout: float | None, name: str = "blastradius-agent") -> None:
        self.timeout = timeout
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] | None = None
        self._thread: threading.Thread | None = None

    def call(self, what: str, function: Callable[[], T]) -> T:
        """``function()`` on the worker thread: its value, or its exception re-raised here.

        Raises:
            StepTimeout: it did not return in time (``what`` names it in the message).
        """
        if self._jobs is None:
            self._jobs = queue.SimpleQueue()
            self._thread = threading.Thread(target=_work, args=(self._jobs,), name=self.name, daemon=True)
            self._thread.start()
        box: dict[str, Any] = {}
        done = threading.Event()
        self._jobs.put((function, box, done))
        if not done.wait(self.timeout):
            frame = sys._current_frames().get(self._thread.ident or -1) if self._thread else None
            stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
            self._jobs.put(None)  # the stuck thread exits if its call ever returns
            self._jobs = None
            raise StepTimeout(f"{what} did not return within {self.timeout:g} s (the step timeout, --step-timeout)",
                              stack)
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    def close(self) -> None:
        """Let the worker thread end (it is a daemon: nothing waits for it)."""
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs = None


def _work(jobs: queue.SimpleQueue[_Job | None]) -> None:
    while (job := jobs.get()) is not None:
        function, box, done = job
        try:
            box["value"] = function()
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
        except BaseException as exc:  # noqa: BLE001 - an agent's sys.exit() must not end the run
            error = RuntimeError(f"the agent raised {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            box["error"] = error
        finally:
            done.set()
