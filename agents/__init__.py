"""blastradius.agents: the contestants. The Agent protocol, the resolver and the baselines."""

from __future__ import annotations

from .base import Action, Agent, Briefing
from .errors import AgentProtocolError, AgentSpecError
from .loader import BUILTIN_AGENTS, agent_label, group_agent_args, parse_kwarg, resolve_agent

__all__ = ["BUILTIN_AGENTS", "Action", "Agent", "AgentProtocolError", "AgentSpecError", "Briefing", "agent_label",
           "group_agent_args", "parse_kwarg", "resolve_agent"]
