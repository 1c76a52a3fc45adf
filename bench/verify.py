"""``blastradius verify RUN_DIR``: check that a run folder says what its episodes really did.

Two passes, on the folder alone (a copy on another machine verifies as well as the original):

1. **Fingerprints.** Each line of ``episodes.jsonl`` and ``summary.json`` against the sha256
   that ``run.json`` recorded when the run ended (`blastradius.bench.provenance.content_hashes`):
   a changed line, a missing or an extra episode, a changed summary. Cheap, and catches a casual
   edit before any replay.
2. **Replay.** Every episode is rebuilt from the run's recorded settings (the config's family,
   difficulty, seed, chaos and size; the world from `blastradius.bench.sealing.world_seed` of the
   run's secret and the seed), its recorded actions are replayed into a fresh env exactly as
   `blastradius.bench.episode.run_episode` played them, and everything the env decides must
   match the record byte for byte (as canonical JSON): the briefing (and the family's documented
   consequence, in runs that record it), each step's observation, tool, action error and clock,
   the step count, the end flags, the reward, the score and its explanation, and the health
   timeline. An episode that errored or timed out replays the steps it recorded. Last,
   ``summary.json`` must be what `blastradius.bench.stats.summarise` makes of the records.

What the env does not decide (durations, the agent's reported usage, an error's traceback) is
covered by the fingerprints only. The fingerprints are not signatures: whoever rewrites the
records can rewrite them too, which is what the replay catches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..envs import BlastRadiusEnv
from ..envs.scenarios import Family
from ..envs.scenarios.loader import FamilySpecError
from . import stats
from .episode import env_id, score_as_it_stands
from .provenance import file_sha256
from .run_config import RunConfig, episodes_of, families_of
from .runs import RunFolderError, config_of, read_run_json
from .sealing import parse_secret, world_seed
from .storage import EpisodeLine, RunFolder, episode_lines

__all__ = ["EpisodeCheck", "Verdict", "render", "verify"]

_MOST_DIFFS = 5  # per episode: past the first differences, the rest follow from them


@dataclass
class EpisodeCheck:
    """One episode's result: ``problems`` is empty when it verified."""

    key: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """The whole folder's result: problems of the run, of each episode, and of the summary."""

    run_problems: list[str] = field(default_factory=list)
    episodes: dict[str, EpisodeCheck] = field(default_factory=dict)
    summary_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.run_problems or self.summary_problems
                    or any(check.problems for check in self.episodes.values()))

    def episode(self, key: str) -> EpisodeCheck:
        return self.episodes.setdefault(key, EpisodeCheck(key))


def verify(path: Path) -> Verdict:
    """Check the run folder at ``path`` (see the module docstring).

    Raises:
        RunFolderError: ``path`` is not a run folder, or its config or families cannot be
            rebuilt here (e.g. a custom family's file is not where the run found it).
    """
    info = read_run_json(path)
    config = config_of(info)
    try:
        families = families_of(config)
    except FamilySpecError as exc:
        raise RunFolderError(f"cannot rebuild the run's families: {exc}") from None
    verdict = Verdict()
    lines = _records(episode_lines(path), verdict)
    _check_fingerprints(path, info, lines, verdict)
    records = {key: line.record for key, line in lines.items() if line.record is not None}
    planned = {spec.key for spec in episodes_of(config)}
    for key in sorted(planned - set(records)):
        if not verdict.episode(key).problems:  # not already missing from the fingerprints
            verdict.episode(key).problems.append("planned by the run's config but not in episodes.jsonl")
    secret, replayable = _secret(info, verdict)
    folder = RunFolder(path)
    for key, record in records.items():
        check = verdict.episode(key)
        if key not in planned:
            check.problems.append("not an episode the run's config plans")
            continue
        family = families.get(str(record.get("family")))
        problems = _fields(record, key, config, family)
        if not replayable:
            problems.append("not replayed: the run's worlds cannot be rebuilt (see above)")
        elif not problems and family is not None:
            problems = _replay(record, _trajectory(folder, key), family, config, secret)
        check.problems += problems[:_MOST_DIFFS] + (
            [f"... and {len(problems) - _MOST_DIFFS} more differences"] if len(problems) > _MOST_DIFFS else [])
    _check_summary(path, list(records.values()), verdict)
    return verdict


def render(verdict: Verdict) -> str:
    """The verdict as text: run problems, one line per episode (ok, or FAIL and its diffs), the
    summary, and a count."""
    lines = [f"run: {problem}" for problem in verdict.run_problems]
    for key in sorted(verdict.episodes):
        check = verdict.episodes[key]
        lines.append(f"{'ok  ' if not check.problems else 'FAIL'}  {key}")
        lines += [f"        {problem}" for problem in check.problems]
    lines += [f"summary.json: {problem}" for problem in verdict.summary_problems] or ["summary.json: ok"]
    failed = sum(1 for check in verdict.episodes.values() if check.problems)
    lines.append(f"{len(verdict.episodes)} episodes: {len(verdict.episodes) - failed} ok, {failed} failed; "
                 + ("verified" if verdict.ok else "NOT verified"))
    return "\n".join(lines) + "\n"


# -- the passes -----------------------------------------------------------------------------------


def _records(lines: list[EpisodeLine], verdict: Verdict) -> dict[str, EpisodeLine]:
    """The episode lines with a record, by key; every other line is a problem."""
    records: dict[str, EpisodeLine] = {}
    for line in lines:
        key = line.record.get("key") if line.record is not None else None
        if not isinstance(key, str):
            verdict.run_problems.append(f"episodes.jsonl line {line.number} "
                                        f"{line.problem or 'is an episode record with no key'}")
        elif key in records:
            verdict.episode(key).problems.append(f"recorded twice (again on line {line.number})")
        else:
            records[key] = line
    return records


def _check_fingerprints(path: Path, info: dict[str, Any], lines: dict[str, EpisodeLine], verdict: Verdict) -> None:
    hashes = info.get("content_sha256")
    if not isinstance(hashes, dict):
        verdict.run_problems.append("run.json has no content_sha256: the run did not finish, or was written "
                                    "by a blastradius that did not record them")
        return
    episodes = hashes.get("episodes")
    recorded: dict[str, Any] = episodes if isinstance(episodes, dict) else {}
    for key, digest in recorded.items():
        if key not in lines:
            verdict.episode(key).problems.append("missing from episodes.jsonl (run.json recorded it)")
        elif hashlib.sha256(lines[key].raw).hexdigest() != digest:
            verdict.episode(key).problems.append("its line in episodes.jsonl changed since the run "
                                                 "(sha256 differs from run.json's)")
    for key in lines:
        if key not in recorded:
            verdict.episode(key).problems.append("an extra episode: run.json recorded no such line")
    if not (path / "summary.json").is_file():
        verdict.summary_problems.append("missing")
    elif file_sha256(path / "summary.json") != hashes.get("summary"):
        verdict.summary_problems.append("changed since the run (sha256 differs from run.json's)")


def _secret(info: dict[str, Any], verdict: Verdict) -> tuple[str | None, bool]:
    """The run's secret (None for an unsealed run) and whether its worlds can be rebuilt: a sealed
    run without a valid secret is a problem, and nothing of it can be replayed."""
    secret = info.get("secret")
    if secret is None:
        if info.get("sealed"):
            verdict.run_problems.append("a sealed run without its secret in run.json (the run did not finish): "
                                        "its worlds cannot be rebuilt")
            return None, False
        return None, True
    try:
        return parse_secret(str(secret)), True
    except ValueError as exc:
        verdict.run_problems.append(f"run.json's secret: {exc}")
        return None, False


def _fields(record: dict[str, Any], key: str, config: RunConfig, family: Family | None) -> list[str]:
    """What a record says of itself that must agree with its key and the run's config."""
    problems = []
    named = "/".join(str(record.get(name)) for name in ("family", "difficulty", "seed", "trial", "agent"))
    if named != key:
        problems.append(f"its fields name episode {named}, not its key")
    if family is None:
        problems.append(f"family {record.get('family')!r} is not one of the run's")
    elif record.get("env_id") != env_id(family):
        problems.append(f"env_id: recorded {record.get('env_id')!r}, the run's is {env_id(family)!r}")
    if record.get("chaos") != config.chaos:
        problems.append(f"chaos: recorded {record.get('chaos')!r}, the run's config has {config.chaos}")
    if record.get("status") not in stats.STATUSES:
        problems.append(f"status: {record.get('status')!r} is not one of {', '.join(stats.STATUSES)}")
    return problems


_BUDGET_BEFORE_FAMILIES = 100
"""Every episode's step budget before each family had its own: a record without ``max_steps`` had it."""


def _trajectory(folder: RunFolder, key: str) -> dict[str, Any] | None:
    try:
        trajectory = folder.trajectory(key)
    except (OSError, ValueError):
        return None
    return trajectory if isinstance(trajectory, dict) else None


def _replay(record: dict[str, Any], trajectory: dict[str, Any] | None, family: Family, config: RunConfig,
            secret: str | None) -> list[str]:
    """The differences between the record and a replay of its actions (empty: it verified)."""
    if trajectory is None:
        return ["its trajectory file is missing or not a JSON object"]
    steps = trajectory.get("steps")
    if not isinstance(steps, list):
        return ["its trajectory has no list of steps"]
    if record["status"] == "error" and not steps and trajectory.get("briefing") == "":
        # The harness itself crashed (see runner._safely): the env recorded nothing to replay.
        return []
    max_steps = record.get("max_steps", _BUDGET_BEFORE_FAMILIES)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        return [f"its max_steps {max_steps!r} is not a step budget (a positive integer)"]
    env = BlastRadiusEnv(family=family, size=config.size, chaos=config.chaos, max_steps=max_steps)
    try:
        env.reset(seed=world_seed(secret, int(record["seed"])), options={"difficulty": record["difficulty"]})
        scenario = env.current_scenario
        problems = _diff("briefing", trajectory.get("briefing"), scenario.briefing)
        if problems:
            return problems + ["not the recorded world (another secret, seed or setting): nothing replayed"]
        reward, terminated, truncated = 0.0, False, False
        for number, step in enumerate(steps, start=1):
            if terminated or truncated:
                return problems + [f"step {number}: recorded after the episode ended"]
            if not isinstance(step, dict) or "action" not in step:
                return problems + [f"step {number}: no action recorded"]
            observation, reward, terminated, truncated, info = env.step(step["action"])
            replayed = {"observation": observation, "tool": info["tool"], "action_error": info["action_error"],
                        "clock_minutes": info["clock_minutes"]}
            problems += _diff(f"step {number}", {name: step.get(name) for name in replayed}, replayed)
            if problems:  # every later step follows from a world that has diverged
                return problems + [f"replay stopped at step {number} of {len(steps)}"]
        problems += _diff("steps", record.get("steps"), len(steps))
        problems += _diff("terminated", record.get("terminated"), terminated)
        problems += _diff("truncated", record.get("truncated"), truncated)
        problems += _diff("reward", record.get("reward"), float(reward))
        scored = env.episode_score() if record["status"] == "completed" else score_as_it_stands(env)
        # An agent that crashed or left is scored as it stands: its steps end nothing.
        if record["status"] == "completed" and not (terminated or truncated):
            problems.append("completed, but the recorded steps do not end the episode")
        problems += _diff("score", record.get("score"), scored.to_dict() if scored else None)
        problems += _diff("explanation", trajectory.get("explanation"), scored.explain() if scored else [])
        world = scenario.world
        timeline = [[point.time - world.start_time, point.resource, point.health] for point in world.ledger.health]
        problems += _diff("health_timeline", trajectory.get("health_timeline"), timeline)
        if "consequence" in trajectory:  # older runs did not record it
            problems += _diff("consequence", trajectory["consequence"], scenario.consequence.description)
        return problems
    except Exception as exc:  # noqa: BLE001 - whatever the replay raises is this episode's finding
        return [f"the replay raised {type(exc).__name__}: {exc}"]
    finally:
        env.close()


def _check_summary(path: Path, records: list[dict[str, Any]], verdict: Verdict) -> None:
    if not (path / "summary.json").is_file():
        return  # already a problem of the fingerprints, or of an unfinished run
    try:
        recorded = json.loads((path / "summary.json").read_text())
        recomputed = stats.summarise(records)
    except ValueError as exc:
        verdict.summary_problems.append(f"cannot be recomputed from the records: {exc}")
        return
    differences = _diff("", recorded, json.loads(json.dumps(recomputed)), "recomputed")
    verdict.summary_problems += [f"not what the records give: {problem}" for problem in differences][:_MOST_DIFFS]


def _diff(where: str, recorded: Any, replayed: Any, how: str = "replayed") -> list[str]:
    """Each leaf where the two differ as canonical JSON, e.g. ``score.damage.total: recorded 3.0,
    replayed 0.0``; empty when they are the same bytes."""
    if _canonical(recorded) == _canonical(replayed):
        return []
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        return [problem for name in sorted(set(recorded) | set(replayed), key=str)
                for problem in _diff(f"{where}.{name}" if where else str(name), recorded.get(name),
                                     replayed.get(name), how)]
    if isinstance(recorded, list) and isinstance(replayed, list) and len(recorded) == len(replayed):
        return [problem for index, (mine, theirs) in enumerate(zip(recorded, replayed, strict=True))
                for problem in _diff(f"{where}[{index}]", mine, theirs, how)]
    if isinstance(recorded, str) and isinstance(replayed, str) and max(len(recorded), len(replayed)) > 80:
        at = next((i for i, (a, b) in enumerate(zip(recorded, replayed, strict=False)) if a != b),
                  min(len(recorded), len(replayed)))
        return [f"{where}: differs from character {at}: recorded {_short(recorded[at:])}, "
                f"{how} {_short(replayed[at:])}"]
    return [f"{where}: recorded {_short(recorded)}, {how} {_short(replayed)}"]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _short(value: Any) -> str:
    text = _canonical(value)
    return text if len(text) <= 80 else text[:77] + "..."
