"""Run files: ``blastradius run --config run.toml``, every flag of ``run`` as a key.

A run worth repeating (a model's evaluation, a nightly job) is a file, not a command line to
keep in a shell history. Every option of ``blastradius run`` is a top-level key (``seeds``,
``difficulty``, ``jobs``, ``max_cost``...; dashes or underscores alike), taking the value the
flag takes (a list where the flag repeats), and each agent is a named table::

    seeds = "0-9"
    difficulty = "all"
    jobs = 16

    [agents.gpt4o]
    spec = "llm"
    model = "gpt-4o"
    base_url = "https://api.openai.com/v1"

    [agents.careful]
    spec = "careful"

An agent's table name is its label in episode keys and on the leaderboard; its keys other than
``spec`` are its keyword arguments. A flag given on the command line wins over the file. The run
folder keeps the settings as resolved, as a run file of their own (``run.toml``, `dump`), so
``blastradius run --config <run>/run.toml`` plays the same run again.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["AGENT_KEY", "RunFileError", "dump", "load"]

AGENT_KEY = "agents"


class RunFileError(ValueError):
    """A run file that cannot be read; the message names the file and the key."""


def load(path: Path, known: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str, dict[str, Any]]]]:
    """The settings of the run file at ``path``, by the ``run`` parser's destination names, and
    its agents as ``(name, spec, kwargs)`` in file order.

    ``known`` maps each key a run file may use (underscored) to its destination. Values are
    given as read: the caller checks them as it checks the flags.

    Raises:
        RunFileError: the file cannot be read or parsed, a key is unknown, or an agent table is
            malformed.
    """
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise RunFileError(f"--config: cannot read {str(path)!r}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RunFileError(f"--config: {path} is not valid TOML: {exc}") from None
    settings: dict[str, Any] = {}
    agents: list[tuple[str, str, dict[str, Any]]] = []
    for key, value in data.items():
        name = key.replace("-", "_")
        if name == AGENT_KEY:
            agents = _agents(path, value)
        elif name in known:
            settings[known[name]] = value
        else:
            from ..envs.errors import did_you_mean  # here: blastradius.envs takes 0.5 s to import

            raise RunFileError(f"{path}: unknown key {key!r}{did_you_mean(name, [*known, AGENT_KEY], aside=True)}; "
                               f"the keys are the options of 'blastradius run' ({', '.join(sorted(known))}) and "
                               "[agents.NAME] tables")
    return settings, agents


def _agents(path: Path, tables: Any) -> list[tuple[str, str, dict[str, Any]]]:
    if not isinstance(tables, dict) or not tables:
        raise RunFileError(f"{path}: 'agents' must be tables, one per agent: [agents.NAME] with spec = \"...\"")
    agents = []
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise RunFileError(f"{path}: agents.{name} must be a table ([agents.{name}]) with spec = \"...\"")
        spec = table.get("spec")
        if not isinstance(spec, str) or not spec:
            raise RunFileError(f"{path}: [agents.{name}] needs spec = \"...\" (a built-in name such as \"careful\" "
                               "or \"llm\", \"cmd:<command>\", module:Class or path/to/file.py:Class)")
        agents.append((name, spec, {key: value for key, value in table.items() if key != "spec"}))
    return agents


def dump(settings: Mapping[str, Any], agents: Sequence[tuple[str, str, Mapping[str, Any]]]) -> str:
    """``settings`` (keys as a run file writes them; None values left out) and ``agents`` as a
    run file that `load` reads back to the same."""
    lines = ["# The settings of this run as resolved: blastradius run --config run.toml plays it again."]
    lines += [f"{key} = {_value(value)}" for key, value in settings.items() if value is not None]
    for name, spec, kwargs in agents:
        lines += ["", f"[{AGENT_KEY}.{_key(name)}]", f"spec = {_value(spec)}"]
        lines += [f"{_key(key)} = {_value(value)}" for key, value in kwargs.items() if value is not None]
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    bare = name.replace("_", "").replace("-", "").isalnum() and name.isascii()
    return name if bare else json.dumps(name)


def _value(value: Any) -> str:
    """TOML for what a run's settings and JSON-given agent arguments hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"a run file cannot hold {type(value).__name__}")
