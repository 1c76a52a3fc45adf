"""blastradius.agents: the contestants. The Agent protocol, the resolver and the baselines."""

from __future__ import annotations

from .base import Action, Agent, Briefing
from .loader import BUILTIN_AGENTS, AgentSpecError, resolve_agent

__all__ = ["BUILTIN_AGENTS", "Action", "Agent", "AgentSpecError", "Briefing", "resolve_agent"]
