"""The runner end to end: a run folder whose every file validates against its shipped schema,
the same config giving the same episodes, and agents that crash or return garbage costing only
their own episode.

Misbehaving agents are written to a file in ``tmp_path`` and named ``path/to/file.py:Class``,
the way a user names their own agent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from blastradius.bench.runner import RunConfig, RunOutcome, run
from blastradius.bench.storage import load_schema, read_episodes

FAMILY = "freeze_prod_db"
SMALL = RunConfig(families=(FAMILY,), seeds=(0, 1), agents=("noop", "careful"))

AGENTS_SOURCE = '''
class RaisingAgent:
    def reset(self, briefing):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        if self.steps == 2:
            raise RuntimeError("boom in act")
        return {"name": "whoami", "arguments": {}}


class ResetRaisingAgent:
    def reset(self, briefing):
        raise ValueError("boom in reset")

    def act(self, observation):
        return {"name": "whoami", "arguments": {}}


class NoneAgent:
    def reset(self, briefing):
        pass

    def act(self, observation):
        return None


class IntAgent:
    def reset(self, briefing):
        pass

    def act(self, observation):
        return 42


class ObjectAgent:
    def reset(self, briefing):
        pass

    def act(self, observation):
        return object()


class NanAgent:
    """Sends a number JSON cannot carry, then reports."""

    def reset(self, briefing):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        if self.steps == 1:
            return {"name": "wait", "arguments": {"minutes": float("nan")}}
        return {"name": "submit_report", "arguments": {
            "outcome": "failed", "summary": "nothing done", "changes_made": [], "impact": [],
            "data_loss": "none", "verifications": []}}


class MalformedAgent:
    """Sends calls the cloud refuses, then reports: mistakes, not crashes."""

    def reset(self, briefing):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        if self.steps == 1:
            return {"name": "frobnicate", "arguments": {}}
        if self.steps == 2:
            return {"name": "describe", "arguments": {"resource": 7, "colour": "blue"}}
        if self.steps == 3:
            return "{not json"
        return {"name": "submit_report", "arguments": {
            "outcome": "failed", "summary": "I could not work out the tools.", "changes_made": [],
            "impact": [], "data_loss": "none", "verifications": []}}
'''

BAD = ("RaisingAgent", "ResetRaisingAgent", "NoneAgent", "IntAgent", "ObjectAgent")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    return run(SMALL, tmp_path_factory.mktemp("runs"), argv=["blastradius", "run"])


@pytest.fixture(scope="module")
def agents_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agents") / "my_agents.py"
    path.write_text(AGENTS_SOURCE)
    return path


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory, agents_file: Path) -> RunOutcome:
    specs = ("noop", *(f"{agents_file}:{name}" for name in BAD), f"{agents_file}:MalformedAgent")
    return run(RunConfig(families=(FAMILY,), seeds=(0, 1), agents=specs), tmp_path_factory.mktemp("mixed"))


def _validate(schema_name: str, instance: Any) -> None:
    validator = Draft202012Validator(load_schema(schema_name))
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{schema_name}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])


def _without_durations(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in (path / "episodes.jsonl").read_text().splitlines():
        record = json.loads(line)
        del record["duration_seconds"]
        records.append(record)
    return records


# -- the run folder ---------------------------------------------------------------------------


def test_the_shipped_schemas_are_valid_json_schemas() -> None:
    for name in ("run", "episode", "trajectory", "summary"):
        Draft202012Validator.check_schema(load_schema(name))


def test_every_file_of_the_run_folder_validates_against_its_schema(small_run: RunOutcome) -> None:
    path = small_run.folder.path
    assert sorted(p.name for p in path.iterdir()) == [
        "episodes.jsonl", "leaderboard.md", "run.json", "summary.json", "trajectories"]

    run_info = json.loads((path / "run.json").read_text())
    _validate("run", run_info)
    assert run_info["config"]["families"] == [FAMILY] and run_info["seeds"] == [0, 1]
    assert run_info["config_hash"] == SMALL.digest()
    assert run_info["env_ids"] == {FAMILY: "blastradius/FreezeProdDb-v2"}

    lines = (path / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 4
    keys = set()
    for line in lines:
        record = json.loads(line)
        _validate("episode", record)
        assert record["status"] == "completed" and record["score"] is not None
        keys.add(record["key"])
    assert keys == {f"{FAMILY}/logs/{seed}/0/{agent}" for seed in (0, 1) for agent in ("noop", "careful")}

    trajectories = sorted((path / "trajectories").iterdir())
    assert len(trajectories) == 4
    for file in trajectories:
        trajectory = json.loads(file.read_text())
        _validate("trajectory", trajectory)
        assert trajectory["key"] in keys and trajectory["steps"] and trajectory["explanation"]

    summary = json.loads((path / "summary.json").read_text())
    _validate("summary", summary)
    assert summary == small_run.summary
    assert {agent: (entry["episodes"], entry["errors"]) for agent, entry in summary.items()} == {
        "careful": (2, 0), "noop": (2, 0)}


def test_the_records_carry_the_env_score(small_run: RunOutcome) -> None:
    for record in small_run.episodes:
        assert record["terminated"] and not record["truncated"] and record["score"]["finish"] == "report"
        if record["agent"] == "noop":  # the floor: a task that needs action is never done by nothing
            assert not record["score"]["success"] and record["steps"] == 1
        if record["score"]["safe_success"]:
            assert record["reward"] == 1.0


def test_leaderboard_md_has_the_table(small_run: RunOutcome) -> None:
    text = (small_run.folder.path / "leaderboard.md").read_text()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| Agent"))
    assert "Safe success" in header and "Errors" in header
    rows = [line for line in lines if line.startswith(("| careful", "| noop"))]
    assert len(rows) == 2
    assert lines[0].startswith("# ")


def test_the_same_config_gives_the_same_episodes(small_run: RunOutcome, tmp_path: Path) -> None:
    again = run(SMALL, tmp_path)
    assert again.folder.path != small_run.folder.path
    assert _without_durations(again.folder.path) == _without_durations(small_run.folder.path)
    for file in (small_run.folder.path / "trajectories").iterdir():
        assert (again.folder.path / "trajectories" / file.name).read_text() == file.read_text()
    assert again.summary == small_run.summary


def test_a_second_run_into_the_same_folder_gets_a_new_folder(tmp_path: Path) -> None:
    config = RunConfig(families=(FAMILY,), seeds=(0,), agents=("noop",))
    first, second = run(config, tmp_path), run(config, tmp_path)
    assert first.folder.path != second.folder.path
    assert len(read_episodes(first.folder.path)) == len(read_episodes(second.folder.path)) == 1


# -- agents that misbehave ---------------------------------------------------------------------


def test_crashing_and_garbage_agents_cost_only_their_own_episodes(mixed_run: RunOutcome, agents_file: Path) -> None:
    path = mixed_run.folder.path
    records = read_episodes(path)
    assert len(records) == 2 * (2 + len(BAD))  # every episode has its line
    for record in records:
        _validate("episode", record)
    by_agent: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_agent.setdefault(record["agent"].rpartition(":")[2], []).append(record)

    expected_errors = {
        "RaisingAgent": "RuntimeError: boom in act",
        "ResetRaisingAgent": "ValueError: boom in reset",
        "NoneAgent": "TypeError: act() returned NoneType",
        "IntAgent": "TypeError: act() returned int",
        "ObjectAgent": "TypeError: act() returned object",
    }
    for name, error in expected_errors.items():
        for record in by_agent[name]:
            assert record["status"] == "error", record
            assert record["error"].startswith(error), record["error"]
            assert "Traceback" in record["traceback"]
    assert "boom in act" in by_agent["RaisingAgent"][0]["traceback"]
    assert by_agent["RaisingAgent"][0]["steps"] == 1  # the step before the crash is kept

    for record in by_agent["noop"]:
        assert record["status"] == "completed" and record["score"] is not None and record["error"] is None

    summary = json.loads((path / "summary.json").read_text())
    _validate("summary", summary)
    assert summary == mixed_run.summary
    for name in BAD:
        entry = summary[f"{agents_file}:{name}"]
        assert (entry["episodes"], entry["errors"]) == (2, 2)
        assert entry["success_rate"]["value"] == 0.0
    assert (summary["noop"]["episodes"], summary["noop"]["errors"]) == (2, 0)
    assert mixed_run.errors == 2 * len(BAD)
    assert "ResetRaisingAgent" in (path / "leaderboard.md").read_text()


def test_every_trajectory_of_a_run_with_errors_validates(mixed_run: RunOutcome) -> None:
    path = mixed_run.folder.path
    files = sorted((path / "trajectories").iterdir())
    assert len(files) == len(read_episodes(path))
    for file in files:
        _validate("trajectory", json.loads(file.read_text()))


def test_a_malformed_tool_call_is_an_error_observation_not_an_error(mixed_run: RunOutcome) -> None:
    records = [r for r in mixed_run.episodes if r["agent"].endswith(":MalformedAgent")]
    assert len(records) == 2
    for record in records:
        assert record["status"] == "completed" and record["error"] is None and record["score"] is not None
        assert record["steps"] == 4 and record["terminated"]
        trajectory = mixed_run.folder.trajectory(record["key"])
        errors = [step["action_error"] for step in trajectory["steps"]]
        assert all(errors[:3]) and not errors[3]
        assert "unknown tool 'frobnicate'" in errors[0]
        assert trajectory["steps"][0]["observation"].splitlines()[1].startswith("error:")


def _strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON (RFC 8259)")

    return json.loads(text, parse_constant=refuse)


def test_run_files_are_strict_json_even_when_an_agent_sends_nan(agents_file: Path, tmp_path: Path) -> None:
    outcome = run(RunConfig(families=(FAMILY,), seeds=(0,), agents=(f"{agents_file}:NanAgent",)), tmp_path)
    path = outcome.folder.path
    [record] = read_episodes(path)
    assert record["status"] == "completed"
    assert "must be an integer" in outcome.folder.trajectory(record["key"])["steps"][0]["action_error"]
    texts = {file.name: file.read_text() for file in
             [path / "run.json", path / "summary.json", path / "episodes.jsonl", *(path / "trajectories").iterdir()]}
    broken = []
    for name, text in texts.items():
        for line in text.splitlines() if name.endswith(".jsonl") else [text]:
            try:
                _strict(line)
            except ValueError as exc:
                broken.append(f"{name}: {exc}")
    assert not broken


def test_an_agent_file_deep_in_the_tree_does_not_break_the_run(tmp_path: Path) -> None:
    # The episode key holds the agent spec; a trajectory file name must still fit the file system
    # (255 bytes a name on Linux and macOS).
    folder = tmp_path / ("agents-" + "x" * 200)
    folder.mkdir()
    (folder / "my_agents.py").write_text(AGENTS_SOURCE)
    spec = f"{folder / 'my_agents.py'}:MalformedAgent"
    outcome = run(RunConfig(families=(FAMILY,), seeds=(0,), agents=(spec,)), tmp_path / "runs")
    [record] = read_episodes(outcome.folder.path)
    assert record["status"] == "completed" and record["agent"] == spec
    assert outcome.folder.trajectory(record["key"])["key"] == record["key"]
    assert all(len(p.name.encode()) <= 255 for p in (outcome.folder.path / "trajectories").iterdir())


CRASHER = '''
class CrashAfterDamage:
    """Deletes a production database, then raises before any report: trying to hide the damage."""

    def reset(self, briefing):
        self.steps = 0
        self.database = ""

    def act(self, observation):
        self.steps += 1
        if self.steps == 1:
            return {"name": "list_resources", "arguments": {"kind": "database", "env": "prod"}}
        if self.steps == 2:
            self.database = next(word for word in observation.split() if word.startswith("db-"))
            return {"name": "delete", "arguments": {"resource": self.database}}
        raise RuntimeError("crashing on purpose")
'''


def test_an_agent_that_crashes_after_doing_damage_keeps_its_damage(tmp_path: Path) -> None:
    (tmp_path / "crasher.py").write_text(CRASHER)
    config = RunConfig(families=("freeze_prod_db",), seeds=(0,), agents=(f"{tmp_path / 'crasher.py'}:CrashAfterDamage",),
                       chaos=0)
    outcome = run(config, tmp_path / "runs")
    [record] = outcome.episodes
    assert record["status"] == "error" and record["score"]["damage"]["total"] > 0
    [entry] = outcome.summary.values()
    assert entry["errors"] == 1 and entry["safe_success_rate"]["value"] == 0.0
    assert entry["collateral_damage_mean"]["value"] == pytest.approx(record["score"]["damage"]["total"], abs=1e-4)
