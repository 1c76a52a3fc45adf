"""``blastradius run --resume RUN_DIR``: finish a run that stopped, from its own recorded settings.

A run may stop anywhere: Ctrl-C, SIGTERM, its cost bound, or killed outright (SIGKILL, a power
cut) between any two bytes. Its folder then holds every episode whose line reached
``episodes.jsonl`` (a line is written after its trajectory, and flushed), perhaps a torn last
line, and a ``run.json`` marked ``"complete": false`` or not marked at all. Resuming plays the
episodes of the recorded config whose key has no line, into the same folder, and writes the
summary, leaderboard and fingerprints anew; the episodes are the ones an uninterrupted run
plays, so the folder ends up as that run's, its lines in another order.

``retry_errors`` also plays again the episodes that errored or timed out (an endpoint down for
an hour), replacing their lines. A run is resumed only with the scorer and the agents' code that
began it (`blastradius.bench.leaderboard.mismatches`): anything else would pool two different
measurements under one config.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from . import leaderboard
from .runner import Execution, Monitor, RunOutcome, agent_factories, check_execution, families_of, play_into, run_info
from .runs import RunFolderError, config_of, read_run_json
from .sealed import isolation
from .sealing import parse_secret
from .storage import SECRET_FILE, RunFolder, episode_lines

__all__ = ["recorded_execution", "resume"]


def recorded_execution(info: dict[str, Any]) -> Execution:
    """How the run of ``run.json`` ``info`` was executed (the defaults for a run from before
    ``execution`` was recorded)."""
    recorded = info.get("execution") or {}
    known = {f.name for f in fields(Execution)}
    return Execution(**{key: value for key, value in recorded.items() if key in known})


def resume(path: Path, execution: Execution | None = None, retry_errors: bool = False, argv: Sequence[str] = (),
           monitor: Monitor | None = None) -> RunOutcome:
    """Play the episodes the run folder ``path`` lacks (and, with ``retry_errors``, those that
    failed) with the run's recorded config, and ``execution`` (None: as recorded).

    Raises:
        RunFolderError: ``path`` is not a run folder, its config cannot be rebuilt, a sealed
            run's secret is lost, or the scorer or an agent's code changed since it began.
    """
    info = read_run_json(path)
    config = config_of(info)
    if config.sealed:
        config = replace(config, secret=_secret(path, info))
    families = families_of(config)
    now = run_info(config, families, argv)
    changed = leaderboard.mismatches([("the run", info), ("this blastradius", now)])
    if changed:
        raise RunFolderError(f"{path} cannot be resumed as it began: {'; '.join(changed)}. Resume it with the "
                             "blastradius and agents that began it, or start a new run")
    execution = execution or recorded_execution(info)
    check_execution(config, execution)
    kept = _repair(path, retry_errors)
    where = isolation() if config.sealed else None
    factories = agent_factories(config, where)
    info = {key: value for key, value in info.items() if key not in ("content_sha256", "stopped")}
    info["execution"] = asdict(execution)
    info["resumed"] = [*info.get("resumed", []), {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "argv": list(argv),
        "episodes_kept": len(kept), "retry_errors": retry_errors}]
    return play_into(RunFolder(path), config, info, kept, execution, monitor, where, factories)


def _secret(path: Path, info: dict[str, Any]) -> str:
    """A sealed run's secret: in ``run.json`` once the run has ended, in its private file while
    it goes on (and after it was killed outright)."""
    text = info.get("secret")
    if not text and (path / SECRET_FILE).is_file():
        text = (path / SECRET_FILE).read_text()
    if not text:
        raise RunFolderError(f"{path} is a sealed run whose secret is lost (neither run.json nor {SECRET_FILE} "
                             "has it): its worlds cannot be rebuilt; start a new run")
    try:
        return parse_secret(text)
    except ValueError as exc:
        raise RunFolderError(f"{path}: the sealed run's secret is damaged: {exc}") from None


def _repair(path: Path, retry_errors: bool) -> dict[str, dict[str, Any]]:
    """The records to keep, by key, with ``episodes.jsonl`` rewritten to hold exactly them when
    it held more: a torn last line (the run was killed while writing it) and, with
    ``retry_errors``, the failed episodes' lines.

    Raises:
        RunFolderError: a line other than the last is damaged, or a key is there twice.
    """
    kept: dict[str, dict[str, Any]] = {}
    raws: list[bytes] = []
    dropped = False
    for line in episode_lines(path):
        dropped = dropped or line.torn  # even a whole record without its newline: the next line would join it
        if line.record is None:
            if line.torn:
                continue
            raise RunFolderError(f"{path / 'episodes.jsonl'}: line {line.number} {line.problem}; restore or remove "
                                 "it, then resume")
        key = str(line.record.get("key"))
        if key in kept:
            raise RunFolderError(f"{path / 'episodes.jsonl'}: episode {key!r} is there twice; remove one line, then "
                                 "resume")
        if retry_errors and line.record.get("status") != "completed":
            dropped = True
            continue
        kept[key] = line.record
        raws.append(line.raw)
    if dropped:
        tmp = path / ".episodes.jsonl.tmp"
        with open(tmp, "wb") as out:
            out.write(b"".join(raw + b"\n" for raw in raws))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path / "episodes.jsonl")
    return kept
