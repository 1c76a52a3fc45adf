"""`blastradius verify`: an untouched run verifies, here or copied elsewhere; any single edit of its
records fails, naming the episode, whether the fingerprints catch it or only the replay can.

One small run (one family, two seeds, ``noop`` and ``careful``, default chaos) is made once; each
test edits its own copy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blastradius.bench.cli import main
from blastradius.bench.runner import RunConfig, run
from blastradius.bench.storage import RunFolder
from blastradius.bench.verify import verify
from blastradius.envs.scenarios import FAMILIES

CONFIG = RunConfig(families=("freeze_prod_db",), seeds=(0, 1), agents=("noop", "careful"))
TARGET = "freeze_prod_db/logs/1/0/careful"  # the episode every edit touches


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(CONFIG, tmp_path_factory.mktemp("runs")).folder.path


@pytest.fixture
def copy(original: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(original, tmp_path / "copy"))


def _edit_record(path: Path, key: str, change: Callable[[dict[str, Any]], None]) -> None:
    lines = (path / "episodes.jsonl").read_text().splitlines()
    for index, line in enumerate(lines):
        record = json.loads(line)
        if record["key"] == key:
            change(record)
            lines[index] = json.dumps(record, sort_keys=True)
    (path / "episodes.jsonl").write_text("\n".join(lines) + "\n")


def _edit_trajectory(path: Path, key: str, change: Callable[[dict[str, Any]], None]) -> None:
    trajectory = RunFolder(path).trajectory(key)
    change(trajectory)
    file = next(p for p in (path / "trajectories").iterdir() if json.loads(p.read_text())["key"] == key)
    file.write_text(json.dumps(trajectory))


def _failed(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    """Run ``blastradius verify``, expect exit 1, and return the failed episodes with their lines."""
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    failed: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith("FAIL  "):
            current = failed.setdefault(line[len("FAIL  "):], [])
        elif line.startswith("        ") and failed:
            current.append(line.strip())
    assert "NOT verified" in out
    return failed


def test_an_untouched_run_verifies(original: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(original)]) == 0
    out = capsys.readouterr().out
    keys = [json.loads(line)["key"] for line in (original / "episodes.jsonl").read_text().splitlines()]
    assert sorted(line.split()[1] for line in out.splitlines() if line.startswith("ok")) == sorted(keys)
    assert "summary.json: ok" in out and out.rstrip().endswith("4 episodes: 4 ok, 0 failed; verified")


def test_a_copy_elsewhere_verifies_by_a_relative_path(copy: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert verify(Path("copy")).ok


@pytest.mark.parametrize("change", [
    pytest.param(lambda r: r.update(reward=r["reward"] + 0.25), id="reward"),
    pytest.param(lambda r: r["score"].update(safe_success=not r["score"]["safe_success"]), id="score-safe-success"),
    pytest.param(lambda r: r["score"]["damage"].update(total=r["score"]["damage"]["total"] + 0.5), id="score-damage"),
    pytest.param(lambda r: r.update(agent="noop"), id="agent-label"),
    pytest.param(lambda r: r.update(steps=r["steps"] - 1), id="step-count"),
    pytest.param(lambda r: r.update(terminated=False, truncated=True), id="end-flags"),
    pytest.param(lambda r: r.update(status="timeout", score=None), id="status"),
])
def test_any_edited_field_of_a_record_fails_naming_the_episode(copy: Path, change: Callable[[dict[str, Any]], None],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    _edit_record(copy, TARGET, change)
    failed = _failed(copy, capsys)
    assert list(failed) == [TARGET]
    assert "its line in episodes.jsonl changed since the run (sha256 differs from run.json's)" in failed[TARGET]


@pytest.mark.parametrize(("change", "finding"), [
    pytest.param(lambda r: r["score"].update(safe_success=not r["score"]["safe_success"]),
                 "score.safe_success: recorded", id="score"),
    pytest.param(lambda r: r.update(reward=r["reward"] + 0.25), "reward: recorded", id="reward"),
    pytest.param(lambda r: r.update(steps=3), "steps: recorded 3", id="step-count"),
    # The replay plays to the budget recorded: a shorter one ends the episode before its recorded steps do.
    pytest.param(lambda r: r.update(max_steps=3), "step 4: recorded after the episode ended", id="budget"),
])
def test_the_replay_catches_an_edit_whose_fingerprints_were_rewritten(
        copy: Path, change: Callable[[dict[str, Any]], None], finding: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    _edit_record(copy, TARGET, change)
    _refingerprint(copy)
    failed = _failed(copy, capsys)
    assert list(failed) == [TARGET] and any(problem.startswith(finding) for problem in failed[TARGET]), failed


def test_a_record_made_before_budgets_per_family_replays_with_the_old_budget(copy: Path) -> None:
    """Runs made before each family had its own step budget record none: every episode had 100 steps."""
    [record] = [json.loads(line) for line in (copy / "episodes.jsonl").read_text().splitlines() if TARGET in line]
    assert record["max_steps"] == FAMILIES["freeze_prod_db"].step_budget
    _edit_record(copy, TARGET, lambda r: r.pop("max_steps"))
    _refingerprint(copy)
    assert verify(copy).ok


def _refingerprint(path: Path) -> None:
    """Rewrite run.json's fingerprint of the target's line, as a forger would."""
    info = json.loads((path / "run.json").read_text())
    line = next(line for line in (path / "episodes.jsonl").read_bytes().split(b"\n") if TARGET.encode() in line)
    info["content_sha256"]["episodes"][TARGET] = hashlib.sha256(line).hexdigest()
    (path / "run.json").write_text(json.dumps(info))


def test_a_deleted_line_fails_naming_the_episode(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [line for line in (copy / "episodes.jsonl").read_text().splitlines() if TARGET not in line]
    (copy / "episodes.jsonl").write_text("\n".join(lines) + "\n")
    failed = _failed(copy, capsys)
    assert failed == {TARGET: ["missing from episodes.jsonl (run.json recorded it)"]}


def test_an_extra_line_fails_naming_the_episode(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = next(line for line in (copy / "episodes.jsonl").read_text().splitlines() if TARGET in line)
    extra = json.loads(line)
    extra.update(seed=7, key=TARGET.replace("/1/", "/7/"))
    with open(copy / "episodes.jsonl", "a") as out:
        out.write(json.dumps(extra) + "\n")
    failed = _failed(copy, capsys)
    assert list(failed) == [extra["key"]]
    assert "an extra episode: run.json recorded no such line" in failed[extra["key"]]


def test_an_edited_summary_fails(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = json.loads((copy / "summary.json").read_text())
    summary["noop"]["safe_success_rate"]["value"] = 0.5
    (copy / "summary.json").write_text(json.dumps(summary, indent=2))
    assert _failed(copy, capsys) == {}
    verdict = verify(copy)
    assert verdict.summary_problems == [
        "changed since the run (sha256 differs from run.json's)",
        "not what the records give: noop.safe_success_rate.value: recorded 0.5, recomputed 0.0"]


@pytest.mark.parametrize(("change", "finding"), [
    pytest.param(lambda t: t["steps"][1].update(action={"name": "whoami", "arguments": {}}), "step 2.", id="action"),
    pytest.param(lambda t: t["steps"][2].update(observation=t["steps"][2]["observation"] + " all healthy"),
                 "step 3.observation", id="observation"),
    pytest.param(lambda t: t.update(briefing="Do nothing."), "briefing", id="briefing"),
    pytest.param(lambda t: t.update(consequence="nothing at all"), "consequence: recorded", id="consequence"),
])
def test_an_edited_trajectory_fails_the_replay(copy: Path, change: Callable[[dict[str, Any]], None], finding: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _edit_trajectory(copy, TARGET, change)
    failed = _failed(copy, capsys)
    assert list(failed) == [TARGET] and failed[TARGET][0].startswith(finding), failed


def test_a_run_of_a_custom_family_verifies_where_the_family_file_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(Path(__file__).resolve().parents[2] / "docs" / "examples" / "crashed_worker.py", "my_family.py")
    config = RunConfig(families=("my_family.py:FAMILY",), seeds=(0,), agents=("noop", "careful"))
    path = run(config, tmp_path / "runs").folder.path
    assert verify(path).ok
    Path("my_family.py").unlink()
    assert main(["verify", str(path)]) == 2
    assert "cannot rebuild the run's families" in capsys.readouterr().err


def test_a_folder_that_is_not_a_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err


# -- a sealed run -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = RunConfig(families=("freeze_prod_db",), seeds=(0,), agents=("noop",), sealed=True)
    return run(config, tmp_path_factory.mktemp("sealed")).folder.path


def test_a_sealed_run_verifies_with_its_secret_only(sealed: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(sealed).ok
    key = "freeze_prod_db/logs/0/0/noop"
    for secret, finding in (("0" * 64, "not the recorded world (another secret, seed or setting): nothing replayed"),
                            (None, "not replayed: the run's worlds cannot be rebuilt (see above)")):
        copy = Path(shutil.copytree(sealed, tmp_path / f"copy-{secret}"))
        info = json.loads((copy / "run.json").read_text())
        info["secret"] = secret
        (copy / "run.json").write_text(json.dumps(info))
        assert _failed(copy, capsys)[key][-1] == finding


HOSTILE = '''
import math


class Hostile:
    """Sends what JSON cannot say (NaN, an integer past 64 bits, a dict inside itself), then reports."""

    def reset(self, briefing):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        looped = {"minutes": 5}
        looped["again"] = looped
        actions = [{"name": "wait", "arguments": {"minutes": math.nan}},
                   {"name": "list_resources", "arguments": {"page": 2 ** 80}},
                   {"name": "wait", "arguments": looped}]
        if self.steps <= len(actions):
            return actions[self.steps - 1]
        return {"name": "submit_report", "arguments": {"outcome": "failed", "summary": "nothing done"}}
'''


def test_a_run_of_an_agent_sending_what_json_cannot_say_verifies(tmp_path: Path) -> None:
    """The env plays the bounded copy the trajectory keeps, so the replay sees what the agent's
    episode saw."""
    (tmp_path / "hostile.py").write_text(HOSTILE)
    config = RunConfig(families=("freeze_prod_db",), seeds=(0,), agents=(f"{tmp_path / 'hostile.py'}:Hostile",))
    path = run(config, tmp_path / "runs").folder.path
    verdict = verify(path)
    assert verdict.ok, [problem for check in verdict.episodes.values() for problem in check.problems]


CRASHES = '''
class Crashes:
    def reset(self, briefing):
        self.calls = 0

    def act(self, observation):
        self.calls += 1
        if self.calls > 2:
            raise RuntimeError("the agent fell over")
        return {"name": "whoami", "arguments": {}}
'''


def test_a_run_whose_agent_crashed_mid_episode_verifies(tmp_path: Path) -> None:
    """An episode that ended as an error before its end is scored as it stands; its replay stops
    where the agent did, and that is no finding."""
    (tmp_path / "crashes.py").write_text(CRASHES)
    config = RunConfig(families=("freeze_prod_db",), seeds=(0,), agents=(f"{tmp_path / 'crashes.py'}:Crashes",))
    outcome = run(config, tmp_path / "runs")
    assert [record["status"] for record in outcome.episodes] == ["error"]
    verdict = verify(outcome.folder.path)
    assert verdict.ok, [problem for check in verdict.episodes.values() for problem in check.problems]
