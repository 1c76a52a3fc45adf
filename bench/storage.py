"""The run folder: the record every run leaves, written as it goes.

``run.json`` (what ran, with which versions and config), ``episodes.jsonl`` (one line per
finished episode, appended and flushed as each finishes: the source of truth),
``trajectories/`` (one JSON file per episode), ``summary.json`` and ``leaderboard.md``.
JSON Schemas for these files ship in ``schemas/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .recordable import dumps

__all__ = ["EpisodeLine", "RunFolder", "SCHEMA_VERSION", "SECRET_FILE", "Stored", "episode_lines", "load_schema",
           "read_episodes", "stored"]

SCHEMA_VERSION = 1
SECRET_FILE = ".secret"
"""Where a sealed run keeps its secret while it goes on (readable by the harness only), so that
a run killed outright can still be resumed; removed when ``run.json`` gets the secret."""
_SCHEMAS = Path(__file__).parent / "schemas"


_SYNC_SECONDS = 1.0
"""How often ``episodes.jsonl`` is forced to the disk. A flushed line survives the run being killed
(the kernel has it); only a crash of the machine itself can lose the last second's lines, which
``--resume`` then plays again. An fsync per line would cost a 10,000-episode run seconds."""

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


class Stored(NamedTuple):
    """An episode made ready to store (`stored`): its record, the JSON of its line in
    ``episodes.jsonl``, and that of its trajectory file."""

    record: dict[str, Any]
    line: str
    trajectory: str


def stored(record: dict[str, Any], trajectory: dict[str, Any]) -> Stored:
    """``record`` and ``trajectory`` made into the text `RunFolder.append` writes. Where the
    episode was played (a pool's process, a Ray task), so that a run's writer only writes: most of
    what storing an episode costs is making its trajectory into JSON."""
    return Stored(record, _json(record, _RECORD_CHARS), _json(trajectory, _TRAJECTORY_CHARS))


class RunFolder:
    """A run's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Episodes run at once (``--jobs``) append from their own threads: one line at a time.
        self._appending = threading.Lock()
        self._synced = float("-inf")

    @classmethod
    def create(cls, path: Path) -> RunFolder:
        (path / "trajectories").mkdir(parents=True, exist_ok=False)
        (path / "episodes.jsonl").touch()  # a run killed before its first episode is still a run folder
        return cls(path)

    def write_json(self, name: str, value: Any) -> None:
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(_json(value, indent=2) + "\n")
        os.replace(tmp, self.path / name)

    def write_private(self, name: str, text: str) -> None:
        """Write ``name`` readable and writable by this user only, from its creation on."""
        path = self.path / name
        path.unlink(missing_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(text)

    def remove(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)

    def write_text(self, name: str, text: str) -> None:
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.path / name)

    def append_episode(self, record: dict[str, Any], trajectory: dict[str, Any]) -> None:
        """Write the trajectory, then the episode line: a line on disk always has its trajectory.

        Both are made into text before either is written, so a failure writes neither.
        """
        self.append(stored(record, trajectory))

    def append(self, episode: Stored) -> None:
        """Write an episode made into text by `stored`: its trajectory file, then its line."""
        (self.path / "trajectories" / _file_name(episode.record["key"])).write_text(episode.trajectory + "\n")
        with self._appending, open(self.path / "episodes.jsonl", "a") as out:
            out.write(episode.line + "\n")
            out.flush()  # in the kernel now: a killed run keeps the line
            now = time.monotonic()
            if now - self._synced >= _SYNC_SECONDS:
                os.fsync(out.fileno())
                self._synced = now

    def trajectory(self, key: str) -> dict[str, Any]:
        path = self.path / "trajectories" / _file_name(key)
        if not path.exists():  # a folder written before names had a hash (blastradius 0.1)
            readable = re.sub(r"[^A-Za-z0-9_.-]+", "__", key)
            path = path.with_name(f"{readable}.json" if len(readable) <= 120 else
                                  f"{readable[:100]}-{zlib.crc32(key.encode()):08x}.json")
        trajectory: dict[str, Any] = json.loads(path.read_text())
        return trajectory


class EpisodeLine(NamedTuple):
    """One line of ``episodes.jsonl`` as written.

    Attributes:
        number: its line number, from 1.
        raw: its exact bytes, without the newline: what ``run.json`` fingerprints.
        record: the episode record, or None when the line is not a JSON object.
        problem: why it is not (empty when it is).
        torn: it is the last line and has no newline: the run was stopped while writing it.
    """

    number: int
    raw: bytes
    record: dict[str, Any] | None
    problem: str
    torn: bool


def episode_lines(path: Path) -> list[EpisodeLine]:
    """Every line of the run folder ``path``'s ``episodes.jsonl`` (none if it has none): the one
    reading of that file that records, fingerprints and replays all share."""
    file = path / "episodes.jsonl"
    data = file.read_bytes() if file.exists() else b""
    # Lines end at "\n" only: a record's strings may hold other line breaks (U+2028...).
    raws = data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n") if data else []
    lines = []
    for number, raw in enumerate(raws, start=1):
        torn = number == len(raws) and not data.endswith(b"\n")
        try:
            record = json.loads(raw)
        except ValueError as exc:
            where = f" ({exc.msg} at column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            lines.append(EpisodeLine(number, raw, None, f"is not valid JSON{where}", torn))
            continue
        if not isinstance(record, dict):
            lines.append(EpisodeLine(number, raw, None, f"is a JSON {type(record).__name__}, not an episode record",
                                     torn))
            continue
        lines.append(EpisodeLine(number, raw, record, "", torn))
    return lines


def read_episodes(path: Path, on_torn: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """The episode records of a run folder, strictly.

    Only a torn last line (a run killed while writing it: no newline, not JSON) is skipped, and
    reported: its message goes to ``on_torn``, or is issued as a warning when that is None. Any
    other line that is not a JSON object raises ValueError naming its line number, so an edited
    or damaged record can never silently drop out of a leaderboard.
    """
    records = []
    file = path / "episodes.jsonl"
    for line in episode_lines(path):
        if line.record is not None:
            records.append(line.record)
        elif line.torn and line.problem.startswith("is not valid JSON"):
            message = (f"{file}: skipped the torn last line {line.number} (the run was stopped while "
                       "writing it); resume or rerun the run to get that episode")
            if on_torn is None:
                warnings.warn(message, stacklevel=2)
            else:
                on_torn(message)
        else:
            raise ValueError(f"{file}: line {line.number} {line.problem}; only a torn last line may be skipped, "
                             "so restore or remove this line")
    return records


def _file_name(key: str) -> str:
    """A readable, bounded file name for an episode key (agent specs can be long paths), unique
    to the key: the readable part folds characters together (``/`` and ``__`` both become
    ``__``), so a hash of the key itself tells such keys apart."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "__", key)[:100]
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:10]}.json"


def load_schema(name: str) -> dict[str, Any]:
    """A shipped JSON Schema: ``run``, ``episode``, ``trajectory`` or ``summary``."""
    schema: dict[str, Any] = json.loads((_SCHEMAS / f"{name}.schema.json").read_text())
    return schema
