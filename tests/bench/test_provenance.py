"""Provenance and the strict leaderboard: every agent kind is recorded in ``run.json`` with the real
sha256 of its code, the fingerprints of the records are written when the run ends, and
``blastradius leaderboard`` marks unsealed rows, refuses to pool runs that measured different
things, reports an unfinished run, and skips nothing but a torn last line.

Runs are one family and one or two seeds; agents are written to ``tmp_path`` and named the way a
user names them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from blastradius.agents.loader import agent_code
from blastradius.bench.cli import main
from blastradius.bench.provenance import agent_provenance
from blastradius.bench.runner import RunConfig, run
from blastradius.bench.storage import load_schema, read_episodes

FAMILY = "freeze_prod_db"
AGENT_SOURCE = '''
class FileAgent:
    def reset(self, briefing):
        pass

    def act(self, observation):
        return {"name": "submit_report", "arguments": {"outcome": "failed", "summary": "I only looked around."}}
'''
AGENTS_PACKAGE = Path(importlib.import_module("blastradius.agents").__file__).parent


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(tmp_path: Path, name: str, agents: tuple[str, ...], seeds: tuple[int, ...] = (0,), chaos: int = 1) -> Path:
    config = RunConfig(families=(FAMILY,), seeds=seeds, agents=agents, chaos=chaos)
    return run(config, tmp_path / name).folder.path


def _info(path: Path) -> dict:
    return json.loads((path / "run.json").read_text())


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two runs of ``noop`` alike but for their seeds: they may be pooled."""
    where = tmp_path_factory.mktemp("pair")
    return _run(where, "a", ("noop",), (0,)), _run(where, "b", ("noop",), (1,))


# -- what run.json records ------------------------------------------------------------------------


def test_a_built_in_package_is_hashed_file_by_file_in_sorted_order() -> None:
    recorded = agent_provenance("careful")
    files = sorted((AGENTS_PACKAGE / "careful").rglob("*.py"))
    assert recorded["kind"] == "builtin"
    assert [entry["sha256"] for entry in recorded["files"]] == list(map(_sha256, files))
    assert recorded["files"][0]["path"] == "blastradius/agents/careful/__init__.py"  # the same on every machine
    listing = "".join(f"{entry['sha256']}  {entry['path']}\n" for entry in recorded["files"])
    assert recorded["code_sha256"] == hashlib.sha256(listing.encode()).hexdigest()
    assert agent_provenance("noop")["code_sha256"] == _sha256(AGENTS_PACKAGE / "noop.py")


def test_a_module_agent_is_its_module_source() -> None:
    recorded = agent_provenance("blastradius.agents.random_agent:RandomAgent")
    assert recorded["kind"] == "module" and recorded["code_sha256"] == _sha256(AGENTS_PACKAGE / "random_agent.py")


def test_an_entry_point_is_the_module_it_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "provenance_plugin_pkg.py").write_text(AGENT_SOURCE)
    info = tmp_path / "provenance_plugin_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: provenance-plugin-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[blastradius.agents]\nplugged-agent = provenance_plugin_pkg:FileAgent\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    recorded = agent_provenance("plugged-agent")
    assert recorded["kind"] == "entry_point"
    assert recorded["code_sha256"] == _sha256(tmp_path / "provenance_plugin_pkg.py")


def test_a_command_is_its_executable_and_its_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("agent.py").write_text("print('hello')\n")
    code = agent_code(f"cmd:{sys.executable} agent.py --fast")
    assert code.kind == "subprocess" and code.files == (Path(sys.executable).resolve(), Path("agent.py"))
    recorded = agent_provenance(f"cmd:{sys.executable} agent.py --fast")
    assert [entry["sha256"] for entry in recorded["files"]] == [_sha256(Path(sys.executable).resolve()),
                                                                 _sha256(Path("agent.py"))]


def test_a_run_records_each_agent_and_its_fingerprints(tmp_path: Path) -> None:
    agent_file = tmp_path / "mine.py"
    agent_file.write_text(AGENT_SOURCE)
    spec = f"{agent_file}:FileAgent"
    path = _run(tmp_path, "runs", ("noop", spec))
    info = _info(path)
    Draft202012Validator(load_schema("run")).validate(info)
    assert info["agents"][spec] == {"kind": "file", "spec": spec, "code_sha256": _sha256(agent_file),
                                    "files": [{"path": str(agent_file), "sha256": _sha256(agent_file)}]}
    assert info["agents"]["noop"]["kind"] == "builtin"
    lines = (path / "episodes.jsonl").read_bytes().split(b"\n")[:-1]
    assert info["content_sha256"] == {
        "episodes": {json.loads(line)["key"]: hashlib.sha256(line).hexdigest() for line in lines},
        "summary": _sha256(path / "summary.json")}


def test_changing_a_file_agent_changes_its_hash_and_the_runs_no_longer_pool(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    agent_file = tmp_path / "mine.py"
    agent_file.write_text(AGENT_SOURCE)
    spec = f"{agent_file}:FileAgent"
    before = _run(tmp_path, "before", (spec,), (0,))
    agent_file.write_text(AGENT_SOURCE.replace("I only looked around.", "All done, nothing broken."))
    after = _run(tmp_path, "after", (spec,), (1,))
    old, new = (_info(path)["agents"][spec]["code_sha256"] for path in (before, after))
    assert old != new and new == _sha256(agent_file)
    assert main(["leaderboard", str(before), str(after)]) == 2
    assert f"the code of agent {spec!r} (sha256) differs: run {before} has {old[:12]}, run {after} has {new[:12]}" \
        in capsys.readouterr().err


# -- the leaderboard ------------------------------------------------------------------------------


def _table_row(out: str, agent: str) -> dict[str, str]:
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("| Agent"))
    row = next(line for line in lines if line.startswith(f"| {agent} "))
    return dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")], strict=True))


def test_unsealed_rows_are_marked_with_their_code_hash(pair: tuple[Path, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", *map(str, pair), "--wide"]) == 0  # the code hash is a wide column
    out = capsys.readouterr().out
    row = _table_row(out, "noop")
    assert row["Sealed"] == "no" and row["Code"] == _info(pair[0])["agents"]["noop"]["code_sha256"][:12]
    assert row["Episodes"] == "2" and "**Sealed** is yes when" in out and "Notice" not in out
    in_run = _table_row((pair[0] / "leaderboard.md").read_text(), "noop")
    assert in_run["Sealed"] == row["Sealed"]  # the run's own table agrees


def test_the_csv_ends_with_the_full_provenance(pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", *map(str, pair), "--format", "csv"]) == 0
    header, row = (line.split(",") for line in capsys.readouterr().out.splitlines())
    cells = dict(zip(header, row, strict=True))
    info = _info(pair[0])
    assert cells["sealed"] == "false" and cells["kind"] == "builtin"
    assert cells["code_sha256"] == info["agents"]["noop"]["code_sha256"]
    assert cells["scorer_version"] == info["scorer_version"] and cells["package_version"] == info["package_version"]


def test_mixed_chaos_is_refused_unless_allowed(pair: tuple[Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    calm = _run(tmp_path, "calm", ("noop",), (0,), chaos=0)
    assert main(["leaderboard", str(pair[0]), str(calm)]) == 2
    err = capsys.readouterr().err
    assert f"chaos differs: run {pair[0]} has 1, run {calm} has 0" in err and "--allow-mixed" in err

    assert main(["leaderboard", str(pair[0]), str(calm), "--allow-mixed"]) == 0
    out = capsys.readouterr().out
    assert _table_row(out, "noop")["Episodes"] == "2"  # the same key, two different episodes: both count
    assert "**Notice: mixed on purpose (--allow-mixed): chaos differs" in out


def test_a_different_scorer_version_is_refused(pair: tuple[Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    other = Path(shutil.copytree(pair[1], tmp_path / "other"))
    info = _info(other)
    info["scorer_version"] = "0"
    (other / "run.json").write_text(json.dumps(info))
    assert main(["leaderboard", str(pair[0]), str(other)]) == 2
    assert f"scorer version differs: run {pair[0]} has {_info(pair[0])['scorer_version']}, run {other} has 0" \
        in capsys.readouterr().err


def test_an_incomplete_run_is_marked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    killed = _run(tmp_path, "killed", ("noop",), (0, 1, 2))
    lines = (killed / "episodes.jsonl").read_text().splitlines(keepends=True)
    (killed / "episodes.jsonl").write_text("".join(lines[:2]))
    (killed / "summary.json").unlink()
    assert main(["leaderboard", str(killed)]) == 0
    out = capsys.readouterr().out
    assert f"**Notice: run {killed} is incomplete: 2 of 3 episodes (no summary.json" in out
    assert f"finish it with: blastradius run --resume {killed}" in out
    assert main(["leaderboard", str(killed), "--format", "json"]) == 0
    err = capsys.readouterr().err
    assert f"warning: run {killed} is incomplete: 2 of 3 episodes (no summary.json" in err


def test_only_a_torn_last_line_is_skipped_and_it_is_reported(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = _run(tmp_path, "torn", ("noop",), (0, 1, 2))
    text = (path / "episodes.jsonl").read_text()
    (path / "episodes.jsonl").write_text(text[:-20])  # killed while writing the last line
    with pytest.warns(UserWarning, match="skipped the torn last line 3"):
        assert len(read_episodes(path)) == 2
    assert main(["leaderboard", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "warning: " in err and "skipped the torn last line 3" in err
    assert _table_row(out, "noop")["Episodes"] == "2" and "incomplete: 2 of 3 episodes" in out

    lines = text.splitlines(keepends=True)
    (path / "episodes.jsonl").write_text(lines[0] + lines[1][1:] + lines[2])  # a damaged middle line
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        read_episodes(path)
    assert main(["leaderboard", str(path)]) == 2
    assert "line 2 is not valid JSON" in capsys.readouterr().err
