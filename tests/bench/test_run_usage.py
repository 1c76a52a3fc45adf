"""``blastradius run`` given what it cannot do: exit 2, a message that says what to give instead,
and nothing written; and a run file (``--config``) read as the flags are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blastradius.bench.cli import main
from blastradius.bench.storage import _file_name, read_episodes

FAMILY = "freeze_prod_db"


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The message of a usage error, whether argparse or the command found it."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own checks exit by themselves
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "", captured.err
    return captured.err


@pytest.mark.parametrize(("extra", "message"), [
    (["--seeds", "1000000000000"], "1,000,000,000,000 seeds; one run plays at most 1,000,000"),
    (["--seeds", "5-2"], "has no seed in it"),
    (["--seeds", "1,1"], "seed 1 is given twice"),
    (["--size", "5"], "size must be between 10"),
    (["--size", "100000000"], "and 5000 resources"),
    (["--step-timeout", "inf"], "step_timeout must be a positive, finite number"),
    (["--step-timeout", "nan"], "must be positive"),
    (["--trials", "0"], "must be positive"),
    (["--jobs", "0"], "must be positive"),
    (["--max-cost", "-1"], "must be positive"),
    (["--executor", "gpu"], "invalid choice"),
    (["--ray-address", "ray://x:10001"], "add executor='ray'"),
    (["--difficulty", "telemetry"], "difficulty 'telemetry' is not a level of freeze_prod_db (levels: declared"),
    (["--sealed", "--executor", "process"], "a sealed agent is a process of its own"),
])
def test_a_bad_option_is_exit_2_with_a_fix_and_writes_nothing(extra: list[str], message: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    err = _usage_error(["run", "--family", FAMILY, "--agent", "noop", "--output-dir", str(out), *extra], capsys)
    assert message in err
    assert not out.exists()


def test_an_output_dir_that_is_a_file_or_under_one_is_a_usage_error(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("not a folder")
    for where, message in ((tmp_path / "file", "is a file"), (tmp_path / "file" / "runs", "which is a file")):
        err = _usage_error(["run", "--family", FAMILY, "--agent", "noop", "--output-dir", str(where)], capsys)
        assert message in err and "give a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_an_output_dir_that_cannot_be_written_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    # /proc refuses new folders even to root, for whom permission bits say yes.
    err = _usage_error(["run", "--family", FAMILY, "--agent", "noop", "--output-dir", "/proc/blastradius-runs"], capsys)
    assert "cannot write in '/proc'" in err


def test_trajectory_files_of_keys_that_read_alike_do_not_collide() -> None:
    keys = ["f/d/0/0/agents/x.py:A", "f/d/0/0/agents__x.py:A", "f/d/0/0/agents x.py:A", "f/d/0/0/" + "a" * 300,
            "f/d/0/0/" + "a" * 299 + "b"]
    names = [_file_name(key) for key in keys]
    assert len(set(names)) == len(names) and all(len(name) < 128 for name in names)


RUN_FILE = '''
# A nightly run, as a team would keep it.
family = ["freeze_prod_db", "capacity_removal"]
seeds = "3-4"
difficulty = "all"
jobs = 2
quiet = true

[agents."the careful one"]
spec = "careful"

[agents.reckless-baseline]
spec = "reckless"
'''


def test_a_run_file_names_the_agents_and_the_folder_keeps_it_resolved(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nightly.toml").write_text(RUN_FILE)
    assert main(["run", "--config", str(tmp_path / "nightly.toml"), "--output-dir", str(tmp_path / "a"),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(summary) == ["reckless-baseline", "the careful one"]  # short names, not specs
    [folder] = (tmp_path / "a").iterdir()
    info = json.loads((folder / "run.json").read_text())
    assert info["config"]["seeds"] == [3, 4] and info["config"]["difficulties"] == ["all"]
    assert info["execution"]["jobs"] == 2
    episodes = read_episodes(folder)
    assert {r["agent"] for r in episodes} == {"the careful one", "reckless-baseline"}
    # The resolved file plays the same run again; a flag given beside it wins.
    assert main(["run", "--config", str(folder / "run.toml"), "--output-dir", str(tmp_path / "b"), "--json",
                 "--jobs", "1"]) == 0
    assert json.loads(capsys.readouterr().out) == summary
    [again] = (tmp_path / "b").iterdir()
    assert json.loads((again / "run.json").read_text())["execution"]["jobs"] == 1


@pytest.mark.parametrize(("text", "message"), [
    ("seeds = 3\nmodel = 'x'\n", "unknown key 'model'"),
    ("seeds = 3\nseed = 3\n", "unknown key 'seed' (did you mean 'seeds'?)"),
    ("seeds = [1, 1]\n", "seed 1 is given twice"),
    ("seeds = true\n", "seeds: invalid seeds True"),
    ("jobs = '4'\njobs_ = 1\n", "unknown key 'jobs_'"),
    ("chaos = 7\n", "chaos: choose from 0, 1, 2, 3"),
    ("[agents.x]\nmodel = 'gpt-4o'\n", "[agents.x] needs spec"),
    ("seeds = \n", "is not valid TOML"),
    ("secret = 'ab'\n", "unknown key 'secret'"),
])
def test_a_bad_run_file_is_a_usage_error_naming_the_key(text: str, message: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run.toml").write_text(text)
    err = _usage_error(["run", "--config", str(tmp_path / "run.toml"), "--family", FAMILY,
                        "--output-dir", str(tmp_path / "runs")], capsys)
    assert message in err
    assert not (tmp_path / "runs").exists()
