"""The run folder: the record every run leaves, written as it goes.

``run.json`` (what ran, with which versions and config), ``episodes.jsonl`` (one line per
finished episode, appended and flushed as each finishes: the source of truth),
``trajectories/`` (one JSON file per episode), ``summary.json`` and ``leaderboard.md``.
JSON Schemas for these files ship in ``schemas/``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["RunFolder", "SCHEMA_VERSION", "load_schema", "read_episodes"]

SCHEMA_VERSION = 1
_SCHEMAS = Path(__file__).parent / "schemas"


def _json(value: Any, **kwargs: Any) -> str:
    # An agent may put anything in an action; the record keeps what JSON can say of it.
    return json.dumps(value, sort_keys=True, default=lambda o: f"<{type(o).__name__}>", **kwargs)


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
    return re.sub(r"[^A-Za-z0-9_.-]+", "__", key) + ".json"


def load_schema(name: str) -> dict[str, Any]:
    """A shipped JSON Schema: ``run``, ``episode``, ``trajectory`` or ``summary``."""
    return json.loads((_SCHEMAS / f"{name}.schema.json").read_text())
