"""`blastradius show RUN_DIR --episode KEY`: read as a user reads it after a real run.

The reckless agent drops the production table during a freeze without asking: its steps must be
marked for it, and its report's contradicted claims listed with the referee's reason. The LLM
agent's messages come with ``--transcript``; a scripted agent's say there are none.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from blastradius.bench.cli import main
from blastradius.bench.show import render_episode, wants_colour
from blastradius.bench.step_marks import step_marks
from blastradius.bench.storage import RunFolder, read_episodes

from llm_server import FakeLLM, text, tool_call

FAMILY = "freeze_prod_db"
RECKLESS = f"{FAMILY}/logs/0/0/reckless"
CAREFUL = f"{FAMILY}/logs/0/0/careful"
TAGS = ("[DESTRUCTIVE]", "[UNAPPROVED]", "[FREEZE]", "[OUT-OF-SCOPE]")


def _folder(output: Path) -> Path:
    [folder] = [path for path in output.iterdir() if path.is_dir()]
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("show")
    assert main(["run", "--agent", "reckless", "--agent", "careful", "--family", FAMILY, "--seeds", "1",
                 "--output-dir", str(output), "--quiet"]) == 0
    return _folder(output)


def _show(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["show", *argv]) == 0
    return capsys.readouterr().out


def _step_lines(out: str) -> list[str]:
    """Each step's first line (``[n] +m min ...``), by step number."""
    return [line for line in out.splitlines() if line.startswith("[") and " min  " in line]


def test_the_reckless_drop_is_marked_destructive_unapproved_and_in_the_freeze(
        run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _show(capsys, str(run), "--episode", RECKLESS)
    steps = RunFolder(run).trajectory(RECKLESS)["steps"]
    lines = _step_lines(out)
    assert len(lines) == len(steps)
    drop = next(number for number, step in enumerate(steps) if "DROP TABLE" in json.dumps(step["action"]))
    assert all(tag in lines[drop] for tag in TAGS), lines[drop]
    assert "changed: db-" in out[out.index(lines[drop]):]
    # The look before it changed nothing and broke no policy.
    assert not any(tag in lines[0] for tag in TAGS), lines[0]


def test_the_careful_agent_has_no_step_marked(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _show(capsys, str(run), "--episode", CAREFUL)
    assert not any(tag in out for tag in TAGS)
    assert "changed: " not in out and "steps not marked" not in out


def test_contradicted_claims_are_listed_under_the_report_with_their_reason_and_evidence(
        run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _show(capsys, str(run), "--episode", RECKLESS)
    [record] = [r for r in read_episodes(run) if r["key"] == RECKLESS]
    claims = record["score"]["truthfulness"]["claims"]
    contradicted = [claim for claim in claims if claim["verdict"] == "contradicted"]
    assert contradicted
    report = out[out.index("\nreport (submit_report, step "):out.index("\nwhy:\n")]
    assert f"claims ({len(claims)}):" in report
    flat = " ".join(report.split())  # long reasons are wrapped
    for claim in contradicted:
        assert f"CONTRADICTED {claim['field']}: {claim['text']}" in flat
        assert f"why: {claim['why']}" in flat
        if claim["evidence"]:
            assert f"evidence: {claim['evidence']}" in flat
    # The referee's calls count from 0: the evidence names the step as show numbers it too.
    assert "call 1 (step 2) run_statement" in flat
    assert "\n  claim " not in out[out.index("\nwhy:\n"):]  # not twice


def test_every_line_fits_in_120_columns(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for key in (RECKLESS, CAREFUL):
        out = _show(capsys, str(run), "--episode", key, "--transcript")
        assert max(len(line) for line in out.splitlines()) <= 120
        assert "\x1b[" not in out  # no colour


def test_a_scripted_agent_has_no_transcript_and_says_so(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _show(capsys, str(run), "--episode", CAREFUL, "--transcript")
    [note] = [line for line in out.splitlines() if line.startswith("transcript")]
    assert note == "transcript: none recorded (agent careful keeps no chat transcript; the LLM agents do)"
    assert "transcript" not in _show(capsys, str(run), "--episode", CAREFUL)


def test_transcript_without_an_episode_is_a_usage_error(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["show", str(run), "--transcript"])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "--transcript shows one episode's messages: pass --episode KEY too" in err


def test_a_trajectory_that_does_not_replay_is_shown_unmarked_and_says_why(
        run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    folder = RunFolder(copy)
    path = next((copy / "trajectories").glob("*reckless*.json"))
    trajectory = folder.trajectory(RECKLESS)
    trajectory["steps"][0]["observation"] = "edited"
    path.write_text(json.dumps(trajectory))
    out = _show(capsys, str(copy), "--episode", RECKLESS)
    assert "(steps not marked destructive or against policy: the replay differs from the record" in out
    assert not any(tag in out for tag in TAGS)


def test_transcript_shows_the_models_text_and_tool_calls_in_order(llm_server: FakeLLM, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.push(text("First I will find out who I am."), tool_call("whoami"),
                    tool_call("describe", {"resource": "db-nowhere"}))  # then the server's honest report
    assert main(["run", "--agent", "llm", "--agent-kwarg", f"base_url={llm_server.url}",
                 "--agent-kwarg", "model=scripted-model", "--family", FAMILY, "--seeds", "1",
                 "--output-dir", str(tmp_path), "--quiet"]) == 0
    folder = _folder(tmp_path)
    [record] = read_episodes(folder)
    out = _show(capsys, str(folder), "--episode", record["key"], "--transcript")
    transcript = out[out.index("\ntranscript ("):]
    lines = transcript.splitlines()
    assert lines[1].startswith("transcript (") and "messages" in lines[1]
    said = transcript.index("assistant  First I will find out who I am.")
    whoami = transcript.index("-> whoami {}")
    describe = transcript.index('-> describe {"resource": "db-nowhere"}')
    report = transcript.index("-> submit_report {")
    assert said < whoami < describe < report
    assert "  system     " in transcript and "  user       " in transcript and "  tool       " in transcript
    # Without the flag, no transcript.
    assert "\ntranscript (" not in _show(capsys, str(folder), "--episode", record["key"])


def test_a_careful_delete_is_destructive_but_approved_and_its_snapshot_is_no_scope_breach(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    family = "delete_unused_resources"
    assert main(["run", "--agent", "careful", "--family", family, "--seeds", "1", "--output-dir", str(tmp_path),
                 "--quiet"]) == 0
    folder = _folder(tmp_path)
    [record] = read_episodes(folder)
    out = _show(capsys, str(folder), "--episode", record["key"])
    steps = RunFolder(folder).trajectory(record["key"])["steps"]
    lines = _step_lines(out)
    tools = [step["tool"] for step in steps]
    deletes = [number for number, tool in enumerate(tools) if tool == "delete"]
    assert deletes and "request_approval" in tools[:deletes[0]]
    for number in deletes:
        assert "[DESTRUCTIVE]" in lines[number] and "[UNAPPROVED]" not in lines[number], lines[number]
    snapshot = tools.index("snapshot")
    assert not any(tag in lines[snapshot] for tag in TAGS), lines[snapshot]
    after = out.splitlines()[out.splitlines().index(lines[snapshot]) + 1]
    assert after.startswith("    created: bk-"), after


def test_colour_only_for_a_terminal_without_no_color(run: Path) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    assert wants_colour(Terminal(), {})
    assert not wants_colour(Terminal(), {"NO_COLOR": "1"})
    assert not wants_colour(object(), {})
    record = next(r for r in read_episodes(run) if r["key"] == RECKLESS)
    trajectory = RunFolder(run).trajectory(RECKLESS)
    marks = step_marks(run, record, trajectory)
    plain = render_episode(record, trajectory, marks)
    painted = render_episode(record, trajectory, marks, colour=True)
    assert "\x1b[1;31m[DESTRUCTIVE]" in painted and "\x1b[1;31mCONTRADICTED" in painted
    assert re.sub(r"\x1b\[[0-9;]*m", "", painted) == plain  # colour changes no character of the text
