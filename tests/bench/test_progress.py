"""Tests for blastradius.bench.progress: what a person watching a run sees, in each display mode.

Streams are ``io.StringIO`` objects, told to claim a terminal or not, and time is a fake clock, so
every line is known exactly.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any

import pytest

from blastradius.bench.progress import Progress, _count, _duration, _money


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def record(agent: str = "careful", safe: bool | None = True,
           stats: dict[str, Any] | None = None) -> dict[str, Any]:
    """An episode record; ``safe=None`` makes it an errored episode, with no score."""
    made: dict[str, Any] = {"key": f"fam/easy/0/0/{agent}", "agent": agent,
                            "status": "error" if safe is None else "completed",
                            "score": None if safe is None else {"safe_success": safe, "success": True}}
    if stats is not None:
        made["agent_stats"] = stats
    return made


@pytest.fixture(autouse=True)
def columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")


# -- log lines (a stream that is not a terminal) -------------------------------------------------


def test_log_mode_writes_at_most_one_line_per_interval_and_a_final_line():
    clock, stream = Clock(), io.StringIO()
    progress = Progress(100, stream=stream, interval=30, clock=clock)
    for second in range(100):
        clock.now = second + 0.5
        progress.update(record())
    assert stream.getvalue().count("\n") == 3  # at 30.5s, 60.5s and 90.5s
    progress.close()
    lines = stream.getvalue().splitlines()
    assert [line.split(" in ")[0] for line in lines] == ["31/100 31%", "61/100 61%", "91/100 91%",
                                                         "100/100 100%"]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_log_line_carries_every_field():
    clock, stream = Clock(), io.StringIO()
    with Progress(10, stream=stream, clock=clock) as progress:
        progress.update(record("careful", True, {"tokens_in": 1000, "tokens_out": 200,
                                                 "cost_usd": 0.40}))
        progress.update(record("careful", False, {"tokens_in": None, "cost_usd": 0.02}))
        progress.update(record("reckless", False))
        progress.update(record("careful", True))
        progress.update(record("reckless", None))
        clock.now = 10.0
    assert stream.getvalue() == ("5/10 50% in 10s, 10s left, 0.5 ep/s"
                                 " | safe: careful 0.67 reckless 0.00 | 1 error | 1.2k tok $0.42\n")


@pytest.mark.parametrize(
    ("stats", "shown", "hidden"),
    [
        (None, [], ["tok", "$"]),
        ({"tokens_in": None, "tokens_out": None, "cost_usd": None, "calls": 3}, [], ["tok", "$"]),
        ({"cost_usd": 0.0012}, ["$0.0012"], ["tok"]),
        ({"tokens_out": 950}, ["950 tok"], ["$"]),
    ],
)
def test_tokens_and_cost_are_shown_only_once_reported(stats, shown, hidden):
    stream = io.StringIO()
    with Progress(1, stream=stream, clock=Clock()) as progress:
        progress.update(record(stats=stats))
    line = stream.getvalue()
    assert all(text in line for text in shown)
    assert not any(text in line for text in hidden)
    assert "error" not in line


def test_resumed_run_counts_earlier_episodes_but_not_in_the_rate():
    clock, stream = Clock(), io.StringIO()
    with Progress(100, done=90, stream=stream, clock=clock) as progress:
        for _ in range(5):
            clock.now += 2.0
            progress.update(record())
    assert stream.getvalue().startswith("95/100 95% in 10s, 10s left, 0.5 ep/s | ")


def test_quiet_shows_nothing():
    stream = Terminal()
    with Progress(3, stream=stream, quiet=True, interval=0, clock=Clock()) as progress:
        progress.update(record())
        progress.note("max cost reached: no new episodes")
    assert stream.getvalue() == ""


def test_notes_are_lines_of_their_own_and_close_is_idempotent():
    stream = io.StringIO()
    progress = Progress(2, stream=stream, clock=Clock())
    progress.note("max cost reached: no new episodes")
    progress.close()
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "max cost reached: no new episodes"
    assert len(lines) == 2 and lines[1].startswith("0/2 0% in 0s, ? left, ? ep/s")


# -- the terminal status line (no tqdm) ----------------------------------------------------------


def test_terminal_without_tqdm_redraws_one_line_in_place():
    clock, stream = Clock(), Terminal()
    progress = Progress(3, stream=stream, clock=clock, use_tqdm=False)
    for agent in ("careful", "reckless", "careful"):
        clock.now += 1.0
        progress.update(record(agent, agent == "careful"))
    progress.note("max cost reached: no new episodes")
    progress.close()
    text = stream.getvalue()
    assert text.endswith("\n") and "\x1b" not in text
    drawn = [part.rstrip() for part in text.split("\r") if part.strip()]
    assert drawn[0].startswith("0/3 0%")
    assert drawn[3] == "3/3 100% in 3s, 0s left, 1.0 ep/s | safe: careful 1.00 reckless 0.00"
    assert "\nmax cost reached: no new episodes\n" in text.replace("\r", "\n")
    assert drawn[-1] == drawn[3]  # the status comes back under the note


@pytest.mark.parametrize(
    ("agents", "figures"),
    [
        (3, "safe: llm[ba~del-0] 1.00 llm[ba~del-1] 1.00 llm[ba~del-2] 1.00"),
        (6, "safe: ll~-0] 1.00 ll~-1] 1.00 ll~-2] 1.00 ll~-3] 1.00 +2 more"),
    ],
)
def test_terminal_line_shortens_labels_then_leaves_agents_off_to_fit(monkeypatch, agents, figures):
    monkeypatch.setenv("COLUMNS", "100")
    clock, stream = Clock(), Terminal()
    progress = Progress(agents, stream=stream, clock=clock, use_tqdm=False)
    for i in range(agents):
        clock.now += 1.0
        progress.update(record(f"llm[base_url=http://localhost:11434/v1,model=model-{i}]"))
    progress.close()
    last = stream.getvalue().split("\r")[-1].rstrip()
    assert len(last) <= 99 and last.endswith(figures)


@pytest.mark.parametrize(
    ("columns", "shown"),
    [
        (70, "| safe: careful 0.50 +2 more"),
        (80, "| safe: careful 0.50 +2 more | 1 error"),
        (140, "| safe: careful 0.50 reckless 0.00 llm[model=qwen2.5] 1.00 | 1 error | 6.0k tok $0.0040"),
    ],
)
def test_a_narrow_terminal_leaves_whole_fields_off_never_part_of_a_number(monkeypatch, columns, shown):
    monkeypatch.setenv("COLUMNS", str(columns))
    clock, stream = Clock(), Terminal()
    with Progress(1000, stream=stream, clock=clock, use_tqdm=False) as progress:
        for agent, safe in (("careful", True), ("reckless", False), ("llm[model=qwen2.5]", True),
                            ("careful", None)):
            clock.now += 1.0
            progress.update(record(agent, safe, {"tokens_in": 1500, "cost_usd": 0.001}))
    last = stream.getvalue().split("\r")[-1].rstrip()
    assert len(last) < columns and last.endswith(shown)


def test_without_tqdm_auto_falls_back_and_forcing_it_fails(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` raise ImportError
    stream = Terminal()
    Progress(1, stream=stream, clock=Clock()).close()
    assert stream.getvalue().startswith("\r0/1 0%")
    with pytest.raises(ImportError):
        Progress(1, stream=Terminal(), clock=Clock(), use_tqdm=True)


# -- tqdm ------------------------------------------------------------------------------------------


def test_tqdm_bar_goes_to_the_stream_with_the_figures_in_its_postfix():
    pytest.importorskip("tqdm")
    stream = Terminal()
    with Progress(4, done=1, stream=stream, use_tqdm=True) as progress:
        progress.update(record("careful", True, {"tokens_in": 1500, "cost_usd": 0.42}))
        progress.update(record("reckless", False))
        progress.update(record("reckless", None))
        progress.note("max cost reached: no new episodes")
    text = stream.getvalue()
    final = text.split("\r")[-1]
    assert "4/4" in final and "ep/s" in final
    assert "safe: careful 1.00 reckless 0.00 | 1 error | 1.5k tok $0.42" in final
    assert "max cost reached: no new episodes\n" in text


# -- threads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("terminal", "use_tqdm"), [(False, None), (True, False), (True, True)])
def test_updates_from_many_threads_are_all_counted(terminal, use_tqdm):
    if use_tqdm:
        pytest.importorskip("tqdm")
    stream = Terminal() if terminal else io.StringIO()
    progress = Progress(1600, stream=stream, interval=0, use_tqdm=use_tqdm)

    def work(index: int) -> None:
        for step in range(200):
            progress.update(record(f"agent{index % 2}", step % 4 == 0, {"tokens_in": 1}))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    progress.close()
    final = stream.getvalue().rstrip("\n").split("\r")[-1].splitlines()[-1]
    assert "1600/1600" in final
    assert "safe: agent0 0.25 agent1 0.25" in final and "1.6k tok" in final


# -- number formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [(None, "?"), (0.4, "0s"), (42, "42s"), (185, "3m05s"),
                                               (3720, "1h02m"), (90000, "25h00m")])
def test_durations_read_as_hours_minutes_seconds(seconds, text):
    assert _duration(seconds) == text


@pytest.mark.parametrize(("n", "text"), [(0, "0"), (950, "950"), (1234, "1.2k"), (9960, "10k"),
                                         (417_900, "418k"), (999_960, "1.0M"), (3_400_000, "3.4M"),
                                         (12_000_000_000, "12G")])
def test_token_counts_are_abbreviated(n, text):
    assert _count(n) == text


@pytest.mark.parametrize(("usd", "text"), [(0, "$0.00"), (0.0012, "$0.0012"), (0.42, "$0.42"),
                                           (1234.5, "$1,234.50")])
def test_costs_read_as_dollars(usd, text):
    assert _money(usd) == text
