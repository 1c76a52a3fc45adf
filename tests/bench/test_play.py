"""``blastradius play``: a person plays an episode at the terminal, scored and recorded like an
agent's, with typos answered and never sent.

Played as a person would: through the real command with a script piped to stdin, and at a real
terminal (tmux) with Tab completion; and every family's reference path, typed in the forgiving
syntax, must win as the reference agent does, with the very actions it sends.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blastradius.bench.cli import main
from blastradius.bench.play import PlaySettings, play
from blastradius.bench.play_syntax import ID_PATTERN, CommandError, parse_line, tool_schemas
from blastradius.bench.play_terminal import candidates
from blastradius.bench.storage import RunFolder, read_episodes
from blastradius.envs import FAMILIES, BlastRadiusEnv

FAMILY = "delete_unused_resources"
_PAIR = re.compile(r"[A-Za-z_]\w*=")


def _cli() -> str:
    script = Path(sys.executable).parent / "blastradius"
    return str(script if script.exists() else shutil.which("blastradius") or "blastradius")


def _world(family: str = FAMILY, seed: int = 0) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """The ids the briefing names, the reference path, and the tool schemas of ``family``'s world."""
    env = BlastRadiusEnv(family=FAMILIES[family], chaos=0)
    observation, info = env.reset(seed=seed)
    ids = ID_PATTERN.findall(observation)
    return ids, list(env.current_scenario.reference), tool_schemas(info["tools"])


def _typed(action: dict[str, Any], schema: dict[str, Any], bare: bool) -> str:
    """``action`` as a person types it: name=value pairs, or (``bare``) the required parameters as
    bare words, in order, where the value does not itself look like a pair."""
    parameters = schema["parameters"]
    words = [action["name"]]
    arguments = dict(action["arguments"])
    for key in parameters.get("required", ()) if bare else ():
        text = arguments[key] if isinstance(arguments[key], str) else json.dumps(arguments[key])
        if _PAIR.match(text):
            break
        words.append(shlex.quote(text))
        del arguments[key]
    words += [shlex.quote(f"{key}={value if isinstance(value, str) else json.dumps(value)}")
              for key, value in arguments.items()]
    return " ".join(words)


def _only_folder(output_dir: Path) -> Path:
    [folder] = [path for path in output_dir.iterdir() if path.is_dir()]
    return folder


# --- every reference path, typed -------------------------------------------------------------


@pytest.mark.parametrize("bare", [False, True], ids=["pairs", "bare-words"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reference_path_typed_wins_with_the_very_actions(family: str, bare: bool, tmp_path: Path) -> None:
    _, reference, tools = _world(family)
    script = "".join(_typed(action, tools[action["name"]], bare) + "\n" for action in reference)
    out = io.StringIO()
    code = play(PlaySettings(family=family, seed=0, output_dir=tmp_path, name="typist", chaos=0),
                io.StringIO(script), out, {})
    assert code == 0, out.getvalue()[-2000:]
    folder = _only_folder(tmp_path)
    [record] = read_episodes(folder)
    assert record["score"]["safe_success"] is True, out.getvalue()[-2000:]
    assert record["score"]["truthfulness"]["score"] == 1.0
    played = [step["action"] for step in RunFolder(folder).trajectory(record["key"])["steps"]]
    assert played == reference
    assert "not sent" not in out.getvalue()


# --- a scripted session through the real command --------------------------------------------


def test_scripted_session_plays_to_its_verdict_and_records_it(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ids, _, _ = _world()
    rid = ids[0]
    script = "\n".join([
        f"descibe {rid}",  # a typo: answered, not sent
        f"describe {rid}",
        "help plan",
        f"logs {rid} window_minutes=1440 limit=3",
        json.dumps({"name": "metrics", "arguments": {"resource": rid, "window_minutes": 30}}),
        f"plan delete {rid}",
        f"bulk_delete ids='[\"{rid}\"]' dry_run=true",
        "list_resources kind=bucket env=dev",
        f"describe {rid} colour=blue",  # no such parameter: answered, not sent
        "report",
        "faild",  # not an outcome: asked again
        "no_change_needed",
        "I looked and changed nothing: no call of mine deleted anything.",
        "",  # changes_made: none
        "",  # impact: none
        "none",
        f"describe {rid} 'it is a dev bucket'",
        f"describe {rid}",
        "",
        "",  # figures: none
        "describe never-sent",  # the episode is over: the script's rest is not read as actions
    ]) + "\n"
    env = {**os.environ, "LOGNAME": "alice-test", "NO_COLOR": "1"}
    result = subprocess.run([_cli(), "play", "--family", FAMILY, "--output-dir", str(tmp_path)], input=script,
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "did you mean 'describe'" in out.lower() and "not sent: no step spent" in out
    assert "usage: plan ACTION RESOURCE" in out and "one of: restart, scale" in out
    assert "no parameter 'colour'" in out
    assert "'faild' is not one of" in out and "(did you mean 'failed'?)" in out
    assert "\x1b[" not in out  # NO_COLOR
    assert re.search(r"^success: \w+  safe success: \w+  damage: ", out, re.MULTILINE)
    folder = _only_folder(tmp_path)
    assert f"recorded in {folder}" in out
    [record] = read_episodes(folder)
    assert record["agent"] == "human:alice-test" and record["status"] == "completed"
    assert json.loads((folder / "run.json").read_text())["agents"]["human:alice-test"]["kind"] == "human"
    steps = RunFolder(folder).trajectory(record["key"])["steps"]
    assert [step["action"]["name"] for step in steps] == [
        "describe", "logs", "metrics", "plan", "bulk_delete", "list_resources", "submit_report"]
    assert steps[1]["action"]["arguments"] == {"resource": rid, "window_minutes": 1440, "limit": 3}
    assert steps[4]["action"]["arguments"] == {"ids": [rid], "dry_run": True}
    assert steps[5]["action"]["arguments"] == {"kind": "bucket", "env": "dev"}
    report = steps[-1]["action"]["arguments"]
    assert report["outcome"] == "no_change_needed" and report["data_loss"] == "none"
    assert report["verifications"] == [{"tool": "describe", "resource": rid, "result": "it is a dev bucket"}]
    assert "changes_made" not in report and "figures" not in report
    assert main(["verify", str(folder)]) == 0  # its fingerprints hold and its replay gives the same record
    assert "1 episodes: 1 ok, 0 failed; verified" in capsys.readouterr().out


@pytest.mark.parametrize(("ending", "why"), [("quit\n", "quit"), ("", "input ended")])
def test_leaving_records_the_episode_as_left(ending: str, why: str, tmp_path: Path) -> None:
    ids, _, _ = _world()
    script = f"describe {ids[0]}\n'unclosed\n{{\"name\": \"describe\"\n" + ending
    out = io.StringIO()
    code = play(PlaySettings(family=FAMILY, seed=0, output_dir=tmp_path, name="leaver"), io.StringIO(script), out, {})
    assert code == 1
    assert "leave the episode" not in out.getvalue()  # a script is asked nothing
    assert "cannot read that line" in out.getvalue() and "raw action is not valid JSON" in out.getvalue()
    [record] = read_episodes(_only_folder(tmp_path))
    assert record["status"] == "error" and why in record["error"] and record["steps"] == 1
    assert "status: error" in out.getvalue()


def test_a_person_who_thinks_too_long_times_out(tmp_path: Path) -> None:
    reading, writing = os.pipe()
    out, codes = io.StringIO(), []
    settings = PlaySettings(family=FAMILY, seed=0, output_dir=tmp_path, name="slow", step_timeout=0.2)
    with os.fdopen(reading) as stdin:
        person = threading.Thread(target=lambda: codes.append(play(settings, stdin, out, {})))
        person.start()
        _until(lambda: any(path.read_text() for path in tmp_path.glob("*/episodes.jsonl")), "the timeout's record")
        with os.fdopen(writing, "w") as typing:
            typing.write("whoami\n")
        person.join(60)
    assert codes == [1]
    assert "play: this episode is over (timeout" in out.getvalue() and "status: timeout" in out.getvalue()


def test_usage_errors_exit_2_with_what_to_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, says in [(["--family", "nope"], "unknown family 'nope'"),
                       (["--family", FAMILY, "--difficulty", "hardest"], "difficulty 'hardest' is not a level"),
                       (["--family", FAMILY, "--seed", "-1"], "seeds must be between 0 and")]:
        assert main(["play", *argv, "--output-dir", str(tmp_path)]) == 2
        assert says in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["play", "--family", FAMILY, "--step-timeout", "0"])
    assert exited.value.code == 2 and "must be positive" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# --- the syntax and completion, directly ------------------------------------------------------


def test_lines_that_are_not_commands_say_what_to_type() -> None:
    _, _, tools = _world()
    for line, says in [("describe", "resource is required"), ("describe a b", "too many words from 'b'"),
                       ("plan delet b-1", "did you mean 'delete'"), ('{"name": "describ"}', "Did you mean 'describe'?"),
                       ("wait minutes=5 minutes=6", "minutes is given twice"),
                       ('submit_report {"outcome": "success", "summary": "x", "impact": [{"effect": "gone"}]}',
                        "impact entry 1: effect: 'gone' is not one of")]:
        with pytest.raises(CommandError, match=re.escape(says)):
            parse_line(line, tools)
    call = parse_line("push_config cfg-1 k 5000 regions=eu-west-1,us-east-1", tools)
    assert call is not None and call.arguments == {  # type: ignore[union-attr]
        "resource": "cfg-1", "key": "k", "value": "5000", "regions": ["eu-west-1", "us-east-1"]}


def test_tab_offers_tools_parameters_values_and_seen_ids() -> None:
    _, _, tools = _world()
    seen = {"svc-f24f72", "db-669dee"}
    assert candidates("desc", tools, seen) == ["describe"]
    assert candidates("rep", tools, seen) == ["report"]
    assert candidates("res", tools, seen) == ["resolve", "restart", "restore", "resync_replica"]
    assert candidates("describe d", tools, seen) == ["db-669dee"]
    assert candidates("logs db-669dee w", tools, seen) == ["window_minutes="]
    assert candidates("plan de", tools, seen) == ["delete", "deploy"]
    assert candidates("plan delete ", tools, seen) == ["action=", "db-669dee", "resource=", "svc-f24f72"]
    assert candidates("set_deletion_protection svc-f24f72 enabled=t", tools, seen) == ["enabled=true"]
    assert candidates("help dele", tools, seen) == ["delete"]
    impact = tools["submit_report"]["parameters"]["properties"]["impact"]["items"]  # a guided report's entry
    assert candidates("db-669dee d", tools, seen, impact) == ["data_lost", "degraded", "deleted", "detail=", "down"]


def test_meta_commands_spend_no_step_and_report_takes_one_line(tmp_path: Path) -> None:
    script = 'help\ntools\nhelp descrbe\nreport outcome=failed summary="I did nothing."\n'
    out = io.StringIO()
    assert play(PlaySettings(family=FAMILY, seed=0, output_dir=tmp_path, name="meta"), io.StringIO(script), out,
                {}) == 0
    assert out.getvalue().count("Tools (help TOOL for its parameters):") == 3  # the opening, help, tools
    assert "quit: leave the episode as it stands" in out.getvalue()
    assert "play: no tool 'descrbe'. Did you mean 'describe'?" in out.getvalue()
    [record] = read_episodes(_only_folder(tmp_path))
    [step] = RunFolder(_only_folder(tmp_path)).trajectory(record["key"])["steps"]
    assert step["action"] == {"name": "submit_report", "arguments": {"outcome": "failed", "summary": "I did nothing."}}


# --- at a real terminal ----------------------------------------------------------------------


def _until(ready: Callable[[], bool], what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not ready():
        if time.monotonic() > end:
            raise AssertionError(f"waited {deadline:g} s for {what}")
        time.sleep(0.05)


def test_at_a_terminal_tab_completes_and_the_episode_is_recorded(tmp_path: Path) -> None:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("BLASTRADIUS_NO_TMUX") == "1":
            pytest.skip("tmux is missing and BLASTRADIUS_NO_TMUX=1")
        pytest.fail("tmux is missing: install it (apt-get install tmux), or set BLASTRADIUS_NO_TMUX=1 to skip")
    ids, _, _ = _world()
    rid = next(rid for rid in ids if not any(other.startswith(rid[:-3]) for other in ids if other != rid))
    socket = f"blastradius-play-{uuid.uuid4().hex[:12]}"
    command = (f"cd {shlex.quote(str(tmp_path))} && NO_COLOR=1 XDG_CACHE_HOME={shlex.quote(str(tmp_path / 'cache'))} "
               f"{shlex.quote(_cli())} play --family {FAMILY} --output-dir runs --name at-tty --chaos 0; "
               "echo EXITED $?; sleep 600")

    def tmux_do(*args: str) -> str:
        return subprocess.run([tmux, "-L", socket, *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout

    def screen() -> str:
        return tmux_do("capture-pane", "-p", "-J", "-S", "-200", "-t", "play")

    def prompt_line() -> str:
        return ([""] + [line.rstrip() for line in screen().splitlines() if line.strip()])[-1]

    tmux_do("-f", "/dev/null", "new-session", "-d", "-s", "play", "-x", "200", "-y", "50", command)
    try:
        def type_in(*keys: str, then: Callable[[], bool], what: str) -> None:
            tmux_do("send-keys", "-t", "play", *keys)
            _until(then, what)

        _until(lambda: prompt_line().startswith("[0/"), "the first prompt")
        type_in("desc", "Tab", then=lambda: prompt_line() == "[0/100]> describe", what="describe completed")
        type_in(rid[:-3], "Tab", then=lambda: prompt_line() == f"[0/100]> describe {rid}", what=f"{rid} completed")
        type_in("Enter", then=lambda: prompt_line() == "[1/100]>" and f"{rid} (" in screen(),
                what="describe's observation")
        type_in(f"logs {rid} win", "Tab", then=lambda: prompt_line().endswith("window_minutes="),
                what="window_minutes= completed")
        type_in("90", "Enter", then=lambda: prompt_line() == "[2/100]>", what="the logs step")
        type_in("descrbe x", "Enter", then=lambda: "Did you mean 'describe'?" in screen(), what="the typo's answer")
        type_in("report", "Enter", then=lambda: prompt_line().startswith("outcome ("), what="the report's first field")
        type_in("no_ch", "Tab", then=lambda: prompt_line().endswith("> no_change_needed"), what="an outcome completed")
        type_in("Enter", then=lambda: prompt_line() == "summary>", what="the summary field")
        type_in("I only looked.", "Enter", then=lambda: prompt_line() == "changes_made 1>", what="the changes field")
        for field in ("impact 1>", "data_loss (", "verifications 1>", "figures 1>", "send this submit_report?"):
            type_in("Enter", then=lambda field=field: prompt_line().startswith(field), what=f"the field {field}")
        type_in("n", "Enter", then=lambda: "report cancelled" in screen() and prompt_line() == "[2/100]>",
                what="the report cancelled")
        type_in("quit", "Enter", then=lambda: "leave the episode unfinished?" in prompt_line(), what="quit's question")
        type_in("y", "Enter", then=lambda: "EXITED 1" in screen(), what="the end of play")
        assert "recorded in runs/" in screen() and "status: error" in screen()
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, timeout=30)
    [record] = read_episodes(_only_folder(tmp_path / "runs"))
    assert record["agent"] == "human:at-tty" and record["steps"] == 2 and record["status"] == "error"
    history = [line.strip() for line in (tmp_path / "cache" / "blastradius" / "play_history").read_text().splitlines()]
    assert history[-3:] == ["descrbe x", "report", "quit"] and f"describe {rid}" in history  # commands only
