"""The oracles, ``reference`` and ``reckless``, played by the harness as a run plays them.

What users rely on: on every family, built-in or their own, ``reference`` is a safe success and
``reckless`` brings about the family's documented consequence, under chaos too, because each
plays exactly what `blastradius.envs.tools.replay` plays (the same calls, re-sends included, the
same score); the hidden path goes to the oracle class only, never to a subclass; a path that runs
out ends in an escalation; and a sealed run plays them in its own process and marks their rows.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blastradius.agents.base import Agent
from blastradius.agents.loader import ORACLES, agent_code, resolve_agent
from blastradius.agents.reference import ATTEMPTS, PathAgent
from blastradius.bench.episode import EpisodeResult, EpisodeSpec, run_episode
from blastradius.bench.runner import RunConfig, run
from blastradius.envs import BlastRadiusEnv
from blastradius.envs.scenarios import FAMILIES, Family
from blastradius.envs.scenarios.loader import resolve_family
from blastradius.envs.tools import replay
from blastradius.envs.topology import DEFAULT_SIZE

EXAMPLE = resolve_family(f"{Path(__file__).resolve().parents[2] / 'docs' / 'examples' / 'crashed_worker.py'}:FAMILY")
EVERY_FAMILY = [*FAMILIES.values(), EXAMPLE]


def _episode(family: Family, path: str, seed: int, chaos: int,
             make: Callable[[], Agent] | None = None) -> EpisodeResult:
    spec = EpisodeSpec(family.id, family.default_difficulty, seed, 0, path)
    return run_episode(spec, family, make or resolve_agent(path), DEFAULT_SIZE, chaos, step_timeout=60)


def _replayed(family: Family, path: str, seed: int, chaos: int) -> tuple[list[Any], dict[str, Any], bool]:
    """The calls `replay` sends for ``path`` on a fresh env, the score, and whether the consequence holds."""
    env = BlastRadiusEnv(family=family, chaos=chaos)
    env.reset(seed=seed, options={"difficulty": family.default_difficulty})
    assert env.scenario is not None
    world = env.scenario.world
    replay(world, getattr(env.scenario, path))
    return ([{"name": call.name, "arguments": call.arguments} for call in world.ledger.calls],
            env.episode_score().to_dict(), bool(env.scenario.consequence.holds(world)))


def _played(result: EpisodeResult) -> list[Any]:
    return [step["action"] for step in result.trajectory["steps"]]


@pytest.mark.parametrize("family", EVERY_FAMILY, ids=lambda family: family.id)
def test_reference_is_a_safe_success_on_every_family(family: Family) -> None:
    record = _episode(family, "reference", 0, 0).record
    assert record["status"] == "completed", record["error"]
    assert record["score"]["safe_success"] and record["score"]["damage"]["total"] == 0, record["score"]


@pytest.mark.parametrize("family", EVERY_FAMILY, ids=lambda family: family.id)
def test_reckless_plays_the_familys_reckless_path_and_brings_about_its_consequence(family: Family) -> None:
    result = _episode(family, "reckless", 0, 0)
    calls, score, consequence = _replayed(family, "reckless", 0, 0)
    assert result.record["status"] == "completed", result.record["error"]
    assert _played(result) == calls and result.record["score"] == score
    assert consequence and not score["safe_success"]


@pytest.mark.parametrize("family", EVERY_FAMILY, ids=lambda family: family.id)
def test_under_chaos_the_reference_agent_plays_as_replay_does_and_succeeds(family: Family) -> None:
    for seed in range(3):
        result = _episode(family, "reference", seed, 1)
        calls, score, _ = _replayed(family, "reference", seed, 1)
        assert _played(result) == calls and result.record["score"] == score, seed
        assert result.record["score"]["safe_success"], (seed, result.trajectory["explanation"])


def test_the_reference_agent_resends_a_call_a_transient_fault_kept_from_taking_effect() -> None:
    """Over the families' chaos-1 seeds some call hit a 429 or a timeout that did nothing: the
    test above compared re-sends too, not only paths that met no fault."""
    resent = [(family.id, seed) for family in FAMILIES.values() for seed in range(3)
              if len(_replayed(family, "reference", seed, 1)[0]) > _path_length(family, seed)]
    assert resent


def _path_length(family: Family, seed: int) -> int:
    env = BlastRadiusEnv(family=family, chaos=1)
    env.reset(seed=seed)
    assert env.scenario is not None
    return len(env.scenario.reference)


def test_oracle_resends_as_often_as_replay() -> None:
    assert inspect.signature(replay).parameters["attempts"].default == ATTEMPTS


def test_a_subclass_is_a_users_agent_and_gets_no_path() -> None:
    class Peeker(PathAgent):
        """A user's agent that would like the hidden scenario."""

    record = _episode(EXAMPLE, "reference", 0, 0, make=Peeker).record
    assert record["status"] == "error" and "was handed no path" in record["error"]
    assert record["steps"] == 0


def test_a_path_that_runs_out_ends_in_an_escalation() -> None:
    def unfinished(rng: Any, difficulty: str, size: int) -> Any:
        scenario = EXAMPLE.scenario(rng, difficulty, size)
        return dataclasses.replace(scenario, reference=scenario.reference[:-1])

    family = dataclasses.replace(EXAMPLE, id="unfinished_worker", build=unfinished)
    result = _episode(family, "reference", 0, 0)
    last = result.trajectory["steps"][-1]["action"]
    assert last["name"] == "escalate" and "path ended" in last["arguments"]["reason"]
    assert result.record["score"]["finish"] == "escalate"


def test_the_oracles_are_built_ins_of_their_own_kind() -> None:
    assert ORACLES == {"reference", "reckless"}
    for name in ORACLES:
        agent = resolve_agent(name)()
        assert type(agent) is PathAgent and agent.path == name
        assert agent_code(name).kind == "oracle"
    assert agent_code("careful").kind == "builtin"


def test_a_sealed_run_plays_the_oracles_in_process_and_marks_their_rows(tmp_path: Path) -> None:
    config = RunConfig(families=("freeze_prod_db",), seeds=(0,), agents=("reference", "reckless"), sealed=True)
    outcome = run(config, tmp_path)
    records = {record["agent"]: record for record in outcome.episodes}
    assert records["reference"]["status"] == "completed" and records["reference"]["score"]["safe_success"]
    assert records["reckless"]["status"] == "completed" and not records["reckless"]["score"]["safe_success"]
    info = json.loads((outcome.folder.path / "run.json").read_text())
    assert {label: entry["kind"] for label, entry in info["agents"].items()} == {"reference": "oracle",
                                                                                   "reckless": "oracle"}
    table = (outcome.folder.path / "leaderboard.md").read_text()
    assert "| reference |" in table and "| oracle |" in table and "family's own scripted paths" in table
