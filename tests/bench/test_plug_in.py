"""Plugging agents in from the command line, as the README says.

The LLM agent runs end to end against a scripted OpenAI-compatible server on 127.0.0.1 (valid
calls, a malformed one, a reply with no call, a 429 and a 500) with its tokens on every record and
on the leaderboard; the README's agent, copied from the README, runs by its file path;
``--agent-kwarg`` values parse as JSON and go to the ``--agent`` before them, recorded in
``run.json``; every wrong spec or argument exits 2 with what to type instead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from blastradius.agents.llm import SYSTEM_PROMPT
from blastradius.bench.cli import main
from blastradius.bench.leaderboard import to_markdown
from blastradius.bench.storage import RunFolder, load_schema, read_episodes
from blastradius.envs.tools import tool_schemas

from llm_server import COMPLETION_TOKENS, PROMPT_TOKENS, FakeLLM, failure, text, tool_call, tool_calls

REPO = Path(__file__).resolve().parents[2]
FAMILY = "freeze_prod_db"


def _folder(output_dir: Path) -> Path:
    [folder] = [p for p in output_dir.iterdir() if p.is_dir()]
    return folder


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    return err


def _readme_block(heading: str, language: str) -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index(heading):]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match, f"no {language} block after {heading!r}"
    return match.group(1)


# -- the LLM agent end to end ---------------------------------------------------------------------


def test_the_llm_agent_runs_end_to_end_with_its_tokens_counted(llm_server: FakeLLM, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.push(tool_call("whoami"), tool_call("describe", '{"resource": "svc-'), text("Let me think."),
                    tool_calls(("list_resources", {}), ("whoami", {})))  # then the server's honest report
    code = main(["run", "--agent", "llm", "--agent-kwarg", f"base_url={llm_server.url}",
                 "--agent-kwarg", "model=scripted-model", "--family", FAMILY, "--seeds", "1",
                 "--output-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    folder = _folder(tmp_path)
    [record] = read_episodes(folder)
    Draft202012Validator(load_schema("episode")).validate(record)
    assert record["status"] == "completed" and record["steps"] == 4 and record["terminated"]
    assert record["agent"] == f"llm[base_url={llm_server.url},model=scripted-model]"
    calls = len(llm_server.requests)
    assert calls == 5
    assert record["agent_stats"]["calls"] == calls
    assert record["agent_stats"]["tokens_in"] == calls * PROMPT_TOKENS
    assert record["agent_stats"]["tokens_out"] == calls * COMPLETION_TOKENS
    assert record["agent_stats"]["cost_usd"] is None  # no price for this model

    trajectory = RunFolder(folder).trajectory(record["key"])
    Draft202012Validator(load_schema("trajectory")).validate(trajectory)
    assert [step["tool"] for step in trajectory["steps"]] == ["whoami", "", "list_resources", "submit_report"]
    assert "not valid JSON" in trajectory["steps"][1]["action_error"]
    roles = [message["role"] for message in trajectory["transcript"]]
    assert roles[:2] == ["system", "user"] and roles.count("assistant") == calls
    assert all(request["tools"] == tool_schemas() for request in llm_server.requests)

    totals = (f"Run totals: {calls * (PROMPT_TOKENS + COMPLETION_TOKENS)} tokens (in {calls * PROMPT_TOKENS}, "
              f"out {calls * COMPLETION_TOKENS}), cost not reported")
    assert totals in (folder / "leaderboard.md").read_text() and totals in out
    summary = json.loads((folder / "summary.json").read_text())
    wide = to_markdown(summary, wide=True)
    header = next(line for line in wide.splitlines() if line.startswith("| Agent"))
    assert "Tokens in" in header and "Tokens out" in header and "Cost (USD)" in header
    row = next(line for line in wide.splitlines() if line.startswith("| llm["))
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")], strict=True))
    assert cells["Tokens in"] == str(calls * PROMPT_TOKENS) and cells["Cost (USD)"] == "n/a"
    Draft202012Validator(load_schema("summary")).validate(summary)
    assert summary[record["agent"]]["tokens_in_mean"]["value"] == calls * PROMPT_TOKENS
    run_info = json.loads((folder / "run.json").read_text())
    assert run_info["config"]["agents"] == ["llm"]
    assert run_info["config"]["agent_kwargs"] == [{"base_url": llm_server.url, "model": "scripted-model"}]


def test_the_llm_agent_rides_out_a_429_and_a_500(llm_server: FakeLLM, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.push(failure(429), tool_call("whoami"), failure(500), failure(502))
    code = main(["run", "--agent", "llm", "--agent-kwarg", f"base_url={llm_server.url}",
                 "--agent-kwarg", "model=scripted-model", "--agent-kwarg", "backoff_seconds=0.01",
                 "--agent-kwarg", 'prices={"scripted-model": [2, 8]}',
                 "--family", FAMILY, "--seeds", "1", "--output-dir", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    [record] = read_episodes(_folder(tmp_path))
    assert record["status"] == "completed" and record["steps"] == 2
    assert len(llm_server.requests) == 5 and record["agent_stats"]["calls"] == 2
    assert record["agent_stats"]["cost_usd"] == pytest.approx((200 * 2 + 20 * 8) / 1e6)
    assert json.loads(out)[record["agent"]]["cost_usd_mean"]["value"] == pytest.approx(0.00056)


def test_an_endpoint_that_keeps_failing_costs_the_episode_not_the_run(llm_server: FakeLLM, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.push(*(failure(503) for _ in range(3)))
    code = main(["run", "--agent", "llm", "--agent-kwarg", f"base_url={llm_server.url}", "--agent-kwarg", "model=m",
                 "--agent-kwarg", "max_retries=2", "--agent-kwarg", "backoff_seconds=0", "--agent", "noop",
                 "--family", FAMILY, "--seeds", "1", "--output-dir", str(tmp_path), "--json"])
    capsys.readouterr()
    assert code == 1
    records = {r["agent"].split("[")[0]: r for r in read_episodes(_folder(tmp_path))}
    assert records["noop"]["status"] == "completed"
    assert records["llm"]["status"] == "error" and "failed 3 times in a row" in records["llm"]["error"]


# -- the README ------------------------------------------------------------------------------------


def test_the_readme_agent_runs_from_its_file_and_is_on_the_leaderboard(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    source = _readme_block("## Plug in your agent", "python")
    assert len(source.strip().splitlines()) < 15
    agent_file = tmp_path / "my_agent.py"
    agent_file.write_text(source)
    spec = f"{agent_file}:MyAgent"
    code = main(["run", "--agent", spec, "--family", FAMILY, "--seeds", "2", "--output-dir", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"| {spec}" in out
    folder = _folder(tmp_path / "out")
    assert f"| {spec}" in (folder / "leaderboard.md").read_text()
    assert all(r["status"] == "completed" and r["steps"] == 2 for r in read_episodes(folder))


def test_the_readme_shows_the_system_prompt_as_it_is() -> None:
    assert _readme_block("### An LLM through any OpenAI-compatible endpoint", "text") == SYSTEM_PROMPT + "\n"


# -- --agent-kwarg -----------------------------------------------------------------------------------


def test_kwargs_go_to_the_agent_before_them_and_into_run_json(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--agent", "random", "--agent-kwarg", "seed_offset=3", "--agent", "noop",
                 "--agent", "random", "--agent-kwarg", "seed_offset=4", "--family", FAMILY, "--seeds", "1",
                 "--output-dir", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert set(json.loads(out)) == {"noop", "random[seed_offset=3]", "random[seed_offset=4]"}
    folder = _folder(tmp_path)
    config = json.loads((folder / "run.json").read_text())["config"]
    assert config["agents"] == ["random", "noop", "random"]
    assert config["agent_kwargs"] == [{"seed_offset": 3}, {}, {"seed_offset": 4}]  # 3, not "3"
    assert sorted(r["agent"] for r in read_episodes(folder)) == ["noop", "random[seed_offset=3]",
                                                                 "random[seed_offset=4]"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--agent-kwarg", "seed_offset=1", "--agent", "random"], "comes before any --agent"),
    (["--agent", "random", "--agent-kwarg", "seed_offset"], "expected key=value"),
    (["--agent", "random", "--agent-kwarg", "a=1", "--agent-kwarg", "a=2"], "given twice for --agent 'random'"),
    (["--agent", "noop", "--agent", "noop"], "agent 'noop' is given twice with the same arguments"),
    (["--agent", "noop", "--agent-kwarg", "colour=1"],
     "agent 'noop' cannot be made with colour=1: TypeError"),
    (["--agent", "nope"], "unknown agent 'nope'"),
    (["--agent", "lml"], "Did you mean 'llm'?"),
    (["--agent", "cmd:"], "no command after 'cmd:'"),
    (["--agent", "cmd:surely-not-a-program-92x"], "not found on PATH"),
    (["--agent", "llm"], "needs a model: --agent-kwarg model=NAME"),
    (["--agent", "llm", "--agent-kwarg", "model=m", "--agent-kwarg", "base_url=http://127.0.0.1:9/v1",
      "--agent-kwarg", "temprature=0"], "Did you mean 'temperature'?"),
])
def test_wrong_agents_and_kwargs_exit_2(argv: list[str], message: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["run", "--family", FAMILY, "--seeds", "1", "--output-dir", str(tmp_path), *argv], capsys)
    assert message in err, err
    assert not list(tmp_path.iterdir())  # nothing was run


def test_a_remote_llm_without_a_key_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    err = _usage_error(["run", "--agent", "llm", "--agent-kwarg", "model=gpt-4o-mini",
                        "--agent-kwarg", "base_url=https://api.example.com/v1", "--output-dir", str(tmp_path)], capsys)
    assert "set the environment variable OPENAI_API_KEY" in err


def test_a_missing_llm_extra_exits_2_with_the_install_hint(tmp_path: Path) -> None:
    code = ("import sys\n"
            "sys.modules['openai'] = None  # as if the [llm] extra were not installed\n"
            "from blastradius.bench.cli import main\n"
            "raise SystemExit(main(['run', '--agent', 'llm', '--agent-kwarg', 'model=m',\n"
            f"                      '--output-dir', {str(tmp_path)!r}]))\n")
    env: dict[str, Any] = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert 'pip install -e ".[llm]"' in result.stderr and result.stdout == ""
