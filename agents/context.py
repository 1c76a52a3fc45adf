"""A chat agent's bounded context: what of the conversation is sent to the model.

The conversation grows by a tool result every step and observations run to 8 KB, so a long
episode outgrows a small model's window. `bounded` returns the messages to send: when their size
exceeds the budget, the oldest tool results are replaced, one at a time, by an explicit marker
(`TRIM_MARKER`, e.g. ``[earlier tool output trimmed: 5321 chars]``) until it fits. Nothing is
dropped silently and no message is removed, so every tool call keeps its answer and the
transcript stays valid. The system prompt and the briefing (the first two messages) and the
latest `KEEP_LAST` messages are never trimmed; when they alone exceed the budget the request is
sent over budget rather than without them. Only tool results are trimmed: they are what grows.

The kept transcript is never trimmed; trimming applies to each request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["KEEP_LAST", "TRIM_MARKER", "bounded", "size_of"]

TRIM_MARKER = "[earlier tool output trimmed: {chars} chars]"
KEEP_LAST = 4
"""How many of the latest messages are never trimmed (about the last two steps)."""

_HEAD = 2  # the system prompt and the briefing


def size_of(message: dict[str, Any]) -> int:
    """The characters a message costs: its content plus its tool calls as JSON."""
    content = message.get("content") or ""
    size = len(content) if isinstance(content, str) else len(json.dumps(content))
    if message.get("tool_calls"):
        size += len(json.dumps(message["tool_calls"]))
    return size


def bounded(messages: Sequence[dict[str, Any]], max_chars: int, keep_last: int = KEEP_LAST) -> list[dict[str, Any]]:
    """``messages`` within ``max_chars`` where possible, oldest tool results trimmed first.

    Returns a new list; trimmed messages are copies, the others are the same objects.
    """
    out = list(messages)
    total = sum(size_of(message) for message in out)
    for index in range(_HEAD, len(out) - keep_last):
        if total <= max_chars:
            break
        message = out[index]
        content = message.get("content")
        if message.get("role") != "tool" or not isinstance(content, str):
            continue
        marker = TRIM_MARKER.format(chars=len(content))
        if len(marker) >= len(content):
            continue
        out[index] = {**message, "content": marker}
        total -= len(content) - len(marker)
    return out
