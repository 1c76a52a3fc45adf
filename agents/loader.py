"""One resolver for every way a user names an agent.

``noop`` (a built-in short name), ``package.module:Class``, ``path/to/file.py:Class``, or the
name of an installed entry point in the group ``blastradius.agents``. The result is a factory
that makes a fresh agent for each episode.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import sys
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .base import Agent

__all__ = ["BUILTIN_AGENTS", "AgentSpecError", "resolve_agent"]

BUILTIN_AGENTS: Mapping[str, str] = MappingProxyType({
    "noop": "blastradius.agents.noop:NoopAgent",
    "random": "blastradius.agents.random_agent:RandomAgent",
    "reckless": "blastradius.agents.reckless:RecklessAgent",
    "careful": "blastradius.agents.careful:CarefulAgent",
    "liar": "blastradius.agents.liar:LiarAgent",
})
ENTRY_POINT_GROUP = "blastradius.agents"


class AgentSpecError(ValueError):
    """An agent spec that names nothing loadable; the message says what was tried."""


def resolve_agent(spec: str, kwargs: Mapping[str, Any] | None = None) -> Callable[[], Agent]:
    """A factory of fresh agents for ``spec``, called with ``kwargs``."""
    kwargs = dict(kwargs or {})
    target = _load(spec)

    def make() -> Agent:
        agent = target(**kwargs)
        if not isinstance(agent, Agent):
            raise AgentSpecError(f"{spec!r} made a {type(agent).__name__}, which has no reset() and act()")
        return agent

    return make


def _load(spec: str) -> Callable[..., Any]:
    if spec in BUILTIN_AGENTS:
        return _from_module(BUILTIN_AGENTS[spec], spec)
    if ":" in spec:
        where, _, name = spec.rpartition(":")
        if where.endswith(".py"):
            return _from_file(Path(where), name, spec)
        return _from_module(spec, spec)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == spec:
            return entry.load()
    known = [*BUILTIN_AGENTS, *(e.name for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))]
    close = difflib.get_close_matches(spec, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise AgentSpecError(
        f"unknown agent {spec!r}: not a built-in ({', '.join(BUILTIN_AGENTS)}), not module:Class or "
        f"file.py:Class, and no entry point of that name in group '{ENTRY_POINT_GROUP}'.{hint}")


def _from_module(path: str, spec: str) -> Callable[..., Any]:
    module_name, _, name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AgentSpecError(f"agent {spec!r}: cannot import module {module_name!r}: {exc}") from exc
    return _attribute(module, name, spec)


def _from_file(path: Path, name: str, spec: str) -> Callable[..., Any]:
    if not path.is_file():
        raise AgentSpecError(f"agent {spec!r}: no file {str(path)!r}")
    module_name = f"blastradius_user_agent_{zlib.crc32(str(path.resolve()).encode()):08x}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise AgentSpecError(f"agent {spec!r}: cannot load {str(path)!r} as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    loader_spec.loader.exec_module(module)
    return _attribute(module, name, spec)


def _attribute(module: Any, name: str, spec: str) -> Callable[..., Any]:
    target = getattr(module, name, None)
    if target is None:
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise AgentSpecError(f"agent {spec!r}: {module.__name__} has no {name!r}.{hint}")
    if not callable(target):
        raise AgentSpecError(f"agent {spec!r}: {name!r} is not a class or function")
    return target
