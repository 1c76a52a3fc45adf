"""What a run folder can hold of any value: JSON-safe, bounded, and never an exception.

An agent's action, report or transcript can be anything Python can make: an integer with a
million digits, a dict that contains itself, lists nested 5,000 deep, a 1 GiB string, an object
whose ``repr`` raises. `recordable` turns any of them into plain JSON (dicts with string keys,
lists, strings, finite floats, integers that JSON readers hold, booleans, None) that keeps what
it can of the original and marks, in the value itself, what it left out:

* a container nested deeper than `MAX_DEPTH` becomes ``"<cut: nested deeper than 64>"``;
* a container inside itself becomes ``"<cut: refers to itself>"`` where it recurs;
* past the size allowed, a string ends ``"...[cut N chars]"``, a list ends with
  ``"<cut: N more items>"``, and a dict gets a ``"<cut>"`` entry saying how many it lost;
* an integer beyond 64 bits becomes ``"<cut: integer of N bits>"``, NaN and the infinities
  their ``repr``, a tuple a list, and any other object ``"<TypeName>"`` (its ``repr`` is never
  called: it may raise, and it may show a memory address that differs from run to run).

The same value always gives the same result, and the walk never recurses deeper than
`MAX_DEPTH`, far below Python's recursion limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from json import JSONEncoder
from typing import Any

__all__ = ["MAX_DEPTH", "dumps", "recordable"]

MAX_DEPTH = 64
# Beyond 64 bits, JSON readers in other languages lose or refuse an integer.
_INT_LIMIT = 2**63
# What a marker or a number is counted as: about its length in JSON, rounded up.
_MARKER_CHARS = 40
_NUMBER_CHARS = 24
# Made once: json.dumps with any option builds a new encoder on every call.
_COMPACT = JSONEncoder(sort_keys=True, allow_nan=False)


def recordable(value: Any, max_chars: int, max_string: int | None = None) -> Any:
    """A copy of ``value`` as plain JSON: what `dumps` writes of it, read back."""
    if type(value) is str and len(value) <= min(max_chars if max_string is None else max_string,
                                                (max_chars - 2) // (6 if value.isascii() else 12)):
        # Written whole whatever it holds (JSON spends at most 6 characters on an ASCII one, 12
        # on any other), and read back the same: a string, on every step, needs no round trip.
        return value
    return json.loads(dumps(value, max_chars, max_string))


def dumps(value: Any, max_chars: int, max_string: int | None = None, indent: int | None = None) -> str:
    """JSON text of ``value`` (keys sorted) of at most ``max_chars`` characters, with no string
    longer than ``max_string`` characters (default: ``max_chars``), cut as the module says.

    A value cut down to a few markers may still take ~100 characters.
    """
    max_string = max_chars if max_string is None else max_string
    encode = _COMPACT.encode if indent is None else JSONEncoder(sort_keys=True, allow_nan=False, indent=indent).encode
    if _fits(value, 0, max_chars, max_string) >= 0:  # the common case: nothing to cut or replace
        text = encode(value)
        if len(text) <= max_chars:
            return text
    budget = max_chars
    while True:
        text = encode(_Walk(budget, min(max_string, budget)).value(value, 0))
        if len(text) <= max_chars or budget <= _MARKER_CHARS:
            return text
        # The walk counts a string by its characters, and escapes (of quotes, control and
        # non-ASCII characters) or indentation made the text longer: walk again with less.
        budget = budget * max_chars // len(text)


def _fits(value: Any, depth: int, left: int, max_string: int) -> int:
    """The characters left of ``left`` once the container ``value`` is written, or -1 if it is
    longer or holds anything `_Walk` would change: a quick look, with no copy, that lets an
    ordinary record through.

    Scalars are checked inline (a call per item would double the cost)."""
    if depth >= MAX_DEPTH:
        return -1
    items: Iterable[Any]
    if type(value) is dict:
        for key in value:
            if type(key) is not str or len(key) > max_string:
                return -1
            left -= len(key)
        items = value.values()
    elif type(value) is list or type(value) is tuple:
        items = value
    else:
        return -1
    for item in items:
        kind = type(item)
        if kind is str:
            if len(item) > max_string:
                return -1
            left -= len(item) + 8
        elif kind is int:
            if not -_INT_LIMIT <= item < _INT_LIMIT:
                return -1
            left -= _NUMBER_CHARS
        elif kind is bool or item is None:
            left -= 8
        elif kind is float:
            if not math.isfinite(item):
                return -1
            left -= _NUMBER_CHARS
        else:
            left = _fits(item, depth + 1, left, max_string)
        if left < 0:
            return -1
    return left - 2


class _Walk:
    """One walk over a value: the characters left to spend and the containers enclosing here."""

    def __init__(self, max_chars: int, max_string: int) -> None:
        self.left = max_chars
        self.max_string = max_string
        self.enclosing: set[int] = set()

    def value(self, value: Any, depth: int) -> Any:
        kind = type(value)  # exact types first: what nearly every value is, at little cost
        if kind is str:
            return self.string(value)
        if kind is dict or kind is list or kind is tuple:
            return self.container(value, depth)
        if kind is int:
            return self.integer(value)
        if kind is float:
            return self.number(value)
        if kind is bool or value is None:
            self.left -= 5
            return value
        return self.other(value, depth)

    def string(self, text: str) -> str:
        if len(text) <= min(self.max_string, self.left - 2):
            self.left -= len(text) + 2
            return text
        keep = min(self.max_string, max(self.left - _MARKER_CHARS, 0))  # room for the marker too
        self.left -= keep + _MARKER_CHARS
        return f"{text[:keep]}...[cut {len(text) - keep} chars]"

    def integer(self, number: int) -> int | str:
        if -_INT_LIMIT <= number < _INT_LIMIT:
            self.left -= number.bit_length() // 3 + 2  # a little over its digits and sign
            return number
        return self.marker(f"<cut: integer of {number.bit_length()} bits>")

    def number(self, number: float) -> float | str:
        self.left -= _NUMBER_CHARS
        return number if math.isfinite(number) else repr(number)

    def container(self, value: dict[Any, Any] | list[Any] | tuple[Any, ...], depth: int) -> Any:
        if depth >= MAX_DEPTH:
            return self.marker(f"<cut: nested deeper than {MAX_DEPTH}>")
        if id(value) in self.enclosing:
            return self.marker("<cut: refers to itself>")
        self.enclosing.add(id(value))
        self.left -= 2
        try:
            if isinstance(value, dict):
                return self.mapping(value, depth + 1)
            return self.sequence(value, depth + 1)
        finally:
            self.enclosing.discard(id(value))

    def sequence(self, items: list[Any] | tuple[Any, ...], depth: int) -> list[Any]:
        if type(items) is not list and type(items) is not tuple:  # a subclass: read as its base
            items = list.copy(items) if isinstance(items, list) else tuple.__getitem__(items, slice(None))
        result = []
        for index, item in enumerate(items):
            if self.left <= 0:
                result.append(self.marker(f"<cut: {len(items) - index} more items>"))
                break
            self.left -= 2
            result.append(self.value(item, depth))
        return result

    def mapping(self, mapping: dict[Any, Any], depth: int) -> dict[str, Any]:
        result = {}
        for index, (key, item) in enumerate(dict.items(mapping)):
            if self.left <= 0:
                result["<cut>"] = self.marker(f"<cut: {dict.__len__(mapping) - index} more entries>")
                break
            self.left -= 4
            name = self.key(key)  # before the value, which an assignment would evaluate first
            result[name] = self.value(item, depth)
        return result

    def key(self, key: Any) -> str:
        """A dict key as JSON writes one: a string as it is, a scalar as its JSON text."""
        if type(key) is str:
            return self.string(key)
        try:
            if isinstance(key, (str, int, float)) or key is None:  # bool is an int
                plain = self.value(key, 0)
                return plain if isinstance(plain, str) else json.dumps(plain)
        except Exception:  # noqa: BLE001 - isinstance itself reads __class__, which an object can break
            pass
        return self.marker(f"<{type(key).__name__}>")

    def other(self, value: Any, depth: int) -> Any:
        """A value of a subclass of a JSON type, read through its base type so that none of its
        own methods run; anything else, by its type's name."""
        try:
            if isinstance(value, int) and not isinstance(value, bool):
                return self.integer(int.__int__(value))
            if isinstance(value, float):
                return self.number(float.__float__(value))
            if isinstance(value, str):
                return self.string(str.__str__(value))
            if isinstance(value, (dict, list, tuple)):
                return self.container(value, depth)
        except Exception:  # noqa: BLE001 - a subclass can break its base type's methods too
            pass
        return self.marker(f"<{type(value).__name__}>")

    def marker(self, text: str) -> str:
        self.left -= _MARKER_CHARS
        return text
