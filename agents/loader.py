"""One resolver for every way a user names an agent, and its arguments.

A spec is one of:

* a built-in short name (`BUILTIN_AGENTS`: ``noop``, ``random``, ``careful``, ``liar``, ``llm``,
  and the oracles ``reference`` and ``reckless`` (`ORACLES`), which play the family's own
  scripted paths);
* ``cmd:<command line>``: a program in any language speaking the JSON-lines protocol of
  ``docs/agent-protocol.md`` (`blastradius.agents.subprocess_agent`), e.g.
  ``cmd:node docs/examples/agent.js``;
* ``package.module:Class`` or ``path/to/file.py:Class`` (any callable returning an agent);
* the name of an installed entry point in the group ``blastradius.agents``.

`resolve_agent` turns a spec and its keyword arguments into a factory that makes a fresh agent
for each episode. On the command line the arguments come from ``--agent-kwarg key=value``
(`parse_kwarg`: the value is JSON when it parses as JSON, else the string), each belonging to the
nearest ``--agent`` before it (`group_agent_args`). `agent_label` names an agent with its
arguments in episode keys and on the leaderboard. `agent_code` tells a spec's kind and the files
of its code, for the provenance a run records.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import shlex
import shutil
import sys
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .base import Agent
from .errors import AgentSpecError

__all__ = ["AGENT", "AGENT_KINDS", "BUILTIN_AGENTS", "COMMAND_PREFIX", "ENTRY_POINT_GROUP", "KWARG", "ORACLES",
           "AgentCode", "AgentSpecError", "agent_code", "agent_label", "group_agent_args", "parse_kwarg",
           "resolve_agent"]

BUILTIN_AGENTS: Mapping[str, str] = MappingProxyType({
    "noop": "blastradius.agents.noop:NoopAgent",
    "random": "blastradius.agents.random_agent:RandomAgent",
    "reckless": "blastradius.agents.reference:reckless_path",
    "careful": "blastradius.agents.careful:CarefulAgent",
    "liar": "blastradius.agents.liar:LiarAgent",
    "llm": "blastradius.agents.llm:LLMAgent",
    "reference": "blastradius.agents.reference:reference_path",
})
ORACLES = frozenset({"reference", "reckless"})
"""The built-in agents that play the family's own scripted paths (`blastradius.agents.reference`),
to which the harness hands the path. Under these names a run records them as kind ``oracle`` and
plays them in its own process even when sealed (a sealed process would have no path to play)."""
ENTRY_POINT_GROUP = "blastradius.agents"
COMMAND_PREFIX = "cmd:"
_SUBPROCESS_AGENT = "blastradius.agents.subprocess_agent:SubprocessAgent"

# The two kinds of item of the ordered command-line list `group_agent_args` reads.
AGENT = "agent"
KWARG = "kwarg"


def resolve_agent(spec: str, kwargs: Mapping[str, Any] | None = None) -> Callable[[], Agent]:
    """A factory of fresh agents for ``spec``, each made with ``kwargs``.

    Raises:
        AgentSpecError: ``spec`` names nothing loadable; the message says what was tried and,
            when a known name is close, "Did you mean".
    """
    kwargs = dict(kwargs or {})
    if spec.startswith(COMMAND_PREFIX):
        kwargs = {"command": _command(spec), **kwargs}
        target = _from_module(_SUBPROCESS_AGENT, spec)
    else:
        target = _load(spec)

    def make() -> Agent:
        agent = target(**kwargs)
        if not isinstance(agent, Agent):
            raise AgentSpecError(f"{spec!r} made a {type(agent).__name__}, which has no reset() and act()")
        return agent

    return make


def parse_kwarg(text: str) -> tuple[str, Any]:
    """``key=value`` -> ``(key, value)``; the value is JSON when it parses, else the plain string.

    ``seed=7`` gives 7, ``temperature=0.2`` 0.2, ``stop=null`` None, ``prices={"m": [1, 2]}`` a
    dict, ``model=gpt-4o`` the string ``"gpt-4o"`` (``model='"123"'`` keeps a number a string).
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise AgentSpecError(f"--agent-kwarg {text!r}: expected key=value with a Python identifier as key, "
                             "e.g. --agent-kwarg model=gpt-4o")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def group_agent_args(items: Sequence[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    """The agents of the command line, each with its keyword arguments.

    ``items`` are ``(AGENT, spec)`` and ``(KWARG, "key=value")`` in command-line order: each
    ``--agent-kwarg`` belongs to the nearest ``--agent`` before it, so ``--agent llm
    --agent-kwarg model=a --agent noop`` gives ``[("llm", {"model": "a"}), ("noop", {})]``.

    Raises:
        AgentSpecError: a kwarg before any ``--agent``, a malformed kwarg, or one key given
            twice to the same agent.
    """
    agents: list[tuple[str, dict[str, Any]]] = []
    for kind, text in items:
        if kind == AGENT:
            agents.append((text, {}))
            continue
        key, value = parse_kwarg(text)
        if not agents:
            raise AgentSpecError(f"--agent-kwarg {text!r} comes before any --agent; put it after the "
                                 "--agent it configures, e.g. --agent llm --agent-kwarg model=gpt-4o")
        spec, kwargs = agents[-1]
        if key in kwargs:
            raise AgentSpecError(f"--agent-kwarg {key} is given twice for --agent {spec!r}")
        kwargs[key] = value
    return agents


def agent_label(spec: str, kwargs: Mapping[str, Any] | None = None) -> str:
    """The agent's name in episode keys and on the leaderboard: the spec, followed by its
    keyword arguments in brackets (sorted by key) when it has any, e.g.
    ``llm[base_url=http://localhost:11434/v1,model=qwen2.5]``."""
    if not kwargs:
        return spec
    shown = ",".join(f"{key}={value if isinstance(value, str) else _compact(value)}"
                     for key, value in sorted(kwargs.items()))
    return f"{spec}[{shown}]"


AGENT_KINDS = ("builtin", "oracle", "file", "module", "entry_point", "subprocess")
"""The kinds of agent spec, in the order the module docstring lists them (an oracle is a
built-in of `ORACLES`)."""


@dataclass(frozen=True)
class AgentCode:
    """What a spec runs: its kind (one of `AGENT_KINDS`) and the files of its code, in order."""

    kind: str
    files: tuple[Path, ...]


def agent_code(spec: str) -> AgentCode:
    """The kind of ``spec`` and the files of its code, found without running the agent.

    A built-in's or a module's code is its module file, or every ``.py`` file of its package in
    sorted order; a file agent's, the file; an entry point's, the module it names; a
    ``cmd:`` agent's, the executable and every later argument naming an existing file (the
    script of ``node agent.js`` or ``python x.py``).

    Raises:
        AgentSpecError: ``spec`` names nothing (as `resolve_agent` would say).
    """
    if spec.startswith(COMMAND_PREFIX):
        argv = _command(spec)
        executable = Path(shutil.which(argv[0]) or argv[0]).resolve()
        return AgentCode("subprocess", (executable, *(Path(arg) for arg in argv[1:] if Path(arg).is_file())))
    if spec in BUILTIN_AGENTS:
        kind = "oracle" if spec in ORACLES else "builtin"
        return AgentCode(kind, _module_files(BUILTIN_AGENTS[spec].partition(":")[0], spec))
    if ":" in spec:
        where = spec.rpartition(":")[0]
        if where.endswith(".py"):
            return AgentCode("file", (Path(where),))
        return AgentCode("module", _module_files(where, spec))
    entries = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for entry in entries:
        if entry.name == spec:
            return AgentCode("entry_point", _module_files(entry.module, spec))
    raise _unknown(spec, entries)


def _module_files(module_name: str, spec: str) -> tuple[Path, ...]:
    try:
        found = _find_without_importing(module_name)
    except (ImportError, ValueError) as exc:
        raise AgentSpecError(f"agent {spec!r}: cannot find module {module_name!r}: {exc}") from exc
    if found is None or found.origin is None or not Path(found.origin).is_file():
        raise AgentSpecError(f"agent {spec!r}: module {module_name!r} has no source file")
    origin = Path(found.origin)
    if found.submodule_search_locations is not None:  # a package: all of it is the agent's code
        return tuple(sorted(origin.parent.rglob("*.py")))
    return (origin,)


def _find_without_importing(module_name: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of ``module_name``, found level by level by the import system's finders, which
    find without running anything: `importlib.util.find_spec` would import the parent packages,
    running an agent's code in the harness that a sealed run keeps it out of."""
    if module_name in sys.modules:
        return getattr(sys.modules[module_name], "__spec__", None)
    found, path = None, None
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        found = next((spec for finder in sys.meta_path if hasattr(finder, "find_spec")
                      and (spec := finder.find_spec(name, path)) is not None), None)
        if found is None:
            return None
        path = found.submodule_search_locations
        if path is None and depth < len(parts):
            return None
    return found


def _compact(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)


def _command(spec: str) -> list[str]:
    line = spec[len(COMMAND_PREFIX):]
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise AgentSpecError(f"agent {spec!r}: cannot split the command line: {exc}") from None
    if not argv:
        raise AgentSpecError(f"agent {spec!r}: no command after {COMMAND_PREFIX!r}; "
                             f"e.g. --agent '{COMMAND_PREFIX}node docs/examples/agent.js'")
    return argv


def _load(spec: str) -> Callable[..., Any]:
    if spec in BUILTIN_AGENTS:
        return _from_module(BUILTIN_AGENTS[spec], spec)
    if ":" in spec:
        where, _, name = spec.rpartition(":")
        if where.endswith(".py"):
            return _from_file(Path(where), name, spec)
        return _from_module(spec, spec)
    entries = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for entry in entries:
        if entry.name == spec:
            try:
                target: Any = entry.load()
            except Exception as exc:  # whatever the plugin raises, say which one
                raise AgentSpecError(f"agent {spec!r}: entry point {entry.value!r} of group "
                                     f"'{ENTRY_POINT_GROUP}' failed to load: {type(exc).__name__}: {exc}") from exc
            if not callable(target):
                raise AgentSpecError(f"agent {spec!r}: entry point {entry.value!r} is not a class or function")
            loaded: Callable[..., Any] = target
            return loaded
    raise _unknown(spec, entries)


def _unknown(spec: str, entries: importlib.metadata.EntryPoints) -> AgentSpecError:
    from ..envs.errors import did_you_mean  # here: blastradius.envs takes 0.5 s to import

    known = [*BUILTIN_AGENTS, *(e.name for e in entries)]
    return AgentSpecError(
        f"unknown agent {spec!r}: not a built-in ({', '.join(BUILTIN_AGENTS)}), not {COMMAND_PREFIX}<command>, "
        f"module:Class or file.py:Class, and no entry point of that name in group '{ENTRY_POINT_GROUP}'."
        f"{did_you_mean(spec, known)}")


def _from_module(path: str, spec: str) -> Callable[..., Any]:
    module_name, _, name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AgentSpecError(f"agent {spec!r}: cannot import module {module_name!r}: {exc}") from exc
    except Exception as exc:  # a user's module that raises on import
        raise AgentSpecError(f"agent {spec!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}") from exc
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
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # a user's file that does not run
        del sys.modules[module_name]
        raise AgentSpecError(f"agent {spec!r}: running {str(path)!r} raised {type(exc).__name__}: {exc}") from exc
    return _attribute(module, name, spec)


def _attribute(module: Any, name: str, spec: str) -> Callable[..., Any]:
    target: Any = getattr(module, name, None)
    if target is None:
        from ..envs.errors import did_you_mean  # here: blastradius.envs takes 0.5 s to import

        names = [n for n in dir(module) if not n.startswith("_")]
        raise AgentSpecError(f"agent {spec!r}: {module.__name__} has no {name!r}.{did_you_mean(name, names)}")
    if not callable(target):
        raise AgentSpecError(f"agent {spec!r}: {name!r} is not a class or function")
    made: Callable[..., Any] = target
    return made
