"""The agent's side of an episode, kept apart from the cloud it acts in.

The `World` is the cloud: resources, edges, health, the clock. What belongs to the agent's
session with it is here: the approvals it was granted, how it ended the episode, whether it cut
itself off from the control plane, the tool layer's chaos, and the call under way. A world's
no-op counterfactual carries a session too (a clone copies it), but no agent ever acts in it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chaos import ToolFaults

__all__ = ["Session"]


@dataclass
class Session:
    """What the agent has and has done in one episode, apart from what it changed in the cloud.

    Attributes:
        approvals: (resource id, approval action) pairs the approver granted.
        finish: set by a finishing tool: ``("report" | "escalate", its arguments)``; None while
            the episode goes on.
        lockout: while the agent's own tools cannot reach the control plane (it cut itself off),
            the error every tool but ``wait`` and the finishing ones returns; empty otherwise.
        tool_faults: the tool layer's chaos, None when off.
        call: the index of the call under way in the ledger's calls (-1 before the first): what
            a change or a policy violation it causes is attributed to.
        test_restores: backup id -> the outcome of the agent's last test restore of it, as the
            backup catalog remembers it (``describe`` shows it). A check changes nothing in the
            cloud, so it is kept here, not as a change the referee could take for an act.
    """

    approvals: set[tuple[str, str]] = field(default_factory=set)
    finish: tuple[str, dict[str, Any]] | None = None
    lockout: str = ""
    tool_faults: ToolFaults | None = None
    call: int = -1
    test_restores: dict[str, str] = field(default_factory=dict)

    def copy(self) -> Session:
        """A copy that shares nothing mutable with this one."""
        return Session(set(self.approvals), copy.deepcopy(self.finish), self.lockout,
                       copy.deepcopy(self.tool_faults), self.call,
                       dict(self.test_restores))
