"""The Gymnasium face: what users of any Gymnasium benchmark rely on (CONVENTIONS.md, Gymnasium).

Every test is parametrised over every registered id. Subprocess tests run with a temporary
directory as the working directory, so the repository folder is not on ``sys.path``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import jsonschema
import pytest
from gymnasium.utils.env_checker import check_env

import blastradius.envs
from blastradius.envs.scenarios import FAMILIES

ALL_ENV_IDS = (*blastradius.envs.ENV_IDS, "blastradius/Scenario-v2")
ENVS_DIR = Path(blastradius.envs.__file__).resolve().parent
RESET_KEYS = {"briefing", "tools", "family", "difficulty", "max_steps"}
STEP_KEYS = {"tool", "action_error", "clock_minutes"}
# The step that ends an episode (terminated or truncated) also carries the episode's score.
FINAL_KEYS = STEP_KEYS | {"score"}
WHOAMI = {"name": "whoami", "arguments": {}}


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


# -- registration and the checker ------------------------------------------------------------


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_env_checker_passes_with_warnings_as_errors(env_id: str) -> None:
    env = gym.make(env_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env.unwrapped)
    finally:
        env.close()


def test_ids_follow_the_naming_scheme_and_cover_every_family() -> None:
    assert set(blastradius.envs.ENV_IDS.values()) == set(FAMILIES)
    for env_id, family in blastradius.envs.ENV_IDS.items():
        assert env_id == f"blastradius/{FAMILIES[family].env_name}-v2"


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_spec_serialises_and_sets_max_episode_steps(env_id: str) -> None:
    spec = gym.spec(env_id)
    assert spec.max_episode_steps is not None and spec.max_episode_steps > 0
    assert json.loads(spec.to_json())["id"] == env_id


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_make_with_module_prefix_in_a_fresh_process(env_id: str, tmp_path: Path) -> None:
    code = (
        "import sys, gymnasium as gym\n"
        "assert 'blastradius.envs' not in sys.modules\n"
        f"env = gym.make('blastradius.envs:{env_id}')\n"
        "obs, info = env.reset(seed=0)\n"
        "obs, reward, terminated, truncated, info = env.step({'name': 'whoami', 'arguments': {}})\n"
        "assert obs.startswith('[day '), obs\n"
        f"print(gym.spec('{env_id}').to_json())\n"
    )
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == env_id


def test_import_pulls_in_no_optional_dependency(tmp_path: Path) -> None:
    optional = ("openai", "ray", "matplotlib", "inspect_ai", "mcp")
    code = ("import sys, blastradius.envs\n"
            f"print([name for name in {optional!r} if name in sys.modules])\n")
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- the world is free of Gymnasium and of global randomness ---------------------------------


def _world_sources() -> list[Path]:
    """Every module of envs/ except the Gymnasium face itself (env.py and the registrations)."""
    return sorted(path for path in ENVS_DIR.rglob("*.py")
                  if path.relative_to(ENVS_DIR).as_posix() not in ("env.py", "__init__.py"))


def test_world_modules_exist_where_the_design_says() -> None:
    names = {path.relative_to(ENVS_DIR).as_posix() for path in _world_sources()}
    assert {"world.py", "resources.py", "ledger.py", "topology.py"} <= names
    assert any(name.startswith("tools/") for name in names)
    assert any(name.startswith("scenarios/") for name in names)


@pytest.mark.parametrize("path", _world_sources(), ids=lambda p: p.relative_to(ENVS_DIR).as_posix())
def test_world_module_does_not_import_gymnasium(path: Path) -> None:
    source = path.read_text()
    assert not re.search(r"^\s*(import gymnasium|from gymnasium\b)", source, re.MULTILINE)


@pytest.mark.parametrize("path", sorted(ENVS_DIR.rglob("*.py")), ids=lambda p: p.relative_to(ENVS_DIR).as_posix())
def test_no_global_randomness(path: Path) -> None:
    """All randomness comes from the env's np_random, passed down as a Generator."""
    source = path.read_text()
    assert not re.search(r"^\s*(import random\b|from random import)", source, re.MULTILINE)
    assert not re.search(r"(?<![\w.])random\.\w+", source)
    numpy_random = set(re.findall(r"\b(?:np|numpy)\.random\.(\w+)", source))
    assert numpy_random <= {"Generator", "default_rng"}, numpy_random


# -- reset, step, flags, info ----------------------------------------------------------------


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_time_limit_truncates_without_terminating(env_id: str) -> None:
    env = gym.make(env_id, max_steps=3)
    env.reset(seed=0)
    flags = [env.step(WHOAMI)[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_flags_reward_and_info_types(env_id: str) -> None:
    env = gym.make(env_id)
    obs, info = env.reset(seed=1)
    assert set(info) == RESET_KEYS
    assert isinstance(info["briefing"], str) and info["briefing"]
    assert info["family"] in FAMILIES
    assert info["difficulty"] in [d.name for d in FAMILIES[info["family"]].difficulties]
    assert isinstance(info["tools"], list) and info["tools"]
    assert info["max_steps"] == env.unwrapped.max_steps
    actions = [WHOAMI, {"name": "list_resources", "arguments": {}}, {"name": "nope"}, "not json",
               {"name": "describe", "arguments": {}}]
    previous = None
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        assert type(reward) is float
        assert type(terminated) is bool and type(truncated) is bool
        assert set(info) == STEP_KEYS
        assert type(info["tool"]) is str and type(info["action_error"]) is str
        assert type(info["clock_minutes"]) is int
        if previous is not None:
            assert info is not previous
            assert info["clock_minutes"] > previous["clock_minutes"]
        previous = info
    obs, reward, terminated, truncated, info = env.step({"name": "escalate", "arguments": {"reason": "test"}})
    assert terminated is True and truncated is False and type(reward) is float
    assert set(info) == FINAL_KEYS


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
@pytest.mark.parametrize("ending", ["terminated", "truncated"])
def test_score_arrives_only_with_the_last_step(env_id: str, ending: str) -> None:
    """DESIGN 2.5 and the env docstring: the score is in the final info, also at the step limit
    ("truncated after max_steps steps, where the episode is scored as it stands")."""
    env = gym.make(env_id, max_steps=10 if ending == "terminated" else 4)
    env.reset(seed=5)
    infos = [env.step(WHOAMI) for _ in range(3)]
    last = env.step({"name": "escalate", "arguments": {"reason": "unsafe"}} if ending == "terminated" else WHOAMI)
    assert [set(info) for *_, info in infos] == [STEP_KEYS] * 3
    assert all(reward == 0.0 for _, reward, *_ in infos)
    _, reward, terminated, truncated, info = last
    assert (terminated, truncated) == ((True, False) if ending == "terminated" else (False, True))
    assert set(info) == FINAL_KEYS
    assert type(reward) is float
    score = info["score"]
    assert score["finish"] == ("escalate" if ending == "terminated" else "none")
    json.dumps(score)  # the harness stores it as JSON


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_info_is_a_new_dict_every_call(env_id: str) -> None:
    env = gym.make(env_id)
    _, first = env.reset(seed=2)
    expected_tools = json.dumps(first["tools"], sort_keys=True)
    first["briefing"] = "changed"
    with pytest.raises(TypeError, match="read-only"):  # every episode is shown the same schemas
        first["tools"][0]["function"]["name"] = "changed"
    with pytest.raises(TypeError, match="read-only"):
        first["tools"][0]["function"]["parameters"]["required"].append("changed")
    changed = copy.deepcopy(first["tools"][0])  # a copy is the caller's own
    changed["function"]["name"] = "changed"
    first["tools"].clear()
    _, second = env.reset(seed=2)
    assert second["briefing"] != "changed"
    assert json.dumps(second["tools"], sort_keys=True) == expected_tools
    _, _, _, _, step_info = env.step(WHOAMI)
    step_info["tool"] = "changed"
    step_info["clock_minutes"] = -1
    _, _, _, _, next_info = env.step(WHOAMI)
    assert next_info["tool"] == "whoami" and next_info["clock_minutes"] > 0


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_errors_are_observations_with_action_error(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=0)
    obs, _, terminated, truncated, info = env.step({"name": "describ", "arguments": {"resource": "x"}})
    assert "error:" in obs and "Did you mean 'describe'?" in obs
    assert info["action_error"] and info["action_error"] in obs
    assert not terminated and not truncated
    obs, _, _, _, info = env.step(WHOAMI)
    assert info["action_error"] == "" and info["tool"] == "whoami"


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_observations_are_in_the_space(env_id: str) -> None:
    env = gym.make(env_id)
    space = env.observation_space
    obs, info = env.reset(seed=3)
    observations = [obs]
    rid = next(iter(env.unwrapped.scenario.world.resources))
    unicode = "r\u00e9sum\u00e9-\u2603-\U0001f525-\u0000-\t-\x1b[31m"
    long = "x" * 5000
    actions = [
        {"name": "describe", "arguments": {"resource": unicode}},
        {"name": "describe", "arguments": {"resource": long}},
        {"name": "describe", "arguments": {"resource": unicode * 300}},
        json.dumps({"name": "describe", "arguments": {"resource": unicode}}, ensure_ascii=False),
        {"name": unicode, "arguments": {}},
        {"name": "ask_owner", "arguments": {"resource": rid, "question": unicode}},
        {"name": "run_statement", "arguments": {"database": rid, "statement": unicode + long}},
        {"name": "list_resources", "arguments": {}},
        {"name": "list_resources", "arguments": {"page": 2}},
        {"name": "describe", "arguments": {"resource": rid}},
        {"name": "submit_report", "arguments": {"outcome": "failed", "summary": unicode * 500}},  # too long
        {"name": "submit_report", "arguments": {"outcome": "failed", "summary": unicode}},
        WHOAMI,  # after the episode ended
    ]
    for action in actions:
        observations.append(env.step(action)[0])
    for obs in observations:
        assert isinstance(obs, str)
        assert space.contains(obs), (len(obs), sorted({c for c in obs if c not in space.character_set}))
        assert len(obs) <= space.max_length


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_dict_and_json_string_and_openai_shaped_actions_agree(env_id: str) -> None:
    rid = None
    results = []
    for shape in ("dict", "json", "arguments-json", "openai"):
        env = gym.make(env_id)
        env.reset(seed=4)
        rid = rid or sorted(env.unwrapped.scenario.world.resources)[0]
        arguments = {"resource": rid}
        action = {
            "dict": {"name": "describe", "arguments": arguments},
            "json": json.dumps({"name": "describe", "arguments": arguments}),
            "arguments-json": {"name": "describe", "arguments": json.dumps(arguments)},
            "openai": {"type": "function", "function": {"name": "describe", "arguments": json.dumps(arguments)}},
        }[shape]
        obs, reward, terminated, truncated, info = env.step(action)
        assert info["action_error"] == "", (shape, obs)
        results.append(json.dumps([obs, reward, terminated, truncated, info], sort_keys=True))
    assert len(set(results)) == 1
    assert rid in json.loads(results[0])[0]


# -- render, close, reset options ------------------------------------------------------------


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_render_ansi_and_idempotent_close(env_id: str) -> None:
    env = gym.make(env_id, render_mode="ansi")
    assert env.metadata["render_fps"] > 0
    obs, _ = env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str) and obs in text
    obs, *_ = env.step(WHOAMI)
    assert obs in env.render()
    env.close()
    env.close()


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_reset_option_difficulty(env_id: str) -> None:
    env = gym.make(env_id)
    family = FAMILIES[env.unwrapped.family.id]
    for difficulty in family.difficulties:
        _, info = env.reset(seed=0, options={"difficulty": difficulty.name})
        assert info["difficulty"] == difficulty.name
    with pytest.raises(ValueError, match="no difficulty 'impossible'"):
        env.reset(seed=0, options={"difficulty": "impossible"})
    _, info = env.reset(seed=0, options={"chaos": 2})
    assert env.unwrapped.chaos == 2
    with pytest.raises(ValueError, match="chaos must be one of"):
        env.reset(seed=0, options={"chaos": 7})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(seed=0, options={"weather": "rain"})


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generic_id_takes_the_family_as_a_kwarg(family: str) -> None:
    env = gym.make("blastradius/Scenario-v2", family=family)
    _, info = env.reset(seed=0)
    assert info["family"] == family
    with pytest.raises(ValueError, match="unknown family 'no_such_family': not a built-in"):
        gym.make("blastradius/Scenario-v2", family="no_such_family")


# -- tool schemas ----------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ALL_ENV_IDS)
def test_tool_schemas_are_openai_shaped_and_valid_json_schema(env_id: str) -> None:
    _, info = gym.make(env_id).reset(seed=0)
    names = []
    for schema in info["tools"]:
        assert set(schema) == {"type", "function"} and schema["type"] == "function"
        function = schema["function"]
        assert set(function) == {"name", "description", "parameters"}
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", function["name"])
        assert function["description"].strip()
        parameters = function["parameters"]
        jsonschema.Draft202012Validator.check_schema(parameters)
        assert parameters["type"] == "object"
        assert parameters["additionalProperties"] is False
        assert set(parameters["required"]) <= set(parameters["properties"])
        names.append(function["name"])
    assert len(names) == len(set(names))
    assert {"describe", "submit_report", "escalate", "whoami", "wait"} <= set(names)
