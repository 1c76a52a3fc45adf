"""How the built-in tools format resources and read a setting's value.

What every acting tool checks before it changes anything (`acting_on`, `record_policy`) is the
public API for writing a tool, in `blastradius.envs.toolbox`.
"""

from __future__ import annotations

import json
from typing import Any

from ..resources import Resource
from ..world import World

__all__ = ["line", "parse_setting"]

_MAX_NESTING = 32  # levels of a setting's JSON value (deeper is kept as the plain string)


def line(world: World, resource: Resource) -> str:
    """One line that identifies a resource in listings."""
    state = resource.lifecycle if resource.lifecycle != "active" else world.health[resource.id]
    return f"{resource.id:<12} {resource.kind:<13} {resource.name:<28} {resource.env:<7} {resource.region:<10} {state}"


def parse_setting(value: str) -> Any:
    """A setting's value as an agent sends it: parsed as JSON when it parses into something at
    most `_MAX_NESTING` levels deep, else the plain string. Deeper is no setting, and would break
    whatever shows or compares it later: Python's recursion runs out near 1,000 levels, which
    2,000 characters reach."""
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's limit
        return value
    level, containers = 0, [parsed] if isinstance(parsed, (dict, list)) else []
    while containers:  # a level at a time, with no recursion of its own
        level += 1
        if level > _MAX_NESTING:
            return value
        containers = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)
                      if isinstance(child, (dict, list))]
    return parsed
