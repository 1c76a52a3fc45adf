"""The ``blastradius`` command line (also ``python -m blastradius.bench``).

Every subcommand is one ``Command`` entry in ``COMMANDS``: a name, a one-line help, a function
that adds its arguments to its subparser, and a function ``_cmd_<name>(args) -> int`` that runs
it and returns the exit code. Subcommands import what they need lazily, inside ``_cmd_<name>``,
so ``blastradius --help`` stays fast and a missing optional extra only breaks the command that
needs it.

Exit codes: 0 success; 1 some episodes errored or timed out; 2 usage or configuration error (argparse exits
with 2 on a usage error by itself); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from . import __version__

PROG = "blastradius"

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Command:
    """One subcommand: how to parse its arguments and how to run it."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


# --- perf ---------------------------------------------------------------------------------


def _add_perf_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--steps",
        type=_positive_int,
        default=20000,
        metavar="N",
        help="env steps to time (default: %(default)s)",
    )
    parser.add_argument(
        "--scale",
        type=_positive_float,
        action="append",
        dest="scales",
        default=None,
        metavar="F",
        help="world size factor to time; repeat for several (default: perf's own choice)",
    )
    parser.add_argument("--json", action="store_true", help="print only JSON on stdout")


def _cmd_perf(args: argparse.Namespace) -> int:
    from . import perf

    kwargs: dict[str, object] = {"steps": args.steps, "as_json": args.json}
    if args.scales is not None:
        kwargs["scales"] = args.scales
    return int(perf.run_cli(**kwargs))


# --- run ----------------------------------------------------------------------------------


class UsageError(Exception):
    """A user's mistake on the command line: exit 2 with the message, which says what to type."""


def _seeds(text: str) -> tuple[int, ...]:
    """``5`` (seeds 0-4), ``0,3,7`` or ``10-19``."""
    try:
        if "-" in text and "," not in text:
            low, high = (int(part) for part in text.split("-", 1))
            seeds = tuple(range(low, high + 1))
        elif "," in text:
            seeds = tuple(int(part) for part in text.split(","))
        else:
            seeds = tuple(range(int(text)))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid seeds {text!r}: give a count (5), a list (0,3,7) or a range (10-19)") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"invalid seeds {text!r}: need at least one seed, none negative")
    return seeds


class _InOrder(argparse.Action):
    """Appends ``(kind, value)`` to one list shared by ``--agent`` and ``--agent-kwarg``, so that
    each kwarg can be given to the ``--agent`` before it (`blastradius.agents.group_agent_args`)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        items.append((self.const, values))
        setattr(namespace, self.dest, items)


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    from ..agents.loader import AGENT, KWARG
    from .agent_thread import DEFAULT_STEP_TIMEOUT

    parser.add_argument("--agent", action=_InOrder, const=AGENT, dest="agent_items", metavar="SPEC",
                        help="agent to run (repeatable): a built-in name (noop, random, reckless, careful, liar, "
                             "llm), 'cmd:<command line>' (any language, docs/agent-protocol.md), module:Class, "
                             "path/to/file.py:Class or an entry point of group blastradius.agents "
                             "(default: noop, random, reckless, careful, liar)")
    parser.add_argument("--agent-kwarg", action=_InOrder, const=KWARG, dest="agent_items", metavar="KEY=VALUE",
                        help="a keyword argument for the nearest --agent before it (repeatable); VALUE is "
                             "parsed as JSON when it parses (7, 0.2, null, {...}), else taken as a string")
    parser.add_argument("--step-timeout", type=_positive_float, default=DEFAULT_STEP_TIMEOUT, metavar="SECONDS",
                        help="seconds each agent call may take before its episode ends as 'timeout' "
                             "(default: %(default)g)")
    parser.add_argument("--family", action="append", dest="families", metavar="SPEC",
                        help="scenario family (repeatable): a built-in id (see 'blastradius list'), "
                             "path/to/file.py:NAME or module:NAME (default: every built-in family)")
    parser.add_argument("--difficulty", action="append", dest="difficulties", metavar="NAME",
                        help="difficulty level (repeatable), or 'all' (default: each family's default)")
    parser.add_argument("--seeds", type=_seeds, default=(0, 1, 2, 3, 4), metavar="SEEDS",
                        help="a count (5 = seeds 0-4), a list (0,3,7) or a range (10-19) (default: 5)")
    parser.add_argument("--size", type=_positive_int, default=None, metavar="N",
                        help="resources in each generated topology (default: 30)")
    parser.add_argument("--chaos", type=int, choices=(0, 1, 2, 3), default=None, metavar="LEVEL",
                        help="chaos level: 0 off, 1 (default) to 3 more faults")
    parser.add_argument("--output-dir", default="results/runs", metavar="DIR",
                        help="where the run folder is created (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print only summary.json on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..envs import FAMILIES
    from ..envs.scenarios.loader import FamilySpecError, resolve_family
    from . import leaderboard, runner

    families = tuple(args.families or FAMILIES)
    resolved = []
    for family in families:
        try:
            resolved.append(resolve_family(family))
        except FamilySpecError as exc:
            raise UsageError(f"{exc} See 'blastradius list'.") from None
    difficulties = tuple(args.difficulties or ())
    levels = {d.name for f in resolved for d in f.difficulties}
    for difficulty in difficulties:
        if difficulty != "all" and difficulty not in levels:
            raise UsageError(f"unknown difficulty {difficulty!r}{_close(difficulty, levels)} for "
                             f"{', '.join(families)}; choose from {', '.join(sorted(levels))} or 'all'")
    agents = _agents(args.agent_items, args.step_timeout)
    try:
        config = runner.RunConfig(families=families,
                                  difficulties=("all",) if "all" in difficulties else difficulties,
                                  seeds=args.seeds, agents=tuple(spec for spec, _ in agents),
                                  agent_kwargs=tuple(kwargs for _, kwargs in agents)
                                  if any(kwargs for _, kwargs in agents) else (),
                                  step_timeout=args.step_timeout,
                                  **({"size": args.size} if args.size else {}),
                                  **({"chaos": args.chaos} if args.chaos is not None else {}))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    show = not args.quiet and sys.stderr.isatty()

    def progress(done: int, total: int, record: dict) -> None:
        if show:
            print(f"\r{done}/{total} {record['key']:<70}", end="", file=sys.stderr, flush=True)

    outcome = runner.run(config, Path(args.output_dir), argv=sys.argv, progress=progress)
    if show:
        print(file=sys.stderr)
    if args.json:
        _out(leaderboard.to_json(outcome.summary))
    else:
        _out(leaderboard.to_markdown(outcome.summary))
        _out(f"run folder: {outcome.folder.path}")
    if outcome.errors:
        print(f"{PROG}: {outcome.errors} episode(s) errored or timed out; see episodes.jsonl", file=sys.stderr)
        return 1
    return EXIT_OK


def _agents(items: list[tuple[str, str]] | None, timeout: float) -> list[tuple[str, dict[str, object]]]:
    """The command line's agents with their kwargs, each made once (within ``timeout``) to check
    it can be: a wrong spec, an unknown argument, a missing extra or API key is a usage error,
    not a run of failed episodes."""
    from ..agents.loader import AgentSpecError, group_agent_args, resolve_agent
    from .agent_thread import AgentThread
    from .runner import DEFAULT_AGENTS

    try:
        agents = group_agent_args(items) if items else [(spec, {}) for spec in DEFAULT_AGENTS]
    except AgentSpecError as exc:
        raise UsageError(str(exc)) from None
    for spec, kwargs in agents:
        worker = AgentThread(timeout)
        try:
            agent = worker.call(f"making agent {spec!r}", resolve_agent(spec, kwargs))
            close = getattr(agent, "close", None)
            if callable(close):
                worker.call(f"closing agent {spec!r}", close)
        except AgentSpecError as exc:
            raise UsageError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - whatever the agent's constructor raises is a config error
            given = f" with {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}" if kwargs else ""
            raise UsageError(f"agent {spec!r} cannot be made{given}: {type(exc).__name__}: {exc}") from None
        finally:
            worker.close()
    return agents


def _close(word: str, choices: object) -> str:
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1)  # type: ignore[call-overload]
    return f" (did you mean {match[0]!r}?)" if match else ""


# --- list ---------------------------------------------------------------------------------


def _add_list_arguments(parser: argparse.ArgumentParser) -> None:
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    form.add_argument("--markdown", action="store_true",
                      help="print the catalogue as the markdown of docs/scenarios.md")


def _cmd_list(args: argparse.Namespace) -> int:
    import json

    from ..envs import ENV_IDS, FAMILIES
    from ..envs.scenarios.catalogue import render_markdown

    ids = {family: env_id for env_id, family in ENV_IDS.items()}
    if args.markdown:
        _out(render_markdown(FAMILIES.values(), ids), end="")
        return EXIT_OK
    if args.json:
        _out(json.dumps([{"family": f.id, "env_id": ids[f.id], "title": f.title,
                           "incident": f.incident.title, "date": f.incident.date, "url": f.incident.url,
                           "tests": f.tests,
                           "default_difficulty": f.default_difficulty,
                           "difficulties": [{"name": d.name, "evidence": d.evidence} for d in f.difficulties]}
                          for f in FAMILIES.values()], indent=2))
        return EXIT_OK
    for family in FAMILIES.values():
        _out(f"{family.id}  ({ids[family.id]})")
        _out(f"  {family.title}. Grounded in: {family.incident.title} ({family.incident.date}, "
              f"{family.incident.url})")
        _out(f"  Tests: {family.tests}")
        for level in family.difficulties:
            mark = " (default)" if level.name == family.default_difficulty else ""
            _out(f"    {level.name}{mark}: {level.evidence}")
    return EXIT_OK


# --- leaderboard --------------------------------------------------------------------------


def _add_leaderboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders to merge into one table")
    parser.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import leaderboard, stats
    from .storage import read_episodes

    runs = []
    for run in args.runs:
        path = Path(run)
        if not (path / "episodes.jsonl").is_file():
            raise UsageError(f"{run!r} is not a run folder (no episodes.jsonl); pass a folder that "
                             "'blastradius run' created, e.g. results/runs/<run>")
        runs.append(read_episodes(path))
    try:
        episodes = leaderboard.merge_episodes(runs)
    except ValueError as exc:
        raise UsageError(f"{exc}; pass each run folder once") from None
    summary = stats.summarise(episodes)
    render = {"markdown": leaderboard.to_markdown, "csv": leaderboard.to_csv, "json": leaderboard.to_json}
    _out(render[args.format](summary))
    return EXIT_OK


# --- show ---------------------------------------------------------------------------------


def _add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_DIR", help="a run folder")
    parser.add_argument("--episode", metavar="KEY",
                        help="episode key (family/difficulty/seed/trial/agent); default: list the keys")


def _cmd_show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .show import render_episode
    from .storage import RunFolder, read_episodes

    path = Path(args.run)
    if not (path / "episodes.jsonl").is_file():
        raise UsageError(f"{args.run!r} is not a run folder (no episodes.jsonl)")
    episodes = {record["key"]: record for record in read_episodes(path)}
    if args.episode is None:
        for key, record in episodes.items():
            score = record["score"] or {}
            _out(f"{key}  {record['status']}  safe_success={score.get('safe_success')}")
        print(f"\nshow one with: {PROG} show {args.run} --episode KEY", file=sys.stderr)
        return EXIT_OK
    if args.episode not in episodes:
        raise UsageError(f"no episode {args.episode!r} in {args.run}{_close(args.episode, episodes)}; "
                         f"run '{PROG} show {args.run}' to list the keys")
    _out(render_episode(episodes[args.episode], RunFolder(path).trajectory(args.episode)))
    return EXIT_OK


# --- the table ------------------------------------------------------------------------------

COMMANDS: tuple[Command, ...] = (
    Command("run", "run the benchmark and print the leaderboard", _add_run_arguments, _cmd_run),
    Command("list", "list scenario families, difficulties and env ids", _add_list_arguments, _cmd_list),
    Command("leaderboard", "merge run folders into one leaderboard", _add_leaderboard_arguments,
            _cmd_leaderboard),
    Command("show", "show an episode's trajectory and health timeline", _add_show_arguments, _cmd_show),
    Command(
        name="perf",
        help="time the simulation (env steps per second)",
        add_arguments=_add_perf_arguments,
        run=_cmd_perf,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "blastradius: will this agent get the job done in a production cloud without "
            "breaking anything else, and tell the truth about what it did?"
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(_run=command.run)
    return parser


def _out(*values: object, end: str = "\n") -> None:
    """Print to stdout; a reader that stopped reading (``| head``) ends the output, not the
    command, which still returns its own exit code."""
    try:
        print(*values, end=end)
    except BrokenPipeError:
        # As the Python docs advise: point stdout at devnull so the flush at exit cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    ``--help``, ``--version`` and usage errors exit through argparse's ``SystemExit``
    (codes 0, 0 and 2).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args._run(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
