"""The leaderboard by family and by difficulty (`blastradius leaderboard RUN_DIR --by ...`): every
number of a group's table is what `summarise` gives for that group's episodes alone, in each of
the three formats, from the command line as from the functions.

The command-line tests use one real run (two families, two difficulties, two seeds played twice,
two scripted agents); the others hand-built records.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from blastradius.bench import breakdown, leaderboard
from blastradius.bench.breakdown import split, summarise_by
from blastradius.bench.cli import main
from blastradius.bench.runner import RunConfig, run
from blastradius.bench.stats import summarise

FAMILIES = ("freeze_prod_db", "dns_cleanup_recovery")
DIFFICULTIES = ("declared", "owner")


def _record(agent: str, family: str, difficulty: str, seed: int, safe: bool, damage: float,
            lied: bool = False) -> dict[str, Any]:
    return {"agent": agent, "family": family, "difficulty": difficulty, "seed": seed, "status": "completed",
            "score": {"success": safe, "safe_success": safe, "catastrophe": False,
                      "damage": {"total": damage, "unapproved_destructive": 0, "blast_radius": 0, "downtime": 0.0},
                      "truthfulness": {"score": 0.0 if lied else 1.0, "precision": 1.0, "recall": 1.0,
                                       "false_success_claim": lied, "hidden_destructive_action": False,
                                       "fabricated": False, "false_unrecoverable": False}}}


# Agent "steady" is safe on disk, not on dns; "bold" the other way round, and lies on disk.
RECORDS = [
    _record(agent, family, difficulty, seed, safe=(family == "disk") == (agent == "steady"),
            damage=seed * 10.0 + (family == "dns") * 50.0, lied=agent == "bold" and family == "disk")
    for agent in ("steady", "bold")
    for family in ("disk", "dns")
    for difficulty in ("declared", "owner")
    for seed in range(3)
]


@pytest.mark.parametrize("by", breakdown.BY)
def test_each_group_is_summarised_from_its_own_episodes(by: str):
    groups = summarise_by(RECORDS, by)
    assert list(groups) == sorted({record[by] for record in RECORDS})
    for group, summary in groups.items():
        assert summary == summarise([record for record in RECORDS if record[by] == group])


def test_a_group_table_shows_the_numbers_of_its_subset():
    groups = summarise_by(RECORDS, "family")
    assert groups["disk"]["steady"]["safe_success_rate"]["value"] == 1.0
    assert groups["dns"]["steady"]["safe_success_rate"]["value"] == 0.0
    text = breakdown.to_markdown(groups, "family")
    disk = text[text.index("## family: disk"):text.index("## family: dns")]
    assert leaderboard.table(summarise([r for r in RECORDS if r["family"] == "disk"])) in disk
    steady = next(line for line in disk.splitlines() if line.startswith("| steady"))
    cells = dict(zip([header for _, header in leaderboard.columns(groups["disk"])],
                     [cell.strip() for cell in steady.strip("|").split("|")], strict=True))
    assert cells["Safe success"] == "1.00 [0.61, 1.00]" and cells["Damage"] == "10.0" and cells["Lied"] == "0.00"
    bold = next(line for line in disk.splitlines() if line.startswith("| bold"))
    assert "| 1.00 |" in bold  # lied in every disk episode
    assert text.count("- **Safe success** is") == 1  # one legend, after every table
    assert text.index("- **Agent**") > text.index("## family: dns")


def test_difficulty_levels_pool_every_family_that_has_them():
    groups = split(RECORDS, "difficulty")
    assert {record["family"] for record in groups["owner"]} == {"disk", "dns"}
    assert sum(map(len, groups.values())) == len(RECORDS)


def test_only_family_and_difficulty():
    with pytest.raises(ValueError, match="choose one of family, difficulty"):
        split(RECORDS, "seed")


def test_json_and_csv_hold_every_group():
    groups = summarise_by(RECORDS, "family")
    assert json.loads(breakdown.to_json(groups, "family")) == {"by": "family", "groups": groups}
    parsed = list(csv.DictReader(io.StringIO(breakdown.to_csv(groups, "family"))))
    assert [(row["family"], row["agent"]) for row in parsed] == [
        ("disk", "steady"), ("disk", "bold"), ("dns", "bold"), ("dns", "steady")]  # best first in each group
    for row in parsed:
        entry = groups[row["family"]][row["agent"]]
        assert float(row["safe_success_rate_value"]) == entry["safe_success_rate"]["value"]
        assert float(row["collateral_damage_mean_ci_high"]) == entry["collateral_damage_mean"]["ci_high"]
        assert float(row["honesty_flag_rate_value"]) == entry["honesty_flag_rate"]["value"]


# -- from the command line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = RunConfig(families=FAMILIES, difficulties=DIFFICULTIES, seeds=(0, 1), agents=("careful", "reckless"),
                       trials=2)
    return run(config, tmp_path_factory.mktemp("by")).folder.path


def _records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "episodes.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("by", breakdown.BY)
def test_leaderboard_by_prints_one_table_per_group(folder: Path, by: str, capsys: pytest.CaptureFixture[str]):
    assert main(["leaderboard", str(folder), "--by", by]) == 0
    out = capsys.readouterr().out
    groups = FAMILIES if by == "family" else DIFFICULTIES
    assert [line for line in out.splitlines() if line.startswith("## ")] == [f"## {by}: {g}" for g in sorted(groups)]
    for group in groups:
        subset = summarise([record for record in _records(folder) if record[by] == group])
        assert leaderboard.table(subset) in out
    assert "pass^2" in out  # two trials of each seed
    assert max(len(line) for line in out.splitlines() if line.startswith("|")) <= 120


def test_leaderboard_by_in_json_and_csv(folder: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["leaderboard", str(folder), "--by", "family", "--format", "json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed == {"by": "family", "groups": summarise_by(_records(folder), "family")}
    assert main(["leaderboard", str(folder), "--by", "difficulty", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {(row["difficulty"], row["agent"]) for row in rows} == {
        (difficulty, agent) for difficulty in DIFFICULTIES for agent in ("careful", "reckless")}
    assert all(row["safe_success_pass_hat_2_value"] != "" for row in rows)


def test_leaderboard_wide_shows_what_the_default_leaves_out(folder: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["leaderboard", str(folder)]) == 0
    default = capsys.readouterr().out
    assert main(["leaderboard", str(folder), "--wide"]) == 0
    wide = capsys.readouterr().out
    header = next(line for line in wide.splitlines() if line.startswith("| Agent"))
    for name in ("Code", "Catastrophe", "Truthfulness", "pass^1", "Unapproved destructive"):
        assert name in header and f"**{name}**" in wide
        assert f"**{name}**" not in default
    assert "**pass^2**" in default  # pass^K, K the trials, is a headline
    assert "--wide" in default and "--wide" not in wide
    assert main(["leaderboard", str(folder), "--by", "family", "--wide"]) == 0
    assert "Unapproved destructive" in capsys.readouterr().out
