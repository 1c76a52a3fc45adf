"""The reaper: a small supervisor process that starts a sealed agent and ends all it started.

`blastradius.bench.sealed` starts ``python -I -S .../reaper.py FD`` for each sealed episode (a
file needing only the standard library: no site-packages, no package import, a quick start). The reaper reads one JSON line, the `Launch`, from the control pipe ``FD``, starts the
agent's command with the reaper's own stdin, stdout and stderr (the protocol pipes), and then
waits for the control pipe to close: the harness closes it at the end of the episode, and the
kernel closes it if the harness dies (having first written `AGENT_GONE` if the agent's pipes
closed: the reaper then waits for the agent to exit and reports its exit code on stderr). Then the reaper stops and kills every process left among
its descendants, removes the agent's working directory and exits.

Why a process of its own: a process group is not enough, since a grandchild that calls
``setsid`` leaves it. On Linux the reaper is a child subreaper (``PR_SET_CHILD_SUBREAPER``), so
every orphan among the agent's descendants, in whatever session, is re-parented to the reaper and
found by walking ``/proc``. Where the harness runs as root, the reaper stays root (the agent
cannot signal or trace it) and runs the agent as an unprivileged user; when that user cannot
reach the Python installation (pyenv under a ``0700`` home, say), the reaper shows it just those
paths, read-only, in a private mount namespace (`expose`).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AGENT_GONE", "Launch", "blocked_paths", "descendants", "main"]

AGENT_GONE = b"gone\n"
"""What the harness writes on the control pipe, before closing it, when the agent's pipes closed."""
_EXITING_SECONDS = 1.0
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18


@dataclass(frozen=True)
class Launch:
    """What the reaper starts, sent on the control pipe (never on its command line, which any
    local process can read).

    Attributes:
        argv: the agent's command.
        env: the agent's whole environment, but ``HOME``, which is its own empty directory.
        user: the user to run it as; None for the reaper's own.
        expose: paths the agent must reach (the Python installation) even under directories its
            user cannot enter; see `expose`.
    """

    argv: tuple[str, ...]
    env: dict[str, str]
    user: str | None = None
    expose: tuple[str, ...] = ()

    def to_line(self) -> bytes:
        return (json.dumps({"argv": list(self.argv), "env": self.env, "user": self.user,
                            "expose": list(self.expose)}) + "\n").encode()

    @classmethod
    def from_line(cls, line: bytes) -> Launch:
        fields = json.loads(line)
        return cls(tuple(fields["argv"]), dict(fields["env"]), fields["user"], tuple(fields["expose"]))


def blocked_paths(paths: Iterable[str], uid: int, gid: int) -> dict[str, list[str]]:
    """For each directory that user ``uid`` cannot enter on the way to one of ``paths``, the
    paths under it to show (the highest such directory on each path; a path that is itself
    unreadable is not listed: only its ancestors can be worked around)."""
    blocked: dict[str, list[str]] = {}
    for path in sorted({os.path.realpath(p) for p in paths}):
        parts = Path(path).parts
        for depth in range(1, len(parts)):
            ancestor = str(Path(*parts[:depth]))
            if not _can_enter(ancestor, uid, gid):
                under = blocked.setdefault(ancestor, [])
                if not any(path == kept or path.startswith(kept + "/") for kept in under):
                    under.append(path)
                break
    return blocked


def _can_enter(directory: str, uid: int, gid: int) -> bool:
    info = os.stat(directory)
    bit = stat.S_IXUSR if info.st_uid == uid else stat.S_IXGRP if info.st_gid == gid else stat.S_IXOTH
    return bool(info.st_mode & bit)


def expose(blocked: dict[str, list[str]]) -> None:
    """In a private mount namespace of this process (inherited by the agent), cover each blocked
    directory with an empty tmpfs that others can enter and bind the needed paths back into it,
    read-only. The rest of the directory (a home's keys and files) stays out of sight."""
    libc = ctypes.CDLL(None, use_errno=True)

    def check(result: int, what: str) -> None:
        if result != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"{what}: {os.strerror(error)}")

    def mount(source: str | None, target: str, kind: str | None, flags: int, data: str | None = None) -> None:
        def encode(text: str | None) -> bytes | None:
            return text.encode() if text is not None else None

        check(libc.mount(encode(source), encode(target), encode(kind), flags, encode(data)), f"mount {target}")

    check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing done here reaches the host's mounts
    for directory, paths in blocked.items():
        original = os.open(directory, os.O_PATH | os.O_DIRECTORY)
        try:
            mount("tmpfs", directory, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755")
            for path in paths:
                inside = os.path.relpath(path, directory)
                target = os.path.join(directory, inside)
                if os.path.isdir(f"/proc/self/fd/{original}/{inside}"):
                    os.makedirs(target, mode=0o755, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
                    Path(target).touch(mode=0o644)
                mount(f"/proc/self/fd/{original}/{inside}", target, None, _MS_BIND | _MS_REC)
                mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
        finally:
            os.close(original)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from ``/proc`` (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                # The command name, in brackets, may hold spaces and brackets: split after the last one.
                parent = int(file.read().rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):  # it exited while we looked
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_below(root: int) -> None:
    """Stop every process below ``root`` until no new one appears (a stopped process cannot
    fork), then kill them all. The reaper ends its agent so; the harness ends what is left below
    a reaper that hangs so, before it kills the reaper itself."""
    stopped: set[int] = set()
    while fresh := [pid for pid in descendants(root) if pid not in stopped]:
        for pid in fresh:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGSTOP)
        stopped.update(fresh)
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _end_all() -> None:
    """Kill every descendant, then reap them all."""
    kill_below(os.getpid())
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """Where there is no subreaper (not Linux): the agent's process group, the best there is."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def main(argv: list[str]) -> int:
    with os.fdopen(int(argv[0]), "rb", buffering=0) as control:
        line = b""
        while not line.endswith(b"\n") and (chunk := control.read(1 << 16)):
            line += chunk
        launch = Launch.from_line(line)
        libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
        if libc is not None:
            libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
            libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  # no setuid program lifts the agent back up
        user = pwd.getpwnam(launch.user) if launch.user else None
        if user is not None and launch.expose:
            expose(blocked_paths(launch.expose, user.pw_uid, user.pw_gid))
        home = tempfile.mkdtemp(prefix="blastradius-agent-")
        try:
            if user is not None:
                os.chown(home, user.pw_uid, user.pw_gid)
            process = subprocess.Popen(
                launch.argv, cwd=home, env={**launch.env, "HOME": home}, stdin=0, stdout=1, stderr=2,
                start_new_session=True, user=user.pw_uid if user else None, group=user.pw_gid if user else None,
                extra_groups=[] if user else None)
            # The agent holds the protocol pipes now: the harness must see them end when it exits.
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            gone = False
            try:
                while said := control.read(1 << 16):  # until the harness closes the control pipe, or dies
                    gone = gone or AGENT_GONE in said
            finally:
                # An agent whose pipes the harness saw close is exiting, or has: say how, for the
                # episode's record (it may take a moment to become a zombie that tells).
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = process.wait(_EXITING_SECONDS) if gone else process.poll()
                    if code is not None:
                        print(f"blastradius: the agent exited with code {code}", file=sys.stderr)
                if libc is not None:
                    _end_all()
                else:
                    _end_group(process)
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as exc:  # noqa: BLE001 - said on the episode's stderr, which the record keeps
        print(f"blastradius reaper: cannot start the agent: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(3)
