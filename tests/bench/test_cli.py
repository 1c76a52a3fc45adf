"""The ``blastradius`` command line, in process through ``cli.main`` and once as a real process.

Exit codes (CONVENTIONS "Runs, results, CLI"): 0 all episodes completed, 1 some errored, 2 a
usage error, whose message says what to type instead.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from blastradius.bench.cli import main
from blastradius.bench.storage import RunFolder, load_schema, read_episodes
from blastradius.envs import ENV_IDS, FAMILIES

FAMILY = "freeze_prod_db"

ERRING_AGENT = '''
class Crashes:
    def reset(self, briefing):
        pass

    def act(self, observation):
        raise RuntimeError("agent bug")
'''


def _run_folder(output_dir: Path) -> Path:
    [folder] = [p for p in output_dir.iterdir() if p.is_dir()]
    return folder


def _run(output_dir: Path, seeds: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["run", "--family", FAMILY, "--seeds", seeds, "--agent", "noop", "--agent", "careful",
                 "--output-dir", str(output_dir), "--json"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two runs of the same agents on different seeds: 0-1 and 2-3."""
    first, second = tmp_path_factory.mktemp("run-a"), tmp_path_factory.mktemp("run-b")
    assert main(["run", "--family", FAMILY, "--seeds", "2", "--agent", "noop", "--agent", "careful",
                 "--output-dir", str(first), "--quiet"]) == 0
    assert main(["run", "--family", FAMILY, "--seeds", "2-3", "--agent", "noop", "--agent", "careful",
                 "--output-dir", str(second), "--quiet"]) == 0
    return _run_folder(first), _run_folder(second)


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv``, expect exit 2 (returned or through argparse), return stderr."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    return err


# -- run -----------------------------------------------------------------------------------------


def test_run_json_prints_only_the_summary_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(tmp_path, "2", capsys)
    assert code == 0, err
    summary = json.loads(out)  # nothing but JSON on stdout
    Draft202012Validator(load_schema("summary")).validate(summary)
    assert {agent: entry["episodes"] for agent, entry in summary.items()} == {"careful": 2, "noop": 2}
    folder = _run_folder(tmp_path)
    assert json.loads((folder / "summary.json").read_text()) == summary
    run_info = json.loads((folder / "run.json").read_text())
    assert run_info["config"]["agents"] == ["noop", "careful"] and run_info["seeds"] == [0, 1]
    # Not a terminal: no bar and no carriage returns, only the final plain line of progress (a log's).
    [line] = err.splitlines()
    assert "\r" not in err and line.startswith("4/4 100%") and "ep/s" in line


def test_run_without_json_prints_the_table_and_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--family", FAMILY, "--seeds", "1", "--agent", "noop", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| Agent" in out and "| noop" in out
    assert f"run folder: {_run_folder(tmp_path)}" in out


def test_run_with_an_erring_agent_exits_1_and_still_completes(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    agent_file = tmp_path / "erring.py"
    agent_file.write_text(ERRING_AGENT)
    spec = f"{agent_file}:Crashes"
    code = main(["run", "--family", FAMILY, "--seeds", "2", "--agent", "noop", "--agent", spec,
                 "--output-dir", str(tmp_path / "out"), "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "2 episode(s) errored" in err
    summary = json.loads(out)
    assert (summary[spec]["episodes"], summary[spec]["errors"]) == (2, 2)
    assert (summary["noop"]["episodes"], summary["noop"]["errors"]) == (2, 0)
    folder = _run_folder(tmp_path / "out")
    records = read_episodes(folder)
    assert len(records) == 4 and (folder / "leaderboard.md").is_file()
    assert sorted(r["status"] for r in records) == ["completed", "completed", "error", "error"]


# -- usage errors ----------------------------------------------------------------------------------


def test_unknown_family_says_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["run", "--family", "freeze_prod_dbb", "--output-dir", str(tmp_path)], capsys)
    assert "unknown family 'freeze_prod_dbb'" in err and "Did you mean 'freeze_prod_db'" in err
    assert "blastradius list" in err
    assert not list(tmp_path.iterdir())  # nothing was run


def test_unknown_difficulty_lists_the_levels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["run", "--family", FAMILY, "--difficulty", "impossible", "--output-dir", str(tmp_path)],
                       capsys)
    assert "difficulty 'impossible' is not a level of freeze_prod_db" in err
    for level in FAMILIES[FAMILY].difficulties:
        assert level.name in err
    assert "'all'" in err


def test_unknown_agent_says_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["run", "--family", FAMILY, "--agent", "carefull", "--output-dir", str(tmp_path)], capsys)
    assert "unknown agent 'carefull'" in err and "Did you mean 'careful'?" in err
    assert "module:Class" in err and "file.py:Class" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("seeds", ["abc", "3-1", "1,x", "0"])
def test_bad_seeds_name_the_accepted_forms(seeds: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["run", "--seeds", seeds], capsys)
    assert f"invalid seeds {seeds!r}" in err


def test_bad_seeds_message_shows_what_to_type(capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["run", "--seeds", "abc"], capsys)
    assert "a count (5), a list (0,3,7) or a range (10-19)" in err


def test_leaderboard_on_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["leaderboard", str(tmp_path)], capsys)
    assert "is not a run folder" in err and "blastradius run" in err


def test_show_with_an_unknown_episode_key(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = runs
    err = _usage_error(["show", str(first), "--episode", f"{FAMILY}/logs/0/0/carefull"], capsys)
    assert "no episode" in err and f"did you mean '{FAMILY}/logs/0/0/careful'" in err
    assert f"blastradius show {first}" in err


def test_show_on_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["show", str(tmp_path)], capsys)
    assert "is not a run folder" in err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "run" in capsys.readouterr().err


# -- list ------------------------------------------------------------------------------------------


def test_list_shows_every_family_with_its_difficulties_and_env_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    blocks = {}
    for env_id, family_id in ENV_IDS.items():
        family = FAMILIES[family_id]
        start = out.index(f"{family_id}  ({env_id})")
        following = [out.find(f"{other}  (", start + 1) for other in FAMILIES if other != family_id]
        end = min([i for i in following if i > start] or [len(out)])
        blocks[family_id] = out[start:end]
        for level in family.difficulties:
            assert f"    {level.name}" in blocks[family_id], (family_id, level.name)
        assert f"{family.default_difficulty} (default)" in blocks[family_id]
        assert f"Step budget: {family.step_budget} steps" in blocks[family_id]
    assert set(blocks) == set(FAMILIES)


def test_list_json_parses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    catalogue = json.loads(capsys.readouterr().out)
    assert [entry["family"] for entry in catalogue] == list(FAMILIES)
    ids = {family: env_id for env_id, family in ENV_IDS.items()}
    for entry in catalogue:
        family = FAMILIES[entry["family"]]
        assert entry["env_id"] == ids[family.id]
        assert [d["name"] for d in entry["difficulties"]] == [d.name for d in family.difficulties]
        assert entry["default_difficulty"] == family.default_difficulty
        assert entry["step_budget"] == family.step_budget
        assert entry["url"].startswith("https://")


# -- leaderboard -------------------------------------------------------------------------------------


def test_leaderboard_merges_two_runs(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", *map(str, runs)]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[1:-1]]
            for line in out.splitlines() if line.startswith(("| noop", "| careful"))}
    assert set(rows) == {"noop", "careful"}
    assert rows["noop"][1] == rows["careful"][1] == "4"  # Episodes: 2 seeds from each run
    assert rows["careful"][-1] == "0"  # Errors


def test_leaderboard_formats(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", *map(str, runs), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    Draft202012Validator(load_schema("summary")).validate(summary)
    assert {agent: entry["episodes"] for agent, entry in summary.items()} == {"careful": 4, "noop": 4}

    assert main(["leaderboard", *map(str, runs), "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {row["agent"]: row["episodes"] for row in table} == {"careful": "4", "noop": "4"}
    assert float(table[0]["safe_success_rate_value"]) >= float(table[1]["safe_success_rate_value"])  # best first
    assert {row["agent"]: float(row["safe_success_rate_value"]) for row in table} == {
        agent: entry["safe_success_rate"]["value"] for agent, entry in summary.items()}


def test_leaderboard_of_one_run_matches_its_summary(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = runs
    assert main(["leaderboard", str(first), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads((first / "summary.json").read_text())


def test_leaderboard_takes_a_folder_that_holds_runs(runs: tuple[Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A folder of run folders (each `blastradius mcp` or `play` episode makes one) is pooled as
    if each were named."""
    held = tmp_path / "runs"
    held.mkdir()
    for run in runs:
        (held / run.name).symlink_to(run, target_is_directory=True)
    assert main(["leaderboard", *map(str, runs), "--format", "json"]) == 0
    named = capsys.readouterr().out
    assert main(["leaderboard", str(held), "--format", "json"]) == 0
    assert capsys.readouterr().out == named


def test_leaderboard_refuses_the_same_run_twice(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = runs
    err = _usage_error(["leaderboard", str(first), str(first)], capsys)
    assert "pass each run folder once" in err


# -- show ----------------------------------------------------------------------------------------------


def test_show_lists_the_keys(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = runs
    assert main(["show", str(first)]) == 0
    out, err = capsys.readouterr()
    keys = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert keys == [record["key"] for record in read_episodes(first)]
    assert all(" completed  safe_success=" in line for line in out.splitlines() if line.strip())
    assert "--episode KEY" in err


def test_show_an_episode(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = runs
    key = f"{FAMILY}/logs/0/0/careful"
    assert main(["show", str(first), "--episode", key]) == 0
    out = capsys.readouterr().out
    trajectory = RunFolder(first).trajectory(key)
    assert out.startswith(f"episode {key}  status: completed")
    assert "briefing:" in out
    for number, step in enumerate(trajectory["steps"], 1):
        assert f"[{number}] +{step['clock_minutes']} min" in out
    assert "describe {" in out and "wait {" in out
    changes = out[out.index("health changes (minutes from start):"):out.index("\nwhy:\n")]
    assert len(changes.splitlines()) > 1 and "none" not in changes.splitlines()[1]
    assert "safe success: " in out and "truthfulness: " in out
    why = out[out.index("\nwhy:\n"):]
    for line in trajectory["explanation"]:  # the claims are under the report (tests/bench/test_show.py)
        assert line in why or line.startswith(("claim ", "undisclosed: ")), line


def test_show_names_the_tool_of_every_step_even_a_long_one(runs: tuple[Path, Path],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # The last step, the report, is the longest action: its tool name must survive the cut.
    first, _ = runs
    key = f"{FAMILY}/logs/0/0/careful"
    assert main(["show", str(first), "--episode", key]) == 0
    out = capsys.readouterr().out
    steps = RunFolder(first).trajectory(key)["steps"]
    shown = [line for line in out.splitlines() if line.startswith("[")]
    assert len(shown) == len(steps)
    for line, step in zip(shown, steps, strict=True):
        assert step["action"]["name"] in line, line


# -- a real process ---------------------------------------------------------------------------------------


def test_python_m_and_the_console_script(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "blastradius.bench", "run", "--family", FAMILY, "--seeds", "1",
         "--agent", "noop", "--output-dir", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    Draft202012Validator(load_schema("summary")).validate(json.loads(result.stdout))
    assert result.stderr.startswith("1/1 100%") and result.stderr.count("\n") == 1

    script = Path(sys.executable).parent / "blastradius"
    if not script.exists():
        script = Path(shutil.which("blastradius") or "blastradius")
    listed = subprocess.run([str(script), "list", "--json"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert listed.returncode == 0, listed.stderr
    assert [entry["family"] for entry in json.loads(listed.stdout)] == list(FAMILIES)
    usage = subprocess.run([str(script), "run", "--family", "nope"], capture_output=True, text=True, timeout=60,
                           check=False)
    assert usage.returncode == 2 and "unknown family 'nope'" in usage.stderr and usage.stdout == ""


def test_a_reader_that_stops_reading_does_not_crash_the_command(tmp_path: Path) -> None:
    """`blastradius run ... | head -1`: the run still completes with its own exit code, no traceback.
    The reading end is closed before the command prints, so its output meets a broken pipe."""
    child = subprocess.Popen([sys.executable, "-m", "blastradius.bench", "run", "--agent", "noop", "--family",
                              "freeze_prod_db", "--seeds", "1", "--output-dir", str(tmp_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()
    err = child.stderr.read()
    assert child.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert len(list(tmp_path.iterdir())) == 1  # the run folder was written
