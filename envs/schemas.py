"""OpenAI tool schemas from plain Python functions, and validation of agents' calls.

A tool is a function with type annotations and a Google-style docstring.
:func:`tool_schema` makes the schema the model is shown; :func:`parse_tool_call`
and :func:`bind_arguments` turn the model's reply back into keyword arguments.
Agent mistakes raise :class:`ArgumentError`, whose message is shown to the agent
so it can correct itself; developer mistakes in a tool raise :class:`TypeError`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, Required, Union

from .errors import did_you_mean

__all__ = ["ArgumentError", "Vocabulary", "Vocabularies", "bind_arguments", "parse_tool_call", "tool_schema"]

MAX_STRING_CHARS = 2000
MAX_ITEMS = 200
# The largest integer every JSON reader (JavaScript's too) holds exactly: an agent that sends
# more meant something else, and a tool must never meet an integer Python cannot even print.
MAX_INT = 2**53 - 1

_HINT = 'send {"name": <tool>, "arguments": {...}}'
_SUPPORTED = "str, int, float, bool, list[X], dict[str, X], Literal[...], X | None, X | Y, TypedDict"
_Check = Callable[[Any, str], Any]


class ArgumentError(ValueError):
    """A malformed tool call from an agent; the message is written for the agent."""


@dataclass(frozen=True)
class Vocabulary:
    """A string parameter whose allowed values the toolbox supplies, not the annotation:
    ``Annotated[str, Vocabulary("approvals")]``. The tools a family adds extend what a built-in
    tool accepts (a family's own approval action is one ``request_approval`` can name), so the
    enum is known only once the family's toolbox is (`blastradius.envs.toolbox`)."""

    name: str


# A toolbox's vocabularies, hashable so that compiled tools are cached per toolbox: ((name, values), ...).
Vocabularies = tuple[tuple[str, tuple[str, ...]], ...]


def _quote(text: str) -> str:
    # Agents can send megabytes; echoing them back would flood the next prompt.
    return repr(text) if len(text) <= 50 else repr(text[:47] + "...")


def _describe(value: Any) -> str:
    """Name a value the way the agent wrote it: briefly, in JSON terms."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {_quote(value)}"
    if isinstance(value, (int, float)):
        try:
            return f"{'integer' if isinstance(value, int) else 'number'} {value!r}"
        except ValueError:  # past Python's int->str digit limit
            return "a very large integer"
    names = {type(None): "null", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _type_error(path: str, expected: str, value: Any) -> ArgumentError:
    return ArgumentError(f"argument '{path}' must be {expected}, got {_describe(value)}")


def _too_many(path: str, value: Any, limit: int, unit: str) -> ArgumentError:
    return ArgumentError(f"argument '{path}' is too long: {len(value)} {unit}, "
                         f"the limit is {limit}")


@dataclass(frozen=True)
class _Fields:
    """Named fields of an object: a tool's parameters or a TypedDict's keys."""

    checks: dict[str, _Check]
    required: tuple[str, ...]

    def fits(self, value: dict[Any, Any]) -> bool:
        """No unknown key and every required one: the common case, checked without messages."""
        return value.keys() <= self.checks.keys() and all(name in value for name in self.required)

    def check_keys(self, value: dict[Any, Any], noun: str, where: str) -> None:
        """Reject unknown keys, then missing required ones, naming all at once."""
        unknown = [key for key in value if key not in self.checks]
        if unknown:
            free = [name for name in self.checks if name not in value]  # never suggest a sent name
            parts = []
            for key in unknown:
                hint = did_you_mean(key, free, aside=True) if isinstance(key, str) else ""
                parts.append((_quote(key) if isinstance(key, str) else _describe(key)) + hint)
            accepted = ", ".join(map(repr, self.checks)) or "none"
            raise ArgumentError(f"unknown {noun}{'s' * (len(unknown) > 1)} {', '.join(parts)}"
                                f"{where}; accepted {noun}s: {accepted}")
        missing = [name for name in self.required if name not in value]
        if missing:
            raise ArgumentError(f"missing required {noun}{'s' * (len(missing) > 1)} "
                                f"{', '.join(map(repr, missing))}{where}")


def _check_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _type_error(path, "a string", value)
    if len(value) > MAX_STRING_CHARS:
        raise _too_many(path, value, MAX_STRING_CHARS, "characters")
    return value


def _check_int(value: Any, path: str) -> int:
    # bool is an int subclass; 5.0 is refused too, so agents learn the schema.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(path, "an integer", value)
    # A subclass's own comparisons must not run in the tools.
    number: int = value if type(value) is int else int.__int__(value)
    if not -MAX_INT <= number <= MAX_INT:
        raise _type_error(path, f"an integer between {-MAX_INT} and {MAX_INT}", number)
    return number


def _check_float(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(path, "a number", value)
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):  # json.loads accepts NaN and Infinity
        raise _type_error(path, "a finite number", value)
    return result


def _check_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _type_error(path, "a boolean", value)
    return value


_SIMPLE = {str: ("string", _check_str), int: ("integer", _check_int),
           float: ("number", _check_float), bool: ("boolean", _check_bool)}


def _unwrap(hint: Any) -> tuple[Any, str | None]:
    """Strip Annotated/Required/NotRequired, keeping the first string metadata."""
    description = None
    while typing.get_origin(hint) in (Annotated, Required, NotRequired):
        if typing.get_origin(hint) is Annotated and description is None:
            description = next((m for m in hint.__metadata__ if isinstance(m, str)), None)
        hint = typing.get_args(hint)[0]
    return hint, description


def _vocabulary(hint: Any) -> Vocabulary | None:
    """The `Vocabulary` an annotation names, if any (in any layer of ``Annotated``)."""
    while typing.get_origin(hint) in (Annotated, Required, NotRequired):
        if typing.get_origin(hint) is Annotated:
            found = next((m for m in hint.__metadata__ if isinstance(m, Vocabulary)), None)
            if found is not None:
                return found
        hint = typing.get_args(hint)[0]
    return None


def _compile(hint: Any, where: str, vocab: Vocabularies = ()) -> tuple[dict[str, Any], _Check]:
    """Return the JSON schema of a type hint and a checker for agents' values."""
    named = _vocabulary(hint)
    if named is not None:
        values = dict(vocab).get(named.name)
        if values is None:
            raise TypeError(f"{where} takes its values from the vocabulary {named.name!r}, which was not given: "
                            "build the tool's schema through a Toolbox (blastradius.envs.toolbox)")
        return _compile(Literal[values], where) if values else ({"type": "string"}, _check_str)
    hint = _unwrap(hint)[0]
    if isinstance(hint, type) and hint in _SIMPLE:
        return {"type": _SIMPLE[hint][0]}, _SIMPLE[hint][1]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        schema, inner = _compile(next(a for a in args if a is not type(None)), where, vocab)
        # The schema stays non-null (simpler for models), but null is what the
        # Python signature accepts, and agents often send it to mean "unset".
        return schema, lambda value, path: None if value is None else inner(value, path)
    if origin in (Union, types.UnionType) and type(None) not in args:
        return _compile_union(args, where, vocab)
    if origin is list and len(args) == 1:
        item_schema, item = _compile(args[0], where, vocab)

        def check_list(value: Any, path: str) -> list[Any]:
            if not isinstance(value, list):
                raise _type_error(path, "an array", value)
            if len(value) > MAX_ITEMS:
                raise _too_many(path, value, MAX_ITEMS, "items")
            try:  # paths are only for error messages: build them only when one is raised
                return [item(v, path) for v in value]
            except ArgumentError:
                return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return {"type": "array", "items": item_schema}, check_list
    if origin is dict and len(args) == 2 and args[0] is str:
        value_schema, item = _compile(args[1], where, vocab)

        def check_dict(value: Any, path: str) -> dict[str, Any]:
            if not isinstance(value, dict):
                raise _type_error(path, "an object", value)
            if len(value) > MAX_ITEMS:
                raise _too_many(path, value, MAX_ITEMS, "entries")
            for key in value:  # JSON keys are always strings; Python callers' may not be
                _check_str(key, f"{path} (a key)")
            return {key: item(v, f"{path}[{json.dumps(key[:50])}]") for key, v in value.items()}
        return {"type": "object", "additionalProperties": value_schema}, check_dict
    if origin is Literal:
        kind = str if isinstance(args[0], str) else int
        if not all(isinstance(a, kind) and not isinstance(a, bool) for a in args):
            raise TypeError(f"{where}: Literal values must be all str or all int, got {hint}")
        allowed, text = frozenset(args), ", ".join(map(repr, args))

        def check_enum(value: Any, path: str) -> Any:
            if isinstance(value, kind) and not isinstance(value, bool) and value in allowed:
                return value
            raise _type_error(path, f"one of {text}", value)
        return {"type": "string" if kind is str else "integer", "enum": list(args)}, check_enum
    if typing.is_typeddict(hint):
        return _compile_typeddict(hint, where, vocab)
    shown = hint.__name__ if isinstance(hint, type) else repr(hint)
    raise TypeError(f"{where} has unsupported type {shown}; supported: {_SUPPORTED}")


def _compile_union(args: tuple[Any, ...], where: str, vocab: Vocabularies) -> tuple[dict[str, Any], _Check]:
    """``A | B``: the first alternative that accepts the value (``str | list[str]``: one or many)."""
    compiled = [_compile(arg, where, vocab) for arg in args]
    expected = " or ".join(_NOUNS.get(schema.get("type", ""), "a value") for schema, _ in compiled)

    def check_union(value: Any, path: str) -> Any:
        for _, check in compiled:
            try:
                return check(value, path)
            except ArgumentError:
                continue
        raise _type_error(path, expected, value)
    return {"anyOf": [schema for schema, _ in compiled]}, check_union


_NOUNS = {"string": "a string", "array": "an array", "object": "an object", "integer": "an integer",
          "number": "a number", "boolean": "a boolean"}


def _compile_typeddict(cls: Any, where: str, vocab: Vocabularies) -> tuple[dict[str, Any], _Check]:
    """Like _compile, for a TypedDict: a closed object whose keys are checked by name."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # NameError etc. from evaluating string annotations
        raise TypeError(f"{where}: cannot resolve annotations of {cls.__name__}: {exc}") from exc
    properties, checks = {}, {}
    for key, hint in hints.items():
        schema, checks[key] = _compile(hint, f"{where}, key {cls.__name__}.{key}", vocab)
        description = _unwrap(hint)[1]
        properties[key] = {**schema, "description": description} if description else schema
    required = tuple(key for key in hints if key in cls.__required_keys__)
    fields = _Fields(checks, required)

    def check_typeddict(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _type_error(path, "an object", value)
        if not fields.fits(value):
            fields.check_keys(value, "key", f" in argument '{path}'")
        try:  # as in check_list: exact paths only on the way to an error
            return {key: checks[key](v, path) for key, v in value.items()}
        except ArgumentError:
            return {key: checks[key](v, f"{path}.{key}") for key, v in value.items()}
    return ({"type": "object", "properties": properties, "required": list(required),
             "additionalProperties": False}, check_typeddict)


_SECTION = re.compile(r"(Args|Arguments|Returns?|Yields?|Raises|Examples?|Notes?|Warnings?"
                      r"|See Also|Attributes|Todo|References):\s*")
_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")


def _parse_docstring(func: Callable[..., Any], name: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary and its Args entries."""
    lines = (inspect.getdoc(func) or "").splitlines()
    end = next((i for i, line in enumerate(lines) if _SECTION.fullmatch(line)), len(lines))
    paragraphs = re.split(r"\n\s*\n", "\n".join(lines[:end]))
    summary = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    if not summary:
        raise TypeError(f"tool {name!r} has no docstring summary to describe it to the agent")
    start = next((i + 1 for i, line in enumerate(lines)
                  if line.rstrip() in ("Args:", "Arguments:")), None)
    entries: dict[str, list[str]] = {}
    indent = None
    for line in lines[start:] if start is not None else []:
        depth = len(line) - len(line.lstrip())
        if not line.strip():
            continue
        if depth == 0:  # the next section: Args has ended
            break
        if indent is None or depth <= indent:  # a new entry, or a malformed line
            match = _ENTRY.fullmatch(line.strip())
            if match and match[1] in entries:
                raise TypeError(f"tool {name!r}: Args entry {match[1]!r} appears twice")
            if not match or depth != (indent or depth):
                raise TypeError(f"tool {name!r}: cannot parse Args line {line.strip()!r}")
            indent = depth
            entries[match[1]] = [match[2]]
        else:
            entries[next(reversed(entries))].append(line)
    docs = {key: " ".join(" ".join(value).split()) for key, value in entries.items()}
    for key in [key for key, text in docs.items() if not text]:
        raise TypeError(f"tool {name!r}: Args entry {key!r} has no description")
    return summary, docs


@dataclass(frozen=True)
class _Info:
    """A tool's name, description, parameters schema and argument checkers."""

    name: str
    summary: str
    parameters: dict[str, Any]
    fields: _Fields


@functools.lru_cache(maxsize=4096)
def _signature_info(func: Callable[..., Any], vocab: Vocabularies) -> _Info:
    """Everything bind_arguments and tool_schema need, computed once per function and toolbox."""
    name = getattr(func, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(f"{func!r} has no __name__; a tool must be a named function")
    globalns = getattr(inspect.unwrap(func), "__globals__", {})
    summary, docs = _parse_docstring(func, name)
    params = list(inspect.signature(func).parameters.values())
    params = params[1:] if params and params[0].name == "self" else params
    for doc_name in set(docs) - {p.name for p in params}:
        raise TypeError(f"tool {name!r}: Args entry {doc_name!r} names no parameter")
    properties, checks = {}, {}
    for param in params:
        # The environment supplies these (like the world before a "/"); keyword
        # arguments from an agent could never reach a positional-only one anyway.
        if param.kind is param.POSITIONAL_ONLY or param.name.startswith("_"):
            continue
        where = f"tool {name!r}: parameter {param.name!r}"
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(f"{where} must be passable by keyword (no *args or **kwargs)")
        if param.annotation is param.empty:
            raise TypeError(f"{where} has no type annotation")
        if param.name not in docs:
            raise TypeError(f"{where} has no entry in the docstring's Args section")
        # One annotation at a time: hidden parameters and the return type often
        # name classes imported only under TYPE_CHECKING, which must not matter.
        shim = types.SimpleNamespace(__annotations__={"x": param.annotation}, __globals__=globalns)
        try:
            hint = typing.get_type_hints(shim, include_extras=True)["x"]
        except Exception as exc:  # NameError etc. from evaluating a string annotation
            raise TypeError(f"{where}: cannot resolve {param.annotation!r}: {exc}") from exc
        schema, checks[param.name] = _compile(hint, where, vocab)
        properties[param.name] = {**schema, "description": docs[param.name]}
        try:
            default = json.loads(json.dumps(param.default, allow_nan=False))
        except (TypeError, ValueError):
            default = None  # not JSON (or no default): the agent just isn't told it
        if default is not None:
            properties[param.name]["default"] = default
    required = tuple(p.name for p in params if p.name in checks and p.default is p.empty)
    parameters = {"type": "object", "properties": properties, "required": list(required),
                  "additionalProperties": False}
    return _Info(name, summary, parameters, _Fields(checks, required))


def _info(func: Callable[..., Any], vocab: Vocabularies) -> _Info:
    # Key the cache by the plain function: bound methods are new objects on each
    # access and would keep their instances (whole environments) alive.
    return _signature_info(getattr(func, "__func__", func), vocab)


def tool_schema(func: Callable[..., Any], vocab: Vocabularies = ()) -> dict[str, Any]:
    """Return the OpenAI chat-completions tool schema for ``func`` (its `Vocabulary` parameters
    taking their values from ``vocab``)."""
    info = _info(func, vocab)
    return {"type": "function", "function": {"name": info.name, "description": info.summary,
                                             "parameters": copy.deepcopy(info.parameters)}}


def bind_arguments(func: Callable[..., Any], arguments: Any, vocab: Vocabularies = ()) -> dict[str, Any]:
    """Check an agent's ``arguments`` for ``func`` and return the kwargs to call it with.

    Defaults are not filled in (the call does that); numbers sent for float
    parameters come back as floats. Raises ArgumentError for the agent to read.
    """
    info = _info(func, vocab)
    if not isinstance(arguments, dict):
        raise ArgumentError(f"arguments for tool '{info.name}' must be an object, "
                            f"got {_describe(arguments)}")
    if not info.fields.fits(arguments):
        info.fields.check_keys(arguments, "argument", f" for tool '{info.name}'")
    checks = info.fields.checks
    return {key: checks[key](value, key) for key, value in arguments.items()}


def _loads(text: str, what: str) -> Any:
    """json.loads, with every way it can fail turned into an ArgumentError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ArgumentError(f"{what} is not valid JSON: nested too deeply; {_HINT}") from None
    except ValueError as exc:  # JSONDecodeError, and the int digit limit
        raise ArgumentError(f"{what} is not valid JSON: {exc}; {_HINT}") from None


def parse_tool_call(action: Any) -> tuple[str, Any]:
    """Split an agent's action into ``(tool name, arguments dict)``.

    Accepts ``{"name": ..., "arguments": ...}`` or OpenAI's ``{"type":
    "function", "function": {...}}``, as a dict, a JSON string or UTF-8 bytes;
    ``arguments`` may be a JSON string, null or absent. Whatever the input, the
    only exception raised is ArgumentError.
    """
    if isinstance(action, (bytes, bytearray)):  # invalid UTF-8 then fails as invalid JSON
        action = bytes(action).decode("utf-8", "replace")
    if isinstance(action, str):
        action = _loads(action, "action")
    if not isinstance(action, dict):
        raise ArgumentError(f"action must be a JSON object, got {_describe(action)}; {_HINT}")
    call = action
    if "function" in action and "name" not in action:
        call = action["function"]
        if not isinstance(call, dict):
            raise ArgumentError(f'action "function" must be an object, got {_describe(call)}')
    else:  # catches {"name": "t", "minutes": 5}, where arguments were not nested
        extra = [key for key in action if key not in ("name", "arguments", "id", "type")]
        if extra:
            shown = ", ".join(_quote(k) if isinstance(k, str) else _describe(k) for k in extra[:5])
            raise ArgumentError(f"action has unexpected key{'s' * (len(extra) > 1)} {shown}; "
                                f"tool arguments go inside \"arguments\": {_HINT}")
    if "name" not in call:
        raise ArgumentError(f'action has no "name"; {_HINT}')
    if not isinstance(call["name"], str) or not call["name"]:
        raise ArgumentError(f'action "name" must be a non-empty string, '
                            f"got {_describe(call['name'])}")
    arguments = call.get("arguments")
    if isinstance(arguments, str):
        arguments = _loads(arguments, "arguments") if arguments.strip() else None
    if arguments is None:  # absent, null or "": a call without arguments
        arguments = {}
    if not isinstance(arguments, dict):
        raise ArgumentError(f'"arguments" must be a JSON object, got {_describe(arguments)}')
    return call["name"], arguments
