"""Provenance: what code each agent of a run was, and fingerprints of what the run recorded.

A leaderboard row is only worth what a reader can tell about it: which code played, and
whether the numbers are the ones the run wrote. ``run.json`` records both:

* ``agents``: for each agent label, its kind (`blastradius.agents.loader.AGENT_KINDS`: ``oracle``
  for the family's own scripted paths, ``reference`` and ``reckless``), its spec, and the sha256
  of its code (`agent_provenance`). One file's hash is the plain sha256 of
  its bytes (``sha256sum agent.py`` gives the same); several files' is the sha256 of their
  ``sha256sum``-style lines (``<hex>  <name>\\n``, in the order of ``files``), so each file can be
  checked by hand too. Package version, git commit, scorer and severity versions and whether
  the run was sealed are run-wide keys of ``run.json`` already.
* ``content_sha256``: written when the run ends, the sha256 of each line of
  ``episodes.jsonl`` (its exact bytes, newline aside) by episode key and of ``summary.json``
  (`content_hashes`), so that an edit is caught before any replay (`blastradius.bench.verify`).
  They are fingerprints against casual edits, not signatures: whoever rewrites the records can
  rewrite the hashes, which is what replaying the episodes catches.

`row_provenance` turns a ``run.json`` into what the leaderboard shows on each agent's row.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..agents.loader import agent_code
from ..envs.scoring import SCORER_VERSION, SEVERITY_VERSION
from .episode import env_id
from .storage import SCHEMA_VERSION, episode_lines

if TYPE_CHECKING:
    from ..envs.scenarios import Family
    from .run_config import RunConfig

__all__ = ["RowProvenance", "agent_provenance", "agents_provenance", "content_hashes", "file_sha256",
           "row_provenance", "run_info"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, as ``sha256sum`` prints it."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _shown(path: Path, builtin: bool) -> str:
    """A file's name as recorded: a built-in's as ``blastradius/...`` (the same on every
    machine), any other as given."""
    if builtin:
        return "blastradius/" + path.resolve().relative_to(_PACKAGE_ROOT).as_posix()
    return str(path)


def agent_provenance(spec: str) -> dict[str, Any]:
    """``{"kind", "spec", "code_sha256", "files": [{"path", "sha256"}]}`` for an agent spec.

    Raises:
        blastradius.agents.AgentSpecError: ``spec`` names nothing.
    """
    code = agent_code(spec)
    ours = code.kind in ("builtin", "oracle")
    files = [{"path": _shown(path, ours), "sha256": file_sha256(path)} for path in code.files]
    if len(files) == 1:
        combined = files[0]["sha256"]
    else:
        listing = "".join(f"{entry['sha256']}  {entry['path']}\n" for entry in files)
        combined = hashlib.sha256(listing.encode()).hexdigest()
    return {"kind": code.kind, "spec": spec, "code_sha256": combined, "files": files}


def agents_provenance(specs: tuple[str, ...], labels: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """`agent_provenance` of each spec, by its label (the same spec's code is hashed once)."""
    by_spec: dict[str, dict[str, Any]] = {}
    for spec in specs:
        if spec not in by_spec:
            by_spec[spec] = agent_provenance(spec)
    return {label: by_spec[spec] for spec, label in zip(specs, labels, strict=True)}


def content_hashes(run_dir: Path) -> dict[str, Any]:
    """``{"episodes": {key: sha256 of its line}, "summary": sha256 of summary.json}``.

    Raises:
        ValueError: a line of ``episodes.jsonl`` is not a JSON object with a ``key`` (the run
            wrote every line itself, so this is a bug or a change made during the run).
    """
    episodes: dict[str, str] = {}
    for line in episode_lines(run_dir):
        key = line.record.get("key") if line.record is not None else None
        if not isinstance(key, str):
            raise ValueError(f"episodes.jsonl line {line.number} {line.problem or 'is an episode record with no key'}")
        episodes[key] = hashlib.sha256(line.raw).hexdigest()
    return {"episodes": episodes, "summary": file_sha256(run_dir / "summary.json")}


@dataclass(frozen=True)
class RowProvenance:
    """Where one run's episodes of an agent come from, as its leaderboard row shows it.

    ``kind`` is ``"unknown"`` and ``code_sha256`` empty for a run whose ``run.json`` does not
    record the agent (made before provenance was recorded).
    """

    sealed: bool
    kind: str
    code_sha256: str
    package_version: str
    git_commit: str
    scorer_version: str
    severity_version: str


def row_provenance(run_json: Mapping[str, Any], label: str) -> RowProvenance:
    """The `RowProvenance` of agent ``label`` in the run that wrote ``run_json``."""
    entry = (run_json.get("agents") or {}).get(label, {})
    commit = str(run_json.get("git_commit") or "unknown")
    if run_json.get("git_dirty"):
        commit += "+dirty"  # uncommitted changes: the commit alone does not say what ran
    return RowProvenance(
        # Sealed as published numbers need it: its agents also ran as an unprivileged user (a
        # sealed agent running as the harness's own user could read the run folder).
        sealed=bool(run_json.get("sealed", False)) and bool((run_json.get("isolation") or {}).get("unprivileged")),
        kind=str(entry.get("kind", "unknown")),
        code_sha256=str(entry.get("code_sha256", "")),
        package_version=str(run_json.get("package_version", "unknown")),
        git_commit=commit,
        scorer_version=str(run_json.get("scorer_version", "unknown")),
        severity_version=str(run_json.get("severity_version", "unknown")),
    )


def run_info(config: RunConfig, families: dict[str, Family], argv: Sequence[str],
             agents: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """What ``run.json`` records when a run starts: versions, platform, command line, config and
    agents (``agents``: their provenance by label, for agents that are no spec of
    `blastradius.agents.loader`, as a driven episode's: `blastradius.bench.driven`)."""
    commit, dirty = _git()
    return {
        "schema_version": SCHEMA_VERSION,
        "package_version": _version("blastradius-bench"),
        "scorer_version": SCORER_VERSION,
        "severity_version": SEVERITY_VERSION,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in ("gymnasium", "numpy", "tabulate", "openai")},
        "argv": list(argv),
        "config": config.recorded(),
        "config_hash": config.digest(),
        "agents": agents if agents is not None else agents_provenance(config.agents, config.labels()),
        "env_ids": {family.id: env_id(family) for family in families.values()},
        "seeds": list(config.seeds),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def _git() -> tuple[str | None, bool | None]:
    """The checkout's commit and whether it has uncommitted changes (None outside a checkout)."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True,
                               timeout=5, check=True).stdout.strip() != ""
        return commit, dirty
    except (OSError, subprocess.SubprocessError):
        return None, None
