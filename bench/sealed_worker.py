"""A Python agent in a process of its own, speaking the ``cmd:`` agents' JSON-lines protocol.

In a sealed run (`blastradius.bench.sealed`) a Python agent never runs in the harness's process:
``python -P .../sealed_worker.py SPEC KWARGS_JSON`` (run as a file, which skips importing
``blastradius.bench`` and its package metadata: a fifth of a second per episode) loads the spec with
`blastradius.agents.loader.resolve_agent` and plays it over the protocol of
``docs/agent-protocol.md``, exactly as a ``cmd:`` agent would, so nothing but the briefing, the
tool schemas and the observations reaches it. ``--check`` only makes the agent, says ``{"type": "ready"}``
and closes it, for the command line to reject a spec that cannot load before the run starts.

The agent's own ``print`` goes to stderr: the protocol keeps a private copy of stdout. Whatever
the agent raises ends this process with its traceback on stderr, which the episode's record keeps.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

__all__ = ["main"]


def _protocol_out() -> IO[str]:
    """The real stdout for protocol lines; file descriptor 1 and ``sys.stdout`` become stderr, so
    an agent that prints (or a library that does) cannot break a line of the protocol."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def _serve(agent: Any, out: IO[str]) -> None:
    from blastradius.agents.base import Briefing

    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if message.get("type") == "reset":
            agent.reset(Briefing(message["briefing"], tuple(message["tools"]), message["family"],
                                 message["difficulty"], message["seed"], message.get("max_steps")))
            out.write('{"type": "ready"}\n')
        else:
            action = agent.act(message["observation"])
            if not isinstance(action, (dict, str)):
                raise TypeError(f"act() returned {type(action).__name__}; an action is a tool-call "
                                'dict {"name": ..., "arguments": {...}} or its JSON string')
            out.write(json.dumps(action) + "\n")


def main(argv: list[str]) -> int:
    from blastradius.agents.loader import AgentSpecError, resolve_agent

    check = argv[:1] == ["--check"]
    spec, kwargs = argv[-2], json.loads(argv[-1])
    out = _protocol_out()
    try:
        agent = resolve_agent(spec, kwargs)()
    except AgentSpecError as exc:  # the user's mistake: its message says it all
        print(exc, file=sys.stderr)
        return 2
    try:
        if check:
            out.write('{"type": "ready"}\n')
        else:
            _serve(agent, out)
    finally:
        close = getattr(agent, "close", None)
        if callable(close):
            close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
