"""Executors: the same episodes whatever runs them (this thread, threads, processes, Ray tasks),
and a slow agent that does not hold the others back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from blastradius.bench.runner import Execution, Monitor, RunConfig, run
from blastradius.bench.storage import read_episodes
from blastradius.bench.verify import verify

CONFIG = RunConfig(families=("freeze_prod_db", "capacity_removal"), seeds=(0, 1), agents=("noop", "careful", "liar"))


def _timeless(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "duration_seconds"}


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run(CONFIG, tmp_path_factory.mktemp("one"))


@pytest.mark.parametrize("execution", [Execution(jobs=4), Execution(jobs=2, executor="process")],
                         ids=["threads", "processes"])
def test_every_executor_gives_the_same_records_summary_and_leaderboard(sequential: Any, execution: Execution,
                                                                        tmp_path: Path) -> None:
    other = run(CONFIG, tmp_path, execution=execution)
    assert [_timeless(r) for r in other.episodes] == [_timeless(r) for r in sequential.episodes]
    lines = read_episodes(other.folder.path)
    assert sorted(r["key"] for r in lines) == sorted(r["key"] for r in sequential.episodes)  # each once, any order
    for name in ("summary.json", "leaderboard.md"):
        assert (other.folder.path / name).read_text() == (sequential.folder.path / name).read_text()
    assert verify(other.folder.path).ok


def test_ray_tasks_give_the_same_records_on_a_local_cluster(sequential: Any, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    try:
        other = run(CONFIG, tmp_path, execution=Execution(jobs=2, executor="ray"))
    finally:
        ray.shutdown()
    assert [_timeless(r) for r in other.episodes] == [_timeless(r) for r in sequential.episodes]
    assert (other.folder.path / "summary.json").read_text() == (sequential.folder.path / "summary.json").read_text()


SLOW = '''
import time

class Sleepy:
    def reset(self, briefing):
        self.briefing = briefing  # all it keeps: it decides from nothing

    def act(self, observation):
        time.sleep(1.5)
        return {"name": "escalate", "arguments": {"reason": "I am too slow to decide"}}
'''


def test_a_slow_agent_does_not_hold_back_the_episodes_beside_it(tmp_path: Path) -> None:
    (tmp_path / "sleepy.py").write_text(SLOW)
    config = RunConfig(families=("freeze_prod_db",), seeds=(0, 1, 2, 3), agents=(f"{tmp_path / 'sleepy.py'}:Sleepy",
                                                                               "careful"))
    ended: list[tuple[float, str]] = []

    class Watch(Monitor):
        def started(self, total: int, done: int) -> None:
            assert (total, done) == (8, 0)

        def episode(self, record: dict[str, Any]) -> None:
            ended.append((time.monotonic(), record["agent"]))

        def note(self, message: str) -> None:
            raise AssertionError(message)

    outcome = run(config, tmp_path / "runs", monitor=Watch(), execution=Execution(jobs=2))
    assert outcome.errors == 0
    # While one thread sleeps in the slow agent's first episode, the other plays on: the careful
    # episode started beside it ends first.
    order = [agent for _, agent in ended]
    assert order[0] == "careful" and order.count("careful") == 4
