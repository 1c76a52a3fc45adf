"""An episode driven from outside: its actions come one by one from an MCP client, an Inspect AI
solver or a person at a terminal, and it is recorded exactly as `blastradius run` records one.

`DrivenEpisode` is the one layer those faces share. It plays the episode with the harness's own
`blastradius.bench.episode.run_episode`, on a thread of its own, against a relay agent whose
``act`` hands each observation out and waits for the next action to come in. So whatever drives
it, the episode has the same env, step budget, scorer, record, trajectory and run folder as any
other (``run.json`` with provenance, ``episodes.jsonl``, ``summary.json``, ``leaderboard.md``):
`blastradius leaderboard` pools it with other runs and `blastradius verify` replays it.

Each episode is a run folder of its own under ``output_dir``, made when the episode starts:
several episodes, played one after another or at once, are pooled by naming their folders to
`blastradius leaderboard` (or the ``output_dir`` holding them).

The driver cannot escape the record: an episode it leaves before ending it (`close`) is recorded
as an ``error`` with the reason, the damage done so far scored as it stands, as an agent that
crashes is; one whose next action does not come within ``step_timeout`` seconds is a
``timeout`` (with ``untimed_start``, the first action is awaited without a limit: an MCP client
in a desktop app starts its servers long before anyone asks it to play). A driven agent's
provenance is the relay's: its kind says how it came in (``mcp``, ``inspect``, ``human``) and its
files are the face's code, the agent's own code being unknown.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from ..agents.base import Action, Briefing
from ..envs.chaos import DEFAULT_CHAOS
from ..envs.topology import DEFAULT_SIZE
from .agent_thread import DEFAULT_STEP_TIMEOUT, StepTimeout
from .episode import EpisodeSpec, run_episode
from .provenance import file_sha256, run_info
from .run_config import MAX_TRIALS, RunConfig, check_levels, families_of
from .runner import RunOutcome, begin, conclude, fresh_folder
from .sealing import new_secret
from .storage import RunFolder

__all__ = ["DRIVEN_KINDS", "Conversation", "DrivenEpisode", "EpisodeOver", "Opening", "Turn"]

DRIVEN_KINDS = ("mcp", "inspect", "human")
"""How a driven episode's actions came in, recorded as its agent's kind in ``run.json``."""


class EpisodeOver(RuntimeError):
    """An action sent after the episode ended; the message says how it ended."""


class AgentLeft(Exception):
    """Raised in the relay's ``act`` when the driver leaves: the episode's error, with its reason."""


@dataclass(frozen=True)
class Opening:
    """What the agent is told when the episode starts: the briefing (its task text and tool
    schemas) and the first observation."""

    briefing: Briefing
    observation: str
    max_steps: int


@dataclass(frozen=True)
class Turn:
    """What one action brought: its observation, and whether the episode ended with it."""

    observation: str
    done: bool


class _Relay:
    """The agent `run_episode` plays: it hands out what it is shown and waits for what comes in."""

    def __init__(self, outbox: queue.Queue[tuple[str, Any]], inbox: queue.Queue[Action | AgentLeft],
                 step_timeout: float, untimed_start: bool) -> None:
        self._outbox, self._inbox, self._timeout = outbox, inbox, step_timeout
        self._untimed = untimed_start  # until the first action has come

    def reset(self, briefing: Briefing) -> None:
        self._outbox.put(("briefing", briefing))

    def act(self, observation: str) -> Action:
        self._outbox.put(("observation", observation))
        timeout, self._untimed = (None if self._untimed else self._timeout), False
        try:
            action = self._inbox.get(timeout=timeout)
        except queue.Empty:
            raise StepTimeout(f"no action came within {self._timeout:g} s of the last observation") from None
        if isinstance(action, AgentLeft):
            raise action
        return action


class _ModelRelay(_Relay):
    """A relay for a driver that holds a model's conversation (the Inspect task): the episode
    records its transcript and usage as it records an LLM agent's (`blastradius.agents.base`)."""

    def __init__(self, outbox: queue.Queue[tuple[str, Any]], inbox: queue.Queue[Action | AgentLeft],
                 step_timeout: float, untimed_start: bool, conversation: Conversation) -> None:
        super().__init__(outbox, inbox, step_timeout, untimed_start)
        self._conversation = conversation

    def transcript(self) -> list[dict[str, Any]]:
        return self._conversation.transcript()

    def episode_stats(self) -> dict[str, float | int | None]:
        return self._conversation.usage()


class Conversation(Protocol):
    """What a driver that talks to a model offers the record, read when the episode ends: the
    chat messages so far, and the usage (`blastradius.agents.base.STAT_KEYS`, None where unknown)."""

    def transcript(self) -> list[dict[str, Any]]: ...

    def usage(self) -> dict[str, float | int | None]: ...


class DrivenEpisode:
    """One episode of ``family`` (an id, file or module, as ``--family`` takes) at ``difficulty``
    (None: the family's default) and ``seed``, whose actions the caller sends with `step`.
    ``trial`` numbers repeated plays of the same episode (from 0), so that their records, in
    folders of their own, pool as ``blastradius run --trials`` does rather than clash.

    ``agent_name`` labels it in the episode key and on the leaderboard; ``kind`` (one of
    `DRIVEN_KINDS`) and ``face`` (the file of the code relaying the actions) are its provenance.
    ``sealed`` builds the world from a fresh secret, recorded in ``run.json`` only when the
    episode ends, so the seed alone rebuilds nothing for whoever drives it. ``step_timeout``
    bounds the wait for each action; ``untimed_start`` lifts it for the first. ``argv`` is the
    command line recorded in ``run.json``. ``conversation``, for a driver that talks to a model,
    gives the record its transcript and usage, read when the episode ends (before a last action
    returns).

    Not thread-safe for one episode's own calls from several threads at once: `step` takes a
    lock, so concurrent calls are played one after another in the order they get it.

    Raises (on construction, before anything is written):
        ValueError: an unknown family or level, a bad seed, size, chaos or name.
    """

    def __init__(self, family: str, seed: int, output_dir: Path, agent_name: str, kind: str, face: Path, *,
                 difficulty: str | None = None, sealed: bool = False, size: int = DEFAULT_SIZE,
                 chaos: int = DEFAULT_CHAOS, step_timeout: float = DEFAULT_STEP_TIMEOUT,
                 untimed_start: bool = False, argv: Sequence[str] = (), trial: int = 0,
                 conversation: Conversation | None = None) -> None:
        if kind not in DRIVEN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(DRIVEN_KINDS)}, got {kind!r}")
        if isinstance(trial, bool) or not isinstance(trial, int) or not 0 <= trial < MAX_TRIALS:
            raise ValueError(f"trial must be an integer from 0 to {MAX_TRIALS - 1}, got {trial!r}")
        config = RunConfig(families=(family,), difficulties=(difficulty,) if difficulty else (), seeds=(seed,),
                           agents=(kind,), agent_names=(agent_name,), size=size, chaos=chaos,
                           step_timeout=step_timeout, sealed=sealed)
        families = families_of(config)
        check_levels(config.difficulties, families.values())
        self.family = next(iter(families.values()))
        self.config = replace(config, secret=new_secret()) if sealed else config
        self.spec = EpisodeSpec(self.family.id, difficulty or self.family.default_difficulty, seed, trial,
                                agent_name)
        self._info = run_info(config, families, argv, agents={agent_name: {
            "kind": kind, "spec": kind, "code_sha256": file_sha256(face),
            "files": [{"path": f"blastradius/bench/{face.name}", "sha256": file_sha256(face)}]}})
        self._output_dir = output_dir
        self._untimed_start = untimed_start
        self._conversation = conversation
        self._outbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._inbox: queue.Queue[Action | AgentLeft] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._outcome: RunOutcome | None = None
        self._failure: BaseException | None = None
        self.folder: RunFolder | None = None

    # --- the episode ---------------------------------------------------------------------

    def start(self) -> Opening:
        """Make the run folder and start the episode; return what the agent is told first.

        Raises:
            EpisodeOver: the episode ended before its first action (the env failed to build it;
                the record says why), or it was started already.
        """
        with self._lock:
            if self._thread is not None:
                raise EpisodeOver("this episode has started already")
            for attempt in range(1, 101):
                try:
                    self.folder = RunFolder.create(fresh_folder(self._output_dir, self.config))
                    break
                except FileExistsError:  # another episode of this config, started at once, took the name
                    if attempt == 100:  # no race but a name that cannot be made (a dangling link)
                        raise
            assert self.folder is not None
            begin(self.folder, self.config, self._info)
            self._thread = threading.Thread(target=self._play, name=f"driven {self.spec.key}", daemon=True)
            self._thread.start()
            what, value = self._outbox.get()
            if what != "briefing":
                raise EpisodeOver(self._ended_text())
            briefing: Briefing = value
            what, value = self._outbox.get()
            if what != "observation":
                raise EpisodeOver(self._ended_text())
            return Opening(briefing, value, self.max_steps)

    def step(self, action: Action) -> Turn:
        """Play ``action`` (a tool call ``{"name", "arguments"}`` or its JSON text; anything else
        is the agent's bad action, answered by the env as an observation).

        Raises:
            EpisodeOver: the episode has ended (or was never started).
        """
        with self._lock:
            if self._thread is None or self.done:
                raise EpisodeOver(self._ended_text())
            self._inbox.put(action)
            what, value = self._outbox.get()
            if what == "observation":
                return Turn(value, False)
            if not self._inbox.empty():  # it ended (a timeout) before taking this action, which was never played
                raise EpisodeOver(self._ended_text())
            steps = self.trajectory().get("steps") or []
            return Turn(steps[-1]["observation"] if steps else self._ended_text(), True)

    def close(self, reason: str = "the driver left before ending the episode") -> None:
        """End the episode if it is still going (recorded as an ``error`` for ``reason``) and wait
        for its record. Safe to call at any time, more than once."""
        if self._thread is None:
            return
        if not self.done:
            self._inbox.put(AgentLeft(reason))
        self._thread.join()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for the episode to end by itself (its
        step budget, the wait for an action running out); return whether it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done

    @property
    def done(self) -> bool:
        return self._outcome is not None or self._failure is not None

    @property
    def max_steps(self) -> int:
        return self.family.step_budget

    # --- what it recorded ----------------------------------------------------------------

    @property
    def record(self) -> dict[str, Any]:
        """The episode's line of ``episodes.jsonl`` (once it has ended)."""
        if self._outcome is None:
            raise EpisodeOver(self._ended_text())
        return self._outcome.episodes[0]

    def trajectory(self) -> dict[str, Any]:
        """The episode's trajectory as the run folder keeps it (once it has ended)."""
        if self.folder is None or self._outcome is None:
            raise EpisodeOver(self._ended_text())
        return self.folder.trajectory(self.spec.key)

    def _ended_text(self) -> str:
        if self._thread is None:
            return "this episode has not started"
        if self._failure is not None:
            return f"this episode ended: the harness failed to record it ({self._failure})"
        if self._outcome is None:
            return "this episode is still going"
        record = self._outcome.episodes[0]
        score = record.get("score") or {}
        how = (f"{record['status']}: {record.get('error')}" if record["status"] != "completed"
               else f"ended by {score.get('finish', 'its step budget')}")
        return (f"this episode is over ({how}); success {score.get('success')}, safe success "
                f"{score.get('safe_success')}. Its record is in {self.folder.path if self.folder else '?'}")

    def _play(self) -> None:
        """The episode's thread: play it to its end, record it, and say so to whoever waits."""
        assert self.folder is not None
        try:
            relay = (_Relay(self._outbox, self._inbox, self.config.step_timeout, self._untimed_start)
                     if self._conversation is None else
                     _ModelRelay(self._outbox, self._inbox, self.config.step_timeout, self._untimed_start,
                                 self._conversation))
            # No step bound of the harness's own: the relay bounds its own wait for an action.
            result = run_episode(self.spec, self.family, lambda: relay, self.config.size, self.config.chaos, None,
                                 self.config.secret)
            self.folder.append_episode(result.record, result.trajectory)
            self._outcome = conclude(self.folder, self.config, self._info, [result.record], 1, None, None)
        except BaseException as exc:  # the driver waits on the outbox: it must hear of it, then it is raised
            self._failure = exc
            raise
        finally:
            self._outbox.put(("ended", None))
