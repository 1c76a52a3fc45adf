"""The guided report of `blastradius play`: ``report`` asks for each field of ``submit_report``
in turn, so that a person need not type its long text and lists as one line of JSON.

Each field is asked for in the schema's order, with its description. A required field is asked
again until it is given; an optional one is skipped with Enter. A list of objects (the changes
made, the impact, the checks, the figures) takes one entry a line in the command syntax
(`blastradius.bench.play_syntax`): bare words fill the entry's fields in order, the required ones
first (``delete b-68ea44 detail="no callers in 30 days"``), and an empty line ends the list. A line
that does not read is said to be wrong and asked again; nothing is sent until the whole report is
written (and, at a terminal, confirmed). The result is the same tool call the one-line forms make.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from .play_syntax import Call, CommandError, check_arguments, first_line, parse_words, read_value, split

__all__ = ["REPORT_TOOL", "Cancelled", "guided_call"]

REPORT_TOOL = "submit_report"
_WIDTH = 100

Ask = Callable[[str, Mapping[str, Any]], str]
"""Reads one line after showing a prompt, a line that fills the object schema given (for Tab
completion; ``{}`` for a yes or no); raises EOFError when the input has ended."""
Say = Callable[[str], None]


class Cancelled(Exception):
    """The person gave up the report (``!cancel``); nothing was sent."""


def guided_call(name: str, schema: Mapping[str, Any], ask: Ask, say: Say, confirm: bool) -> Call:
    """Ask for each parameter of the tool ``name`` (its function ``schema``) and return the call.
    ``confirm``: show the call and ask before returning it (at a terminal).

    Raises:
        Cancelled: the person typed ``!cancel`` (or declined to send it).
        EOFError: the input ended.
    """
    parameters = schema.get("parameters") or {}
    required = set(parameters.get("required") or ())
    say(f"Writing {name}: {first_line(schema.get('description', ''))}\n"
        "Enter skips an optional field; !cancel goes back to the prompt without sending anything.")
    arguments: dict[str, Any] = {}
    for key, spec in (parameters.get("properties") or {}).items():
        value = _ask_field(key, spec, key in required, ask, say)
        if value is not None:
            arguments[key] = value
    call = Call(name, arguments)
    if confirm:
        say(json.dumps(arguments, indent=2))
        if _read(ask, f"send this {name}? it ends the episode [Y/n] ", {}).lower() not in ("", "y", "yes"):
            raise Cancelled
    return call


def _ask_field(key: str, spec: Mapping[str, Any], required: bool, ask: Ask, say: Say) -> Any:
    items = spec.get("items") or {}
    if spec.get("type") == "array" and items.get("type") == "object":
        return _ask_entries(key, spec, items, required, ask, say)
    choices = f" ({' / '.join(spec['enum'])})" if spec.get("enum") else ""
    say(_field(key, spec, required))
    form = {"properties": {key: spec}, "required": [key]}
    while True:
        text = _read(ask, f"{key}{choices}> ", form)
        if not text:
            if not required:
                return None
            say(f"{key} is required.")
            continue
        try:
            value = read_value(text, spec)
            check_arguments({key: value}, {"properties": {key: spec}})
        except CommandError as exc:
            say(str(exc))
            continue
        return value


def _ask_entries(key: str, spec: Mapping[str, Any], items: Mapping[str, Any], required: bool, ask: Ask,
                 say: Say) -> list[dict[str, Any]] | None:
    fields = list(items.get("required") or ())
    optional = [field for field in items.get("properties") or {} if field not in fields]
    form = " ".join([*(field.upper() for field in fields), *(f"[{field}=...]" for field in optional)])
    say(f"{_field(key, spec, required)}\n  one entry a line: {form}; an empty line ends the list")
    entries: list[dict[str, Any]] = []
    while True:
        text = _read(ask, f"{key} {len(entries) + 1}> ", items)
        if not text:
            if entries or not required:
                return entries or None
            say(f"{key} needs at least one entry.")
            continue
        try:
            entry = parse_words(split(text), items, f"{key}: ")
            check_arguments(entry, items, f"{key}: ")
        except CommandError as exc:
            say(f"{exc} (an entry is: {form})")
            continue
        entries.append(entry)


def _field(key: str, spec: Mapping[str, Any], required: bool) -> str:
    """A field's name and description, wrapped to read at a terminal."""
    return textwrap.fill(f"{key}{'' if required else ' (optional)'}: {spec.get('description', '')}", _WIDTH,
                         subsequent_indent="  ")


def _read(ask: Ask, prompt: str, form: Mapping[str, Any]) -> str:
    text = ask(prompt, form).strip()
    if text == "!cancel":
        raise Cancelled
    return text

