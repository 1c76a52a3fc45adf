"""blastradius as an Inspect AI task: ``inspect eval blastradius/suite`` through Inspect's own
command line and its ``eval()``, with its mock model, and no network.

What a user relies on: the task resolves by name from the package's entry point; each sample is
an episode recorded in a run folder exactly as ``blastradius run`` records one, and Inspect's
score is that record's; the model's tool calls are the episode's steps, played as the same
calls through ``gymnasium.make`` play; a model that never calls a tool, or that Inspect stops,
leaves an honest record (an error, no success); repeated epochs pool as trials.

Inspect's mock model counts tokens with tiktoken, whose vocabulary it downloads on first use: a
byte-level stand-in (`_OFFLINE_TIKTOKEN`) keeps these tests offline; token counts are not what
they check.
"""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

pytest.importorskip("inspect_ai")

import tiktoken  # inspect_ai brings it (its mock model counts tokens with it)
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog, EvalSample, read_eval_log
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    ModelOutput,
    ModelUsage,
    get_model,
)
from inspect_ai.scorer import Score
from inspect_ai.tool import ToolCall, ToolParams

from blastradius.agents.llm import NUDGE, ONE_CALL_PER_STEP
from blastradius.bench import driven
from blastradius.bench.cli import main
from blastradius.bench.inspect_task import episodes, suite
from blastradius.bench.runner import fresh_folder
from blastradius.bench.storage import read_episodes

FAMILY = "freeze_prod_db"
MODEL = "mockllm/model"

_OFFLINE_TIKTOKEN = '''
import tiktoken.registry
from tiktoken import Encoding

tiktoken.registry.ENCODINGS["o200k_base"] = Encoding(
    "o200k_base", pat_str=r"\\S+|\\s+", mergeable_ranks={bytes([i]): i for i in range(256)}, special_tokens={})
'''


@pytest.fixture(autouse=True)
def offline_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's stand-in (`_OFFLINE_TIKTOKEN`), in this process."""
    stand_in = tiktoken.Encoding("o200k_base", pat_str=r"\S+|\s+",
                                 mergeable_ranks={bytes([i]): i for i in range(256)}, special_tokens={})
    monkeypatch.setitem(tiktoken.registry.ENCODINGS, "o200k_base", stand_in)


def _score(sample: EvalSample) -> Score:
    score = sample.scores["episode_score"] if sample.scores else None
    assert score is not None and isinstance(score.value, dict) and score.metadata is not None, \
        f"sample {sample.id} was not scored"
    return score


def _folder(sample: EvalSample) -> Path:
    metadata = _score(sample).metadata
    assert metadata is not None
    return Path(metadata["run_folder"])


def _sample_record(sample: EvalSample) -> dict[str, Any]:
    """The record in the run folder of ``sample``'s episode (its only one)."""
    [record] = read_episodes(_folder(sample))
    return record


def _same(value: Any, expected: Any) -> bool:
    return (math.isnan(value) and expected is None) or value == expected


def _check_score_is_the_record(sample: EvalSample, record: dict[str, Any]) -> None:
    score = _score(sample)
    assert isinstance(score.value, dict) and score.metadata is not None
    completed = record["status"] == "completed"
    scored = record["score"]
    assert score.value["success"] == int(completed and scored["success"])
    assert _same(score.value["collateral_damage"], scored["damage"]["total"])
    assert _same(score.value["truthfulness"], scored["truthfulness"]["score"])
    assert score.metadata["safe_success"] == (completed and scored["safe_success"])
    assert score.metadata["status"] == record["status"] and score.metadata["key"] == record["key"]
    for flag in ("false_success_claim", "hidden_destructive_action", "fabricated", "false_unrecoverable"):
        assert score.metadata[flag] == scored["truthfulness"][flag]
    assert record["key"] in (score.explanation or "")  # the verdict `blastradius show` prints


def test_inspect_eval_command_runs_the_suite_by_name(tmp_path: Path) -> None:
    """The acceptance command, as a user types it: a model that only talks ends each episode
    through the nudge and the close, recorded as an error with no success."""
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "sitecustomize.py").write_text(_OFFLINE_TIKTOKEN)
    logs = tmp_path / "logs"
    env = {name: value for name, value in os.environ.items() if not name.startswith("INSPECT_")}
    env.update(INSPECT_LOG_DIR=str(logs), PYTHONPATH=os.pathsep.join([str(stub), env.get("PYTHONPATH", "")]),
               INSPECT_DISPLAY="none", NO_COLOR="1")
    # The `inspect` command of this interpreter's environment (the same CLI as `python -m inspect_ai`).
    script = shutil.which("inspect", path=str(Path(sys.executable).parent))
    inspect = [script] if script else [sys.executable, "-m", "inspect_ai"]
    done = subprocess.run([*inspect, "eval", "blastradius/suite", "--model", MODEL, "-T", f"family={FAMILY}",
                           "-T", "seeds=2", "--log-dir", str(logs)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [log_file] = logs.glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.status == "success" and log.samples is not None and len(log.samples) == 2
    assert sorted(str(sample.id) for sample in log.samples) == [f"{FAMILY}/logs/0", f"{FAMILY}/logs/1"]
    folders = set()
    for sample in log.samples:
        record = _sample_record(sample)
        _check_score_is_the_record(sample, record)
        assert record["agent"] == f"inspect:{MODEL}" and record["seed"] == sample.metadata["seed"]
        assert record["status"] == "error" and "stopped calling tools" in record["error"]
        assert _score(sample).value["success"] == 0  # type: ignore[index]
        assert sum(isinstance(m, ChatMessageUser) and m.text == NUDGE for m in sample.messages) == 1
        folder = _folder(sample)
        assert folder.parent == logs / "blastradius-runs"  # beside the log, by default
        run = json.loads((folder / "run.json").read_text())
        assert run["complete"] and run["agents"][f"inspect:{MODEL}"]["kind"] == "inspect"
        folders.add(folder)
    assert len(folders) == 2
    metrics = {score.name: score.metrics for score in log.results.scores} if log.results else {}
    assert metrics["success"]["mean"].value == 0.0
    assert math.isnan(metrics["truthfulness"]["known_mean"].value)  # no report to judge
    assert main(["leaderboard", *map(str, sorted(folders))]) == 0


def _call(function: str, arguments: dict[str, Any], call_id: str) -> ToolCall:
    return ToolCall(id=call_id, function=function, arguments=arguments)


def _reply(*calls: ToolCall) -> ModelOutput:
    output = ModelOutput.from_message(ChatMessageAssistant(content="", tool_calls=list(calls), model="model"))
    output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return output


def _eval(tmp_path: Path, outputs: list[ModelOutput] | None, **options: Any) -> EvalLog:
    model = get_model(MODEL, custom_outputs=outputs) if outputs is not None else get_model(MODEL)
    task_args = {"family": FAMILY, "seeds": 1, "output_dir": str(tmp_path / "runs"), "chaos": 0,
                 **options.pop("task_args", {})}
    [log] = inspect_eval(suite(**task_args), model=model, log_dir=str(tmp_path / "logs"), display="none",
                         **options)
    assert log.status == "success", log.error
    return log


def test_tool_calls_are_the_steps_gymnasium_plays(tmp_path: Path) -> None:
    """The model plays the family's reference path, after a reply of two calls (only the first is
    played; the other is answered) and a call whose arguments break the schema (played all the
    same: the env records the agent's mistake). The record, and Inspect's score, are what the
    same steps give through ``gymnasium.make``."""
    env = gym.make("blastradius/FreezeProdDb-v2", chaos=0)
    env.reset(seed=0, options={"difficulty": "logs"})
    reference = list(env.unwrapped.scenario.reference)  # type: ignore[attr-defined]
    assert reference[0]["name"] == "whoami" and reference[-1]["name"] == "submit_report"
    bad = {"name": "describe", "arguments": {"resource": 7}}
    outputs = [_reply(_call("whoami", {}, "first"), _call("list_resources", {}, "second")),
               _reply(_call(bad["name"], bad["arguments"], "bad")),
               *(_reply(_call(a["name"], a["arguments"], f"c{i}")) for i, a in enumerate(reference[1:]))]
    log = _eval(tmp_path, outputs)
    assert log.samples is not None
    [sample] = log.samples
    record = _sample_record(sample)

    played = [reference[0], bad, *reference[1:]]
    env.reset(seed=0, options={"difficulty": "logs"})
    for action in played:
        _, _, terminated, truncated, info = env.step(action)
    assert terminated and not truncated
    assert record["status"] == "completed" and record["steps"] == len(played)
    assert record["score"] == info["score"]
    assert info["score"]["success"] and info["score"]["safe_success"]  # the work was done: it counts
    _check_score_is_the_record(sample, record)
    assert _score(sample).value == {"success": 1, "collateral_damage": 0.0, "truthfulness": 1.0}

    assert sample.messages[1].text.startswith(env.unwrapped.scenario.briefing)  # type: ignore[attr-defined]
    assert f"at most {record['max_steps']} steps" in sample.messages[1].text  # told as the LLM agent tells it
    answers = {m.tool_call_id: m for m in sample.messages if isinstance(m, ChatMessageTool)}
    assert answers["second"].text == ONE_CALL_PER_STEP
    assert answers["bad"].error is not None and "The env answered" in answers["bad"].error.message
    assert "must be a string" in answers["bad"].error.message
    assert main(["verify", str(_folder(sample))]) == 0

    # The conversation is recorded as an LLM agent's is: its messages up to the last call, and
    # its usage (mockllm counts no tokens; the replies are counted).
    assert record["agent_stats"]["calls"] == len(outputs) and record["agent_stats"]["cost_usd"] is None
    [trajectory] = [json.loads(p.read_text()) for p in (_folder(sample) / "trajectories").iterdir()]
    transcript = trajectory["transcript"]
    assert [m["role"] for m in transcript[:2]] == ["system", "user"]
    called = [call["function"]["name"] for m in transcript for call in m.get("tool_calls", ())]
    assert called[:3] == ["whoami", "list_resources", "describe"] and called[-1] == "submit_report"
    assert {m["tool_call_id"] for m in transcript if m["role"] == "tool"} >= {"first", "second", "bad"}


def test_a_sample_inspect_stops_is_recorded_as_an_error(tmp_path: Path) -> None:
    """A limit Inspect enforces ends the episode: its record says why, the damage scored as it stands."""
    outputs = [_reply(_call("whoami", {}, f"c{i}")) for i in range(10)]
    log = _eval(tmp_path, outputs, message_limit=5)
    assert log.samples is not None
    [sample] = log.samples
    record = _sample_record(sample)
    assert record["status"] == "error" and "Inspect stopped the sample" in record["error"]
    assert "Message limit exceeded" in record["error"] and sample.limit is not None
    assert 0 < record["steps"] < 10
    _check_score_is_the_record(sample, record)


def test_epochs_are_trials_that_pool(tmp_path: Path) -> None:
    """The two epochs of a sample run at once; each is a trial of its own, in a folder of its own
    (same config, same second: the second takes the next name), and the folders pool on one
    leaderboard, sealed as they were played."""
    log = _eval(tmp_path, None, epochs=2, task_args={"seeds": [5], "sealed": True})
    assert log.samples is not None and len(log.samples) == 2
    records = [_sample_record(sample) for sample in log.samples]
    assert sorted((r["seed"], r["trial"]) for r in records) == [(5, 0), (5, 1)]
    folders = sorted(str(p) for p in (tmp_path / "runs").iterdir())
    assert folders == sorted(str(_folder(sample)) for sample in log.samples)
    for folder in folders:
        run = json.loads((Path(folder) / "run.json").read_text())
        assert run["config"]["sealed"] and run["secret"]
    assert main(["leaderboard", *folders]) == 0


def test_a_run_folder_name_taken_meanwhile_is_not_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twin episodes (one sample's epochs) can pick the same free name at once: the one that
    loses the race takes the next name rather than failing."""
    picked: list[Path] = []

    def racing(output_dir: Path, config: Any) -> Path:
        path = fresh_folder(output_dir, config)
        if not picked:
            (path / "trajectories").mkdir(parents=True)  # the twin made it between the look and the mkdir
        picked.append(path)
        return path

    monkeypatch.setattr(driven, "fresh_folder", racing)
    episode = driven.DrivenEpisode(FAMILY, 0, tmp_path, "inspect:twin", "inspect", Path(driven.__file__), trial=1)
    episode.start()
    episode.close("done")
    assert len(picked) == 2 and episode.folder is not None and episode.folder.path == picked[1] != picked[0]
    assert episode.record["trial"] == 1 and episode.record["key"].endswith("/0/1/inspect:twin")


def test_episodes_leave_no_thread_behind(tmp_path: Path) -> None:
    """Inspect plays many episodes in one process, each from a thread of its own: once an
    episode has ended (by its report, or left) and is dropped, none of its threads lives on."""
    before = set(threading.enumerate())
    for seed, left in ((0, True), (1, False)):
        episode = driven.DrivenEpisode(FAMILY, seed, tmp_path, "inspect:threads", "inspect", Path(driven.__file__))
        episode.start()
        if left:
            episode.close("the driver left")
        else:
            assert episode.step({"name": "submit_report", "arguments": {"outcome": "failed", "summary": "-"}}).done
        episode.close()
        assert episode.record["status"] == ("error" if left else "completed")
    del episode
    gc.collect()
    added = [thread for thread in threading.enumerate() if thread not in before]
    for thread in added:
        thread.join(timeout=60)
    assert not [thread.name for thread in added if thread.is_alive()]


def test_the_model_sees_the_env_schemas_unchanged() -> None:
    env = gym.make("blastradius/FreezeProdDb-v2")
    _, info = env.reset(seed=0)
    for schema in info["tools"]:
        parameters = schema["function"]["parameters"]
        assert ToolParams.model_validate(parameters).model_dump(exclude_none=True) == parameters


@pytest.mark.parametrize(("arguments", "message"), [
    ({"family": "freeze_prod"}, "freeze_prod_db"),
    ({"family": FAMILY, "difficulty": "hardest"}, "not a level of freeze_prod_db"),
    ({"family": FAMILY, "seeds": "many"}, "seeds: invalid seeds 'many'"),
])
def test_bad_task_arguments_say_what_to_give(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suite(**arguments)


def test_task_arguments_choose_the_episodes() -> None:
    assert [(s.family, s.seed) for s in episodes(f"{FAMILY}, dns_cleanup_recovery", seeds="3-4")] == [
        (FAMILY, 3), (FAMILY, 4), ("dns_cleanup_recovery", 3), ("dns_cleanup_recovery", 4)]
    every = episodes(FAMILY, difficulty="all", seeds=1)
    assert len(every) == len({s.difficulty for s in every}) > 1
    assert len({s.family for s in episodes(seeds=[7])}) == len(episodes(seeds=[7])) > 1
