"""Tests for blastradius.bench.leaderboard and .columns: the default table (fits 120 columns) and
the wide one, the legend under them, the run totals line, the CSV and JSON renderings, and merging."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from typing import Any

import pytest

from blastradius.bench import leaderboard
from blastradius.bench.columns import COLUMNS, PROVENANCE_COLUMNS, USAGE_COLUMNS, WIDE_COLUMNS, columns
from blastradius.bench.leaderboard import (
    merge,
    merge_episodes,
    rows,
    run_totals,
    table,
    to_csv,
    to_json,
    to_markdown,
)
from blastradius.bench.provenance import RowProvenance
from blastradius.bench.stats import METRIC_KEYS, Metric, pass_key, summarise


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
        "honesty_flag_rate": m(0.1, 0.018, 0.4042),
        "false_success_claim_rate": m(0.1, 0.018, 0.4042),
        "hidden_destructive_action_rate": m(0.0, 0.0, 0.2775),
        "fabricated_rate": m(0.0, 0.0, 0.2775),
        "false_unrecoverable_rate": m(0.0, 0.0, 0.2775),
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


AGENTS = ("careful", "reckless", "llm[model=gpt-4o-mini]", "llm[model=claude-sonnet-4]",
          "cmd:node docs/examples/agent.js")
"""Labels as `blastradius run` writes them: built-ins, an LLM with its model, a subprocess agent."""


def realistic_run(trials: int = 3) -> list[dict[str, Any]]:
    """Records of the five `AGENTS` over 3 families x 2 difficulties x 5 seeds x ``trials``: some
    errors, damage in the hundreds, honesty flags; the LLM agents report tokens (one a cost)."""
    rng = random.Random(1)
    records = []
    for agent in AGENTS:
        for family in ("delete_unused_resources", "freeze_prod_db", "dns_cleanup_recovery"):
            for difficulty in ("declared", "owner"):
                for seed in range(5):
                    for trial in range(trials):
                        ok = rng.random() < 0.6
                        score = {"success": ok, "safe_success": ok and rng.random() < 0.8,
                                 "catastrophe": rng.random() < 0.1,
                                 "damage": {"total": rng.random() * 150, "unapproved_destructive": rng.random() < 0.2,
                                            "blast_radius": 1, "downtime": 3.0},
                                 "truthfulness": {"score": rng.random(), "precision": 1.0, "recall": 1.0,
                                                  "false_success_claim": rng.random() < 0.1,
                                                  "hidden_destructive_action": False,
                                                  "fabricated": rng.random() < 0.05, "false_unrecoverable": False}}
                        errored = rng.random() < 0.05
                        record: dict[str, Any] = {"agent": agent, "family": family, "difficulty": difficulty,
                                                  "seed": seed, "trial": trial,
                                                  "status": "error" if errored else "completed",
                                                  "score": None if errored else score}
                        if agent.startswith("llm["):
                            record["agent_stats"] = {"tokens_in": rng.randrange(20_000, 90_000),
                                                     "tokens_out": rng.randrange(1_000, 9_000),
                                                     "cost_usd": 0.01 if "gpt" in agent else None}
                        records.append(record)
    return records


def provenance_of(summary: dict[str, Any]) -> dict[str, list[RowProvenance]]:
    return {agent: [RowProvenance(False, "builtin", "ab" * 32, "0.1.0", "abc", "3", "2")] for agent in summary}


@pytest.fixture(scope="module")
def realistic() -> dict[str, dict[str, Any]]:
    return summarise(realistic_run(), resamples=200)


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def _legend_bullets(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


def _bold(lines: list[str]) -> list[str]:
    return [name for line in lines for name in re.findall(r"\*\*(.+?)\*\*", line.split(" is ")[0].split(" are ")[0])]


# -- columns -------------------------------------------------------------------------------------


def test_the_default_columns_are_the_headline_and_wide_has_every_one():
    assert [header for _, header in COLUMNS] == [
        "Agent", "Episodes", "Safe success", "Success", "Damage", "Lied", "Errors"]
    assert [header for _, header in WIDE_COLUMNS] == [
        "Agent", "Episodes", "Safe success", "Success", "Catastrophe", "Damage", "Truthfulness", "Lied",
        "False success", "Hidden destructive", "Fabricated", "False unrecoverable", "Unapproved destructive",
        "Errors",
    ]
    assert COLUMNS[2].key == "safe_success_rate"  # the headline is the first metric column
    assert all(column in WIDE_COLUMNS for column in COLUMNS)
    assert all(key in METRIC_KEYS or key in ("agent", "episodes", "errors") for key, _ in WIDE_COLUMNS)


def test_pass_k_columns_appear_with_repeated_trials_only(realistic):
    one_trial = summarise(realistic_run(trials=1), resamples=50)
    assert "pass^2" in [header for _, header in columns(one_trial, wide=True)]  # over seeds, as before
    assert not any(header.startswith("pass^") for _, header in columns(one_trial))
    headers = [header for _, header in columns(realistic)]
    assert headers[headers.index("Safe success") + 1] == "pass^3"  # the default shows pass^K alone
    wide = [header for _, header in columns(realistic, wide=True)]
    assert wide[wide.index("Safe success") + 1:][:3] == ["pass^1", "pass^2", "pass^3"]


def test_rows_sorted_by_safe_success_then_damage_then_name(summary):
    table_rows = rows(summary)
    assert [row[0] for row in table_rows] == ["beta", "gamma", "zeta", "alpha", "delta"]
    assert all(len(row) == len(COLUMNS) for row in table_rows)


def test_the_default_table_gives_the_headline_its_interval_and_the_rest_values(summary):
    zeta = dict(zip([header for _, header in COLUMNS], rows(summary)[2], strict=True))
    assert zeta == {"Agent": "zeta", "Episodes": "10", "Safe success": "0.80 [0.50, 0.94]", "Success": "0.90",
                    "Damage": "12.3", "Lied": "0.10", "Errors": "1"}
    delta = rows(summary)[-1]
    assert delta[[key for key, _ in COLUMNS].index("collateral_damage_mean")] == leaderboard.MISSING


def test_the_wide_table_gives_every_metric_its_interval(summary):
    zeta = dict(zip([header for _, header in columns(summary, wide=True)], rows(summary, wide=True)[2], strict=True))
    assert zeta["Safe success"] == "0.80 [0.50, 0.94]"
    assert zeta["Catastrophe"] == "0.00 [0.00, 0.28]"
    assert zeta["Damage"] == "12.3 [4.1, 19.7]"
    assert zeta["Truthfulness"] == "0.85 [0.70, 0.93]"
    assert zeta["Lied"] == "0.10 [0.02, 0.40]"


def test_rows_accept_metric_objects():
    summary = {"a": {"episodes": 2, "errors": 0, "safe_success_rate": Metric(0.5, 0.0945, 0.9055)}}
    row = rows(summary)[0]
    assert row[2] == "0.50 [0.09, 0.91]"
    assert row[3] == leaderboard.MISSING


# -- the markdown --------------------------------------------------------------------------------


def test_markdown_has_the_title_the_table_then_the_legend(summary):
    text = to_markdown(summary, title="Leaderboard")
    assert text.startswith("# Leaderboard\n\n") and text.endswith("\n")
    lines = text.splitlines()
    header_line = next(line for line in lines if line.startswith("| Agent"))
    assert [cell.strip() for cell in header_line.strip("|").split("|")] == [header for _, header in COLUMNS]
    separator = lines[lines.index(header_line) + 1]
    assert set(separator) <= set("|-: ")  # github table
    assert "0.80 [0.50, 0.94]" in text
    assert text.index("| beta") < text.index("| alpha")
    last_row = max(index for index, line in enumerate(lines) if line.startswith("|"))
    assert min(index for index, line in enumerate(lines) if line.startswith("- ")) > last_row  # legend below
    safe = next(line for line in lines if line.startswith("- **Safe success**"))
    for words in ("no T3/T4", "within the damage budget", "unapproved destructive", "honesty flag"):
        assert words in safe, words
    assert "95% interval" in text and "--wide" in text
    assert not to_markdown(summary).startswith("#")


def test_markdown_of_an_empty_summary_still_has_headers():
    text = to_markdown({})
    assert "Safe success" in text and "- **Safe success** is" in text


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("with_provenance", [False, True])
def test_the_legend_lists_exactly_the_columns_shown(realistic, wide: bool, with_provenance: bool):
    provenance = provenance_of(realistic) if with_provenance else None
    text = to_markdown(realistic, provenance=provenance, wide=wide)
    shown = [header for _, header in columns(realistic, with_provenance, wide)]
    header_line = _table_lines(text)[0]
    assert [cell.strip() for cell in header_line.strip("|").split("|")] == shown
    assert _bold(_legend_bullets(text)) == shown  # each once, in table order
    assert ("--wide" in text) is not wide


def test_the_default_table_of_a_realistic_run_fits_120_columns(realistic):
    text = to_markdown(realistic, title="blastradius leaderboard", provenance=provenance_of(realistic))
    assert len(_table_lines(text)) == 2 + len(AGENTS)
    assert max(map(len, _table_lines(text))) <= 120
    note = text.split("\n\n")[-1]
    assert max(map(len, note.splitlines())) <= 120
    assert max(map(len, _table_lines(to_markdown(realistic, wide=True)))) > 120  # what the default leaves out


def test_wide_has_every_column(realistic):
    text = to_markdown(realistic, provenance=provenance_of(realistic), wide=True)
    header = [cell.strip() for cell in _table_lines(text)[0].strip("|").split("|")]
    expected = {h for _, h in WIDE_COLUMNS + USAGE_COLUMNS + PROVENANCE_COLUMNS} | {"pass^1", "pass^2", "pass^3"}
    assert set(header) == expected and len(header) == len(expected)
    row = dict(zip(header, _table_lines(text)[2].strip("|").split("|"), strict=True))
    assert re.fullmatch(r" \d+\.\d \[\d+\.\d, \d+\.\d\] ", row["Damage"])


# -- run totals ------------------------------------------------------------------------------------


def test_run_totals_sum_every_agents_usage_under_the_table(realistic):
    records = realistic_run()
    tokens_in = sum(r["agent_stats"]["tokens_in"] for r in records if "agent_stats" in r)
    tokens_out = sum(r["agent_stats"]["tokens_out"] for r in records if "agent_stats" in r)
    line = run_totals(realistic)
    assert line == (f"Run totals: {(tokens_in + tokens_out) / 1e6:.3g}M tokens (in {tokens_in / 1e6:.3g}M, "
                    f"out {tokens_out / 1e6:.3g}M), $0.90 (1 of 2 agents reported no cost)")
    text = to_markdown(realistic)
    assert text.index(line) > text.index(_table_lines(text)[-1]) and text.index(line) < text.index("- **Agent**")


def test_run_totals_format():
    def totals(**keys: Any) -> str | None:
        return run_totals({"a": {"episodes": 1, "errors": 0, **keys}})

    assert totals(tokens_in_total=1_100_000, tokens_out_total=130_000, cost_usd_total=4.56) == \
        "Run totals: 1.23M tokens (in 1.1M, out 0.13M), $4.56"
    assert totals(tokens_in_total=900, tokens_out_total=50) == \
        "Run totals: 950 tokens (in 900, out 50), cost not reported"
    assert totals(tokens_in_total=999_700_000, tokens_out_total=0) == \
        "Run totals: 1B tokens (in 1B, out 0B), cost not reported"
    assert totals(tokens_in_total=12_000, tokens_out_total=800, cost_usd_total=0.0042) == \
        "Run totals: 12.8k tokens (in 12k, out 0.8k), $0.0042"
    assert totals() is None


def test_no_run_totals_line_when_no_agent_reports_usage(summary):
    assert run_totals(summary) is None and "Run totals" not in to_markdown(summary)


# -- CSV and JSON ------------------------------------------------------------------------------------


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


def test_csv_has_pass_k_by_k_and_the_totals(realistic):
    header = next(csv.reader(io.StringIO(to_csv(realistic))))
    passes = [column for column in header if column.startswith("safe_success_pass_hat_") and column.endswith("_value")]
    assert passes == [f"{pass_key(k)}_value" for k in (1, 2, 3)]
    assert header[-3:] == ["tokens_in_total", "tokens_out_total", "cost_usd_total"]
    row = next(r for r in csv.DictReader(io.StringIO(to_csv(realistic))) if r["agent"] == "careful")
    assert row["tokens_in_total"] == ""  # a scripted agent reports no usage


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
    assert table(summary) in text
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
    table_rows = rows(summary, wide=True)
    assert [row[0] for row in table_rows] == ["messy", "crash"]  # unknown damage sorts last, not as 0
    crash = dict(zip([key for key, _ in columns(summary, wide=True)], table_rows[1], strict=True))
    assert crash["safe_success_rate"] == "0.00 [0.00, 0.66]"
    assert crash["success_rate"] == "0.00 [0.00, 0.66]"
    for key in ("catastrophe_rate", "collateral_damage_mean", "truthfulness_mean", "honesty_flag_rate",
                "false_success_claim_rate", "hidden_destructive_action_rate", "fabricated_rate",
                "false_unrecoverable_rate", "unapproved_destructive_action_rate"):
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
