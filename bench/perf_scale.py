"""``blastradius perf --llm-scale``: how much ``run --jobs N`` gains when a model is slow.

An LLM episode spends its time waiting for the model, so N episodes at once should take about
as long as one. This runs the real ``llm`` agent through `blastradius.bench.runner.run` (env,
agent threads, scoring, records, summary: everything a run does) against a stand-in model: an
OpenAI-compatible chat-completions endpoint on 127.0.0.1 that answers every request after
``latency`` seconds with the next tool call of its `plan`. The next call is read from the request
(how many assistant turns it carries), so every episode makes exactly the plan's calls
whatever order the requests arrive in, and the records are the same whatever ``jobs`` is. The
stand-in serves from a thread of this process, so its own CPU counts against the run: the
measure errs on the slow side. The env's chaos is off: its simulated API throttling would make
some episodes call a tool twice.

Each ``jobs`` value runs ``episodes`` episodes (the first families, each on the first seeds), and
is compared with the *sequential estimate*, calls x ``latency``: the model's waiting alone, one
call after another. ``jobs=1`` runs only ``serial_episodes`` of them (it is sequential, so its
time grows in proportion), and the speed-up over it compares times per episode. One episode of
each family runs first, untimed, to load what every run needs (the openai SDK, each family's
code).

What a run costs beyond the waiting is CPU (building each world, scoring each episode, writing
its record), and the GIL lets one thread at a time use it: that cost does not shrink with
``jobs``, so the slower the model, the closer the speed-up comes to ``jobs``.

Target (issue 10; reported, not enforced): 40 episodes with jobs 40 finish at least 24x faster
than the sequential estimate.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["CALLS_PER_EPISODE", "TARGET_SPEEDUP", "ScaleReport", "ScaleResult", "measure", "plan", "run_cli"]

_REPORT = ("submit_report", {"outcome": "failed", "summary": "I looked around and changed nothing.",
                             "changes_made": [], "impact": [], "data_loss": "none", "verifications": []})
CALLS_PER_EPISODE = 10
"""The calls of an episode by default: a short one (users of real models see ~25, which only
makes the waiting, and so the gain of ``jobs``, larger)."""


def plan(calls: int = CALLS_PER_EPISODE) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The stand-in model's tool calls, one per request, in order: ``calls - 1`` looks around
    (``whoami``, then ``list_resources``), then the report."""
    if calls < 2:
        raise ValueError(f"an episode makes at least 2 calls (a look and the report), not {calls}")
    return (("whoami", {}), *(("list_resources", {}),) * (calls - 2), _REPORT)

TARGET_EPISODES, TARGET_JOBS, TARGET_SPEEDUP = 40, 40, 24.0  # the acceptance


@dataclass(frozen=True)
class ScaleResult:
    """One run at one ``jobs``.

    Attributes:
        jobs: episodes at once.
        episodes: episodes run.
        completed: episodes that ended as ``completed`` (any other status is a failure here).
        calls: completions the stand-in answered (``episodes * CALLS_PER_EPISODE`` when all is well).
        peak_in_flight: the most requests the stand-in held at once.
        wall_seconds: the whole `run`, from the call to its return.
        sequential_seconds: ``calls * latency``, the model's waiting one call after another.
        speedup: ``sequential_seconds / wall_seconds``.
        speedup_vs_one_job: the jobs=1 run's wall time per episode times ``episodes``, over
            ``wall_seconds``; None without a jobs=1 run.
        records_sha256: the episode records without their timings, hashed: equal for equal
            episodes, whatever ``jobs``.
    """

    jobs: int
    episodes: int
    completed: int
    calls: int
    peak_in_flight: int
    wall_seconds: float
    sequential_seconds: float
    speedup: float
    speedup_vs_one_job: float | None
    records_sha256: str


@dataclass(frozen=True)
class ScaleReport:
    """Every run of one `measure`: the stand-in's ``latency`` (seconds) and a result per ``jobs``."""

    latency: float
    calls_per_episode: int
    results: tuple[ScaleResult, ...]


# --- the stand-in model ---------------------------------------------------------------------


class _StandIn(ThreadingHTTPServer):
    """Answers each chat completion after ``latency`` seconds with the next call of its `plan`."""

    daemon_threads = True
    request_queue_size = 256  # every episode connects at once; the default backlog of 5 would stall them

    def __init__(self, latency: float, calls: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency = latency
        self.plan = plan(calls)
        self.calls = self.in_flight = self.peak = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def reset_counts(self) -> None:
        with self._lock:
            self.calls = self.peak = 0

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.latency)
        finally:
            with self._lock:
                self.in_flight -= 1
        turn = sum(1 for message in body.get("messages") or [] if message.get("role") == "assistant")
        name, arguments = self.plan[min(turn, len(self.plan) - 1)]
        call = {"id": f"call_{turn}", "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)}}
        return {"id": f"chatcmpl-{turn}", "object": "chat.completion", "created": 0, "model": "stand-in",
                "choices": [{"index": 0, "finish_reason": "tool_calls",
                             "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020}}


class _Handler(BaseHTTPRequestHandler):
    server: _StandIn
    protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint: the agents' shared client reuses connections
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms wait for an ACK between

    def do_POST(self) -> None:  # http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        found = self.path.rstrip("/").endswith("/chat/completions")
        status, payload = (200, self.server.answer(body)) if found else (404, {"error": {"message": "no route"}})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        del format, args


@contextmanager
def _serving(latency: float, calls: int) -> Iterator[_StandIn]:
    server = _StandIn(latency, calls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="stand-in-llm",
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# --- the runs -------------------------------------------------------------------------------


def measure(latency: float = 0.25, episodes: int = TARGET_EPISODES, jobs: tuple[int, ...] = (1, 4, 16, 40),
            serial_episodes: int = 8, calls: int = CALLS_PER_EPISODE) -> ScaleReport:
    """Run ``episodes`` LLM episodes of ``calls`` calls at each of ``jobs`` against a stand-in
    answering after ``latency`` seconds (jobs=1: ``min(episodes, serial_episodes)`` of them)."""
    from blastradius.envs import FAMILIES

    if not latency > 0:
        raise ValueError(f"latency must be a positive number of seconds, got {latency!r}")
    if episodes < 1 or serial_episodes < 1 or not jobs or min(jobs) < 1:
        raise ValueError("episodes, serial_episodes and every jobs value must be positive, and jobs not empty")
    with _serving(latency, calls) as server, tempfile.TemporaryDirectory(prefix="blastradius-perf-scale-") as tmp:
        warm = min(episodes, len(FAMILIES))
        _run(server, warm, warm, Path(tmp))  # untimed: what every run loads (the SDK, each family's code)
        results = [_run(server, min(episodes, serial_episodes) if j == 1 else episodes, j, Path(tmp)) for j in jobs]
    alone = next((r.wall_seconds / r.episodes for r in results if r.jobs == 1), None)
    if alone is not None:
        results = [replace(r, speedup_vs_one_job=alone * r.episodes / r.wall_seconds) for r in results]
    return ScaleReport(latency=latency, calls_per_episode=calls, results=tuple(results))


def _run(server: _StandIn, episodes: int, jobs: int, output_dir: Path) -> ScaleResult:
    """One run, timed (without its speed-up over jobs=1, which needs the jobs=1 run)."""
    from blastradius.envs import FAMILIES

    from .runner import Execution, RunConfig, run

    families = tuple(FAMILIES)
    width = max(n for n in range(1, len(families) + 1) if episodes % n == 0)  # exactly `episodes` of them
    config = RunConfig(families=families[:width], seeds=tuple(range(episodes // width)), agents=("llm",),
                       agent_kwargs=({"base_url": server.url, "model": "stand-in"},), chaos=0)
    server.reset_counts()
    started = time.perf_counter()
    outcome = run(config, output_dir, execution=Execution(jobs=jobs))  # a local endpoint: no API key needed
    wall = time.perf_counter() - started
    count, sequential = len(outcome.episodes), server.calls * server.latency
    return ScaleResult(jobs=jobs, episodes=count, completed=count - outcome.errors, calls=server.calls,
                       peak_in_flight=server.peak, wall_seconds=wall, sequential_seconds=sequential,
                       speedup=sequential / wall, speedup_vs_one_job=None,
                       records_sha256=_fingerprint(outcome.episodes))


def _fingerprint(records: list[dict[str, Any]]) -> str:
    """The records' hash, without what the clock decides."""
    timeless = []
    for record in records:
        kept = {key: value for key, value in record.items() if key != "duration_seconds"}
        if "agent_stats" in kept:
            kept["agent_stats"] = {k: v for k, v in kept["agent_stats"].items() if k != "latency_seconds"}
        timeless.append(kept)
    return hashlib.sha256(json.dumps(timeless, sort_keys=True).encode()).hexdigest()


# --- the command ----------------------------------------------------------------------------


def run_cli(latency: float = 0.25, episodes: int = TARGET_EPISODES, jobs: tuple[int, ...] = (1, 4, 16, 40),
            as_json: bool = False, calls: int = CALLS_PER_EPISODE) -> int:
    """Measure and print a table (or JSON); 0 whether or not the target is met: this reports."""
    report = measure(latency, episodes, jobs, calls=calls)
    target = next((r for r in report.results if (r.jobs, r.episodes) == (TARGET_JOBS, TARGET_EPISODES)), None)
    met = None if target is None else target.speedup >= TARGET_SPEEDUP
    if as_json:
        print(json.dumps({**asdict(report), "target": {"episodes": TARGET_EPISODES, "jobs": TARGET_JOBS,
                                                       "min_speedup": TARGET_SPEEDUP, "met": met}}, indent=2))
        return 0

    from tabulate import tabulate

    rows = [[r.jobs, r.episodes, r.calls, r.peak_in_flight, r.wall_seconds, r.sequential_seconds, r.speedup,
             "" if r.speedup_vs_one_job is None else r.speedup_vs_one_job] for r in report.results]
    print(tabulate(rows, headers=["jobs", "episodes", "calls", "peak in flight", "wall s", "sequential s",
                                  "speed-up", "vs jobs 1"], floatfmt=("d", "d", "d", "d", ".2f", ".2f", ".1f", ".1f")))
    print(f"a stand-in model answering each call after {latency * 1000:.0f} ms, {report.calls_per_episode} calls per episode; "
          "sequential s = calls x latency; speed-up = sequential s / wall s")
    if any(r.jobs == 1 and r.episodes < episodes for r in report.results):
        print("jobs 1 ran fewer episodes (it is sequential: its time grows in proportion); "
              "'vs jobs 1' compares wall time per episode")
    hashes = {r.records_sha256 for r in report.results if r.episodes == episodes}
    print("records: " + ("the same whatever jobs is" if len(hashes) == 1 else "DIFFER between jobs values"))
    for r in report.results:
        if r.completed < r.episodes or r.calls != r.episodes * report.calls_per_episode:
            print(f"warning: jobs {r.jobs}: {r.completed} of {r.episodes} episodes completed, {r.calls} calls "
                  f"(expected {r.episodes * report.calls_per_episode})", file=sys.stderr)
    if target is not None:
        print(f"target: {TARGET_EPISODES} episodes with jobs {TARGET_JOBS} at least {TARGET_SPEEDUP:g}x faster than "
              f"sequential: {target.speedup:.1f}x, {'met' if met else 'NOT met'}")
    return 0
