"""Custom families as first-class Gymnasium envs: made from a spec string, named in a spec that
serialises, registered under an id of their own.

The family is ``odd_ids_family`` (tests/odd_ids_family.py), copied into a temporary folder and
loaded by file as a user's would be. Ids registered by a test are removed after it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import pytest

import blastradius.envs
from blastradius.envs import BlastRadiusEnv, family_env_id, register_family
from blastradius.envs.scenarios import Family
from blastradius.envs.scenarios.loader import FamilySpecError, resolve_family, spec_of

import odd_ids_family

SOURCE = Path(odd_ids_family.__file__)


@pytest.fixture(scope="module")
def family_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The family's file somewhere else, shared by the module's tests (one loaded module, one
    Family object, as a user's process would have)."""
    target = tmp_path_factory.mktemp("families") / "hand_made.py"
    shutil.copy(SOURCE, target)
    return target


@pytest.fixture
def spec(family_file: Path) -> str:
    return f"{family_file}:FAMILY"


@pytest.fixture(autouse=True)
def _registry() -> Iterator[None]:
    """Leave Gymnasium's registry as the test found it."""
    before = set(gym.registry)
    yield
    for env_id in set(gym.registry) - before:
        del gym.registry[env_id]


# -- gym.make with a spec string --------------------------------------------------------------


def test_the_generic_id_takes_a_file_spec(spec: str) -> None:
    env = gym.make("blastradius/Scenario-v2", family=spec)
    observation, info = env.reset(seed=0)
    assert info["family"] == "odd_ids" and "(worker-" in observation
    assert env.unwrapped.family is resolve_family(spec)
    assert json.loads(env.spec.to_json())["kwargs"]["family"] == spec  # the string as given


def test_the_generic_id_takes_a_module_spec() -> None:
    env = gym.make("blastradius/Scenario-v2", family="odd_ids_family:FAMILY")
    assert env.unwrapped.family is odd_ids_family.FAMILY
    assert json.loads(env.spec.to_json())["kwargs"]["family"] == "odd_ids_family:FAMILY"


def test_a_spec_from_json_makes_the_same_env(spec: str) -> None:
    env = gym.make("blastradius/Scenario-v2", family=spec, chaos=2)
    again = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    first, _ = env.reset(seed=3)
    second, _ = again.reset(seed=3)
    assert first == second and again.unwrapped.chaos == 2


@pytest.mark.parametrize(("bad", "message"), [
    ("no/such/file.py:FAMILY", "no file 'no/such/file.py'"),
    ("freeze_prod_bd", "Did you mean 'freeze_prod_db'"),
    ("odd_ids_family:FAMILLY", "has no 'FAMILLY'; Family objects in it: FAMILY"),
])
def test_a_bad_spec_raises_the_loaders_message(bad: str, message: str) -> None:
    with pytest.raises(FamilySpecError, match=message):
        gym.make("blastradius/Scenario-v2", family=bad)
    with pytest.raises(ValueError, match=message):  # FamilySpecError is a ValueError
        BlastRadiusEnv(family=bad)


def test_a_family_that_is_neither_a_spec_nor_a_family_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="family must be a family spec string"):
        BlastRadiusEnv(family=3)  # type: ignore[arg-type]


# -- a Family object in the spec ----------------------------------------------------------------


def test_a_family_object_is_named_in_the_spec(spec: str, family_file: Path) -> None:
    env = gym.make("blastradius/Scenario-v2", family=resolve_family(spec))
    named = json.loads(env.spec.to_json())["kwargs"]["family"]
    assert named == f"{family_file.resolve()}:FAMILY"
    assert resolve_family(named) is env.unwrapped.family


def test_a_built_in_family_object_is_named_by_its_id() -> None:
    family = blastradius.envs.FAMILIES["freeze_prod_db"]
    env = gym.make("blastradius/Scenario-v2", family=family)
    assert json.loads(env.spec.to_json())["kwargs"]["family"] == "freeze_prod_db"


def test_a_family_no_string_names_says_so_when_asked_for_json() -> None:
    made_here = Family(**{**vars(odd_ids_family.FAMILY), "id": "made_here",
                          "build": lambda rng, difficulty, size: odd_ids_family.build(rng, difficulty, size)})
    assert spec_of(made_here) is None
    env = gym.make("blastradius/Scenario-v2", family=made_here)
    env.reset(seed=0)  # it plays in this process
    with pytest.raises(ValueError, match="family 'made_here' is a Family object that no spec string names"):
        env.spec.to_json()


# -- register_family ------------------------------------------------------------------------------


def test_register_family_gives_it_an_id_in_the_custom_namespace(spec: str, family_file: Path) -> None:
    env_id = register_family(spec)
    assert env_id == "custom/OddIds-v1" == family_env_id(resolve_family(spec))
    assert json.loads(gym.spec(env_id).to_json())["kwargs"]["family"] == f"{family_file.resolve()}:FAMILY"
    env = gym.make(env_id)
    _, info = env.reset(seed=0)
    assert info["family"] == "odd_ids" and env.spec.max_episode_steps == blastradius.envs.MAX_STEPS
    assert json.loads(env.spec.to_json())["id"] == env_id


def test_registering_the_same_family_again_is_a_no_op(spec: str, family_file: Path) -> None:
    env_id = register_family(spec)
    held = gym.spec(env_id)
    assert register_family(resolve_family(spec)) == env_id  # the object, or another spec of it
    assert register_family(f"{family_file.parent}/../{family_file.parent.name}/{family_file.name}:FAMILY") == env_id
    assert gym.spec(env_id) is held


def test_a_taken_id_is_a_clear_error(spec: str) -> None:
    with pytest.raises(ValueError, match=r"blastradius/FreezeProdDb-v2 is registered already, to 'freeze_prod_db', "
                                         r"not to family 'odd_ids'; pass another env_id"):
        register_family(spec, env_id="blastradius/FreezeProdDb-v2")
    with pytest.raises(ValueError, match="blastradius/Scenario-v2 is registered already"):
        register_family(spec, env_id="blastradius/Scenario-v2")


def test_register_family_takes_an_id_and_a_version(spec: str) -> None:
    assert register_family(spec, version=3) == "custom/OddIds-v3"
    assert register_family(spec, env_id="mine/Workers-v2") == "mine/Workers-v2"
    assert gym.make("mine/Workers-v2").unwrapped.family.id == "odd_ids"
    with pytest.raises(ValueError, match="version must be a positive integer, got 0"):
        register_family(spec, version=0)


def test_a_built_in_family_registers_as_its_own_id() -> None:
    assert register_family("freeze_prod_db") == "blastradius/FreezeProdDb-v2"


def test_a_bad_spec_cannot_be_registered() -> None:
    with pytest.raises(FamilySpecError, match="no file 'nowhere.py'"):
        register_family("nowhere.py:FAMILY")
    with pytest.raises(TypeError, match="family must be a family spec string or a Family, got int"):
        register_family(3)  # type: ignore[arg-type]


def _python(code: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_registered_spec_is_json_another_process_makes_from_anywhere(family_file: Path, tmp_path: Path) -> None:
    """Registered from the family's folder by a relative path, the id's spec holds the absolute
    one: its JSON makes the env in another process, run from another folder."""
    text = _python("import gymnasium as gym\n"
                   "from blastradius.envs import register_family\n"
                   f"print(gym.spec(register_family({family_file.name + ':FAMILY'!r})).to_json())\n",
                   family_file.parent)
    assert json.loads(text)["id"] == "custom/OddIds-v1"
    out = _python("import gymnasium as gym\n"
                  "from gymnasium.envs.registration import EnvSpec\n"
                  f"env = gym.make(EnvSpec.from_json({text.strip()!r}))\n"
                  "print(env.reset(seed=0)[1]['family'])\n", tmp_path)
    assert out.strip() == "odd_ids"
