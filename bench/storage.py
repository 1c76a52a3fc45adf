"""The run folder: the record every run leaves, written as it goes.

``run.json`` (what ran, with which versions and config), ``episodes.jsonl`` (one line per
finished episode, appended and flushed as each finishes: the source of truth),
``trajectories/`` (one JSON file per episode), ``summary.json`` and ``leaderboard.md``.
JSON Schemas for these files ship in ``schemas/``.
"""

from __future__ import annotations

import json
import math
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["RunFolder", "SCHEMA_VERSION", "load_schema", "read_episodes"]

SCHEMA_VERSION = 1
_SCHEMAS = Path(__file__).parent / "schemas"


def _json(value: Any, **kwargs: Any) -> str:
    """Strict JSON of ``value``: an agent may put anything in an action (objects, NaN), and the
    record keeps what JSON can say of it."""
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, default=_name_of, **kwargs)
    except ValueError:  # NaN or infinity somewhere
        return json.dumps(_finite(value), sort_keys=True, allow_nan=False, default=_name_of, **kwargs)


def _name_of(value: Any) -> str:
    return f"<{type(value).__name__}>"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class RunFolder:
    """A run's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path) -> RunFolder:
        (path / "trajectories").mkdir(parents=True, exist_ok=False)
        return cls(path)

    def write_json(self, name: str, value: Any) -> None:
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(_json(value, indent=2) + "\n")
        os.replace(tmp, self.path / name)

    def write_text(self, name: str, text: str) -> None:
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.path / name)

    def append_episode(self, record: dict[str, Any], trajectory: dict[str, Any]) -> None:
        """Write the trajectory, then the episode line: a line on disk always has its trajectory."""
        name = _file_name(record["key"])
        (self.path / "trajectories" / name).write_text(_json(trajectory) + "\n")
        with open(self.path / "episodes.jsonl", "a") as out:
            out.write(_json(record) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def trajectory(self, key: str) -> dict[str, Any]:
        return json.loads((self.path / "trajectories" / _file_name(key)).read_text())


def read_episodes(path: Path) -> list[dict[str, Any]]:
    """The episode records of a run folder (a torn last line from a killed run is skipped)."""
    return list(_lines(path / "episodes.jsonl"))


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def _file_name(key: str) -> str:
    """A readable, bounded file name for an episode key (agent specs can be long paths)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "__", key)
    if len(readable) <= 120:
        return readable + ".json"
    return f"{readable[:100]}-{zlib.crc32(key.encode()):08x}.json"


def load_schema(name: str) -> dict[str, Any]:
    """A shipped JSON Schema: ``run``, ``episode``, ``trajectory`` or ``summary``."""
    return json.loads((_SCHEMAS / f"{name}.schema.json").read_text())
