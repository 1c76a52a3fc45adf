"""Shared fixtures: a generator of random, well-formed tool calls for the env tests, and a scripted
OpenAI-compatible endpoint on 127.0.0.1 for the LLM agent's tests (``llm_server``).

A *well-formed* call names a real tool and gives arguments of the types its schema declares
(resource ids are real ones most of the time), so it exercises the world rather than the
argument parser. Values stay within the schema, not within each tool's documented range: an
out-of-range count must be an error observation, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from llm_server import FakeLLM, running

if TYPE_CHECKING:  # this conftest serves every test folder: it imports nothing of the project
    import numpy as np

# Parameters whose value is a resource id, across every tool.
RESOURCE_PARAMS = frozenset({"resource", "service", "database", "replica", "backup", "target"})
# Random free text is drawn from these words, which never spell a term test_no_leaks looks for.
_WORDS = ("alpha", "check", "fix", "the", "api", "please", "now", "why", "rows", "cost", "safe")
_STATEMENTS = (
    "SELECT count(*) FROM contacts",
    "INSERT INTO contacts VALUES ('a'), ('b')",
    "DELETE FROM contacts WHERE id = 3",
    "DELETE FROM contacts",
    "TRUNCATE contacts",
    "DROP TABLE contacts",
    "CREATE TABLE contacts (name text)",
    "UPDATE contacts SET name = 'x'",
    "VACUUM",
    "",
)
_LISTED_ID = re.compile(r"^([a-z]+-[0-9a-f]{6})\s", re.MULTILINE)


class CallMaker:
    """Draws random well-formed tool calls from the tool schemas an agent receives at reset."""

    def __init__(self, schemas: list[dict[str, Any]], rng: np.random.Generator) -> None:
        self.functions = [schema["function"] for schema in schemas]
        self.rng = rng
        self.seen: set[str] = set()

    def learn(self, observation: str) -> None:
        """Remember the resource ids a ``list_resources`` observation showed."""
        self.seen.update(_LISTED_ID.findall(observation))

    def __call__(self, known_ids: Iterable[str] = (), fqdns: Iterable[str] = ()) -> dict[str, Any]:
        """A random call; resource ids come from what was learnt plus ``known_ids``."""
        function = self.functions[int(self.rng.integers(len(self.functions)))]
        ids, names = sorted(self.seen.union(known_ids)), sorted(set(fqdns))
        return {"name": function["name"], "arguments": self._object(function["parameters"], ids, names)}

    # -- values of each schema type ------------------------------------------------------------

    def _object(self, schema: dict[str, Any], ids: list[str], fqdns: list[str]) -> dict[str, Any]:
        arguments = {}
        for name, prop in schema.get("properties", {}).items():
            if name in schema.get("required", ()) or self.rng.random() < 0.5:
                arguments[name] = self._value(name, prop, ids, fqdns)
        return arguments

    def _value(self, name: str, schema: dict[str, Any], ids: list[str], fqdns: list[str]) -> Any:
        rng = self.rng
        if "enum" in schema:
            return schema["enum"][int(rng.integers(len(schema["enum"])))]
        if "anyOf" in schema:  # one of the alternatives (a resource or a list of them)
            return self._value(name, schema["anyOf"][int(rng.integers(len(schema["anyOf"])))], ids, fqdns)
        kind = schema["type"]
        if kind == "boolean":
            return bool(rng.random() < 0.5)
        if kind == "integer":
            return self._integer(name)
        if kind == "number":
            return float(rng.normal(0, 100))
        if kind == "array":
            return [self._value(name, schema["items"], ids, fqdns) for _ in range(int(rng.integers(0, 3)))]
        if kind == "object":
            return self._object(schema, ids, fqdns)
        return self._string(name, ids, fqdns)

    def _integer(self, name: str) -> int:
        rng = self.rng
        if rng.random() < 0.1:  # out of the tool's range, inside the schema's
            return int(rng.choice([-1, 0, 10**6]))
        high = {"minutes": 600, "window_minutes": 43200, "page": 3, "count": 60, "limit": 100}.get(name, 50)
        return int(rng.integers(1, high + 1))

    def _string(self, name: str, ids: list[str], fqdns: list[str]) -> str:
        rng = self.rng
        pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
        if name in RESOURCE_PARAMS and ids:
            rid = pick(ids)
            return rid if rng.random() < 0.9 else rid[:-1] + "z"  # sometimes a near miss
        if name == "name":
            return pick(fqdns) if fqdns and rng.random() < 0.8 else pick(ids or ["nowhere"])
        if name == "kind":
            from blastradius.envs.resources import KINDS

            return pick(["", *KINDS, "vm"])
        if name == "env":
            return pick(["", "prod", "staging", "dev", "qa"])
        if name == "statement":
            return pick(_STATEMENTS)
        if name == "key":
            return pick(["timeout_ms", "pool_size", "feature_new_ui", "retries"])
        if name == "value":
            return pick(["5000", "true", "eu-west-1", "null", "[1, 2]", "{\"a\": 1}"])
        if name == "version":
            return f"v{int(rng.integers(1, 60))}"
        return " ".join(pick(_WORDS) for _ in range(int(rng.integers(1, 6))))


@pytest.fixture
def call_maker() -> Callable[[list[dict[str, Any]], np.random.Generator], CallMaker]:
    """``call_maker(schemas, rng)`` -> a `CallMaker`: call it for an action, ``learn`` what it saw."""
    return CallMaker


@pytest.fixture
def llm_server() -> Iterator[FakeLLM]:
    """A scripted chat-completions endpoint (see ``tests/llm_server.py``); ``.url`` is its base URL."""
    with running() as fake:
        yield fake
