"""Smoke tests for ``blastradius perf`` (blastradius.bench.perf). No timing assertions."""

from __future__ import annotations

import json

from blastradius.bench import perf
from blastradius.bench.cli import main

_RESULT_KEYS = {
    "scale", "size", "resources", "steps", "episodes", "rounds", "blastradius_steps_per_s",
    "cartpole_steps_per_s", "cost_in_cartpole_steps", "reset_ms_per_episode", "tool_mix",
    "action_errors", "unfinished", "end_step_ms", "other_step_us", "reset_cost_in_cartpole_steps", "seen_reset_ms",
    "seen_reset_cost_in_cartpole_steps", "harness_cost", "run_steps_per_s", "harness_cost_with_agent",
}


def test_run_cli_prints_a_table(capsys):
    assert perf.run_cli(steps=300, scales=[1]) == 0
    out = capsys.readouterr().out
    assert "CartPole" in out
    for column in ("size", "resources", "steps/s", "cost in CartPole steps", "reset ms"):
        assert column in out
    assert "tool mix at 1x" in out
    assert "with a seed built before" in out and "the harness costs" in out


def test_cli_json_parses_and_has_the_documented_keys(capsys):
    assert main(["perf", "--steps", "300", "--scale", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)  # stdout holds only the JSON
    assert {"steps", "rounds", "default_size", "results", "scaling", "targets", "versions"} <= set(report)
    assert report["steps"] == 300
    assert report["scaling"] is None  # one scale: nothing to compare
    [result] = report["results"]
    assert _RESULT_KEYS <= set(result)
    assert result["scale"] == 1
    assert result["size"] == report["default_size"]
    assert result["steps"] == sum(result["tool_mix"].values()) == 300
    # The reference solutions are the careful path: they run clean and finish their episodes.
    assert result["action_errors"] == 0
    assert result["unfinished"] == 0
    assert result["blastradius_steps_per_s"] > 0 and result["cartpole_steps_per_s"] > 0
    assert result["harness_cost"] > 0 and result["run_steps_per_s"] > 0 and result["harness_cost_with_agent"] > 0
    assert result["seen_reset_ms"] > 0 and result["reset_cost_in_cartpole_steps"] > 0
    assert {"max_reset_ms_at_default_size", "max_harness_cost"} <= set(report["targets"])


def test_two_scales_report_how_the_step_cost_scales(capsys):
    assert perf.run_cli(steps=30, scales=[1, 2], as_json=True) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["size"] for r in report["results"]] == [30, 60]
    assert report["scaling"]["from_scale"] == 1 and report["scaling"]["to_scale"] == 2
    assert report["scaling"]["cost_ratio"] > 0


def test_a_scale_below_the_minimum_topology_is_a_usage_error(capsys):
    assert perf.run_cli(steps=30, scales=[0.1]) == 2
    assert "at least 10" in capsys.readouterr().err


def test_measure_times_exactly_the_steps_asked_for():
    result = perf.measure(steps=7, size=30, rounds=5)
    assert result.steps == sum(result.tool_mix.values()) == 7
    assert result.rounds == 5
    assert result.cost_in_cartpole_steps > 0


def test_the_harness_is_timed_on_the_very_episode_the_agent_played() -> None:
    """The replaying agent that times the harness alone plays what the careful agent played:
    the same steps, observations and score, so the two times compare like with like."""
    import functools

    from blastradius.agents.loader import resolve_agent
    from blastradius.bench.episode import EpisodeSpec, run_episode
    from blastradius.envs import FAMILIES

    for family in list(FAMILIES.values())[:3]:
        spec = EpisodeSpec(family.id, family.default_difficulty, 4, 0, "careful")
        played = run_episode(spec, family, resolve_agent("careful", {}), 30, 0)
        actions = [step["action"] for step in played.trajectory["steps"]]
        replayed = run_episode(spec, family, functools.partial(perf._RecordedAgent, actions), 30, 0)
        assert replayed.trajectory["steps"] == played.trajectory["steps"]
        assert replayed.record["score"] == played.record["score"]
