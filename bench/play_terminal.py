"""The terminal side of `blastradius play`: line editing, history and Tab completion, with the
standard library's readline, switched on only when stdin is a terminal (a piped script gets none
of it, and no prompts).

Tab completes, at the start of a line, tool names and the meta-commands; after a tool's name, its
parameter names (as ``name=``), the allowed values of an enum parameter, and the resource ids seen
so far in the episode's observations; after ``help``, tool names. The history is kept across
episodes in ``$XDG_CACHE_HOME/blastradius/play_history`` (``~/.cache`` when XDG_CACHE_HOME is unset).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from .play_syntax import META, fill_order

__all__ = ["Terminal", "candidates", "history_path"]

HISTORY_LENGTH = 1000


def history_path(environ: Mapping[str, str]) -> Path:
    cache = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "blastradius" / "play_history"


def candidates(before: str, tools: Mapping[str, dict[str, Any]], ids: Collection[str],
               form: Mapping[str, Any] | None = None) -> list[str]:
    """What the word being typed at the end of ``before`` (the line up to the cursor) may become:
    in a command line, or (``form``, an object schema) in a line that fills that object's
    properties, as an entry of the guided report does."""
    words = before.split()
    current = "" if not before or before[-1].isspace() else words.pop()
    if form is not None:
        return _filling(form, words, current, ids)
    if not words:
        return sorted(name for name in [*tools, *META] if name.startswith(current))
    if words[0] == "help":
        return sorted(name for name in tools if name.startswith(current)) if len(words) == 1 else []
    if words[0] not in tools:
        return []
    return _filling(tools[words[0]].get("parameters") or {}, words[1:], current, ids)


def _filling(schema: Mapping[str, Any], words: list[str], current: str, ids: Collection[str]) -> list[str]:
    """Completions of ``current``, the word after ``words``, in a line filling the object ``schema``."""
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    if "=" in current:
        key, _, part = current.partition("=")
        return [f"{key}={value}" for value in _values(properties.get(key) or {}, ids) if value.startswith(part)]
    given = {word.partition("=")[0] for word in words if "=" in word}
    slots = [key for key in fill_order(schema) if key not in given]
    bare = sum(1 for word in words if "=" not in word)
    found = [f"{key}=" for key in properties if key not in given and key.startswith(current)]
    if bare < len(slots):  # the word fills the next parameter in order: offer its values
        found += [value for value in _values(properties[slots[bare]], ids) if value.startswith(current)]
    return sorted(found)


def _values(spec: Mapping[str, Any], ids: Collection[str]) -> list[str]:
    if spec.get("enum"):
        return list(spec["enum"])
    if spec.get("type") == "boolean":
        return ["true", "false"]
    return sorted(ids) if spec.get("type") in ("string", None) or "anyOf" in spec else []


class Terminal:
    """Readline switched on for one episode: completion over ``tools`` and the ``ids`` set (which
    the caller fills as observations come), and the history file read now, written by `save`."""

    def __init__(self, tools: Mapping[str, dict[str, Any]], ids: Collection[str], environ: Mapping[str, str]) -> None:
        import readline

        self._readline = readline
        self._tools, self._ids = tools, ids
        self._history = history_path(environ)
        self._matches: list[str] = []
        self._form: Mapping[str, Any] | None = None
        readline.set_completer(self._complete)
        readline.set_completer_delims(" \t\n")  # ids and name=value pairs are words of their own
        if "libedit" in (readline.__doc__ or ""):  # macOS's readline is libedit, bound its own way
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")
        readline.set_history_length(HISTORY_LENGTH)
        # None yet, or unreadable: the history is a convenience, never a reason to fail.
        with contextlib.suppress(OSError):
            readline.read_history_file(self._history)

    def read(self, prompt: str, form: Mapping[str, Any] | None = None) -> str:
        """A command line (``form`` None), kept in the history; or an answer filling ``form`` (an
        object schema: ``{}`` for a yes or no), completed over its properties and kept out of the
        history, which is for commands. Raises EOFError at the end of input."""
        self._form = form
        try:
            line = input(prompt)
        finally:
            self._form = None
        length = self._readline.get_current_history_length()
        if form is not None and line and length:
            self._readline.remove_history_item(length - 1)
        return line

    def save(self) -> None:
        with contextlib.suppress(OSError):  # as in reading: a read-only home costs the history, not the episode
            self._history.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(self._history)

    def _complete(self, text: str, state: int) -> str | None:
        if state == 0:
            line = self._readline.get_line_buffer()[: self._readline.get_endidx()]
            # Python's readline appends nothing to a completion: a finished word gets its space here.
            self._matches = [match if match.endswith("=") else f"{match} "
                             for match in candidates(line, self._tools, self._ids, self._form)]
        return self._matches[state] if state < len(self._matches) else None
