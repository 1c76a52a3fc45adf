"""Tests for blastradius.bench.leaderboard: ordering, formatting, renderings and merging."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from blastradius.bench import leaderboard
from blastradius.bench.leaderboard import (
    COLUMNS,
    LEGEND,
    merge,
    merge_episodes,
    rows,
    to_csv,
    to_json,
    to_markdown,
)
from blastradius.bench.stats import METRIC_KEYS, Metric, summarise


def m(value: float, low: float, high: float) -> dict[str, float]:
    return {"value": value, "ci_low": low, "ci_high": high}


def entry(safe: float, damage: float | None, **extra: Any) -> dict[str, Any]:
    """A summary entry with the table's metrics; ``damage=None`` leaves the damage mean out."""
    result: dict[str, Any] = {
        "episodes": 10,
        "errors": 1,
        "safe_success_rate": m(safe, max(0.0, safe - 0.3), min(1.0, safe + 0.14)),
        "success_rate": m(0.9, 0.6, 0.98),
        "catastrophe_rate": m(0.0, 0.0, 0.2775),
        "truthfulness_mean": m(0.8512, 0.7, 0.93),
        "false_success_claim_rate": m(0.1, 0.018, 0.4042),
        "hidden_destructive_action_rate": m(0.0, 0.0, 0.2775),
        "fabricated_rate": m(0.0, 0.0, 0.2775),
        "unapproved_destructive_action_rate": m(0.2, 0.0567, 0.5098),
    }
    if damage is not None:
        result["collateral_damage_mean"] = m(damage, damage / 3, damage * 1.6)
    result.update(extra)
    return result


@pytest.fixture
def summary() -> dict[str, dict[str, Any]]:
    return {
        "zeta": entry(0.8, 12.3),
        "alpha": entry(0.5, 1.0),
        "beta": entry(0.8, 4.1),
        "gamma": entry(0.8, 4.1),
        "delta": entry(0.5, None),
    }


def test_columns_order_and_headline():
    assert [header for _, header in COLUMNS] == [
        "Agent", "Episodes", "Safe success", "Success", "Catastrophe", "Damage (mean)", "Truthfulness",
        "False success", "Hidden destructive", "Fabricated", "Unapproved destructive", "Errors",
    ]
    assert COLUMNS[2][0] == "safe_success_rate"  # headline is the first metric column
    assert all(key in METRIC_KEYS or key in ("agent", "episodes", "errors") for key, _ in COLUMNS)


def test_rows_sorted_by_safe_success_then_damage_then_name(summary):
    table = rows(summary)
    assert [row[0] for row in table] == ["beta", "gamma", "zeta", "alpha", "delta"]
    assert all(len(row) == len(COLUMNS) for row in table)


def test_rows_formatting(summary):
    zeta = dict(zip([header for _, header in COLUMNS], rows(summary)[2], strict=True))
    assert zeta["Agent"] == "zeta"
    assert zeta["Episodes"] == "10"
    assert zeta["Errors"] == "1"
    assert zeta["Safe success"] == "0.80 [0.50, 0.94]"
    assert zeta["Catastrophe"] == "0.00 [0.00, 0.28]"
    assert zeta["Damage (mean)"] == "12.3 [4.1, 19.7]"
    assert zeta["Truthfulness"] == "0.85 [0.70, 0.93]"
    delta = rows(summary)[-1]
    assert delta[[key for key, _ in COLUMNS].index("collateral_damage_mean")] == leaderboard.MISSING


def test_rows_accept_metric_objects():
    summary = {"a": {"episodes": 2, "errors": 0, "safe_success_rate": Metric(0.5, 0.0945, 0.9055)}}
    row = rows(summary)[0]
    assert row[2] == "0.50 [0.09, 0.91]"
    assert row[3] == leaderboard.MISSING


def test_markdown_has_headers_rows_and_legend(summary):
    text = to_markdown(summary, title="Leaderboard")
    assert text.startswith("# Leaderboard\n\n")
    assert text.endswith("\n")
    lines = text.splitlines()
    header_line = next(line for line in lines if line.startswith("| Agent"))
    for _, header in COLUMNS:
        assert header in header_line
    separator = lines[lines.index(header_line) + 1]
    assert set(separator) <= set("|-: ")  # github table
    assert "0.80 [0.50, 0.94]" in text
    assert LEGEND in text
    for words in ("Safe success", "AND no T3/T4", "within the damage budget", "unapproved destructive",
                  "honesty flag", "95% confidence intervals"):
        assert words in LEGEND.replace("caused no", "AND no").replace("**", ""), words
    assert text.index("| beta") < text.index("| alpha")
    assert not to_markdown(summary).startswith("#")


def test_markdown_of_an_empty_summary_still_has_headers():
    text = to_markdown({})
    assert "Safe success" in text and LEGEND in text


def test_csv_parses_back_with_raw_numbers(summary):
    text = to_csv(summary)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [row["agent"] for row in parsed] == ["beta", "gamma", "zeta", "alpha", "delta"]
    header = next(csv.reader(io.StringIO(text)))
    assert header[:3] == ["agent", "episodes", "errors"]
    for key in METRIC_KEYS:
        assert {f"{key}_value", f"{key}_ci_low", f"{key}_ci_high"} <= set(header)
    zeta = next(row for row in parsed if row["agent"] == "zeta")
    assert int(zeta["episodes"]) == 10
    assert float(zeta["collateral_damage_mean_value"]) == 12.3
    assert float(zeta["collateral_damage_mean_ci_high"]) == pytest.approx(12.3 * 1.6)
    assert float(zeta["truthfulness_mean_value"]) == 0.8512  # not the table's 2 decimals
    delta = next(row for row in parsed if row["agent"] == "delta")
    assert delta["collateral_damage_mean_value"] == ""
    assert zeta["downtime_mean_value"] == ""  # absent metrics give empty cells


def test_csv_keeps_unknown_metrics():
    text = to_csv({"a": {"episodes": 1, "errors": 0, "safe_success_rate": m(1.0, 0.2, 1.0),
                         "safe_success_pass_hat_4": m(0.5, 0.5, 0.5)}})
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["safe_success_pass_hat_4_value"] == "0.5"


def test_json_round_trips_with_sorted_keys(summary):
    text = to_json(summary)
    assert json.loads(text) == summary
    assert list(json.loads(text)) == sorted(summary)
    assert text.startswith('{\n  "alpha": {')
    as_objects = {"a": {"episodes": 1, "errors": 0, "success_rate": Metric(1.0, 0.2065, 1.0)}}
    assert json.loads(to_json(as_objects))["a"]["success_rate"] == {"ci_high": 1.0, "ci_low": 0.2065,
                                                                    "value": 1.0}


def test_renderings_of_a_real_summary():
    records = [
        {"agent": agent, "family": family, "difficulty": "easy", "seed": seed, "status": "completed",
         "score": {"success": ok, "safe_success": ok, "catastrophe": False, "partial_success": 1.0,
                   "damage": {"total": 0.0 if ok else 5.0, "unapproved_destructive": 0, "blast_radius": 0,
                              "downtime": 0.0},
                   "truthfulness": {"score": 1.0, "precision": 1.0, "recall": 1.0, "false_success_claim": False,
                                    "hidden_destructive_action": False, "fabricated": False,
                                    "false_unrecoverable": False}}}
        for agent, ok in (("oracle", True), ("scorched", False))
        for family in ("disk", "dns")
        for seed in range(3)
    ]
    records.append({"agent": "null", "family": "disk", "difficulty": "easy", "seed": 0, "status": "error",
                    "score": None})
    summary = summarise(records)
    assert [row[0] for row in rows(summary)] == ["oracle", "scorched", "null"]  # no damage mean sorts last
    text = to_markdown(summary)
    assert "1.00 [0.61, 1.00]" in text
    assert json.loads(to_json(summary)) == summary
    assert len(list(csv.DictReader(io.StringIO(to_csv(summary))))) == 3


def test_agent_without_a_completed_episode_shows_n_a_not_zero_damage():
    records = [{"agent": "crash", "family": "disk", "difficulty": "easy", "seed": seed, "status": "error",
                "score": None} for seed in range(2)]
    records += [{"agent": "messy", "family": "disk", "difficulty": "easy", "seed": seed, "status": "completed",
                 "score": {"success": False, "safe_success": False, "catastrophe": True, "partial_success": 0.0,
                           "damage": {"total": 150.0, "unapproved_destructive": 1, "blast_radius": 4,
                                      "downtime": 90.0},
                           "truthfulness": {"score": 0.5, "precision": 0.5, "recall": 0.5,
                                            "false_success_claim": False, "hidden_destructive_action": False,
                                            "fabricated": False, "false_unrecoverable": False}}}
                for seed in range(2)]
    summary = summarise(records)
    table = rows(summary)
    assert [row[0] for row in table] == ["messy", "crash"]  # unknown damage sorts last, not as 0
    crash = dict(zip([key for key, _ in COLUMNS], table[1], strict=True))
    assert crash["safe_success_rate"] == "0.00 [0.00, 0.66]"
    assert crash["success_rate"] == "0.00 [0.00, 0.66]"
    for key in ("catastrophe_rate", "collateral_damage_mean", "truthfulness_mean", "false_success_claim_rate",
                "hidden_destructive_action_rate", "fabricated_rate", "unapproved_destructive_action_rate"):
        assert crash[key] == leaderboard.MISSING, key
    assert (crash["episodes"], crash["errors"]) == ("2", "2")
    # CSV keeps the raw placeholders.
    row = next(r for r in csv.DictReader(io.StringIO(to_csv(summary))) if r["agent"] == "crash")
    assert row["collateral_damage_mean_value"] == "0.0"


# -- merging ---------------------------------------------------------------------------------------


def test_merge_suffixes_repeated_agents():
    first = {"a": entry(0.5, 1.0), "b": entry(0.2, 3.0)}
    second = {"a": entry(0.6, 2.0)}
    third = {"a": entry(0.7, 2.0), "a#2x": entry(0.1, 0.0)}
    merged = merge([first, second, third])
    assert list(merged) == ["a", "b", "a#2", "a#3", "a#2x"]
    assert merged["a"]["safe_success_rate"]["value"] == 0.5
    assert merged["a#2"]["safe_success_rate"]["value"] == 0.6
    assert merged["a#3"]["safe_success_rate"]["value"] == 0.7
    assert merge([]) == {}
    merged["a"]["episodes"] = 99
    assert first["a"]["episodes"] == 10  # shallow copies


def test_merge_skips_names_already_taken():
    merged = merge([{"a": entry(0.1, 0.0), "a#2": entry(0.2, 0.0)}, {"a": entry(0.3, 0.0)}])
    assert list(merged) == ["a", "a#2", "a#3"]


def _record(agent: str, seed: int, trial: int | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"agent": agent, "family": "disk", "difficulty": "easy", "seed": seed,
                              "status": "error", "score": None}
    if trial is not None:
        record["trial"] = trial
    return record


def test_merge_episodes_concatenates_for_summarise():
    run1 = [_record("a", 0), _record("a", 1)]
    run2 = [_record("a", 2), _record("b", 0)]
    merged = merge_episodes([run1, run2])
    assert merged == run1 + run2
    assert merged[0] is run1[0]
    summary = summarise(merged)
    assert summary["a"]["episodes"] == 3 and summary["b"]["episodes"] == 1


def test_merge_episodes_refuses_duplicate_episode_keys():
    with pytest.raises(ValueError, match="repeats episode"):
        merge_episodes([[_record("a", 0)], [_record("a", 0, trial=0)]])
    assert len(merge_episodes([[_record("a", 0)], [_record("a", 0)]], allow_duplicates=True)) == 2
    assert len(merge_episodes([[_record("a", 0, trial=0)], [_record("a", 0, trial=1)]])) == 2
