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
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .recordable import dumps

__all__ = ["RunFolder", "SCHEMA_VERSION", "load_schema", "read_episodes"]

SCHEMA_VERSION = 1
_SCHEMAS = Path(__file__).parent / "schemas"


# What one file or line of a run folder may hold. A legitimate episode stays far below these
# (its actions are already bounded step by step: `blastradius.bench.episode`); they bound what
# an agent makes of its own error message, traceback or transcript.
_RECORD_CHARS = 4 * 2**20
_TRAJECTORY_CHARS = 16 * 2**20
_FILE_CHARS = 64 * 2**20
_STRING_CHARS = 64 * 2**10


def _json(value: Any, max_chars: int = _FILE_CHARS, indent: int | None = None) -> str:
    """Strict JSON of ``value``, whatever an agent put in it, bounded to ``max_chars`` with
    visible cut markers (`blastradius.bench.recordable`)."""
    return dumps(value, max_chars, _STRING_CHARS, indent)


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
        """Write the trajectory, then the episode line: a line on disk always has its trajectory.

        Both are made into text before either is written, so a failure writes neither.
        """
        name = _file_name(record["key"])
        text, line = _json(trajectory, _TRAJECTORY_CHARS), _json(record, _RECORD_CHARS)
        (self.path / "trajectories" / name).write_text(text + "\n")
        with open(self.path / "episodes.jsonl", "a") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    def trajectory(self, key: str) -> dict[str, Any]:
        return json.loads((self.path / "trajectories" / _file_name(key)).read_text())


def read_episodes(path: Path, on_torn: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """The episode records of a run folder, strictly.

    Only a torn last line (a run killed while writing it: no newline, not JSON) is skipped, and
    reported: its message goes to ``on_torn``, or is issued as a warning when that is None. Any
    other line that is not a JSON object raises ValueError naming its line number, so an edited
    or damaged record can never silently drop out of a leaderboard.
    """
    return list(_lines(path / "episodes.jsonl", on_torn))


def _lines(path: Path, on_torn: Callable[[str], None] | None) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    text = path.read_text()
    # Lines end at "\n" only: a record's strings may hold other line breaks (U+2028...).
    lines = text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines) and not text.endswith("\n"):
                message = (f"{path}: skipped the torn last line {number} (the run was stopped while "
                           "writing it); resume or rerun the run to get that episode")
                if on_torn is None:
                    warnings.warn(message, stacklevel=3)
                else:
                    on_torn(message)
                return
            raise ValueError(f"{path}: line {number} is not valid JSON ({exc.msg} at column {exc.colno}); "
                             "only a torn last line may be skipped, so restore or remove this line") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}: line {number} is a JSON {type(record).__name__}, not an episode record")
        yield record


def _file_name(key: str) -> str:
    """A readable, bounded file name for an episode key (agent specs can be long paths)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "__", key)
    if len(readable) <= 120:
        return readable + ".json"
    return f"{readable[:100]}-{zlib.crc32(key.encode()):08x}.json"


def load_schema(name: str) -> dict[str, Any]:
    """A shipped JSON Schema: ``run``, ``episode``, ``trajectory`` or ``summary``."""
    return json.loads((_SCHEMAS / f"{name}.schema.json").read_text())
