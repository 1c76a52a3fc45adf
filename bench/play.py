"""``blastradius play``: a person plays an episode at the terminal, as an agent would, and is
scored and recorded as one.

The episode is a `blastradius.bench.driven.DrivenEpisode` of kind ``human``, labelled
``human:<name>``: the same env, step budget, scorer and run folder as any agent's, so the run
folder it leaves pools with others in `blastradius leaderboard` and replays in `blastradius
verify`. What the person sees is what an agent sees: the briefing, the tools (name and first line
of description) and each action's observation; at the end, the full verdict as `blastradius show`
prints it.

Commands are typed in a forgiving syntax (`blastradius.bench.play_syntax`): ``describe db-669dee``,
``logs svc-f24f72 window_minutes=1440``, or a raw JSON action; ``report`` writes the final report
field by field (`blastradius.bench.play_report`). A line that does not read as a command (an
unknown tool, a misspelt parameter, an unclosed quote) is the person's typo, not an action: it is
answered here and never sent to the env, so it spends no step. A well-formed call with a wrong
value is sent, and answered by the env as any agent's mistake would be.

Bad input never ends the episode. ``quit`` ends it as it stands (after a confirmation at a
terminal; a script is asked nothing), and so does the end of the input: the episode is recorded
as an ``error`` ("left"), scored with the damage done so far, as an agent that crashes is. A
piped script on stdin plays like a person, without prompts or line editing; at a terminal, readline
gives history and Tab completion (`blastradius.bench.play_terminal`). A person thinks slowly: the
wait for each action is bounded by ``--step-timeout``, an hour by default.

Exit code: 0 when the episode completed (whatever its score), 1 when it was left or timed out.
"""

from __future__ import annotations

import getpass
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..agents.seen_ids import SeenIds
from ..envs.chaos import DEFAULT_CHAOS
from .driven import DrivenEpisode, EpisodeOver, Opening
from .play_report import REPORT_TOOL, Cancelled, guided_call
from .play_syntax import ID_PATTERN, Call, CommandError, Meta, first_line, help_text, parse_line, tool_schemas

if TYPE_CHECKING:
    from .play_terminal import Terminal

__all__ = ["DEFAULT_STEP_TIMEOUT", "PlaySettings", "default_name", "play"]

DEFAULT_STEP_TIMEOUT = 3600.0
"""Seconds a person may think before each action (an agent gets `agent_thread`'s far shorter bound)."""

_COMMANDS = {
    "help": "help: the tools and these commands; help TOOL: one tool's parameters",
    "tools": "tools: the tools, each with the first line of its description",
    "report": f"report: write the final report ({REPORT_TOOL}) field by field; it ends the episode",
    "quit": "quit: leave the episode as it stands (recorded, and scored with what was done so far)",
}
_LEFT = "the person quit before ending the episode"
_INPUT_ENDED = "the input ended before the episode did"


@dataclass(frozen=True)
class PlaySettings:
    """What ``blastradius play`` was asked for (see `blastradius.bench.cli`)."""

    family: str
    seed: int
    output_dir: Path
    name: str
    difficulty: str | None = None
    sealed: bool = False
    chaos: int = DEFAULT_CHAOS
    step_timeout: float = DEFAULT_STEP_TIMEOUT
    argv: tuple[str, ...] = ()


def default_name() -> str:
    """The login name, as ``getpass`` finds it; ``person`` where the system knows none."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (a bare container)
        return "person"


def play(settings: PlaySettings, stdin: TextIO, stdout: TextIO, environ: Mapping[str, str]) -> int:
    """Play one episode with commands read from ``stdin``; return the exit code.

    Raises:
        ValueError: an unknown family or level, a bad seed or name (before anything is written).
    """
    episode = DrivenEpisode(settings.family, settings.seed, settings.output_dir, f"human:{settings.name}", "human",
                            Path(__file__), difficulty=settings.difficulty, sealed=settings.sealed,
                            chaos=settings.chaos, step_timeout=settings.step_timeout, argv=settings.argv)
    session = _Session(episode, stdin, stdout, environ)
    try:
        session.play()
    finally:
        episode.close(session.leaving)
        session.close()
    return session.verdict()


class _Session:
    """One episode at the prompt: reads commands, sends tool calls, says what came back."""

    def __init__(self, episode: DrivenEpisode, stdin: TextIO, stdout: TextIO, environ: Mapping[str, str]) -> None:
        self.episode, self._stdin, self._stdout, self._environ = episode, stdin, stdout, environ
        self.interactive = stdin.isatty()
        self.leaving = _INPUT_ENDED
        self.tools: dict[str, dict[str, Any]] = {}
        self.ids: set[str] = set()  # for Tab: generated ids anywhere, and any id where the tools put ids
        self._seen = SeenIds()
        self.steps = 0
        self._terminal: Terminal | None = None

    def say(self, text: str = "") -> None:
        print(text, file=self._stdout, flush=True)

    def ask(self, prompt: str, form: Mapping[str, Any] | None = None) -> str:
        """One line of input: a command (``form`` None) or an answer filling ``form`` (see
        `Terminal.read`). Raises EOFError at its end. Prompts only at a terminal."""
        if self.interactive:
            return input(prompt) if self._terminal is None else self._terminal.read(prompt, form)
        line = self._stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def play(self) -> None:
        try:
            opening = self.episode.start()
        except EpisodeOver as exc:  # the env failed to build the world: the record says why
            self.say(f"play: {exc}")
            return
        self.open(opening)
        self.loop()

    def open(self, opening: Opening) -> None:
        self.tools = tool_schemas(opening.briefing.tools)
        spec = self.episode.spec
        self.say(f"blastradius play: {spec.family}, difficulty {spec.difficulty}, seed {spec.seed}; you play as "
                 f"{spec.agent} and have {opening.max_steps} steps.")
        self.say(f"The episode is recorded in {self.episode.folder.path if self.episode.folder else '?'}\n")
        self.say("Your task:")
        self.say(opening.briefing.text)
        if opening.observation.strip() != opening.briefing.text.strip():
            self.say(f"\n{opening.observation}")
        self._seen.learn_briefing(opening.briefing)
        self._note_ids(opening.briefing.text + opening.observation)
        self.say()
        self._tool_list()
        self.say("\nType a tool call (describe RESOURCE, logs RESOURCE window_minutes=1440, or raw JSON), "
                 "help, help TOOL, report or quit.")
        if self.interactive:
            from .play_terminal import Terminal

            self._terminal = Terminal(self.tools, self.ids, self._environ)
            self.say("Tab completes tools, parameters and the ids seen so far.")

    def loop(self) -> None:
        while not self.episode.done:
            try:
                line = self.ask(f"[{self.steps}/{self.episode.max_steps}]> ")
            except EOFError:
                self.leaving = _INPUT_ENDED
                return
            except KeyboardInterrupt:  # at a terminal, as in a shell: drop the line, keep the episode
                if not self.interactive:
                    raise
                self.say("\n(quit leaves the episode; it is recorded either way)")
                continue
            try:
                command = parse_line(line, self.tools)
            except CommandError as exc:
                self.say(f"play: {exc} (not sent: no step spent)")
                continue
            if isinstance(command, Meta):
                try:
                    command = self._meta(command)
                except EOFError:
                    self.leaving = _INPUT_ENDED
                    return
                except KeyboardInterrupt:  # a question of quit's or the report's, given up
                    if not self.interactive:
                        raise
                    self.say("\nplay: cancelled (not sent: no step spent)")
                    continue
            if command is None:
                continue
            if not self._send(command):
                return

    def _meta(self, meta: Meta) -> Call | None:
        """Answer a meta-command; the call it makes (``report``), if any."""
        if meta.word == "quit":
            question = "leave the episode unfinished? It is recorded, and scored as it stands [y/N] "
            if self.interactive and self.ask(question, {}).strip().lower() not in ("y", "yes"):
                return None
            self.leaving = _LEFT
            self.episode.close(_LEFT)
        elif meta.word == "tools":
            self._tool_list()
        elif meta.word == "help":
            self._help(meta.rest)
        elif meta.word == "report":
            if meta.tail:  # report KEY=VALUE... or report {...}: the one-line forms, as submit_report takes them
                return self._parsed(f"{REPORT_TOOL} {meta.tail}")
            if REPORT_TOOL not in self.tools:
                self.say(f"play: this family has no {REPORT_TOOL} tool; see tools")
                return None
            try:
                return guided_call(REPORT_TOOL, self.tools[REPORT_TOOL], self.ask, self.say, self.interactive)
            except Cancelled:
                self.say("play: report cancelled (not sent: no step spent)")
        return None

    def _parsed(self, line: str) -> Call | None:
        try:
            command = parse_line(line, self.tools)
        except CommandError as exc:
            self.say(f"play: {exc} (not sent: no step spent)")
            return None
        return command if isinstance(command, Call) else None

    def _send(self, call: Call) -> bool:
        """Play ``call``; say its observation. False when the episode had ended already."""
        try:
            turn = self.episode.step(call.action())
        except EpisodeOver as exc:
            self.say(f"play: {exc}")
            return False
        self.steps += 1
        self.say(turn.observation)
        self._seen.learn(call.name, turn.observation)
        self._note_ids(turn.observation)
        return True

    def _help(self, words: tuple[str, ...]) -> None:
        if not words:
            self._tool_list()
            self.say("\nCommands (never sent, no step spent):")
            for line in _COMMANDS.values():
                self.say(f"  {line}")
            self.say("A tool call: TOOL, then its parameters in order (required first) or as name=value; values "
                     "are JSON when they parse (count=3, enabled=true, ids='[\"b-1\"]'); quote texts with spaces. "
                     'Or raw JSON: {"name": "describe", "arguments": {"resource": "..."}}')
            return
        name = words[0]
        if name in self.tools:
            self.say(help_text(name, self.tools[name]))
        elif name in _COMMANDS:
            self.say(_COMMANDS[name])
        else:
            from ..envs.errors import did_you_mean

            self.say(f"play: no tool {name!r}.{did_you_mean(name, [*self.tools, *_COMMANDS])} Type tools for the list.")

    def _tool_list(self) -> None:
        self.say("Tools (help TOOL for its parameters):")
        width = max(map(len, self.tools), default=0)
        # At a terminal a line is cut to its width, so the list reads as a table; a script gets it whole.
        columns = shutil.get_terminal_size().columns if self.interactive else None
        for name, schema in self.tools.items():
            line = f"  {name:<{width}}  {first_line(schema.get('description', ''))}"
            self.say(line if columns is None or len(line) < columns else line[: columns - 2] + "…")

    def _note_ids(self, text: str) -> None:
        self.ids.update(ID_PATTERN.findall(text), self._seen.ids)

    def close(self) -> None:
        if self._terminal is not None:
            self._terminal.save()

    def verdict(self) -> int:
        """Say the episode's full verdict and where it is recorded; the exit code."""
        from .show import render_episode, wants_colour
        from .step_marks import step_marks

        episode = self.episode
        try:
            record, trajectory = episode.record, episode.trajectory()
        except EpisodeOver as exc:  # the harness failed to record it: the message says so
            self.say(f"play: {exc}")
            return 1
        assert episode.folder is not None  # a record exists only once the folder does
        path = episode.folder.path
        self.say()
        self.say(render_episode(record, trajectory, step_marks(path, record, trajectory),
                                colour=wants_colour(self._stdout, self._environ)))
        self.say(f"\nrecorded in {path}\ncheck it with: blastradius verify {path}")
        return 0 if record["status"] == "completed" else 1

