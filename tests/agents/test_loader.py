"""The one resolver: every way of naming an agent, its keyword arguments, and the mistakes.

Built-in names, ``module:Class``, ``path/to/file.py:Class``, ``cmd:<command line>`` and an
installed entry point (a real one: a distribution's metadata on ``sys.path``) all load through
`resolve_agent`; a wrong spec says what was tried and what was probably meant. Keyword arguments
parse as JSON when they can and belong to the agent named before them.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from blastradius.agents import BUILTIN_AGENTS, Agent
from blastradius.agents.errors import AgentSpecError
from blastradius.agents.loader import AGENT, KWARG, agent_label, group_agent_args, parse_kwarg, resolve_agent
from blastradius.agents.noop import NoopAgent
from blastradius.agents.random_agent import RandomAgent
from blastradius.agents.subprocess_agent import SubprocessAgent

PLAIN_AGENT = '''
class FileAgent:
    def __init__(self, greeting="hi"):
        self.greeting = greeting

    def reset(self, briefing):
        pass

    def act(self, observation):
        return {"name": "whoami", "arguments": {}}
'''


@pytest.mark.parametrize("name", sorted(set(BUILTIN_AGENTS) - {"llm"}))
def test_every_built_in_name_makes_an_agent(name: str) -> None:
    assert isinstance(resolve_agent(name)(), Agent)


def test_module_and_file_specs(tmp_path: Path) -> None:
    assert isinstance(resolve_agent("blastradius.agents.noop:NoopAgent")(), NoopAgent)
    path = tmp_path / "mine.py"
    path.write_text(PLAIN_AGENT)
    agent = resolve_agent(f"{path}:FileAgent", {"greeting": "hello"})()
    assert type(agent).__name__ == "FileAgent" and agent.greeting == "hello"


def test_each_call_of_the_factory_makes_a_fresh_agent() -> None:
    make = resolve_agent("random", {"seed_offset": 3})
    first, second = make(), make()
    assert first is not second and isinstance(first, RandomAgent) and first.seed_offset == 3


def test_an_installed_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plugin_agent_pkg.py").write_text(PLAIN_AGENT)
    info = tmp_path / "plugin_agent_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-agent-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[blastradius.agents]\nplugged-agent = plugin_agent_pkg:FileAgent\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert type(resolve_agent("plugged-agent")()).__name__ == "FileAgent"
    with pytest.raises(AgentSpecError, match="Did you mean 'plugged-agent'"):
        resolve_agent("plugged-agnt")


def test_a_cmd_spec_makes_a_subprocess_agent_with_the_split_command() -> None:
    agent = resolve_agent(f"cmd:{sys.executable} -c 'print(1)'", {"cwd": "/"})()
    assert isinstance(agent, SubprocessAgent)
    assert agent.command == [sys.executable, "-c", "print(1)"] and agent.cwd == "/"


@pytest.mark.parametrize(("spec", "message"), [
    ("carefull", "unknown agent 'carefull'.*Did you mean 'careful'"),
    ("cmd:", "no command after 'cmd:'"),
    ("cmd:no-such-program-4f2a --fast", "'no-such-program-4f2a' not found on PATH"),
    ("cmd:node 'unclosed", "cannot split the command line"),
    ("no_such_module_xyz:Agent", "cannot import module 'no_such_module_xyz'"),
    ("blastradius.agents.noop:NopAgent", "has no 'NopAgent'. Did you mean 'NoopAgent'"),
    ("missing/agent.py:Agent", "no file 'missing/agent.py'"),
])
def test_a_wrong_spec_says_what_was_tried(spec: str, message: str) -> None:
    with pytest.raises(AgentSpecError, match=message):
        resolve_agent(spec)()


def test_a_file_that_does_not_run_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def oops(:\n")
    with pytest.raises(AgentSpecError, match="raised SyntaxError"):
        resolve_agent(f"{path}:Agent")


def test_something_that_is_not_an_agent(tmp_path: Path) -> None:
    path = tmp_path / "thing.py"
    path.write_text("class Thing:\n    pass\n")
    with pytest.raises(AgentSpecError, match="made a Thing, which has no reset"):
        resolve_agent(f"{path}:Thing")()


# -- --agent-kwarg ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("seed=7", ("seed", 7)),
    ("temperature=0.2", ("temperature", 0.2)),
    ("stop=null", ("stop", None)),
    ("flag=true", ("flag", True)),
    ('prices={"m": [1, 2]}', ("prices", {"m": [1, 2]})),
    ("model=gpt-4o-mini", ("model", "gpt-4o-mini")),
    ("base_url=http://127.0.0.1:8000/v1", ("base_url", "http://127.0.0.1:8000/v1")),
    ('model="123"', ("model", "123")),
    ("note=a=b", ("note", "a=b")),
    ("empty=", ("empty", "")),
])
def test_kwarg_values_are_json_when_they_parse(text: str, expected: tuple[str, object]) -> None:
    assert parse_kwarg(text) == expected


@pytest.mark.parametrize("text", ["novalue", "=3", "not-an-identifier=1", "two words=1"])
def test_a_malformed_kwarg(text: str) -> None:
    with pytest.raises(AgentSpecError, match="expected key=value"):
        parse_kwarg(text)


def test_each_kwarg_belongs_to_the_agent_before_it() -> None:
    items = [(AGENT, "llm"), (KWARG, "model=a"), (KWARG, "seed=1"), (AGENT, "noop"), (AGENT, "llm"),
             (KWARG, "model=b")]
    assert group_agent_args(items) == [("llm", {"model": "a", "seed": 1}), ("noop", {}), ("llm", {"model": "b"})]


def test_a_kwarg_before_any_agent_or_given_twice() -> None:
    with pytest.raises(AgentSpecError, match="comes before any --agent"):
        group_agent_args([(KWARG, "model=a"), (AGENT, "llm")])
    with pytest.raises(AgentSpecError, match="--agent-kwarg model is given twice for --agent 'llm'"):
        group_agent_args([(AGENT, "llm"), (KWARG, "model=a"), (KWARG, "model=b")])


def test_labels_name_the_arguments_sorted() -> None:
    assert agent_label("noop") == agent_label("noop", {}) == "noop"
    assert agent_label("llm", {"model": "m", "base_url": "http://x/v1", "seed": 3}) == \
        "llm[base_url=http://x/v1,model=m,seed=3]"
    assert agent_label("llm", {"prices": {"m": [1, 2]}, "stop": None}) == 'llm[prices={"m":[1,2]},stop=null]'


# -- what importing costs -----------------------------------------------------------------------------


def test_importing_the_agents_never_imports_openai(tmp_path: Path) -> None:
    code = ("import sys\n"
            "import blastradius.agents, blastradius.agents.llm, blastradius.agents.subprocess_agent\n"
            "import blastradius.bench.cli, blastradius.bench.runner\n"
            "blastradius.bench.cli.build_parser()\n"
            "assert 'openai' not in sys.modules, 'openai was imported'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
