"""Sealed agents: every agent in a process of its own that can reach nothing but its messages.

``blastradius run --sealed`` runs each agent, Python or ``cmd:``, as a child process per episode
(`SealedAgent`), under a reaper (`blastradius.bench.reaper`) that ends every process it started,
in whatever session. The oracles are the exception (`blastradius.agents.loader.ORACLES`): they
play the scenario's own scripted paths, which the harness hands them, so they run in its process
and the leaderboard marks their rows ``oracle``. The child:

* speaks the JSON-lines protocol of ``docs/agent-protocol.md`` and is sent only the briefing, the
  tool schemas and the observations. A Python agent runs in `blastradius.bench.sealed_worker`;
  the harness never imports its code, so it cannot patch the scorer or walk the harness's objects;
* gets a clean environment (``PATH``, ``LANG``, a ``HOME`` of its own, which is also its empty
  working directory, plus what ``--agent-kwarg env=...`` gives a ``cmd:`` agent);
* runs as the unprivileged user `UNPRIVILEGED_USER` when the harness runs as root, so it cannot
  read the run folder (``0700`` while the run goes on), the harness's environment or memory. Not
  as root, it runs as the harness's own user: `Isolation` says which, and ``run.json`` records it;
* is killed with all its descendants when a call overruns the step timeout, and at the end of
  every episode: a hung or busy agent is ended, never left running beside the next episodes.

The world itself is sealed by `blastradius.bench.sealing`: it is built from a secret the child
never sees, so what it is told (family, difficulty, episode seed) and what it can read (the
harness's command line, the installed package) does not rebuild it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import select
import shutil
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from ..agents.base import Action, Briefing
from ..agents.errors import AgentProtocolError, AgentSpecError
from ..agents.loader import COMMAND_PREFIX, resolve_agent
from ..agents.subprocess_agent import MAX_LINE, SubprocessAgent, action_of, reset_message, stderr_tail
from . import reaper, sealed_worker
from .agent_thread import StepTimeout
from .reaper import AGENT_GONE, Launch, blocked_paths

__all__ = ["UNPRIVILEGED_USER", "Isolation", "SealedAgent", "SealingError", "check_agents", "isolation", "passed_env",
           "run_fields", "sealed_factory"]

UNPRIVILEGED_USER = "nobody"
"""The user sealed agents run as when the harness runs as root."""
_KILL_WAIT = 5.0  # seconds the reaper may take to end the agent's processes once told


@dataclass(frozen=True)
class Isolation:
    """What isolation a sealed run's agents have; recorded in ``run.json`` as ``isolation``.

    Attributes:
        user: the user the agents run as.
        unprivileged: True when that is another, unprivileged user (the harness runs as root):
            the agent cannot read the run folder, the harness's environment or memory. False on
            a user's own account, where a clean environment and working directory are all a
            process of the same user can be given: fine for trying an agent, not for publishing.
        descendants_ended: every process the agent starts is tracked and ended (a Linux
            subreaper); False elsewhere, where only its process group is.
        exposed: directories the unprivileged user cannot enter (e.g. a ``0700`` home holding
            pyenv), each covered for the agent by an empty one showing only the Python
            installation, read-only.
    """

    user: str
    unprivileged: bool
    descendants_ended: bool
    exposed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exposed": list(self.exposed), "clean_environment": True,
                "own_working_directory": True}


def _python_paths() -> tuple[str, ...]:
    """What a child needs to run this interpreter with this package: the installation, the venv,
    its site-packages and the package's own source folders (an editable install)."""
    here = Path(__file__).resolve().parent
    return tuple(sorted({sys.base_prefix, sys.prefix, os.path.realpath(sys.executable), *site.getsitepackages(),
                         str(here), str(here.parent / "agents"), str(here.parent / "envs")}))


class SealingError(ValueError):
    """Sealed runs cannot be had here as asked; the message says what to do."""


def isolation() -> Isolation:
    """The isolation sealed agents get on this machine, as this process runs.

    Raises:
        SealingError: the harness runs as root but there is no unprivileged user to run agents
            as: they would run as root, able to read everything.
    """
    linux = sys.platform.startswith("linux")
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
        except KeyError:
            raise SealingError(f"a sealed run as root runs each agent as the unprivileged user {UNPRIVILEGED_USER!r}, "
                               f"which this machine does not have: create it (useradd --system "
                               f"{UNPRIVILEGED_USER}) or run as an ordinary user") from None
        exposed = tuple(blocked_paths(_python_paths(), user.pw_uid, user.pw_gid)) if linux else ()
        return Isolation(UNPRIVILEGED_USER, True, linux, exposed)
    return Isolation(pwd.getpwuid(os.geteuid()).pw_name, False, linux)


class SealedAgent:
    """An agent in a sealed child process (see the module docstring), with the Agent protocol.

    Each call is bounded by ``timeout`` here, not by a thread: at the deadline the child and
    everything it started are killed and `StepTimeout` is raised.

    Args:
        command: the child's command line.
        env: variables to add to the child's clean environment.
        timeout: seconds each call (starting and answering the reset; each action) may take.
        isolation: the isolation to apply (`isolation`).
    """

    def __init__(self, command: list[str], env: Mapping[str, str], timeout: float, isolation: Isolation) -> None:
        self.launch = Launch(tuple(command), {**_clean_env(), **env},
                             isolation.user if isolation.unprivileged else None,
                             _python_paths() if isolation.exposed else ())
        self.timeout = timeout
        self._reaper: subprocess.Popen[bytes] | None = None
        self._control: int | None = None
        self._stderr: IO[bytes] | None = None
        self._buffer = b""

    def reset(self, briefing: Briefing) -> None:
        self.close()
        self._start()
        deadline = time.monotonic() + self.timeout
        self._send(reset_message(briefing), deadline, "the reset")
        answer = self._receive(deadline, "the reset")
        if answer != {"type": "ready"}:
            raise AgentProtocolError(f"the agent answered the reset with {json.dumps(answer)[:200]}, "
                                     f'not {{"type": "ready"}}{self._stderr_note()}')

    def act(self, observation: str) -> Action:
        deadline = time.monotonic() + self.timeout
        self._send({"type": "observation", "observation": observation}, deadline, "act()")
        return action_of(self._receive(deadline, "act()"), self._stderr_note)

    def stderr(self) -> str:
        """The tail of what the child (and the reaper) wrote to stderr (`stderr_tail`)."""
        return stderr_tail(self._stderr)

    def close(self) -> None:
        """End the child and all it started: closing the control pipe tells the reaper to."""
        process, self._reaper = self._reaper, None
        if self._control is not None:
            os.close(self._control)
            self._control = None
        if process is None:
            return
        if not _exits(process, _KILL_WAIT):
            # A reaper that hangs: end what is below it first (killed, it would orphan them), then it.
            if sys.platform.startswith("linux"):
                reaper.kill_below(process.pid)
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                if pipe:
                    pipe.close()

    # -- internals ---------------------------------------------------------------------------

    def _start(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for stderr() after the episode
        self._buffer = b""
        control, self._control = os.pipe()
        try:
            # In a session of its own: the terminal's Ctrl-C reaches the harness, which then ends
            # the agent, rather than killing the reaper before it can.
            self._reaper = subprocess.Popen(
                [sys.executable, "-I", "-S", reaper.__file__, str(control)], cwd="/",
                env=_clean_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                pass_fds=(control,), start_new_session=True)
        finally:
            os.close(control)
        try:
            os.write(self._control, self.launch.to_line())
        except OSError as exc:  # the reaper died before reading its orders
            raise AgentProtocolError(f"the sealed agent's supervisor exited at once ({exc}){self._exit_note()}") from None
        for pipe in (self._reaper.stdin, self._reaper.stdout):
            if pipe:
                os.set_blocking(pipe.fileno(), False)

    def _send(self, message: dict[str, Any], deadline: float, what: str) -> None:
        data = (json.dumps(message) + "\n").encode()
        fd = self._pipe("stdin").fileno()
        while data:
            if not select.select([], [fd], [], self._left(deadline, what))[1]:
                continue
            try:
                data = data[os.write(fd, data):]
            except OSError as exc:  # the child is gone
                raise AgentProtocolError(f"cannot write to the agent process ({exc}){self._exit_note()}") from None

    def _receive(self, deadline: float, what: str) -> Any:
        fd = self._pipe("stdout").fileno()
        while True:
            line, newline, rest = self._buffer.partition(b"\n")
            if newline:
                self._buffer = rest
                if line.strip():
                    break
                continue
            if len(self._buffer) > MAX_LINE:
                raise AgentProtocolError(f"the agent wrote a line longer than {MAX_LINE} bytes")
            if not select.select([fd], [], [], self._left(deadline, what))[0]:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise AgentProtocolError(f"the agent process closed its stdout before answering {what}"
                                         f"{self._exit_note()}")
            self._buffer += chunk
        try:
            return json.loads(line)
        except ValueError:
            raise AgentProtocolError(f"the agent answered {what} with a line that is not JSON: {line[:200]!r} "
                                     f"(log to stderr, not stdout){self._stderr_note()}") from None

    def _left(self, deadline: float, what: str) -> float:
        """Seconds left until ``deadline``; past it, the child is killed and the call timed out."""
        left = deadline - time.monotonic()
        if left <= 0:
            self.close()
            raise StepTimeout(f"{what} did not return within {self.timeout:g} s (the step timeout, "
                              "--step-timeout); the agent's processes were killed")
        return left

    def _pipe(self, name: str) -> IO[bytes]:
        pipe = getattr(self._reaper, name, None) if self._reaper else None
        if pipe is None:
            raise AgentProtocolError("the agent process is not running: reset() starts it")
        return pipe  # type: ignore[no-any-return]

    def _exit_note(self) -> str:
        """What became of a child whose pipes closed: the reaper waits for it and says how it exited."""
        if self._control is not None:
            with contextlib.suppress(OSError):
                os.write(self._control, AGENT_GONE)
        self.close()
        return self._stderr_note()

    def _stderr_note(self) -> str:
        tail = self.stderr().strip()
        return f"; its stderr ends: {tail[-1000:]!r}" if tail else ""


def _exits(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether ``process`` exits within ``timeout`` seconds. A pidfd wakes the moment it does,
    where ``Popen.wait`` would poll at up to 50 ms intervals: this is on every episode's path."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux 5.3+
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        return bool(select.select([pidfd], [], [], timeout)[0])
    finally:
        os.close(pidfd)


def _clean_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "LANG": os.environ.get("LANG", "C.UTF-8")}


def _command(spec: str, kwargs: Mapping[str, Any], check: bool = False) -> tuple[list[str], dict[str, str]]:
    """The child's command line and extra environment for ``spec``; no code of the agent runs.

    Raises:
        AgentSpecError: arguments a sealed agent cannot take, or a ``cmd:`` path it cannot reach.
    """
    if spec.startswith(COMMAND_PREFIX):
        try:  # our own SubprocessAgent, made only to parse and check the command and its arguments
            parsed = resolve_agent(spec, kwargs)()
        except TypeError as exc:
            raise AgentSpecError(f"agent {spec!r}: {exc}") from None
        if not isinstance(parsed, SubprocessAgent) or parsed.cwd is not None:
            raise AgentSpecError(f"agent {spec!r}: a sealed agent runs in an empty working directory of its own; "
                                 "drop --agent-kwarg cwd")
        # A relative path (``agent.py``, ``./agent``) names a file here, not in the child's directory.
        relative = [part for position, part in enumerate(parsed.command) if not os.path.isabs(part)
                    and os.path.exists(part) and (position > 0 or os.sep in part)]
        if relative:
            raise AgentSpecError(f"agent {spec!r}: a sealed agent runs in an empty working directory of its own; "
                                 f"give {relative[0]!r} as an absolute path ({os.path.abspath(relative[0])})")
        found = shutil.which(parsed.command[0], path=_clean_env()["PATH"]) or parsed.command[0]
        return [os.path.abspath(found), *parsed.command[1:]], parsed.env
    try:
        arguments = json.dumps(dict(kwargs))
    except (TypeError, ValueError):
        raise AgentSpecError(f"agent {spec!r}: a sealed agent's arguments must be JSON values, "
                             f"got {kwargs!r}") from None
    where, _, name = spec.rpartition(":")
    if where.endswith(".py"):  # a file: the child's working directory is another, so the path is made absolute
        spec = f"{os.path.abspath(where)}:{name}"
    return [sys.executable, "-P", sealed_worker.__file__, *(["--check"] if check else []), spec, arguments], {}


def passed_env(names: Sequence[str]) -> dict[str, str]:
    """The variables of this process's environment named to pass to every sealed agent.

    Raises:
        SealingError: one is not set here.
    """
    missing = [name for name in names if name not in os.environ]
    if missing:
        raise SealingError(f"--sealed-env {missing[0]}: there is no such variable in this environment; set it, "
                           "or leave the option out")
    return {name: os.environ[name] for name in names}


def sealed_factory(spec: str, kwargs: Mapping[str, Any], timeout: float, where: Isolation,
                   passed: Mapping[str, str] | None = None) -> Callable[[], SealedAgent]:
    """A factory of sealed agents for ``spec``: making one starts nothing, ``reset`` does.
    ``passed`` is added to the agent's clean environment (`passed_env`).

    Raises:
        AgentSpecError: see `_command`.
    """
    command, env = _command(spec, kwargs)
    return lambda: SealedAgent(command, {**(passed or {}), **env}, timeout, where)


def check_agents(agents: Sequence[tuple[str, Mapping[str, Any]]], timeout: float, where: Isolation,
                 passed: Mapping[str, str] | None = None) -> None:
    """Make each Python agent once in a sealed child, as a run would, and close it: a spec that
    does not load, or that the agent's user cannot read, is the user's mistake before the run
    starts. The children start together, so checking many agents costs about one start. A
    ``cmd:`` agent's command is only checked (it starts at reset).

    Raises:
        AgentSpecError: for the first agent that failed, what its child said; or that it took
            longer than ``timeout``.
    """
    started: list[tuple[str, SealedAgent]] = []
    try:
        for spec, kwargs in agents:
            command, env = _command(spec, kwargs, check=True)
            if not spec.startswith(COMMAND_PREFIX):
                started.append((spec, SealedAgent(command, {**(passed or {}), **env}, timeout, where)))
                started[-1][1]._start()
        deadline = time.monotonic() + timeout
        for spec, agent in started:
            try:
                agent._receive(deadline, f"making agent {spec!r}")  # the worker's "ready"
            except AgentProtocolError:
                said = agent.stderr().strip()[-2000:] or "nothing"
                raise AgentSpecError(f"agent {spec!r} cannot be made in a sealed process (as user {where.user}); "
                                     f"it said:\n{said}") from None
            except StepTimeout:
                raise AgentSpecError(f"agent {spec!r} was not made within {timeout:g} s in a sealed process") from None
    finally:
        for _, agent in started:
            agent.close()


def run_fields(secret: str | None, where: Isolation | None) -> dict[str, Any]:
    """The top-level keys of ``run.json`` that say how a run was sealed, written when it ends
    (never before: while the run goes on, the secret is nowhere an agent could look)."""
    return {"sealed": secret is not None, "secret": secret,
            "isolation": where.to_dict() if where is not None else None}
