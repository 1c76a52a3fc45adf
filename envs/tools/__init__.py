"""The agent's API: one Python function per tool, and the one way a tool call is carried out.

Each tool takes the world as its first, positional-only parameter (never shown to the agent) and
its arguments by keyword; its OpenAI function schema is generated from its signature and
docstring. `call` turns whatever the agent sent into an observation: every mistake is an error
observation that costs a step and a simulated minute, never an exception.
"""

from __future__ import annotations

import functools
import json
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ToolError, did_you_mean
from ..schemas import ArgumentError, parse_tool_call
from ..tool_specs import SPECS
from ..toolbox import Tool, Toolbox, toolbox_of
from ..world import World, clock
from . import act, capacity, data, finish, guard, observe, rollout

if TYPE_CHECKING:
    from ..chaos import ToolFaults

__all__ = ["BUILTIN", "MAX_OBSERVATION", "THROTTLED", "TIMED_OUT", "TOOLS", "Outcome", "call", "is_transient",
           "needs_resend", "replay", "tool_schemas", "toolbox_for"]

MAX_OBSERVATION = 8000
_KEPT = 4000  # characters of an unparsable action the ledger keeps
_ERROR_KEPT = 2000  # characters of an error message an observation (and info["action_error"]) carries
# Observations live in a Gymnasium Text space of printable ASCII: anything else an agent
# smuggled into an echoed argument becomes '?'.
_PRINTABLE = re.compile(r"[^\x20-\x7e\n]")
# How the tool layer's transient faults begin: an agent (or a replay) may retry on these.
THROTTLED = "429 Too Many Requests:"
TIMED_OUT = "timed out"
# What still works when the agent has cut itself off from the control plane.
_ALWAYS_REACHABLE = frozenset({"wait", "submit_report", "escalate"})
_CUT = "\n[... output cut: ask for a narrower window, a filter or a later page ...]"

TOOLS: Mapping[str, Callable[..., str]] = MappingProxyType(
    {tool.__name__: tool for tool in (*observe.TOOLS, *guard.TOOLS, *act.TOOLS, *capacity.TOOLS, *rollout.TOOLS, *data.TOOLS, *finish.TOOLS)}
)
"""The built-in tools' functions, by name."""
if TOOLS.keys() != SPECS.keys():  # a tool without a spec (or a spec without a tool) is half-declared
    raise TypeError(f"tools and tool specs differ: no spec for {sorted(TOOLS.keys() - SPECS.keys())}, "
                    f"no tool for {sorted(SPECS.keys() - TOOLS.keys())} (see blastradius.envs.tool_specs)")

BUILTIN = Toolbox(Tool(TOOLS[name], spec) for name, spec in SPECS.items())
"""The built-in tools: every family's toolbox starts with them."""


@functools.cache
def toolbox_for(tools: tuple[Tool, ...]) -> Toolbox:
    """The built-in toolbox extended with a family's own ``tools`` (made once per family's tools)."""
    return BUILTIN.extended(tools) if tools else BUILTIN


def tool_schemas() -> list[dict[str, Any]]:
    """OpenAI chat-completions schemas of every built-in tool (read-only: `Toolbox.schemas`)."""
    return BUILTIN.schemas()


class Outcome(NamedTuple):
    """What one tool call gave the agent (a NamedTuple: one is made on every step)."""

    name: str
    observation: str
    error: str


def call(world: World, action: Any) -> Outcome:
    """Carry out one tool call on ``world`` and record it in the ledger."""
    ledger = world.ledger
    start, first_change = world.now, len(ledger.changes)
    world.session.call = len(ledger.calls)
    world.caused_by(f"call:{world.session.call}")
    name, arguments, error = "", None, ""
    toolbox = toolbox_of(world)
    try:
        name, arguments = parse_tool_call(action)
        tool = toolbox.functions.get(name)
        if tool is None:
            # A name as long as a page is echoed cut, and is no typo of a tool name.
            shown, hint = (name, did_you_mean(name, toolbox.functions)) if len(name) <= 60 else (name[:57] + "...", "")
            raise ToolError(f"unknown tool '{shown}'.{hint} Tools: {', '.join(toolbox.functions)}.")
        kwargs = toolbox.bind(name, arguments)
        if world.session.lockout and name not in _ALWAYS_REACHABLE:
            raise ToolError(world.session.lockout)
        faults = world.session.tool_faults
        text = _run(world, faults, tool, toolbox.specs[name].chaos, kwargs) if faults else tool(world, **kwargs)
    except (ToolError, ArgumentError) as exc:
        arguments = arguments if name else _printable(action)
        error = _PRINTABLE.sub("?", str(exc)[:_ERROR_KEPT])
        text = f"error: {error}"
        world.advance(1)
    world.caused_by("world")
    observation = f"[{clock(world.now)}]\n{text}"
    # Two C-speed checks first: the regex would scan every character of every observation.
    if not (observation.isascii() and observation.replace("\n", " ").isprintable()):
        observation = _PRINTABLE.sub("?", observation)
    if len(observation) > MAX_OBSERVATION:
        observation = observation[: MAX_OBSERVATION - len(_CUT)] + _CUT
    ledger.record_call(start, world.now, name, arguments, observation, error, first_change)
    return Outcome(name, observation, error)


def replay(world: World, calls: Iterable[Any], attempts: int = 4) -> list[Outcome]:
    """Send scripted calls in order, re-sending one that a transient fault kept from taking
    effect (at most ``attempts`` times): how a reference or reckless path is played under chaos."""
    outcomes = []
    for action in calls:
        for _ in range(attempts):
            outcome = call(world, action)
            if not needs_resend(world):
                break
        outcomes.append(outcome)
        if world.session.finish is not None:
            break
    return outcomes


def needs_resend(world: World) -> bool:
    """The last call hit a transient fault and did not take effect: a scripted path re-sends it.

    A referee's view (it reads the ledger): an agent cannot know whether a timed-out change
    happened without checking, and a script has no way to check.
    """
    last = world.ledger.calls[-1] if world.ledger.calls else None
    return last is not None and is_transient(last.error) and not last.changes


def is_transient(error: str) -> bool:
    """An error from the tool layer's chaos, not from the call itself: the same call may work."""
    return error.startswith((THROTTLED, TIMED_OUT))


def _run(world: World, faults: ToolFaults, tool: Callable[..., str], chaos: str, kwargs: dict[str, Any]) -> str:
    """Run a tool through the tool layer's chaos: a 429, a timeout, or a stale read (``chaos``
    is the tool's chaos class: `blastradius.envs.tool_specs.ToolSpec`)."""
    fault, happened = faults.draw(chaos)
    if fault == "throttled":
        raise ToolError(f"{THROTTLED} the API is throttling requests; nothing was done. Retry the call.")
    if fault == "timeout":
        if happened:
            tool(world, **kwargs)
        world.advance(4)
        raise ToolError(f"{TIMED_OUT} waiting for the control plane; the operation may or may not have "
                        "completed. Check its state before retrying.")
    return faults.read(tool.__name__, chaos, kwargs, tool(world, **kwargs), stale=fault == "stale")


def _printable(action: Any) -> Any:
    """What the ledger keeps of an action it could not parse: JSON-safe and bounded, whatever
    the agent sent (an integer too long to print, nesting 2,000 deep, a dict that contains
    itself, an object whose ``repr`` raises)."""
    if isinstance(action, (dict, list, str, int, float, bool)) or action is None:
        try:
            fits = len(json.dumps(action)) <= _KEPT
        except Exception:  # noqa: BLE001 - not JSON after all (a set, a cycle, too deep, a raising subclass)
            fits = False
        if fits:
            return action
    try:
        return _BRIEF.repr(action)[:_KEPT]
    except Exception:  # noqa: BLE001 - an agent's object can break even a bounded repr
        return f"<{type(action).__name__}>"


class _BriefRepr(reprlib.Repr):
    """A repr that stays short and deterministic: the depth and the lengths it shows are
    bounded, an integer too long to print is named by its size, and an object is named by its
    type (its own ``repr`` may raise, or show a memory address)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 64:
            return f"<int of {x.bit_length()} bits>"
        return super().repr_int(x, level)

    def repr_instance(self, x: Any, level: int) -> str:
        if type(x) in (bool, float, type(None)):  # scalars reprlib has no method of its own for
            return repr(x)
        return f"<{type(x).__name__}>"


_BRIEF = _BriefRepr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxlong = 4, 200, 100
