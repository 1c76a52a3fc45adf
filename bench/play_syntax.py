"""The command syntax of `blastradius play`: what a person types, read as a tool call.

A line is one of:

- a tool call in the forgiving form: the tool's name, then bare words and ``name=value`` pairs,
  split as a shell splits them (quote a text with spaces). Bare words fill the tool's parameters
  in order, the required ones first (``describe db-669dee``, ``plan delete db-669dee``). A value
  is read as JSON when it parses and the parameter takes what it parsed to (``count=3``,
  ``enabled=true``, ``ids='["b-1", "b-2"]'``), else kept as text; a list of texts may also be
  written with commas (``regions=eu-west-1,us-east-1``). A tool's name followed by a JSON object
  takes that object as its arguments.
- a raw action: ``{"name": "describe", "arguments": {"resource": "db-669dee"}}``.
- a meta-command (`META`): ``help``, ``help TOOL``, ``tools``, ``report``, ``quit``.

What the parser refuses (`CommandError`) is the person's typo, not an action: it is answered
with a message and never sent to the env, so it costs no step. It checks what the tool schemas
name: the tool (an unknown one gets "did you mean"), its parameters, the required ones and the
values of an enum. Whether a value has the right type, or makes sense, is the env's to judge:
such a call is sent and answered as any agent's would be, at the cost of a step.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..envs.errors import did_you_mean

__all__ = ["ID_PATTERN", "META", "Call", "CommandError", "Meta", "check_arguments", "fill_order", "first_line",
           "help_text",
           "parse_line", "parse_words", "read_value", "split", "tool_schemas", "usage"]

META = ("help", "tools", "report", "quit")
"""The meta-commands, answered by `blastradius play` itself and never sent to the env."""
_ALIASES = {"?": "help", "exit": "quit"}

ID_PATTERN = re.compile(r"\b[a-z][a-z0-9]*-[0-9a-f]{6}\b")
"""A resource id as the simulated cloud makes them (`blastradius.envs.topology.random_id`):
a prefix, a dash and six hex digits, e.g. ``svc-f24f72``."""

_LISTED_VALUES = 12  # an error lists an enum's values up to this many; help TOOL lists them all
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
               type(None): "null"}


class CommandError(ValueError):
    """A line that is not a valid command: the message says what to type instead."""


@dataclass(frozen=True)
class Call:
    """A tool call to send to the env."""

    name: str
    arguments: dict[str, Any]

    def action(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class Meta:
    """A meta-command (one of `META`), the words after it, and the text after it as typed."""

    word: str
    rest: tuple[str, ...]
    tail: str = ""


def tool_schemas(tools: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The briefing's function schemas by tool name: each tool's ``function`` part."""
    return {tool["function"]["name"]: dict(tool["function"]) for tool in tools}


def split(line: str) -> list[str]:
    """``line`` split into words as a shell splits them.

    Raises:
        CommandError: an unclosed quote or a trailing backslash.
    """
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise CommandError(f"cannot read that line ({exc}): close the quote, or quote a text with spaces "
                           "as \"...\" or '...'") from None


def parse_line(line: str, tools: Mapping[str, dict[str, Any]]) -> Call | Meta | None:
    """What ``line`` asks for: a tool call, a meta-command, or nothing (a blank line).

    Raises:
        CommandError: the line is not a command (the person's typo; never sent).
    """
    text = line.strip()
    if not text:
        return None
    if text.startswith("{"):
        return _raw_action(text, tools)
    head, _, tail = text.partition(" ")
    if head in tools and tail.strip().startswith("{"):
        return Call(head, _checked(head, _json_object(tail.strip(), f"the arguments of {head}"), tools[head]))
    words = split(text)
    head = _ALIASES.get(words[0], words[0])
    if head in META:
        return Meta(head, tuple(words[1:]), text[len(words[0]):].strip())
    if head not in tools:
        hint = did_you_mean(head, [*tools, *META])
        raise CommandError(f"no tool or command {head!r}.{hint} Type help for the tools and commands.")
    parameters = tools[head].get("parameters") or {}
    return Call(head, _checked(head, parse_words(words[1:], parameters, f"{head}: "), tools[head]))


def parse_words(words: Sequence[str], schema: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """The object ``words`` (bare words and ``name=value`` pairs) make for the object ``schema``:
    bare words fill its properties in order, the required ones first. ``where`` starts every
    error message (e.g. ``"describe: "``). Checks nothing but the words' own shape: see
    `check_arguments`.

    Raises:
        CommandError: a property given twice, or more bare words than properties left.
    """
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    found: dict[str, Any] = {}
    bare: list[str] = []
    for word in words:
        pair = _PAIR.fullmatch(word)
        if pair is None:
            bare.append(word)
            continue
        key, text = pair.groups()
        if key in found:
            raise CommandError(f"{where}{key} is given twice")
        found[key] = read_value(text, properties.get(key) or {})
    open_slots = [key for key in fill_order(schema) if key not in found]
    if len(bare) > len(open_slots):
        extra = bare[len(open_slots)]
        raise CommandError(f"{where}too many words from {extra!r} on: quote a text with spaces (\"...\"), and give "
                           "other parameters as name=value")
    for key, text in zip(open_slots, bare, strict=False):
        found[key] = read_value(text, properties[key])
    return found


def fill_order(schema: Mapping[str, Any]) -> list[str]:
    """The order in which bare words fill the properties of the object ``schema``: the required
    ones, then the others, each in the schema's order."""
    required = list(schema.get("required") or ())
    return [*required, *(key for key in schema.get("properties") or {} if key not in required)]


def check_arguments(arguments: Mapping[str, Any], schema: Mapping[str, Any], where: str = "") -> None:
    """Check what the schema names: no unknown property, every required one, enum values, and
    the same inside lists of objects. Types and meanings are left to the env.

    Raises:
        CommandError: the first problem found, with "did you mean" for a near miss.
    """
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    for key, value in arguments.items():
        if key not in properties:
            hint = did_you_mean(key, properties, aside=True)
            known = ", ".join(properties) or "none"
            raise CommandError(f"{where}no parameter {key!r}{hint}; it takes: {known}")
        _check_value(value, properties[key], f"{where}{key}")
    missing = [key for key in schema.get("required") or () if key not in arguments]
    if missing:
        raise CommandError(f"{where}{missing[0]} is required")


def usage(name: str, schema: Mapping[str, Any]) -> str:
    """A tool's one-line usage: ``logs RESOURCE [window_minutes=INTEGER] [limit=INTEGER]``."""
    parameters = schema.get("parameters") or {}
    required = list(parameters.get("required") or ())
    properties: dict[str, Any] = dict(parameters.get("properties") or {})
    words = [name, *(key.upper() for key in required)]
    words += [f"[{key}={_type_name(spec).upper()}]" for key, spec in properties.items() if key not in required]
    return " ".join(words)


def first_line(description: str) -> str:
    return description.strip().splitlines()[0] if description.strip() else ""


def help_text(name: str, schema: Mapping[str, Any]) -> str:
    """``help TOOL``: the tool's description, usage and parameters (type, required or default,
    allowed values), one level into lists of objects."""
    lines = [f"{name}: {schema.get('description', '').strip()}", "", f"usage: {usage(name, schema)}"]
    parameters = schema.get("parameters") or {}
    if parameters.get("properties"):
        lines += ["", "parameters:"]
        lines += _parameter_lines(parameters, "  ")
    return "\n".join(lines)


def read_value(text: str, spec: Mapping[str, Any]) -> Any:
    """``text`` as the parameter ``spec`` takes it: JSON when it parses to a type it takes, else
    the text itself, or for a list of texts, the text split at commas."""
    types = _types(spec)
    if types == {"string"}:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    else:
        kind = _JSON_TYPES.get(type(value))
        if not types or kind in types or (kind == "integer" and "number" in types):
            return value
    if "string" in types:
        return text
    if types == {"array"} and (spec.get("items") or {}).get("type") == "string":
        return [part.strip() for part in text.split(",") if part.strip()]
    return value  # the env says what is wrong with it


# --- inside ---------------------------------------------------------------------------------


def _raw_action(text: str, tools: Mapping[str, dict[str, Any]]) -> Call:
    action = _json_object(text, "a raw action")
    name, arguments = action.get("name"), action.get("arguments", {})
    if set(action) - {"name", "arguments"} or not isinstance(name, str):
        raise CommandError('a raw action is {"name": TOOL, "arguments": {...}}')
    if isinstance(arguments, str):  # arguments may come as their JSON text, as an LLM sends them
        arguments = _json_object(arguments, f"the arguments of {name}")
    if not isinstance(arguments, dict):
        raise CommandError(f"the arguments of {name} must be a JSON object")
    if name not in tools:
        raise CommandError(f"no tool {name!r}.{did_you_mean(name, tools)} Type tools for the list.")
    return Call(name, _checked(name, arguments, tools[name]))


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"{what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise CommandError(f"{what} must be a JSON object {{...}}")
    return value


def _checked(name: str, arguments: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    try:
        check_arguments(arguments, schema.get("parameters") or {}, f"{name}: ")
    except CommandError as exc:
        raise CommandError(f"{exc} (usage: {usage(name, schema)}; help {name} says more)") from None
    return arguments


def _check_value(value: Any, spec: Mapping[str, Any], where: str) -> None:
    allowed = spec.get("enum")
    if allowed and isinstance(value, str) and value not in allowed:
        which = ", ".join(allowed) if len(allowed) <= _LISTED_VALUES else f"the {len(allowed)} values it takes"
        raise CommandError(f"{where}: {value!r} is not one of {which}{did_you_mean(value, allowed, aside=True)}")
    items = spec.get("items") or {}
    if isinstance(value, list):
        for position, item in enumerate(value, 1):
            if isinstance(item, dict) and items.get("type") == "object":
                check_arguments(item, items, f"{where} entry {position}: ")
            else:
                _check_value(item, items, f"{where} entry {position}")


def _types(spec: Mapping[str, Any]) -> set[str]:
    if "anyOf" in spec:
        return {kind for option in spec["anyOf"] for kind in _types(option)}
    kind = spec.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _type_name(spec: Mapping[str, Any]) -> str:
    if "anyOf" in spec:
        return " or ".join(_type_name(option) for option in spec["anyOf"])
    if spec.get("type") == "array":
        return f"list of {_type_name(spec.get('items') or {})}"
    return str(spec.get("type", "any"))


def _parameter_lines(schema: Mapping[str, Any], indent: str) -> list[str]:
    required = set(schema.get("required") or ())
    lines = []
    for key, spec in (schema.get("properties") or {}).items():
        status = "required" if key in required else (
            f"default {json.dumps(spec['default'])}" if "default" in spec else "optional")
        lines.append(f"{indent}{key} ({_type_name(spec)}, {status}): {spec.get('description', '')}")
        if spec.get("enum"):
            lines.append(f"{indent}  one of: {', '.join(spec['enum'])}")
        items = spec.get("items") or {}
        if items.get("type") == "object":
            fields = list(items.get("required") or ())
            lines.append(f"{indent}  each entry: {' '.join(f.upper() for f in fields)} [name=value...], with:")
            lines += _parameter_lines(items, indent + "    ")
    return lines
