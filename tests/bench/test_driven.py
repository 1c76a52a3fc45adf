"""An episode driven from outside (`blastradius.bench.driven`) is recorded as `blastradius run`
records one: the same actions give the same observations and score, its folder verifies and
validates, and whoever drives it cannot leave the record behind (leaving, stalling)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import blastradius.bench.driven as driven
from blastradius.bench.driven import DrivenEpisode, EpisodeOver
from blastradius.bench.runner import RunConfig, run
from blastradius.bench.storage import load_schema
from blastradius.bench.verify import verify

FACE = Path(driven.__file__)
# Fields that say when and who, not what happened.
_WHO_AND_WHEN = ("key", "agent", "duration_seconds")


def _careful_run(tmp_path: Path, family: str, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    outcome = run(RunConfig(families=(family,), seeds=(seed,), agents=("careful",)), tmp_path / "careful")
    record = outcome.episodes[0]
    return record, outcome.folder.trajectory(record["key"])


def _without(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _WHO_AND_WHEN}


@pytest.mark.parametrize(("family", "seed"), [("freeze_prod_db", 3), ("global_config_push", 5)])
def test_the_same_actions_driven_give_the_same_episode(tmp_path: Path, family: str, seed: int) -> None:
    record, trajectory = _careful_run(tmp_path, family, seed)
    episode = DrivenEpisode(family, seed, tmp_path / "driven", "outsider", "mcp", FACE)
    opening = episode.start()
    assert opening.briefing.text == trajectory["briefing"]
    turns = [episode.step(step["action"]) for step in trajectory["steps"]]
    assert [t.observation for t in turns] == [s["observation"] for s in trajectory["steps"]]
    assert [t.done for t in turns] == [False] * (len(turns) - 1) + [True]
    assert _without(episode.record) == _without(record)
    assert episode.trajectory()["steps"] == trajectory["steps"]
    assert episode.record["key"] == f"{family}/{record['difficulty']}/{seed}/0/outsider"
    assert verify(episode.folder.path).ok  # type: ignore[union-attr]
    info = json.loads((episode.folder.path / "run.json").read_text())  # type: ignore[union-attr]
    Draft202012Validator(load_schema("run")).validate(info)
    assert info["agents"]["outsider"]["kind"] == "mcp" and info["complete"]


def test_an_action_after_the_end_is_refused_with_how_it_ended(tmp_path: Path) -> None:
    episode = DrivenEpisode("freeze_prod_db", 1, tmp_path, "outsider", "human", FACE)
    episode.start()
    turn = episode.step(json.dumps({"name": "escalate", "arguments": {
        "reason": "The accounts page is empty and I am not allowed to change prod during the freeze."}}))
    assert turn.done
    with pytest.raises(EpisodeOver, match="over"):
        episode.step({"name": "whoami", "arguments": {}})
    assert episode.record["status"] == "completed"


def test_leaving_midway_is_recorded_as_an_error_with_the_damage_done(tmp_path: Path) -> None:
    """A driver that deletes a production database and walks away is charged for it."""
    episode = DrivenEpisode("freeze_prod_db", 2, tmp_path, "leaver", "human", FACE)
    episode.start()
    episode.step({"name": "list_resources", "arguments": {}})
    reckless = run(RunConfig(families=("freeze_prod_db",), seeds=(2,), agents=("reckless",)), tmp_path / "r")
    for step in reckless.folder.trajectory(reckless.episodes[0]["key"])["steps"][:-1]:
        episode.step(step["action"])  # the reckless path, short of its report
    episode.close("the person closed the terminal")
    assert episode.record["status"] == "error"
    assert "the person closed the terminal" in episode.record["error"]
    assert episode.record["score"]["damage"]["total"] > 0
    assert not episode.record["score"]["success"]


def test_no_action_in_time_is_a_timeout(tmp_path: Path) -> None:
    episode = DrivenEpisode("freeze_prod_db", 1, tmp_path, "sleeper", "human", FACE, step_timeout=0.2)
    episode.start()
    assert episode.wait(60)
    assert episode.record["status"] == "timeout"
    assert "no action came within 0.2 s" in episode.record["error"]


def test_a_sealed_episode_is_built_from_a_secret_recorded_at_the_end(tmp_path: Path) -> None:
    # Chaos off: a fresh secret draws fresh tool faults, and a throttled report would not end it.
    plain = DrivenEpisode("freeze_prod_db", 1, tmp_path / "plain", "a", "human", FACE, chaos=0)
    sealed = DrivenEpisode("freeze_prod_db", 1, tmp_path / "sealed", "a", "human", FACE, sealed=True, chaos=0)
    assert plain.start().briefing.text != sealed.start().briefing.text  # other ids: another world
    for episode in (plain, sealed):
        assert episode.step({"name": "submit_report", "arguments": {"outcome": "failed", "summary": "Gave up."}}).done
    info = json.loads((sealed.folder.path / "run.json").read_text())  # type: ignore[union-attr]
    assert info["sealed"] and len(info["secret"]) == 64
    assert verify(sealed.folder.path).ok  # type: ignore[union-attr]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"family": "freeze_prod"}, "freeze_prod_db"),
    ({"difficulty": "impossible"}, "not a level"),
    ({"kind": "robot"}, "kind must be one of"),
    ({"seed": -1}, "seeds must be between"),
])
def test_bad_settings_are_refused_before_anything_is_written(tmp_path: Path, kwargs: dict[str, Any],
                                                              message: str) -> None:
    settings: dict[str, Any] = {"family": "freeze_prod_db", "seed": 1, "output_dir": tmp_path / "runs",
                                "agent_name": "a", "kind": "human", "face": FACE, **kwargs}
    with pytest.raises(ValueError, match=message):
        DrivenEpisode(**settings)
    assert not (tmp_path / "runs").exists()
