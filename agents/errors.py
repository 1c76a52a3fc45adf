"""The agents package's exceptions.

`AgentSpecError` is the user's mistake in naming or configuring an agent (the command line exits
2 with its message). `AgentProtocolError` is an agent process breaking the JSON-lines protocol
during an episode, which costs that episode and never the run.
"""

from __future__ import annotations

__all__ = ["AgentProtocolError", "AgentSpecError"]


class AgentSpecError(ValueError):
    """An agent spec or its arguments that make no agent; the message says what was tried."""


class AgentProtocolError(RuntimeError):
    """An agent process that died, timed out or wrote something the protocol does not allow."""
