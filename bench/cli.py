"""The ``blastradius`` command line (also ``python -m blastradius.bench``).

Every subcommand is one ``Command`` entry in ``COMMANDS``: a name, a one-line help, a function
that adds its arguments to its subparser, and a function ``_cmd_<name>(args) -> int`` that runs
it and returns the exit code. Subcommands import what they need lazily, inside ``_cmd_<name>``,
so ``blastradius --help`` stays fast and a missing optional extra only breaks the command that
needs it. ``run``, the command with the most options, has its own module (`run_command`); what
every command shares is in `cli_common`.

Exit codes: 0 success; 1 some episodes errored or timed out; 2 usage or configuration error (argparse exits
with 2 on a usage error by itself); 3 a run stopped at its cost bound (``--max-cost``; ``--resume``
finishes it); 130 on Ctrl-C; 143 on SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import __version__
from .cli_common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    PROG,
    Command,
    UsageError,
    out,
    positive_float,
    positive_int,
)
from .mcp_command import add_mcp_arguments, cmd_mcp
from .run_command import add_run_arguments, cmd_run

if TYPE_CHECKING:
    from ..envs.scenarios import Family


# --- perf ---------------------------------------------------------------------------------


def _add_perf_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=20000,
        metavar="N",
        help="env steps to time (default: %(default)s)",
    )
    parser.add_argument(
        "--scale",
        type=positive_float,
        action="append",
        dest="scales",
        default=None,
        metavar="F",
        help="world size factor to time; repeat for several (default: perf's own choice)",
    )
    parser.add_argument("--json", action="store_true", help="print only JSON on stdout")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--sealed-overhead", action="store_true",
                      help="time an agent step sealed (run --sealed) against in process, instead of the env")
    what.add_argument("--llm-scale", type=positive_float, metavar="LATENCY", nargs="?", const=0.25,
                      help="time 40 LLM episodes against a local stand-in model answering in LATENCY seconds "
                           "(default 0.25) at --jobs 1, 4, 16 and 40, instead of the env")
    what.add_argument("--report", metavar="RUN_DIR",
                      help="time 'blastradius report' of the run folder RUN_DIR and weigh the page, instead of "
                           "the env (targets for a 10,000-episode run: 10 s, 20 MB)")
    parser.add_argument("--llm-calls", type=positive_int, default=10, metavar="N",
                        help="with --llm-scale: model calls per episode (default: %(default)s)")


def _cmd_perf(args: argparse.Namespace) -> int:
    from . import perf

    if args.llm_scale is not None:
        if args.scales is not None:
            raise UsageError("--scale times the env; --llm-scale times runs of LLM episodes: give one")
        from . import perf_scale

        return perf_scale.run_cli(latency=args.llm_scale, as_json=args.json, calls=args.llm_calls)
    if args.report is not None:
        if args.scales is not None:
            raise UsageError("--scale times the env; --report times the HTML report of a run: give one")
        from pathlib import Path

        from . import perf_report
        from .report import MissingExtra
        from .runs import RunFolderError

        try:
            return perf_report.run_cli(Path(args.report), as_json=args.json)
        except (MissingExtra, RunFolderError) as exc:
            raise UsageError(str(exc)) from None
    if args.sealed_overhead:
        if args.scales is not None:
            raise UsageError("--scale times the env; --sealed-overhead times the agent's side of a step: give one")
        from . import perf_sealed

        return perf_sealed.run_cli(steps=args.steps, as_json=args.json)
    return perf.run_cli(steps=args.steps, as_json=args.json, scales=args.scales)


# --- list ---------------------------------------------------------------------------------


def _add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", action="append", dest="families", metavar="SPEC",
                        help="show only this family (repeatable): a built-in id, path/to/file.py:NAME, module:NAME "
                             "or an entry point's name; as text or JSON, with its incident's story and, for each "
                             "difficulty, the documented consequence of the reckless path in the world of seed 0")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    form.add_argument("--markdown", action="store_true",
                      help="print the catalogue as the markdown of docs/scenarios.md")


def _cmd_list(args: argparse.Namespace) -> int:
    import json

    from ..envs import FAMILIES, family_env_id
    from ..envs.scenarios.catalogue import render_markdown
    from ..envs.scenarios.loader import FamilySpecError, resolve_family

    try:
        families = [resolve_family(spec) for spec in args.families] if args.families else list(FAMILIES.values())
    except FamilySpecError as exc:
        raise UsageError(str(exc)) from None
    ids = {family.id: family_env_id(family) for family in families}
    if args.markdown:
        out(render_markdown(families, ids), end="")
        return EXIT_OK
    # Only a family asked for by name is built (at seed 0 of each level) to read its consequence.
    consequences = {family.id: _consequences(family) for family in families} if args.families else {}
    if args.json:
        out(json.dumps([{"family": f.id, "env_id": ids[f.id], "title": f.title,
                           "incident": f.incident.title, "date": f.incident.date, "url": f.incident.url,
                           **({"summary": f.incident.summary} if f.id in consequences else {}),
                           "tests": f.tests,
                           "default_difficulty": f.default_difficulty, "step_budget": f.step_budget,
                           "difficulties": [{"name": d.name, "evidence": d.evidence, "owners": d.owners,
                                             **({"consequence": consequences[f.id][d.name]}
                                                if f.id in consequences else {})}
                                            for d in f.difficulties]}
                          for f in families], indent=2))
        return EXIT_OK
    for family in families:
        out(f"{family.id}  ({ids[family.id]})")
        out(f"  {family.title}. Grounded in: {family.incident.title} ({family.incident.date}, "
              f"{family.incident.url})")
        if family.id in consequences:
            out(f"  What happened: {family.incident.summary}")
        out(f"  Tests: {family.tests}")
        out(f"  Step budget: {family.step_budget} steps")
        for level in family.difficulties:
            mark = " (default)" if level.name == family.default_difficulty else ""
            out(f"    {level.name}{mark}: {level.evidence}")
            if level.owners:
                out(f"      owners know: {level.owners}")
            if family.id in consequences:
                out(f"      reckless path's consequence (seed 0): {consequences[family.id][level.name]}")
    return EXIT_OK


def _consequences(family: Family) -> dict[str, str]:
    """Difficulty name -> the documented consequence of the reckless path, as the scenario of
    seed 0 at that level words it (it may name that world's resources)."""
    from ..envs import BlastRadiusEnv

    env = BlastRadiusEnv(family=family, chaos=0)
    found = {}
    try:
        for level in family.difficulties:
            try:
                env.reset(seed=0, options={"difficulty": level.name})
            except Exception as exc:  # a family's own bug, said as such
                raise UsageError(f"family {family.id!r} failed to build difficulty {level.name!r} at seed 0: "
                                 f"{type(exc).__name__}: {exc}") from exc
            found[level.name] = env.current_scenario.consequence.description
    finally:
        env.close()
    return found


# --- leaderboard --------------------------------------------------------------------------


def _add_leaderboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folders to merge into one table, or folders that hold run folders")
    parser.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown",
                        help="json is summary.json's format, without provenance (default: %(default)s)")
    parser.add_argument("--by", choices=("family", "difficulty"),
                        help="one table per family or per difficulty, each computed from its own episodes")
    parser.add_argument("--wide", action="store_true",
                        help="every column, each with its interval (the default table fits 120 columns); "
                             "csv and json always have every number")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="pool runs even with different scorer or severity versions, chaos, size or agent code")


def _cmd_leaderboard(args: argparse.Namespace) -> int:

    from . import breakdown, leaderboard
    from .runs import RunFolderError, leaderboard_of, load_run, run_folders

    def warn(message: str) -> None:
        print(f"{PROG}: warning: {message}", file=sys.stderr)

    try:
        table = leaderboard_of([load_run(run, warn) for run in run_folders(args.runs)], args.allow_mixed)
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None
    if args.format != "markdown":  # the table's own notices are in the markdown; keep CSV and JSON pure
        for notice in table.notices:
            warn(notice)
    if args.by is not None:
        groups = breakdown.summarise_by(table.episodes, args.by)
        if args.format == "json":
            out(breakdown.to_json(groups, args.by), end="")
        elif args.format == "csv":
            out(breakdown.to_csv(groups, args.by), end="")
        else:
            out(breakdown.to_markdown(groups, args.by, wide=args.wide, notices=table.notices), end="")
    elif args.format == "json":
        out(leaderboard.to_json(table.summary), end="")
    elif args.format == "csv":
        out(leaderboard.to_csv(table.summary, table.provenance), end="")
    else:
        out(leaderboard.to_markdown(table.summary, provenance=table.provenance, notices=table.notices,
                                    wide=args.wide), end="")
    return EXIT_OK


# --- show ---------------------------------------------------------------------------------


def _add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_DIR", help="a run folder")
    parser.add_argument("--episode", metavar="KEY",
                        help="episode key (family/difficulty/seed/trial/agent); default: list the keys")
    parser.add_argument("--transcript", action="store_true",
                        help="end with the agent's chat messages: the model's text and tool calls, in order")


def _cmd_show(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from ..envs.errors import did_you_mean
    from .runs import RunFolderError, load_run
    from .show import render_episode, wants_colour
    from .step_marks import step_marks
    from .storage import RunFolder

    path = Path(args.run)
    if args.transcript and args.episode is None:
        raise UsageError("--transcript shows one episode's messages: pass --episode KEY too")
    try:
        run = load_run(path, lambda message: print(f"{PROG}: warning: {message}", file=sys.stderr))
    except RunFolderError as exc:  # not a run folder, or a damaged line: say which, never skip it
        raise UsageError(str(exc)) from None
    episodes = {record["key"]: record for record in run.episodes}
    if args.episode is None:
        for key, record in episodes.items():
            score = record["score"] or {}
            out(f"{key}  {record['status']}  safe_success={score.get('safe_success')}")
        if run.notice:
            print(f"\n{PROG}: {run.notice}", file=sys.stderr)
        print(f"\nshow one with: {PROG} show {args.run} --episode KEY", file=sys.stderr)
        return EXIT_OK
    if args.episode not in episodes:
        hint = did_you_mean(args.episode, episodes, aside=True)
        raise UsageError(f"no episode {args.episode!r} in {args.run}{hint}; "
                         f"run '{PROG} show {args.run}' to list the keys")
    record, trajectory = episodes[args.episode], RunFolder(path).trajectory(args.episode)
    out(render_episode(record, trajectory, step_marks(path, record, trajectory), transcript=args.transcript,
                       colour=wants_colour(sys.stdout, os.environ)))
    return EXIT_OK


# --- report -------------------------------------------------------------------------------


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    from .report_episodes import LARGE, WORST

    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folders (or folders that hold them), pooled as 'leaderboard' pools them")
    parser.add_argument("-o", "--output", default="report.html", metavar="FILE",
                        help="the HTML file to write (default: %(default)s)")
    parser.add_argument("--worst", type=positive_int, default=WORST, metavar="N",
                        help=f"in a run of more than {LARGE} episodes, show each agent's N worst in full and list "
                             "the others by key (default: %(default)s)")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="pool runs even with different scorer or severity versions, chaos, size or agent code")


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .report import MissingExtra, require_extra, write
    from .runs import RunFolderError, load_run, run_folders

    try:
        require_extra()
    except MissingExtra as exc:
        raise UsageError(str(exc)) from None
    if not Path(args.output).parent.is_dir():  # said before the runs are read, not after
        raise UsageError(f"cannot write {args.output!r}: its folder does not exist; pass -o with a writable path")
    try:
        runs = [load_run(run, lambda message: print(f"{PROG}: warning: {message}", file=sys.stderr))
                for run in run_folders(args.runs)]
        path = write(runs, Path(args.output), allow_mixed=args.allow_mixed, worst=args.worst)
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.output!r}: {exc.strerror}; pass -o with a writable path") from None
    out(f"report: {path}")
    return EXIT_OK


# --- verify -------------------------------------------------------------------------------


def _add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_DIR", help="a run folder (a copy anywhere will do)")


def _cmd_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .runs import RunFolderError
    from .verify import render, verify

    try:
        verdict = verify(Path(args.run))
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None
    out(render(verdict), end="")
    return EXIT_OK if verdict.ok else 1


# --- check --------------------------------------------------------------------------------


def _add_family_arguments(parser: argparse.ArgumentParser, verb: str, seeds: int) -> None:
    """``--family``, ``--seeds`` and ``--size``, as ``check`` and ``budgets`` take them."""
    from .run_command import seeds_value

    parser.add_argument("--family", action="append", dest="families", metavar="SPEC",
                        help=f"scenario family to {verb} (repeatable): a built-in id, path/to/file.py:NAME, "
                             "module:NAME, or 'all' (default: every built-in family)")
    parser.add_argument("--seeds", type=seeds_value, metavar="SEEDS",
                        help=f"a count (5 = seeds 0-4), a list (0,3,7) or a range (10-19) (default: {seeds})")
    parser.add_argument("--size", type=positive_int, metavar="N",
                        help="resources in each generated topology, 10 to 5000 (default: 30)")


def _add_check_arguments(parser: argparse.ArgumentParser) -> None:
    _add_family_arguments(parser, "check", 5)
    parser.add_argument("--difficulty", action="append", dest="difficulties", metavar="NAME",
                        help="difficulty level (repeatable), or 'all'; every family given must have it "
                             "(default: every level)")


def _cmd_check(args: argparse.Namespace) -> int:
    from ..envs.topology import DEFAULT_SIZE
    from . import check

    return check.run_cli(args.families or (), seeds=args.seeds or check.DEFAULT_SEEDS,
                         difficulties=tuple(args.difficulties or ()), size=args.size or DEFAULT_SIZE)


# --- budgets ------------------------------------------------------------------------------


def _add_budgets_arguments(parser: argparse.ArgumentParser) -> None:
    _add_family_arguments(parser, "measure", 20)
    parser.add_argument("--chaos", type=int, action="append", choices=(0, 1, 2, 3), metavar="LEVEL",
                        help="chaos level, 0 to 3 (repeatable; default: every level)")
    parser.add_argument("--json", action="store_true", help="print JSON, every episode's count included")


def _cmd_budgets(args: argparse.Namespace) -> int:
    from ..envs.chaos import CHAOS_LEVELS
    from ..envs.topology import DEFAULT_SIZE
    from . import budgets, check

    families = check.resolve(args.families or ())
    return budgets.run_cli(families, seeds=args.seeds or budgets.DEFAULT_SEEDS,
                           chaos=tuple(sorted(set(args.chaos))) if args.chaos else CHAOS_LEVELS,
                           size=args.size or DEFAULT_SIZE, as_json=args.json)


# --- play ---------------------------------------------------------------------------------


def _add_play_arguments(parser: argparse.ArgumentParser) -> None:
    from .run_settings import DEFAULTS

    parser.add_argument("--family", required=True, metavar="SPEC",
                        help="the scenario family: a built-in id (see 'blastradius list'), path/to/file.py:NAME, "
                             "module:NAME or an entry point's name")
    parser.add_argument("--difficulty", metavar="NAME", help="its difficulty level (default: the family's default)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="the world's seed (default: %(default)s)")
    parser.add_argument("--name", metavar="NAME",
                        help="your name on the leaderboard, as human:NAME (default: your login name)")
    parser.add_argument("--output-dir", default=DEFAULTS["output_dir"], metavar="DIR",
                        help="where the episode's run folder is created (default: %(default)s)")
    parser.add_argument("--sealed", action="store_true",
                        help="build the world from a fresh secret, recorded only when the episode ends")
    parser.add_argument("--chaos", type=int, choices=(0, 1, 2, 3), metavar="LEVEL",
                        help="chaos level: 0 off (a calm world to learn in), 1 (default) to 3 more faults")
    parser.add_argument("--step-timeout", type=positive_float, metavar="SECONDS",
                        help="the longest think before each action; past it the episode ends as a timeout "
                             "(default: 3600, an hour)")


def _cmd_play(args: argparse.Namespace) -> int:
    import os

    from .play import PlaySettings, default_name, play
    from .run_settings import check_output_dir

    given = {key: value for key, value in (("chaos", args.chaos), ("step_timeout", args.step_timeout))
             if value is not None}
    settings = PlaySettings(family=args.family, seed=args.seed, output_dir=check_output_dir(args.output_dir),
                            name=args.name if args.name is not None else default_name(),
                            difficulty=args.difficulty, sealed=args.sealed, argv=tuple(sys.argv), **given)
    try:
        return play(settings, sys.stdin, sys.stdout, os.environ)
    except ValueError as exc:  # an unknown family or level, a bad seed or name: nothing was written
        raise UsageError(str(exc)) from None


# --- the table ------------------------------------------------------------------------------

COMMANDS: tuple[Command, ...] = (
    Command("run", "run the benchmark and print the leaderboard", add_run_arguments, cmd_run),
    Command("list", "list scenario families, difficulties and env ids", _add_list_arguments, _cmd_list),
    Command("leaderboard", "merge run folders into one leaderboard", _add_leaderboard_arguments,
            _cmd_leaderboard),
    Command("show", "show an episode's trajectory and health timeline", _add_show_arguments, _cmd_show),
    Command("report", "write one self-contained HTML page of run folders: leaderboard, figures, episodes",
            _add_report_arguments, _cmd_report),
    Command("verify", "check a run folder's fingerprints and replay its episodes", _add_verify_arguments,
            _cmd_verify),
    Command("check", "check a scenario family: its reference path succeeds safely, its reckless path does "
            "harm, doing nothing fails", _add_check_arguments, _cmd_check),
    Command("budgets", "measure the steps a careful solution takes per family (reference path and careful "
            "agent, chaos 0-3) against the family's step budget", _add_budgets_arguments, _cmd_budgets),
    Command("play", "play an episode yourself at the terminal, scored and recorded like an agent's",
            _add_play_arguments, _cmd_play),
    Command("mcp", "serve one episode as an MCP server (stdio, or streamable HTTP with --http), for an MCP "
            "client to play; recorded as a run folder", add_mcp_arguments, cmd_mcp),
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
    run: Callable[[argparse.Namespace], int] = args._run
    try:
        return run(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        from .runner import Terminated

        if isinstance(exc, Terminated):
            return EXIT_TERMINATED
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
