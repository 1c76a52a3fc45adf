"""Progress of a run that a person can follow: how far it is, how long is left, how each agent is
doing and what it has spent so far.

A run can be thousands of episodes and, with LLM agents, hours; a bare counter says neither when
it will end nor whether the agents are doing anything sensible. The runner calls `Progress.update`
once per finished episode record. What it shows:

* done/total, elapsed, time left and episodes per second (the rate and so the estimate come from
  this process only: episodes already done by a resumed run took no time here);
* the running safe success of each agent (``safe: careful 0.92 reckless 0.10``), its labels
  shortened in the middle, then agents left off, when the line would overflow the terminal;
* errors (episodes whose status is not ``completed``), and the tokens and dollars the agents
  reported in ``agent_stats``, each only once there is something to show.

How, chosen once from the stream:

* a terminal with tqdm importable (an optional dependency, imported lazily): a tqdm bar, the fields
  above in its postfix;
* a terminal without it: one status line redrawn in place with ``\\r``;
* anything else (a log file, CI): a plain, complete line at most every ``interval`` seconds and one
  more at `Progress.close`; no ``\\r``, no escape codes, never shortened to a width;
* ``quiet``: nothing, not even `Progress.note`.

Updates come from the runner's worker threads, so every method holds one lock.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TextIO

__all__ = ["Progress"]

REDRAW_SECONDS = 0.1
"""The least time between two redraws of the terminal status line: fast episodes would otherwise
spend more time writing to the terminal than the eye can read."""

TQDM_METER = 45
"""Columns left to tqdm's own meter (percentage, a short bar, count, times, rate) when fitting the
per-agent figures into its postfix."""

MIN_ROOM = 20
"""Columns the per-agent figures keep (``careful 0.92 +2 more``) before errors and usage give way."""

MIN_LABEL = 6
"""Agent labels are not shortened below this many characters; agents are left off instead."""


class Progress:
    """Shows a run's progress on ``stream`` (standard error by default); see the module docstring.

    ``total`` counts every episode of the run and ``done`` those finished before this process
    started. ``use_tqdm`` picks the terminal display: ``None`` uses tqdm when it is importable,
    ``True`` insists on it (ImportError without it), ``False`` uses the plain status line; a stream
    that is not a terminal always gets log lines. ``clock`` is injectable for tests.
    """

    def __init__(self, total: int, *, done: int = 0, stream: TextIO | None = None, quiet: bool = False,
                 interval: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 use_tqdm: bool | None = None) -> None:
        self._total, self._done, self._here = total, done, 0
        self._stream = sys.stderr if stream is None else stream
        self._quiet, self._clock, self._lock = quiet, clock, threading.Lock()
        self._episodes: Counter[str] = Counter()  # by agent, in the order first seen
        self._safe: Counter[str] = Counter()
        self._errors = 0
        self._tokens: int | None = None  # None until some agent reports any
        self._cost: float | None = None
        self._start = self._last = clock()
        self._closed = False
        self._shown = 0  # length of the status line now on the terminal, to blank what it leaves
        self._tty = not quiet and _isatty(self._stream)
        self._gap = REDRAW_SECONDS if self._tty else interval
        self._bar: Any = None
        if self._tty and use_tqdm is not False:
            try:
                from tqdm import tqdm
            except ImportError:
                if use_tqdm:
                    raise
            else:
                # smoothing=0: the overall rate, since parallel LLM episodes finish in bursts.
                self._bar = tqdm(total=total, initial=done, file=self._stream, unit="ep", smoothing=0,
                                 dynamic_ncols=True)
        if self._tty and self._bar is None:
            self._draw()

    def update(self, record: dict[str, Any]) -> None:
        """Count one finished episode ``record`` and show the new state if it is time to."""
        with self._lock:
            self._tally(record)
            if self._bar is not None:
                self._bar.set_postfix_str(self._status("", _columns() - TQDM_METER), refresh=False)
                self._bar.update(1)
            elif not self._quiet and self._clock() - self._last >= self._gap:
                self._draw()

    def note(self, message: str) -> None:
        """Show ``message`` on a line of its own, above the bar or status line, which stay intact."""
        with self._lock:
            if self._bar is not None:
                self._bar.write(message, file=self._stream)
            elif self._tty:
                self._stream.write("\r" + " " * self._shown + "\r" + message + "\n")
                self._shown = 0
                if not self._closed:  # the final line is already above the note
                    self._draw()
            elif not self._quiet:
                self._stream.write(message + "\n")
                self._stream.flush()

    def close(self) -> None:
        """Show the final state and leave the cursor on a new line; later calls do nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._bar is not None:
                self._bar.set_postfix_str(self._status("", _columns() - TQDM_METER), refresh=False)
                self._bar.close()
            elif not self._quiet:
                self._draw()
                if self._tty:
                    self._stream.write("\n")
                    self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _tally(self, record: dict[str, Any]) -> None:
        self._done += 1
        self._here += 1
        agent = record["agent"]
        self._episodes[agent] += 1
        self._safe[agent] += bool((record.get("score") or {}).get("safe_success"))
        self._errors += record.get("status") != "completed"
        stats = record.get("agent_stats") or {}
        for key in ("tokens_in", "tokens_out"):
            if stats.get(key) is not None:
                self._tokens = (self._tokens or 0) + stats[key]
        if stats.get("cost_usd") is not None:
            self._cost = (self._cost or 0.0) + stats["cost_usd"]

    def _draw(self) -> None:
        """Write the status line: in place on a terminal (fitted to its width), else as a log line."""
        self._last = now = self._clock()
        elapsed = now - self._start
        rate = self._here / elapsed if self._here and elapsed > 0 else None
        left = (self._total - self._done) / rate if rate else None
        percent = 100 * self._done // self._total if self._total else 100
        head = (f"{self._done}/{self._total} {percent}% in {_duration(elapsed)}, {_duration(left)} left, "
                f"{_rate(rate)} ep/s")
        if self._tty:  # one column spare: a line that fills the last one wraps, and \r can't undo that
            line = self._status(head, _columns() - 1)
            self._stream.write("\r" + line + " " * (self._shown - len(line)))
            self._shown = len(line)
        else:
            self._stream.write(self._status(head, None) + "\n")
        self._stream.flush()

    def _status(self, head: str, width: int | None) -> str:
        """``head``, then safe success, errors and usage, within ``width`` if one is given: the
        per-agent figures shrink first (`_fit`); below `MIN_ROOM` for them, usage and then errors are
        left off whole, as a number cut short would mislead."""
        errors = f"{self._errors} error{'s' * (self._errors != 1)}" if self._errors else ""
        usage = " ".join(([f"{_count(self._tokens)} tok"] if self._tokens is not None else [])
                         + ([_money(self._cost)] if self._cost is not None else []))
        extras = [part for part in (errors, usage) if part]
        room = None
        if width is not None:
            room = width - len("safe: ") - sum(len(part) + 3 for part in (head, *extras) if part)
            while extras and room < MIN_ROOM:
                room += len(extras.pop()) + 3
        rates = [(agent, self._safe[agent] / n) for agent, n in self._episodes.items()]
        safe = _fit(rates, room)
        line = " | ".join(part for part in (head, f"safe: {safe}" if safe else "", *extras) if part)
        return line if width is None else line[:max(width, 0)]


def _fit(rates: Sequence[tuple[str, float]], room: int | None) -> str:
    """``careful 0.92 reckless 0.10`` in at most ``room`` characters (any, for None): as many agents
    as fit with labels shortened to no less than `MIN_LABEL`, the rest counted as ``+N more``."""
    def text(limit: int, shown: int) -> str:
        figures = [f"{_shorten(agent, limit)} {rate:.2f}" for agent, rate in rates[:shown]]
        hidden = len(rates) - shown
        return " ".join(figures + [f"+{hidden} more"] * (hidden > 0))

    longest = max((len(agent) for agent, _ in rates), default=0)
    if room is None:
        return text(longest, len(rates))
    for shown in range(len(rates), -1, -1):
        for limit in range(longest, min(longest, MIN_LABEL) - 1, -1):
            if len(candidate := text(limit, shown)) <= room:
                return candidate
    return ""


def _shorten(label: str, limit: int) -> str:
    """``label`` in ``limit`` characters, cut in the middle, keeping more of the end: labels with
    arguments, such as ``llm[base_url=...,model=qwen2.5]``, differ at the end."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "~" + label[len(label) - (limit - 1 - head):]


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _columns() -> int:
    return shutil.get_terminal_size().columns


def _duration(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``1h02m``; ``?`` when not known yet."""
    if seconds is None:
        return "?"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _rate(per_second: float | None) -> str:
    """``250``, ``2.2``, and two significant figures for slow LLM runs (``0.023``)."""
    if per_second is None:
        return "?"
    if per_second >= 100:
        return f"{per_second:.0f}"
    return f"{per_second:.1f}" if per_second >= 1 else f"{per_second:.2g}"


def _count(n: int) -> str:
    """``950``, ``1.2k``, ``418k``, ``3.4M``: three figures at most, to keep the line short."""
    value, unit = float(n), ""
    for larger in "kMG":
        if round(value) < 1000:
            break
        value, unit = value / 1000, larger
    return f"{value:.1f}{unit}" if unit and value < 9.95 else f"{value:.0f}{unit}"


def _money(usd: float) -> str:
    """``$0.42``, ``$1,234.50``; four decimals below a cent, where a cheap model's run starts."""
    return f"${usd:,.2f}" if usd >= 0.01 or usd == 0 else f"${usd:.4f}"
