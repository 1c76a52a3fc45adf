"""rate_limit: what an endpoint allows: how many requests may be in flight to it at once, and how
long its server asked a client to wait.

``run --jobs N`` plays N episodes at once on threads, each with an LLM agent of its own. Left
alone, N agents send N requests to one model server at once, and a server (or an account's rate
limit) that handles fewer answers the rest with 429s. So every agent of the process asks the
`Endpoint` of its ``base_url`` for a slot around each request, and an endpoint lets a request
start only while fewer than its limit are in flight from the whole process:

* the limit is the agent's ``max_connections`` when set, else the process default
  (`set_default_max_connections`, what the runner's ``--max-connections`` sets), else none;
* each request is held to its own agent's limit, over the count of every agent's requests, so
  agents with different limits on one endpoint each keep theirs (a low limit beside unlimited
  agents can wait long: slots go to whichever waiter is woken first, not in arrival order);
* the limit is read again whenever a slot is freed or the default changes: raising it lets
  waiters go at once, lowering it holds new requests until enough have ended. A count, not a
  semaphore swapped for a new one, so a change mid-run never strands a waiter or a release.

Endpoints are keyed by their URL with the scheme and host in lowercase, the port explicit and no
trailing slash (`endpoint_key`); two names of one host (``localhost`` and ``127.0.0.1``) are two
endpoints. The limit is per process: sealed agents (one process each) are not limited together.

`retry_after` reads how long a 429 or 503 asked to wait, for the agent's backoff.
"""

from __future__ import annotations

import email.utils
import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from urllib.parse import urlsplit

__all__ = ["Endpoint", "default_max_connections", "endpoint", "endpoint_key", "retry_after",
           "set_default_max_connections"]

_DEFAULT_PORTS = {"http": 80, "https": 443}

_registry_lock = threading.Lock()
_endpoints: dict[str, Endpoint] = {}
_default: int | None = None


class Endpoint:
    """The requests in flight to one endpoint from every agent of the process.

    Attributes:
        key: the endpoint's normalised URL (`endpoint_key`).
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self._in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, max_connections: int | None) -> Iterator[None]:
        """Hold one of the endpoint's connections for the block, first waiting while
        ``max_connections`` (None: the process default; none either: no limit) are in flight."""
        with self._changed:
            while self._in_flight >= _limit(max_connections):
                self._changed.wait()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()  # waiters may hold different limits: each checks its own

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()


def endpoint(url: str) -> Endpoint:
    """The process's one `Endpoint` for ``url``."""
    key = endpoint_key(url)
    with _registry_lock:
        if key not in _endpoints:
            _endpoints[key] = Endpoint(key)
        return _endpoints[key]


def endpoint_key(url: str) -> str:
    """``url`` as one endpoint's name: ``HTTP://Host/v1/`` and ``http://host:80/v1`` are the same."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port: int | str | None
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # not a port: the client will say so when it connects; keep the text
        port = parts.netloc.rpartition(":")[2]
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"


def set_default_max_connections(limit: int | None) -> None:
    """Set the process default of ``max_connections`` (None: no limit) for every agent that sets
    none. Requests waiting for a slot see the new limit at once."""
    global _default
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"max_connections must be a positive integer or None, got {limit!r}")
    with _registry_lock:
        _default = limit
        waiting = list(_endpoints.values())
    for each in waiting:
        each._wake()


def default_max_connections() -> int | None:
    """The process default of ``max_connections`` (None: no limit)."""
    return _default


def _limit(max_connections: int | None) -> float:
    chosen = max_connections if max_connections is not None else _default
    return math.inf if chosen is None else chosen


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asked to wait before the next request, ``now`` being ``time.time()``.

    ``retry-after-ms`` (milliseconds, as OpenAI and Azure send it) is preferred, then
    ``Retry-After`` as seconds or as an HTTP-date. None when neither gives a positive, finite
    wait (a date already past, a garbled value): the caller then uses its own backoff.
    """
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        seconds: float | None
        try:
            seconds = float(value) / scale
        except ValueError:
            if name == "retry-after-ms":
                continue
            seconds = _seconds_until(value, now)
        return seconds if seconds is not None and math.isfinite(seconds) and seconds > 0 else None
    return None


def _seconds_until(http_date: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, says RFC 5322
        when = when.replace(tzinfo=UTC)
    return when.timestamp() - now
