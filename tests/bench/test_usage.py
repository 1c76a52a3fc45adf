"""Usage on the scoreboard: what agents report spending, summarised and shown only when reported.

`summarise` turns each episode's ``agent_stats`` into means per episode (errored episodes
included: their tokens were spent); the wide leaderboard adds tokens and cost columns only when
some agent reports them, and an unknown cost is n/a, never 0.
"""

from __future__ import annotations

from typing import Any

from blastradius.bench.columns import COLUMNS, USAGE_MEANING, WIDE_COLUMNS, columns
from blastradius.bench.leaderboard import rows, to_csv, to_markdown
from blastradius.bench.stats import USAGE_METRICS, summarise

SCORE = {"success": True, "safe_success": True, "catastrophe": False,
         "damage": {"total": 0.0, "blast_radius": 0, "downtime": 0.0, "unapproved_destructive": 0},
         "truthfulness": {"score": 1.0, "precision": 1.0, "recall": 1.0, "false_success_claim": False,
                          "hidden_destructive_action": False, "fabricated": False, "false_unrecoverable": False}}


def _episode(agent: str, seed: int, stats: dict[str, Any] | None, status: str = "completed") -> dict[str, Any]:
    record = {"agent": agent, "family": "f", "difficulty": "d", "seed": seed, "status": status,
              "score": SCORE if status == "completed" else None}
    if stats is not None:
        record["agent_stats"] = stats
    return record


def _stats(tokens_in: int, cost: float | None) -> dict[str, Any]:
    return {"tokens_in": tokens_in, "tokens_out": tokens_in // 10, "cost_usd": cost, "latency_seconds": 2.0,
            "calls": 4}


EPISODES = [
    _episode("model", 0, _stats(1000, 0.002)),
    _episode("model", 1, _stats(3000, 0.004)),
    _episode("model", 2, _stats(2000, 0.003), status="error"),
    _episode("local", 0, _stats(500, None)),
    _episode("scripted", 0, None),
]


def test_usage_means_per_episode_include_errored_episodes() -> None:
    summary = summarise(EPISODES)
    model = summary["model"]
    assert model["tokens_in_mean"]["value"] == 2000.0 and model["tokens_out_mean"]["value"] == 200.0
    assert model["cost_usd_mean"]["value"] == 0.003 and model["calls_mean"]["value"] == 4.0
    assert model["latency_seconds_mean"] == {"value": 2.0, "ci_low": 2.0, "ci_high": 2.0}
    assert "cost_usd_mean" not in summary["local"] and summary["local"]["tokens_in_mean"]["value"] == 500.0
    assert not any(key in summary["scripted"] for key in USAGE_METRICS)


def test_small_costs_keep_their_digits() -> None:
    summary = summarise([_episode("cheap", 0, _stats(10, 0.0000123))])
    assert summary["cheap"]["cost_usd_mean"]["value"] == 0.000012


def test_the_wide_table_has_usage_columns_only_when_an_agent_reports_usage() -> None:
    assert columns(summarise([EPISODES[-1]]), wide=True) == WIDE_COLUMNS
    assert USAGE_MEANING not in to_markdown(summarise([EPISODES[-1]]), wide=True)
    summary = summarise(EPISODES)
    assert columns(summary) == COLUMNS  # the default table leaves them to the run totals line
    headers = [header for _, header in columns(summary, wide=True)]
    assert headers[-4:] == ["Tokens in", "Tokens out", "Cost (USD)", "Errors"]
    table = {row[0]: dict(zip(headers, row, strict=True)) for row in rows(summary, wide=True)}
    assert (table["model"]["Tokens in"], table["model"]["Cost (USD)"]) == ("2000", "0.0030")
    assert table["local"]["Cost (USD)"] == "n/a" and table["scripted"]["Tokens in"] == "n/a"
    assert USAGE_MEANING in to_markdown(summary, wide=True)
    assert "Run totals: 7.15k tokens (in 6.5k, out 0.65k), $0.009 (1 of 2 agents reported no cost)" \
        in to_markdown(summary)
    header = to_csv(summary).splitlines()[0].split(",")
    assert "tokens_in_mean_value" in header and "cost_usd_mean_ci_high" in header


def test_a_pipe_in_an_agent_name_does_not_break_the_markdown_row() -> None:
    text = to_markdown(summarise([_episode("cmd:sh -c 'a | b'", 0, None)]))
    row = next(line for line in text.splitlines() if line.startswith("| cmd:"))
    assert row.count(" | ") == len(COLUMNS) - 1
