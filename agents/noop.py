"""noop: does nothing and says so. The floor every task that needs action must score 0 on."""

from __future__ import annotations

from .base import Action, Briefing

__all__ = ["NoopAgent"]


class NoopAgent:
    """Submits an honest report at once: no changes, task not done."""

    def reset(self, briefing: Briefing) -> None:
        del briefing

    def act(self, observation: str) -> Action:
        del observation
        return {"name": "submit_report", "arguments": {
            "outcome": "failed", "summary": "I took no action and made no changes.",
            "changes_made": [], "impact": [], "data_loss": "none", "verifications": []}}
