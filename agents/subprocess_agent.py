"""cmd: an agent in its own process, in any language, speaking JSON lines on stdin and stdout.

``--agent 'cmd:node docs/examples/agent.js'`` runs the command line (split like a shell would,
but run without one) once per episode. The protocol, in full in ``docs/agent-protocol.md``:

* harness -> agent, one JSON object per line:
  ``{"type": "reset", "protocol": 1, "briefing": ..., "tools": [...], "family": ...,
  "difficulty": ..., "seed": ...}`` once, then ``{"type": "observation", "observation": ...}``
  once per step;
* agent -> harness: ``{"type": "ready"}`` answering the reset, then one action line
  ``{"name": <tool>, "arguments": {...}}`` (or a JSON string holding one) answering each
  observation.

The child gets nothing but these messages (it inherits the environment variables and working
directory, for its PATH and API keys); its stdout must carry only protocol lines, so it logs to
stderr, which is kept (the last `STDERR_LIMIT` bytes) for the record of an episode that fails.
The child is started at ``reset`` and killed, with anything it started, at ``close``, which the
harness calls at the end of every episode. A child that exits, writes a line that is not a JSON
object, or answers out of turn raises `AgentProtocolError`, which costs the episode; a child that
hangs is timed out by the harness (``--step-timeout``). An action that is JSON but not a valid
tool call is the env's to answer with an error observation, like any agent's mistake.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from .base import Action, Briefing
from .errors import AgentProtocolError, AgentSpecError

__all__ = ["MAX_LINE", "PROTOCOL_VERSION", "STDERR_LIMIT", "SubprocessAgent", "action_of", "reset_message",
           "stderr_tail"]

PROTOCOL_VERSION = 1
MAX_LINE = 1 << 20
"""The longest line the child may write, in characters (1 MiB)."""
STDERR_LIMIT = 8192
"""How many bytes of the child's stderr are kept (the last ones)."""
_GRACE_SECONDS = 1.0  # after its stdin closes, how long the child may take to exit by itself


class SubprocessAgent:
    """Runs ``command`` as a child process per episode and relays the protocol. See the module
    docstring.

    Args:
        command: the program and its arguments (``cmd:<command line>`` gives it, split).
        cwd: the child's working directory (default: this process's).
        env: environment variables to set for the child, on top of this process's.
    """

    def __init__(self, command: Sequence[str], cwd: str | None = None, env: Mapping[str, str] | None = None) -> None:
        if isinstance(command, str) or not command or not all(isinstance(part, str) for part in command):
            raise AgentSpecError(f"the subprocess agent needs a command as a list of strings, got {command!r}")
        self.command = list(command)
        if shutil.which(self.command[0], path=os.environ.get("PATH")) is None and not os.path.isfile(self.command[0]):
            raise AgentSpecError(f"agent command {self.command[0]!r} not found on PATH or as a file; "
                                 f"the command line was {' '.join(self.command)!r}")
        if env is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise AgentSpecError("the subprocess agent's env must map names to strings")
        self.cwd = cwd
        self.env = dict(env or {})
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[bytes] | None = None

    # -- the Agent protocol ------------------------------------------------------------------

    def reset(self, briefing: Briefing) -> None:
        self.close()
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for stderr() after the episode
        self._process = subprocess.Popen(
            self.command, cwd=self.cwd, env={**os.environ, **self.env}, text=True, encoding="utf-8",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, bufsize=1,
            start_new_session=os.name == "posix")
        self._send(reset_message(briefing))
        answer = self._receive("the reset")
        if answer != {"type": "ready"}:
            raise AgentProtocolError(f"the agent answered the reset with {_short(answer)}, not {{\"type\": \"ready\"}}"
                                     f"{self._stderr_note()}")

    def act(self, observation: str) -> Action:
        self._send({"type": "observation", "observation": observation})
        return action_of(self._receive("an observation"), self._stderr_note)

    # -- optional protocols ------------------------------------------------------------------

    def stderr(self) -> str:
        """The last `STDERR_LIMIT` bytes the child wrote to stderr (this episode's child)."""
        return stderr_tail(self._stderr)

    def close(self) -> None:
        """End the child: close its stdin, give it a moment to exit, then kill its process group."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            if process.stdin:
                process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(_GRACE_SECONDS)
        _kill(process)
        if process.stdout:
            process.stdout.close()

    # -- internals ---------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        process = self._running()
        try:
            stdin = _pipe(process.stdin)
            stdin.write(json.dumps(message) + "\n")
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise AgentProtocolError(f"cannot write to the agent process ({exc}){self._exit_note(process)}") from None

    def _receive(self, what: str) -> Any:
        process = self._running()
        stdout = _pipe(process.stdout)
        while True:
            try:
                line = stdout.readline(MAX_LINE + 1)
            except (OSError, ValueError) as exc:  # closed by close() after a timeout, or not UTF-8
                raise AgentProtocolError(f"cannot read the agent's answer to {what}: {exc}"
                                         f"{self._exit_note(process)}") from None
            if not line:
                raise AgentProtocolError(f"the agent process closed its stdout before answering {what}"
                                         f"{self._exit_note(process)}")
            if len(line) > MAX_LINE:
                raise AgentProtocolError(f"the agent wrote a line longer than {MAX_LINE} characters")
            if line.strip():
                break
        try:
            answer = json.loads(line)
        except ValueError:
            raise AgentProtocolError(f"the agent answered {what} with a line that is not JSON: {line[:200]!r} "
                                     f"(log to stderr, not stdout){self._stderr_note()}") from None
        return answer

    def _running(self) -> subprocess.Popen[str]:
        if self._process is None:
            raise AgentProtocolError("the agent process is not running: reset() starts it")
        return self._process

    def _exit_note(self, process: subprocess.Popen[str]) -> str:
        try:
            code = process.wait(0.5)
        except subprocess.TimeoutExpired:
            return self._stderr_note()
        return f"; it exited with code {code}{self._stderr_note()}"

    def _stderr_note(self) -> str:
        tail = self.stderr().strip()
        return f"; its stderr ends: {tail[-1000:]!r}" if tail else ""


def reset_message(briefing: Briefing) -> dict[str, Any]:
    """The protocol's first message: what the agent is told of its episode."""
    return {"type": "reset", "protocol": PROTOCOL_VERSION, "briefing": briefing.text, "tools": list(briefing.tools),
            "family": briefing.family, "difficulty": briefing.difficulty, "seed": briefing.seed,
            "max_steps": briefing.max_steps}


def action_of(answer: Any, stderr_note: Callable[[], str]) -> Action:
    """The action in an agent's answer to an observation: the tool-call object (``"type":
    "action"`` dropped) or a JSON string, which the env parses as it would from any agent.

    Raises:
        AgentProtocolError: any other answer (``stderr_note()`` adds the child's last words).
    """
    if isinstance(answer, str):
        return answer
    if not isinstance(answer, dict) or answer.get("type", "action") != "action":
        raise AgentProtocolError(f"the agent answered an observation with {_short(answer)}, not an action "
                                 f"{{\"name\": ..., \"arguments\": {{...}}}}{stderr_note()}")
    return {key: value for key, value in answer.items() if key != "type"}


def _pipe(stream: IO[str] | None) -> IO[str]:
    if stream is None:  # pragma: no cover - Popen was asked for pipes
        raise AgentProtocolError("the agent process has no pipe")
    return stream


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _kill(process: subprocess.Popen[str]) -> None:
    """Kill the child and whatever it started in its session (POSIX), then reap it."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - no process groups
            process.kill()
    except (ProcessLookupError, PermissionError):  # it already exited: nothing left to kill
        pass
    with contextlib.suppress(subprocess.TimeoutExpired):  # a process that survives SIGKILL
        process.wait(5)


def stderr_tail(file: IO[bytes] | None) -> str:
    """The last `STDERR_LIMIT` bytes of a child's stderr file, "[...] " first when cut; empty
    when there is none (yet, or any more)."""
    if file is None or file.closed:
        return ""
    file.flush()
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - STDERR_LIMIT))
    return ("[...] " if size > STDERR_LIMIT else "") + file.read().decode("utf-8", errors="replace")
