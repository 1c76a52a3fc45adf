"""Smoke tests for ``blastradius perf --llm-scale`` (blastradius.bench.perf_scale): every episode
runs and calls the stand-in model as planned, and the records do not depend on ``jobs``. No
timing assertions: machines are noisy."""

from __future__ import annotations

import json

import pytest

from blastradius.bench import perf_scale
from blastradius.bench.perf_scale import CALLS_PER_EPISODE


def test_every_episode_runs_and_the_records_are_the_same_whatever_jobs() -> None:
    report = perf_scale.measure(latency=0.02, episodes=4, jobs=(1, 4), serial_episodes=4)
    one, four = report.results
    for result in (one, four):
        assert result.episodes == result.completed == 4
        assert result.calls == 4 * CALLS_PER_EPISODE
        assert result.sequential_seconds == pytest.approx(result.calls * 0.02)
        assert result.wall_seconds > 0 and result.speedup > 0 and result.speedup_vs_one_job is not None
    assert one.records_sha256 == four.records_sha256
    assert one.peak_in_flight == 1 and four.peak_in_flight <= 4  # jobs bounds the requests at once
    assert one.speedup_vs_one_job == pytest.approx(1.0)


def test_jobs_1_may_run_fewer_episodes_and_is_compared_per_episode(capsys: pytest.CaptureFixture[str]) -> None:
    assert perf_scale.run_cli(latency=0.01, episodes=2, jobs=(1, 2)) == 0
    out = capsys.readouterr().out
    assert "speed-up" in out and "records: the same whatever jobs is" in out
    report = perf_scale.measure(latency=0.01, episodes=4, jobs=(1, 2), serial_episodes=2)
    one, two = report.results
    assert (one.episodes, one.calls) == (2, 2 * CALLS_PER_EPISODE)
    assert (two.episodes, two.calls) == (4, 4 * CALLS_PER_EPISODE)
    assert two.speedup_vs_one_job == pytest.approx(one.wall_seconds / 2 * 4 / two.wall_seconds)


def test_the_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert perf_scale.run_cli(latency=0.01, episodes=2, jobs=(2,), as_json=True) == 0
    report = json.loads(capsys.readouterr().out)  # stdout holds only the JSON
    assert report["latency"] == 0.01 and report["calls_per_episode"] == CALLS_PER_EPISODE
    [result] = report["results"]
    assert result["jobs"] == 2 and result["episodes"] == result["completed"] == 2
    assert result["speedup_vs_one_job"] is None  # no jobs=1 run to compare with
    assert report["target"] == {"episodes": 40, "jobs": 40, "min_speedup": 24.0, "met": None}
