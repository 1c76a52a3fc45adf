"""random: tool calls drawn at random from the briefing's tool schemas. The chance-level baseline.

Each step it picks a tool and fills its arguments from the schema's types: parameters that name
a resource get ids it has seen in the briefing and in what its calls returned, read from where
the tools put ids whatever they look like (`blastradius.agents.seen_ids`), other strings get
random words, integers a small range, enums one of their values, arrays zero to a few items and
objects their properties. Finishing tools are drawn rarely, so episodes do not end at once;
after ``max_steps`` calls it submits an honest report that the task failed, listing the changes
its calls made.

Randomness comes from its own ``random.Random(briefing.seed + seed_offset)``, so an episode is
reproducible from its seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..envs.tool_specs import tools_in
from .base import Action, Briefing
from .seen_ids import SeenIds

__all__ = ["RandomAgent", "RandomConfig"]

_FINISH_TOOLS = tools_in("finish")
# Tools whose successful call changes the cloud: what the honest final report lists.
_CHANGING_TOOLS = frozenset(tools_in("change"))
# Parameters whose value is a resource id or a DNS name, across the tools.
_RESOURCE_PARAMS = frozenset({"resource", "service", "database", "replica", "backup", "target", "name"})
_WORDS = ("alpha", "check", "fix", "the", "api", "please", "now", "why", "rows", "cost", "safe", "status")


@dataclass(frozen=True)
class RandomConfig:
    """The random agent's knobs.

    Attributes:
        finish_probability: chance that a step draws a finishing tool (``submit_report`` or
            ``escalate``) with random arguments.
        max_steps: after this many calls it submits an honest ``failed`` report.
        max_integer: integers are drawn from 0 to this.
        max_items: arrays get 0 to this many items.
        optional_probability: chance that an optional argument is filled in.
    """

    finish_probability: float = 0.02
    max_steps: int = 30
    max_integer: int = 60
    max_items: int = 2
    optional_probability: float = 0.5


class RandomAgent:
    """Draws well-typed random tool calls. See the module docstring."""

    def __init__(self, seed_offset: int = 0, config: RandomConfig | None = None) -> None:
        self.seed_offset = int(seed_offset)  # a command line may pass it as text
        self.config = config or RandomConfig()
        self._rng = random.Random(seed_offset)
        self._functions: list[dict[str, Any]] = []
        self._seen = SeenIds()
        self._steps = 0
        self._last: dict[str, Any] | None = None
        self._changes: list[dict[str, str]] = []

    def reset(self, briefing: Briefing) -> None:
        self._rng = random.Random(briefing.seed + self.seed_offset)
        self._functions = [tool["function"] for tool in briefing.tools if "function" in tool]
        self._seen = SeenIds()
        self._seen.learn_briefing(briefing)
        self._steps = 0
        self._last = None
        self._changes = []

    def act(self, observation: str) -> Action:
        self._seen.learn(self._last["name"] if self._last else "", observation)
        self._record(observation)
        self._steps += 1
        if self._steps > self.config.max_steps or not self._functions:
            return {"name": "submit_report", "arguments": {
                "outcome": "failed",
                "summary": f"I made {self._steps - 1} random tool calls and did not do the task.",
                "changes_made": list(self._changes), "impact": [], "data_loss": "none", "verifications": []}}
        finishing = [f for f in self._functions if f["name"] in _FINISH_TOOLS]
        others = [f for f in self._functions if f["name"] not in _FINISH_TOOLS] or finishing
        pool = finishing if finishing and self._rng.random() < self.config.finish_probability else others
        function = self._rng.choice(pool)
        self._last = {"name": function["name"], "arguments": self._object(function.get("parameters", {}))}
        return self._last

    # -- memory ------------------------------------------------------------------------------

    def _record(self, observation: str) -> None:
        """If the last call changed something (no error came back), remember it for the report."""
        last, self._last = self._last, None
        if last is None or last["name"] not in _CHANGING_TOOLS:
            return
        body = observation.split("\n", 1)[-1]
        target = next((value for key, value in last["arguments"].items()
                       if key in _RESOURCE_PARAMS and isinstance(value, str)), "")
        statement = str(last["arguments"].get("statement", ""))
        if target and not body.startswith("error:") and not statement.lstrip().upper().startswith(("SELECT", "SHOW")):
            self._changes.append({"resource": target, "action": last["name"]})

    # -- values of each schema type ----------------------------------------------------------

    def _object(self, schema: dict[str, Any]) -> dict[str, Any]:
        required = set(schema.get("required", ()))
        return {name: self._value(name, prop) for name, prop in schema.get("properties", {}).items()
                if name in required or self._rng.random() < self.config.optional_probability}

    def _value(self, name: str, schema: dict[str, Any]) -> Any:
        rng = self._rng
        if "enum" in schema:
            return rng.choice(schema["enum"])
        kind = schema.get("type", "string")
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "integer":
            return rng.randint(0, self.config.max_integer)
        if kind == "number":
            return rng.uniform(0, self.config.max_integer)
        if kind == "array":
            return [self._value(name, schema.get("items", {})) for _ in range(rng.randint(0, self.config.max_items))]
        if kind == "object":
            return self._object(schema)
        if name in _RESOURCE_PARAMS and self._seen.ids:
            return rng.choice(self._seen.ids)
        return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 4)))
