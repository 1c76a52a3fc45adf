"""``blastradius run --sealed``: each agent in a process of its own, ended with all it started.

Python agents that busy-loop, print to stdout, ``os._exit``, ``chdir("/")``, start a ``setsid``
grandchild or try to rename themselves run sealed next to well-behaved ones: each costs at most
its own episodes, leaves no process behind, and the others' episodes complete. The same secret
gives the same episodes; the secret reaches ``run.json`` only when the run ends.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from blastradius.agents.base import Briefing
from blastradius.bench import sealed
from blastradius.bench.cli import main
from blastradius.bench.runner import Monitor, RunConfig, run
from blastradius.bench.storage import SECRET_FILE, RunFolder, read_episodes

FAMILY = "freeze_prod_db"
SECRET = "ab" * 32

AGENTS_SOURCE = '''
import json
import os
import subprocess
import sys

REPORT = {"name": "submit_report", "arguments": {"outcome": "failed", "summary": "nothing done"}}


class Quick:
    def reset(self, briefing):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        return {"name": "whoami", "arguments": {}} if self.steps < 2 else REPORT


class Busy(Quick):
    def act(self, observation):
        while True:
            pass


class Meddles(Quick):
    """Writes to stdout, leaves for "/", and claims another agent's name and a score."""

    def act(self, observation):
        print('{"not": "a protocol line"')
        sys.stdout.write("careful 1.00\\n")
        os.chdir("/")
        action = super().act(observation)
        return {**action, "agent": "careful", "score": {"safe_success": True}} if self.steps == 1 else action


class Exits(Quick):
    def act(self, observation):
        os._exit(7)


class Spawns(Quick):
    """Starts a grandchild that forks, leaves its session (setsid) and sleeps; MARKER names it."""

    def act(self, observation):
        if self.steps == 0:
            code = "import os, sys, time\\nif os.fork(): os._exit(0)\\nos.setsid()\\ntime.sleep(300)"
            subprocess.Popen([sys.executable, "-c", code, MARKER])
        return super().act(observation)


class Inspector(Quick):
    """Reports what its process can see: its user, directory, environment and the run folders."""

    def __init__(self, look):
        self.look = look

    def act(self, observation):
        self.steps += 1
        if self.steps < 2:
            return {"name": "whoami", "arguments": {}}
        seen = {"uid": os.getuid(), "cwd": os.getcwd(), "cwd_entries": os.listdir("."),
                "env": sorted(os.environ), "home": os.environ.get("HOME"), "runs": {}, "ancestors": []}
        pid = os.getppid()
        while pid > 1:  # the reaper, then the harness, and on up
            seen["ancestors"].append({"cmdline": os.access(f"/proc/{pid}/cmdline", os.R_OK),
                                      "environ": os.access(f"/proc/{pid}/environ", os.R_OK)})
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rpartition(")")[2].split()[1])
        for name in os.listdir(self.look):
            try:
                seen["runs"][name] = os.listdir(os.path.join(self.look, name))
            except OSError as exc:
                seen["runs"][name] = type(exc).__name__
        return {"name": "submit_report", "arguments": {"outcome": "failed", "summary": json.dumps(seen)}}
'''


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder the unprivileged user of a sealed run can read (pytest's tmp_path is 0700 as root)."""
    folder = Path(tempfile.mkdtemp(prefix="blastradius-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _agents_file(shared: Path, marker: str = "") -> Path:
    path = shared / "agents.py"
    path.write_text(f"MARKER = {marker!r}\n" + AGENTS_SOURCE)
    path.chmod(0o644)
    return path


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if text.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _summary_of(folder: Path, key: str) -> str:
    last = RunFolder(folder).trajectory(key)["steps"][-1]["action"]
    return str(last["arguments"]["summary"])


def test_misbehaving_agents_cost_only_their_own_episodes(shared, monkeypatch, capsys):
    marker = f"blastradius-grandchild-{uuid.uuid4().hex}"
    agents = _agents_file(shared, marker)
    monkeypatch.chdir(shared)  # a relative --output-dir, which the agent's chdir("/") must not move
    args = ["run", "--sealed", "--json", "--family", FAMILY, "--seeds", "2", "--step-timeout", "3",
            "--output-dir", "runs", "--agent", "noop"]
    for name in ("Busy", "Meddles", "Exits", "Spawns"):
        args += ["--agent", f"{agents}:{name}"]
    runs = shared / "runs"
    args += ["--agent", f"{agents}:Inspector", "--agent-kwarg", f"look={runs}"]
    assert main(args) == 1  # Busy and Exits failed their episodes
    summary = json.loads(capsys.readouterr().out)  # the agents' prints never reached stdout
    [folder] = runs.iterdir()
    records = {record["key"]: record for record in read_episodes(folder)}
    assert len(records) == 12
    for key, record in records.items():
        agent = record["agent"]
        expected = "timeout" if agent.endswith(":Busy") else "error" if agent.endswith(":Exits") else "completed"
        assert record["status"] == expected, (key, record["error"], record.get("agent_stderr"))
    # A busy agent is killed at the step timeout; its process is gone, not left spinning.
    busy = next(r for r in records.values() if r["agent"].endswith(":Busy"))
    assert "killed" in busy["error"] and busy["duration_seconds"] < 10
    assert not _processes_with(f"{agents}:Busy")
    exits = next(r for r in records.values() if r["agent"].endswith(":Exits"))
    assert "exited with code 7" in exits["error"]
    # The grandchild left its session; the reaper ended it with the episode all the same.
    assert not _processes_with(marker)
    # What the agent says never names it: labels come from the harness.
    meddles = [r for r in records.values() if r["agent"].endswith(":Meddles")]
    assert len(meddles) == 2 and all(r["key"].endswith(":Meddles") for r in meddles)
    assert set(summary) == {r["agent"] for r in records.values()}
    seen = json.loads(_summary_of(folder, f"{FAMILY}/logs/0/0/{agents}:Inspector[look={runs}]"))
    assert seen["cwd_entries"] == [] and seen["cwd"] == seen["home"] != str(shared)
    assert {"HOME", "LANG", "PATH"} <= set(seen["env"]) <= {"HOME", "LANG", "PATH", "LC_CTYPE"}
    if sealed.isolation().unprivileged:  # the harness is root: the agent is not, and the run folder is shut
        assert seen["uid"] != 0
        assert seen["runs"] == {folder.name: "PermissionError"}
        # Linux shows every process's command line to everyone (nothing in it rebuilds a sealed
        # world), but not its environment.
        assert len(seen["ancestors"]) >= 2
        assert all(a["cmdline"] and not a["environ"] for a in seen["ancestors"])
    assert stat.S_IMODE(folder.stat().st_mode) & 0o055  # opened up again once the run ended


def test_the_same_secret_gives_the_same_episodes(tmp_path):
    def episodes(secret: str, name: str, seeds: tuple[int, ...] = (0, 1)) -> list[dict]:
        config = RunConfig(families=(FAMILY,), seeds=seeds, agents=("random",), sealed=True, secret=secret)
        outcome = run(config, tmp_path / name)
        info = json.loads((outcome.folder.path / "run.json").read_text())
        assert info["sealed"] is True and info["secret"] == secret
        assert info["config"]["secret"] is None and secret not in json.dumps(info["config"])
        return [{k: v for k, v in record.items() if k != "duration_seconds"} for record in outcome.episodes]

    first = episodes(SECRET, "a")
    assert episodes(SECRET, "b") == first
    episodes("cd" * 32, "c", seeds=(0,))
    trajectories = [RunFolder(next((tmp_path / name).iterdir())).trajectory(f"{FAMILY}/logs/0/0/random")
                    for name in ("a", "c")]
    assert trajectories[0]["steps"] != trajectories[1]["steps"]  # another secret, another world


def test_the_secret_is_written_only_when_the_run_ends(tmp_path):
    seen: list[dict] = []

    class Watch(Monitor):
        def episode(self, record: dict) -> None:
            [folder] = tmp_path.iterdir()
            seen.append(json.loads((folder / "run.json").read_text()))
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
            # Kept for a resume after a kill, where only the harness can read it.
            assert stat.S_IMODE((folder / SECRET_FILE).stat().st_mode) == 0o600

    run(RunConfig(families=(FAMILY,), seeds=(0,), agents=("noop",), sealed=True), tmp_path, monitor=Watch())
    assert seen and all("secret" not in info and info["config"]["secret"] is None for info in seen)
    [folder] = tmp_path.iterdir()
    assert len(json.loads((folder / "run.json").read_text())["secret"]) == 64
    assert not (folder / SECRET_FILE).exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--secret", SECRET], "add --sealed"),
    (["--sealed", "--secret", "nothex"], "64 hex digits"),
    (["--sealed", "--secret-file", "/nonexistent/secret"], "cannot read"),
    (["--sealed", "--agent", "blastradius.agents.noop:Nope"], "Did you mean 'NoopAgent'"),
    (["--sealed", "--agent", f"cmd:{sys.executable} sub/agent.py"], "absolute path"),
    (["--sealed-env", "HOME"], "add --sealed"),
    (["--sealed", "--sealed-env", "BLASTRADIUS_TEST_UNSET_VARIABLE"], "no such variable"),
])
def test_sealed_usage_errors_exit_2(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "agent.py").write_text("")
    assert main(["run", "--family", FAMILY, "--seeds", "1", "--output-dir", "runs", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_secret_file_or_argument_reproduces_a_run_and_argv_keeps_no_secret(tmp_path, monkeypatch, capsys):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET.upper() + "\n")
    args = ["run", "--sealed", "--json", "--family", FAMILY, "--seeds", "1", "--agent", "random"]
    assert main([*args, "--secret-file", str(secret_file), "--output-dir", str(tmp_path / "a")]) == 0
    monkeypatch.setattr(sys, "argv", ["blastradius", *args, "--secret", SECRET])
    assert main([*args, "--secret", SECRET, "--output-dir", str(tmp_path / "b")]) == 0
    first, second = ([{k: v for k, v in r.items() if k != "duration_seconds"}
                      for r in read_episodes(next((tmp_path / name).iterdir()))] for name in ("a", "b"))
    assert first == second
    info = json.loads((next((tmp_path / "b").iterdir()) / "run.json").read_text())
    assert info["secret"] == SECRET and SECRET not in json.dumps(info["argv"])
    assert info["argv"][-2:] == ["--secret", "<secret>"]


def test_without_root_the_agent_runs_as_the_harness_user_with_a_clean_environment(shared):
    """What a sealed run falls back to on a user's own account (simulated here when run as root)."""
    agents = _agents_file(shared)
    where = sealed.Isolation(user=pwd.getpwuid(os.geteuid()).pw_name, unprivileged=False, descendants_ended=True)
    agent = sealed.sealed_factory(f"{agents}:Inspector", {"look": str(shared)}, 10.0, where)()
    try:
        agent.reset(Briefing("the task", (), FAMILY, "logs", 0))
        agent.act("first")
        seen = json.loads(agent.act("second")["arguments"]["summary"])  # type: ignore[index]
    finally:
        agent.close()
    assert seen["uid"] == os.geteuid() and seen["cwd_entries"] == [] and seen["cwd"] == seen["home"]
    assert {"HOME", "LANG", "PATH"} <= set(seen["env"]) <= {"HOME", "LANG", "PATH", "LC_CTYPE"}
    assert not Path(seen["home"]).exists()  # its directory went with it


def test_perf_reports_the_sealed_overhead_per_step(capsys):
    assert main(["perf", "--sealed-overhead", "--steps", "50", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 50 and report["rounds"] == 5 and report["target_overhead_ms"] == 1.0
    assert report["sealed_ms"] > 0 and report["in_process_ms"] > 0 and report["start_ms"] > 0
    assert report["overhead_ms"] == pytest.approx(report["sealed_ms"] - report["in_process_ms"])
    assert report["isolation"]["user"]


def test_sealed_env_takes_names_of_variables_only():
    with pytest.raises(ValueError, match="not an environment variable's name"):
        RunConfig(sealed=True, sealed_env=("NOT-A-NAME",))


def test_sealed_env_passes_a_variable_by_name_and_records_only_its_name(shared, tmp_path, monkeypatch):
    """An LLM agent's API key reaches the sealed agent through --sealed-env; run.json and the
    recorded argv hold its name, never its value."""
    agents = _agents_file(shared)
    monkeypatch.setenv("BLASTRADIUS_TEST_KEY", "sk-not-a-real-key-123")
    assert main(["run", "--family", FAMILY, "--seeds", "1", "--output-dir", str(tmp_path), "--quiet", "--sealed",
                 "--sealed-env", "BLASTRADIUS_TEST_KEY", "--agent", f"{agents}:Inspector",
                 "--agent-kwarg", f"look={shared}"]) == 0
    [folder] = tmp_path.iterdir()
    [record] = read_episodes(folder)
    seen = json.loads(_summary_of(folder, record["key"]))
    assert "BLASTRADIUS_TEST_KEY" in seen["env"]
    run_json = (folder / "run.json").read_text()
    assert "BLASTRADIUS_TEST_KEY" in run_json and "sk-not-a-real-key-123" not in run_json
