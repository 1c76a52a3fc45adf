"""``blastradius budgets``: the measurement behind each family's step budget, re-runnable by anyone.

What users rely on: it prints, per family and agent, the median, 95th percentile and longest episode
at each chaos level, with the family's budget and the one the rule suggests; ``--json`` has every
count; a family the ``careful`` agent has no procedure for is measured by its reference path; and a
run records the budget each episode had.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blastradius.bench.cli import main
from blastradius.bench.storage import read_episodes
from blastradius.envs.scenarios import FAMILIES
from blastradius.envs.scenarios.base import step_budget_for

FAMILY = "freeze_prod_db"


def test_the_table_shows_each_agent_against_the_budget(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budgets", "--family", FAMILY, "--seeds", "2", "--chaos", "0", "--chaos", "1"]) == 0
    out = capsys.readouterr().out
    assert "chaos 0: median / p95 / max" in out and "chaos 1: median / p95 / max" in out and "chaos 2" not in out
    rows = [line.split() for line in out.splitlines() if line.startswith(FAMILY)]
    assert [row[1] for row in rows] == ["reference", "careful"]
    assert all(row[-2] == str(FAMILIES[FAMILY].step_budget) for row in rows)


def test_json_has_every_count_and_the_suggested_budget(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budgets", "--family", FAMILY, "--seeds", "0,5", "--chaos", "3", "--json"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert {(s["agent"], s["chaos"]) for s in report["steps"]} == {("reference", 3), ("careful", 3)}
    levels = len(FAMILIES[FAMILY].difficulties)
    assert all(len(s["counts"]) == 2 * levels and s["max"] == max(s["counts"]) for s in report["steps"])
    assert report["longest"] == max(s["max"] for s in report["steps"])
    assert report["suggested"] == step_budget_for(report["longest"])


def test_a_custom_family_is_measured_by_its_reference_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budgets", "--family", "odd_ids_family:FAMILY", "--seeds", "1", "--chaos", "1", "--json"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert [s["agent"] for s in report["steps"]] == ["reference"] and report["budget"] == 100


def test_a_bad_size_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budgets", "--family", FAMILY, "--size", "5"]) == 2
    assert "--size must be between" in capsys.readouterr().err


def test_a_run_records_each_episode_s_budget(tmp_path: Path) -> None:
    assert main(["run", "--family", FAMILY, "--seeds", "1", "--agent", "noop", "--output-dir", str(tmp_path),
                 "--quiet"]) == 0
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    records = read_episodes(folder)
    assert records and all(record["max_steps"] == FAMILIES[FAMILY].step_budget for record in records)
