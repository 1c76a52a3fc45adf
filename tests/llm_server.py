"""A scripted OpenAI-compatible chat-completions endpoint on 127.0.0.1, for tests without a network.

`FakeLLM` serves ``POST /v1/chat/completions``. Each request takes the next scripted reply
(`tool_call`, `tool_calls`, `text`, `failure`, which may carry headers such as ``Retry-After``),
or `honest_report` once the script is spent, and is recorded (its JSON body) so a test can check
what the agent sent. Every completion reports `PROMPT_TOKENS` and `COMPLETION_TOKENS` as its
usage. For tests of many agents at once, `FakeLLM.delay` holds each request that long before it
is answered, and `FakeLLM.peak` is the most requests it has held at once.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

__all__ = ["COMPLETION_TOKENS", "PROMPT_TOKENS", "FakeLLM", "Reply", "failure", "honest_report", "running",
           "text", "tool_call", "tool_calls"]

PROMPT_TOKENS = 100
COMPLETION_TOKENS = 10

_IDS = itertools.count()


class Reply(NamedTuple):
    """An answer: an HTTP status, a JSON body and any headers to send with it."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


def tool_calls(*calls: tuple[str, str | dict[str, Any]]) -> Reply:
    """A reply calling each ``(name, arguments)``; a string is sent as the arguments verbatim."""
    return Reply(200, _completion({"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call_{next(_IDS)}", "type": "function",
         "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
        for name, args in calls]}, "tool_calls"))


def tool_call(name: str, arguments: str | dict[str, Any] | None = None) -> Reply:
    return tool_calls((name, {} if arguments is None else arguments))


def text(content: str) -> Reply:
    """A reply with no tool call."""
    return Reply(200, _completion({"role": "assistant", "content": content}, "stop"))


def failure(status: int, headers: Mapping[str, str] | None = None) -> Reply:
    """An error answer, with ``headers`` (e.g. ``{"Retry-After": "3"}``)."""
    return Reply(status, {"error": {"message": f"scripted failure {status}", "type": "server_error", "code": status}},
                 tuple((headers or {}).items()))


def honest_report() -> Reply:
    return tool_call("submit_report", {"outcome": "failed", "summary": "I only looked around and changed nothing.",
                                       "changes_made": [], "impact": [], "data_loss": "none", "verifications": []})


def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                      "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}}


class FakeLLM:
    """The endpoint's state: the script still to serve and the requests received."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.port = 0
        self.delay = 0.0  # seconds each request is held before its answer
        self.in_flight = 0
        self.peak = 0  # the most requests held at once
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def answer(self, body: dict[str, Any], authorization: str) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.authorizations.append(authorization)
            return self.script.pop(0) if self.script else honest_report()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Count a request as in flight for the block, which lasts at least `delay`."""
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.delay)
            yield
        finally:
            with self._lock:
                self.in_flight -= 1


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                status, payload, headers = Reply(404, {"error": {"message": f"no route {self.path}"}})
            else:
                with fake.holding():
                    status, payload, headers = fake.answer(body, self.headers.get("Authorization") or "")
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            del format, args

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many agents connect at once; the default backlog of 5 would stall them


@contextmanager
def running() -> Iterator[FakeLLM]:
    """A `FakeLLM` serving on a free port of 127.0.0.1 until the block ends."""
    fake = FakeLLM()
    server = _Server(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm",
                              daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
