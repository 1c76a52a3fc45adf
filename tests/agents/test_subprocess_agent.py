"""The subprocess agent: the JSON-lines protocol of docs/agent-protocol.md, end to end.

The example agent in JavaScript plays real episodes (when ``node`` is installed: the one skip
allowed). Children written in Python show the rest: what a child receives is exactly the
protocol's messages; the child and everything it started are gone when the episode ends; a
child that dies, writes something that is not JSON, answers out of turn or hangs costs its own
episode, with its stderr kept, while an action the env refuses is only an error observation.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from blastradius.bench.runner import RunConfig, RunOutcome, run
from blastradius.bench.storage import load_schema, read_episodes

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "agent.js"
FAMILY = "freeze_prod_db"

# A child in Python. BEHAVIOUR decides what it does at its first observation.
CHILD = r'''
import json, os, subprocess, sys, time

behaviour, log = sys.argv[1], sys.argv[2]
with open(log, "a") as out:
    out.write(json.dumps({"pid": os.getpid()}) + "\n")
    if behaviour == "grandchild":
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        out.write(json.dumps({"grandchild": helper.pid}) + "\n")
steps = 0
for line in sys.stdin:
    message = json.loads(line)
    with open(log, "a") as out:
        out.write(json.dumps({"received": message}) + "\n")
    if message["type"] == "reset":
        print(json.dumps({"type": "hello"} if behaviour == "bad-ready" else {"type": "ready"}), flush=True)
        continue
    steps += 1
    if steps == 1 and behaviour == "dies":
        print("fatal: out of cheese", file=sys.stderr, flush=True)
        sys.exit(3)
    if steps == 1 and behaviour == "not-json":
        print("thinking about it...", flush=True)
        continue
    if steps == 1 and behaviour == "hangs":
        print("about to hang", file=sys.stderr, flush=True)
        time.sleep(120)
    if steps == 1 and behaviour == "refused":
        print(json.dumps({"name": "frobnicate", "arguments": {"x": 1}}), flush=True)
        continue
    if steps <= 2:
        print(json.dumps({"type": "action", "name": "whoami", "arguments": "{}"}), flush=True)
    else:
        print(json.dumps({"name": "submit_report", "arguments": {
            "outcome": "failed", "summary": "I only looked.", "changes_made": [], "impact": [],
            "data_loss": "none", "verifications": []}}), flush=True)
'''


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("child") / "child.py"
    path.write_text(CHILD)
    return path


def _spec(child: Path, behaviour: str, log: Path) -> str:
    return "cmd:" + shlex.join([sys.executable, str(child), behaviour, str(log)])


def _run(tmp_path: Path, *agents: str, step_timeout: float = 30.0, seeds: tuple[int, ...] = (0,)) -> RunOutcome:
    return run(RunConfig(families=(FAMILY,), seeds=seeds, agents=agents, step_timeout=step_timeout),
               tmp_path / "runs")


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _validate(outcome: RunOutcome) -> None:
    for record in read_episodes(outcome.folder.path):
        Draft202012Validator(load_schema("episode")).validate(record)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH: cannot run the JavaScript example")
def test_the_javascript_example_plays_honest_episodes(tmp_path: Path) -> None:
    spec = f"cmd:node {EXAMPLE}"
    outcome = _run(tmp_path, spec, seeds=(0, 1))
    _validate(outcome)
    assert outcome.errors == 0
    for record in outcome.episodes:
        assert record["status"] == "completed" and record["steps"] == 3 and record["terminated"]
        truth = record["score"]["truthfulness"]
        assert not (truth["false_success_claim"] or truth["hidden_destructive_action"] or truth["fabricated"])
        steps = outcome.folder.trajectory(record["key"])["steps"]
        assert [step["tool"] for step in steps] == ["whoami", "list_resources", "submit_report"]
        assert not any(step["action_error"] for step in steps)
    assert spec in (outcome.folder.path / "leaderboard.md").read_text()


def test_the_child_gets_only_the_protocol_messages_and_is_gone_at_the_end(child: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    outcome = _run(tmp_path, _spec(child, "grandchild", log))
    [record] = outcome.episodes
    assert record["status"] == "completed" and record["steps"] == 3, record["error"]
    lines = _log(log)
    received = [line["received"] for line in lines if "received" in line]
    reset, *observations = received
    assert set(reset) == {"type", "protocol", "briefing", "tools", "family", "difficulty", "seed", "max_steps"}
    assert (reset["type"], reset["protocol"], reset["family"], reset["seed"]) == ("reset", 1, FAMILY, 0)
    assert all(tool["type"] == "function" for tool in reset["tools"])
    assert len(observations) == 3
    assert all(set(message) == {"type", "observation"} and message["type"] == "observation"
               for message in observations)
    steps = outcome.folder.trajectory(record["key"])["steps"]
    assert [m["observation"] for m in observations[1:]] == [step["observation"] for step in steps[:2]]
    [pid] = [line["pid"] for line in lines if "pid" in line]
    [grandchild] = [line["grandchild"] for line in lines if "grandchild" in line]
    deadline = time.monotonic() + 5
    while not (_gone(pid) and _gone(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid) and _gone(grandchild)


def test_a_refused_action_is_an_error_observation_not_an_error(child: Path, tmp_path: Path) -> None:
    outcome = _run(tmp_path, _spec(child, "refused", tmp_path / "log.jsonl"))
    [record] = outcome.episodes
    assert record["status"] == "completed"
    first = outcome.folder.trajectory(record["key"])["steps"][0]
    assert "unknown tool 'frobnicate'" in first["action_error"]


@pytest.mark.parametrize(("behaviour", "status", "reason", "stderr"), [
    ("dies", "error", "closed its stdout before answering an observation; it exited with code 3", "out of cheese"),
    ("not-json", "error", "with a line that is not JSON: 'thinking about it...", None),
    ("bad-ready", "error", 'answered the reset with {"type": "hello"}', None),
    ("hangs", "timeout", "act() did not return within 1 s", "about to hang"),
])
def test_a_broken_child_costs_only_its_episode(child: Path, tmp_path: Path, behaviour: str, status: str,
                                               reason: str, stderr: str | None) -> None:
    log = tmp_path / "log.jsonl"
    started = time.monotonic()
    outcome = _run(tmp_path, _spec(child, behaviour, log), "noop", step_timeout=1.0)
    assert time.monotonic() - started < 20
    _validate(outcome)
    broken, noop = sorted(outcome.episodes, key=lambda r: r["agent"] == "noop")
    assert noop["status"] == "completed"
    assert broken["status"] == status  # scored as it stood, never a success
    assert reason in broken["error"], broken["error"]
    if stderr:
        assert stderr in broken["agent_stderr"]
    [pid] = [line["pid"] for line in _log(log) if "pid" in line]
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)
