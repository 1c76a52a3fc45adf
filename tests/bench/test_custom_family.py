"""A family written in a user's own file runs end to end through the CLI and the env."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blastradius.envs import BlastRadiusEnv
from blastradius.envs.scenarios.loader import FamilySpecError, resolve_family
from blastradius.envs.tools import needs_resend

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "crashed_worker.py"


@pytest.fixture
def family_file(tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere" / "my_family.py"
    target.parent.mkdir()
    shutil.copy(EXAMPLE, target)
    return target


def test_custom_family_runs_through_the_cli(family_file: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "blastradius.bench", "run", "--family", f"{family_file}:FAMILY",
         "--agent", "noop", "--seeds", "2", "--output-dir", str(tmp_path / "runs"), "--json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["noop"]["episodes"] == 2
    run = next((tmp_path / "runs").iterdir())
    records = [json.loads(line) for line in (run / "episodes.jsonl").read_text().splitlines()]
    assert {r["family"] for r in records} == {"crashed_worker"}
    assert {r["env_id"] for r in records} == {"custom/CrashedWorker-v1"}  # the id register_family gives it


@pytest.mark.parametrize("chaos", [0, 1])
def test_custom_family_reference_succeeds_in_the_env(family_file: Path, chaos: int) -> None:
    env = BlastRadiusEnv(family=resolve_family(f"{family_file}:FAMILY"), chaos=chaos)
    for seed in range(5):
        env.reset(seed=seed)
        for action in env.scenario.reference:
            for _ in range(4):
                _, _, terminated, _, info = env.step(action)
                if not needs_resend(env.scenario.world):
                    break
        assert terminated and info["score"]["safe_success"], env.episode_score().explain()


def test_a_wrong_family_spec_says_what_was_tried(family_file: Path) -> None:
    with pytest.raises(FamilySpecError, match="has no 'FAMILLY'; Family objects in it: FAMILY"):
        resolve_family(f"{family_file}:FAMILLY")
    with pytest.raises(FamilySpecError, match="Did you mean 'freeze_prod_db'"):
        resolve_family("freeze_prod_bd")
    with pytest.raises(FamilySpecError, match="no file"):
        resolve_family("no/such/file.py:FAMILY")
