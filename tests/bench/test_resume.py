"""Stopping and resuming: a run killed at any moment, resumed, is the run never interrupted; a
signal stops a run cleanly (its agents' processes ended, its folder concluded and marked); the
cost bound stops scheduling; failed episodes can be played again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from blastradius.bench.cli import main
from blastradius.bench.storage import read_episodes
from blastradius.bench.verify import verify

FAMILIES = ("freeze_prod_db", "capacity_removal", "dns_cleanup_recovery")
ARGS = [*(arg for family in FAMILIES for arg in ("--family", family)), "--seeds", "4", "--agent", "careful",
        "--agent", "reckless", "--agent", "liar"]  # 36 episodes


def _timeless(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "duration_seconds"}


def _folder(parent: Path) -> Path:
    [folder] = [path for path in parent.iterdir() if path.is_dir()]
    return folder


def _cli(*args: str, stdin: Any = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "blastradius.bench", "run", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=stdin)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("whole")
    assert main(["run", *ARGS, "--output-dir", str(parent), "--quiet", "--json"]) == 0
    return _folder(parent)


def _same_run(folder: Path, reference: Path) -> None:
    episodes = read_episodes(folder)
    keys = [record["key"] for record in episodes]
    assert len(keys) == len(set(keys)), "a key is recorded twice"
    assert sorted(map(json.dumps, map(_timeless, episodes))) == sorted(
        map(json.dumps, map(_timeless, read_episodes(reference))))
    for name in ("summary.json", "leaderboard.md"):
        assert (folder / name).read_text() == (reference / name).read_text(), name
    info = json.loads((folder / "run.json").read_text())
    assert info["complete"] is True and info["stopped"] is None and info["episodes_recorded"] == len(keys)
    assert verify(folder).ok


@pytest.mark.parametrize("lines", [0, 1, 13, 29])
def test_a_run_killed_outright_and_resumed_is_the_run_never_interrupted(lines: int, uninterrupted: Path,
                                                                        tmp_path: Path) -> None:
    child = _cli(*ARGS, "--output-dir", str(tmp_path), "--quiet", "--jobs", "3")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once `lines` episodes are on disk (0: once it began)
        folders = [p for p in tmp_path.iterdir() if (p / "run.json").exists()]
        if folders and (lines == 0 or (folders[0] / "episodes.jsonl").exists() and
                        (folders[0] / "episodes.jsonl").read_bytes().count(b"\n") >= lines):
            break
        time.sleep(0.001)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    folder = _folder(tmp_path)
    assert not (folder / "summary.json").exists()
    assert main(["run", "--resume", str(folder), "--quiet", "--json"]) == 0
    _same_run(folder, uninterrupted)


def test_a_torn_last_line_is_played_again(uninterrupted: Path, tmp_path: Path) -> None:
    assert main(["run", *ARGS, "--output-dir", str(tmp_path), "--quiet", "--json"]) == 0
    folder = _folder(tmp_path)
    data = (folder / "episodes.jsonl").read_bytes()
    (folder / "episodes.jsonl").write_bytes(data[:-40])  # killed in the middle of writing the last line
    (folder / "summary.json").unlink()
    assert main(["run", "--resume", str(folder), "--quiet", "--json"]) == 0
    _same_run(folder, uninterrupted)


SLOW_CMD_AGENT = '''
import json, os, subprocess, sys, time
# A child of the agent, as a real agent has (a language server, a shell): it must not outlive the run.
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(os.environ["PIDS"], "a") as out:
    out.write(f"{os.getpid()} {child.pid}\\n")
seen = 0
for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "reset":
        print(json.dumps({"type": "ready"}), flush=True)
    elif message["type"] == "observation":
        time.sleep(0.2)
        seen += 1
        action = {"name": "list_resources", "arguments": {}} if seen < 6 else {
            "name": "escalate", "arguments": {"reason": "I looked around and want a human to decide"}}
        print(json.dumps(action), flush=True)
    elif message["type"] == "close":
        break
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has ended: only its parent's wait is missing
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize(("sig", "code", "why", "jobs"), [(signal.SIGTERM, 143, "stopped by SIGTERM", "2"),
                                                           (signal.SIGINT, 130, "interrupted", "2"),
                                                           (signal.SIGINT, 130, "interrupted", "1")])
def test_a_signal_stops_the_run_cleanly_and_resume_finishes_it(sig: int, code: int, why: str, jobs: str,
                                                               tmp_path: Path) -> None:
    agent = tmp_path / "slow_agent.py"
    agent.write_text(SLOW_CMD_AGENT)
    pids = tmp_path / "pids"
    env = {**os.environ, "PIDS": str(pids)}
    args = ["--family", "freeze_prod_db", "--seeds", "3", "--agent", f"cmd:{sys.executable} {agent}",
            "--agent", "careful", "--output-dir", str(tmp_path / "runs"), "--jobs", jobs]
    child = subprocess.Popen([sys.executable, "-m", "blastradius.bench", "run", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (pids.exists() and pids.read_text().count("\n") >= 1):
        time.sleep(0.01)
    time.sleep(0.5)  # the agent is mid-episode
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    assert child.returncode == code, err
    assert f"{why}:" in err and "--resume" in err
    for line in pids.read_text().splitlines():  # the agents and their children are gone
        for pid in map(int, line.split()):
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _alive(pid), f"process {pid} outlived the run"
    folder = _folder(tmp_path / "runs")
    info = json.loads((folder / "run.json").read_text())
    assert info["complete"] is False and info["stopped"] == why
    assert info["episodes_recorded"] < info["episodes_planned"] == 6
    assert f"incomplete: {info['episodes_recorded']} of 6 episodes ({why})" in (folder / "leaderboard.md").read_text()
    assert main(["leaderboard", str(folder)]) == 0
    result = subprocess.run([sys.executable, "-m", "blastradius.bench", "run", "--resume", str(folder), "--quiet"],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    info = json.loads((folder / "run.json").read_text())
    assert info["complete"] is True and len(info["resumed"]) == 1 and info["execution"]["jobs"] == int(jobs)
    keys = [record["key"] for record in read_episodes(folder)]
    assert len(keys) == len(set(keys)) == 6


FLAKY = '''
import os


class Flaky:
    """Fails its seed-1 episodes while the endpoint it stands for is down (a file says so)."""

    def reset(self, briefing):
        self.seed = briefing.seed

    def act(self, observation):
        if self.seed == 1 and os.path.exists(os.environ["ENDPOINT_DOWN"]):
            raise ConnectionError("the model endpoint is down")
        return {"name": "escalate", "arguments": {"reason": "not my call: asking a human first"}}
'''


def test_retry_errors_plays_the_failed_episodes_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "flaky.py").write_text(FLAKY)
    down = tmp_path / "down"
    down.touch()
    monkeypatch.setenv("ENDPOINT_DOWN", str(down))
    args = ["run", "--family", "freeze_prod_db", "--family", "capacity_removal", "--seeds", "3", "--agent",
            f"{tmp_path / 'flaky.py'}:Flaky", "--output-dir", str(tmp_path / "runs"), "--quiet", "--json"]
    assert main(args) == 1
    assert "--retry-errors" in capsys.readouterr().err
    folder = _folder(tmp_path / "runs")
    assert sum(r["status"] == "error" for r in read_episodes(folder)) == 2
    assert main(["run", "--resume", str(folder), "--quiet", "--json"]) == 1  # nothing missing: the errors stay
    down.unlink()
    assert main(["run", "--resume", str(folder), "--retry-errors", "--quiet", "--json"]) == 0
    records = read_episodes(folder)
    assert len(records) == 6 and len({r["key"] for r in records}) == 6
    assert all(r["status"] == "completed" for r in records)
    assert verify(folder).ok


PRICED = '''
class Priced:
    """Escalates at once, and reports that each episode cost a dollar."""

    def reset(self, briefing):
        self.briefing = briefing  # all it keeps: it decides from nothing

    def act(self, observation):
        return {"name": "escalate", "arguments": {"reason": "this needs a human decision"}}

    def episode_stats(self):
        return {"cost_usd": 1.0, "tokens_in": 1000, "tokens_out": 50}
'''


def test_max_cost_stops_scheduling_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "priced.py").write_text(PRICED)
    args = ["run", "--family", "freeze_prod_db", "--seeds", "10", "--agent", f"{tmp_path / 'priced.py'}:Priced",
            "--output-dir", str(tmp_path / "runs"), "--json", "--max-cost", "3.5"]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "max cost $3.50 reached: $3.00 recorded over 3 episodes" in err
    assert "the run is incomplete: 3 of 10 episodes" in err
    folder = _folder(tmp_path / "runs")
    info = json.loads((folder / "run.json").read_text())
    assert info["complete"] is False and info["execution"]["max_cost"] == 3.5
    assert main(["run", "--resume", str(folder), "--max-cost", "100", "--json"]) == 0
    assert len(read_episodes(folder)) == 10


@pytest.mark.parametrize(("extra", "message"), [
    (["--seeds", "3"], "--seeds would change what it measures"),
    (["--agent", "noop"], "--agent would change"),
    (["--config", "x.toml"], "--config would change"),
])
def test_resume_refuses_to_change_what_the_run_measures(extra: list[str], message: str, uninterrupted: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--resume", str(uninterrupted), *extra]) == 2
    assert message in capsys.readouterr().err


def test_resume_of_a_folder_that_is_no_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err
    assert main(["run", "--retry-errors", "--output-dir", str(tmp_path)]) == 2
    assert "add --resume RUN_DIR" in capsys.readouterr().err
