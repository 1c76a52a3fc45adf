"""A broken agent never breaks the run: it costs its own episode, recorded with the right status.

In-process agents that hang (in ``act``, in ``reset``, when made), raise, exit, return garbage,
or misreport their usage are run next to ``noop`` with a short step timeout: each of their
episodes is ``error`` or ``timeout`` with the reason, ``noop``'s episodes complete, every file
validates, and the command line exits 1.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from blastradius.bench.cli import main
from blastradius.bench.runner import RunConfig, RunOutcome, run
from blastradius.bench.storage import load_schema, read_episodes

FAMILY = "freeze_prod_db"
TIMEOUT = 0.5

AGENTS_SOURCE = '''
import sys
import time

REPORT = {"name": "submit_report", "arguments": {"outcome": "failed", "summary": "nothing done"}}


class Quick:
    """Reports at once; the base of the others."""

    def reset(self, briefing):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        return {"name": "whoami", "arguments": {}} if self.steps < 2 else REPORT


class HangsInAct(Quick):
    def act(self, observation):
        if self.steps == 1:
            time.sleep(60)
        return super().act(observation)


class HangsInReset(Quick):
    def reset(self, briefing):
        time.sleep(60)


class HangsWhenMade(Quick):
    def __init__(self):
        time.sleep(60)


class Exits(Quick):
    def act(self, observation):
        sys.exit(4)


class ListAgent(Quick):
    def act(self, observation):
        return ["whoami"]


class BadStats(Quick):
    def episode_stats(self):
        return {"tokens_in": -5}


class UnknownStats(Quick):
    def episode_stats(self):
        return {"tokens": 5}


class BadTranscript(Quick):
    def transcript(self):
        return "hello"


class CloseRaises(Quick):
    def close(self):
        raise OSError("cannot close")


class StatsThenCrash(Quick):
    """Reports usage, then crashes: the usage is still recorded."""

    def act(self, observation):
        raise RuntimeError("crash after spending")

    def episode_stats(self):
        return {"tokens_in": 1000, "tokens_out": 50, "cost_usd": 0.01, "latency_seconds": 1.5, "calls": 2}

    def transcript(self):
        return [{"role": "system", "content": "be careful"}, {"role": "user", "content": "the task"}]
'''

EXPECTED = {
    "HangsInAct": ("timeout", "act() did not return within 0.5 s"),
    "HangsInReset": ("timeout", "reset() did not return within 0.5 s"),
    "HangsWhenMade": ("timeout", "making the agent did not return within 0.5 s"),
    "Exits": ("error", "RuntimeError: the agent raised SystemExit: 4"),
    "ListAgent": ("error", "TypeError: act() returned list"),
    "BadStats": ("error", "episode_stats(): ValueError: tokens_in must be a non-negative integer"),
    "UnknownStats": ("error", "episode_stats(): ValueError: unknown keys ['tokens']"),
    "BadTranscript": ("error", "transcript(): TypeError: must return a list of chat messages"),
    "CloseRaises": ("error", "close(): OSError: cannot close"),
    "StatsThenCrash": ("error", "RuntimeError: crash after spending"),
}


@pytest.fixture(scope="module")
def agents_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agents") / "broken_agents.py"
    path.write_text(AGENTS_SOURCE)
    return path


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory, agents_file: Path) -> tuple[RunOutcome, float]:
    specs = ("noop", *(f"{agents_file}:{name}" for name in EXPECTED))
    started = time.monotonic()
    outcome = run(RunConfig(families=(FAMILY,), seeds=(0, 1), agents=specs, step_timeout=TIMEOUT),
                  tmp_path_factory.mktemp("runs"))
    return outcome, time.monotonic() - started


def _by_class(outcome: RunOutcome) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in read_episodes(outcome.folder.path):
        grouped.setdefault(record["agent"].rpartition(":")[2], []).append(record)
    return grouped


def test_each_broken_agent_costs_only_its_episodes(broken_run: tuple[RunOutcome, float]) -> None:
    outcome, seconds = broken_run
    assert seconds < 30  # three hung agents x two seeds were abandoned, not waited for
    grouped = _by_class(outcome)
    assert len(read_episodes(outcome.folder.path)) == 2 * (1 + len(EXPECTED))
    for name, (status, reason) in EXPECTED.items():
        for record in grouped[name]:
            assert record["status"] == status, record
            assert record["error"].startswith(reason), record["error"]
            # Scored as it stood, so a crash never hides damage (it never counts as a success).
            assert record["score"] is None or isinstance(record["score"], dict), record
    for record in grouped["noop"]:
        assert record["status"] == "completed" and record["score"] is not None
    assert outcome.errors == 2 * len(EXPECTED)
    summary = outcome.summary
    for name in EXPECTED:
        [entry] = [entry for agent, entry in summary.items() if agent.endswith(f":{name}")]
        assert (entry["episodes"], entry["errors"]) == (2, 2)


def test_a_timeout_says_where_the_agent_was_stuck(broken_run: tuple[RunOutcome, float]) -> None:
    [record, _] = _by_class(broken_run[0])["HangsInAct"]
    assert record["steps"] == 1  # the step before the hang is kept
    assert "the call was here when it was abandoned" in record["traceback"]
    assert "time.sleep(60)" in record["traceback"]


def test_usage_and_transcript_survive_a_crash(broken_run: tuple[RunOutcome, float]) -> None:
    outcome = broken_run[0]
    for record in _by_class(outcome)["StatsThenCrash"]:
        assert record["agent_stats"] == {"tokens_in": 1000, "tokens_out": 50, "cost_usd": 0.01,
                                         "latency_seconds": 1.5, "calls": 2}
        assert outcome.folder.trajectory(record["key"])["transcript"][1] == {"role": "user", "content": "the task"}
    [entry] = [entry for agent, entry in outcome.summary.items() if agent.endswith(":StatsThenCrash")]
    assert entry["tokens_in_mean"]["value"] == 1000 and entry["cost_usd_mean"]["value"] == 0.01


def test_every_file_of_the_run_validates(broken_run: tuple[RunOutcome, float]) -> None:
    path = broken_run[0].folder.path
    for record in read_episodes(path):
        Draft202012Validator(load_schema("episode")).validate(record)
    for file in (path / "trajectories").iterdir():
        Draft202012Validator(load_schema("trajectory")).validate(json.loads(file.read_text()))
    Draft202012Validator(load_schema("summary")).validate(json.loads((path / "summary.json").read_text()))
    run_info = json.loads((path / "run.json").read_text())
    Draft202012Validator(load_schema("run")).validate(run_info)
    assert run_info["config"]["step_timeout"] == TIMEOUT


def test_the_command_line_exits_1_and_says_why(agents_file: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--family", FAMILY, "--seeds", "1", "--agent", "noop",
                 "--agent", f"{agents_file}:HangsInAct", "--step-timeout", "0.3",
                 "--output-dir", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "1 episode(s) errored or timed out" in err
    summary = json.loads(out)
    assert summary["noop"]["errors"] == 0 and summary[f"{agents_file}:HangsInAct"]["errors"] == 1


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_a_bad_step_timeout_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--step-timeout", value])
    assert exit_info.value.code == 2
    assert "--step-timeout" in capsys.readouterr().err
