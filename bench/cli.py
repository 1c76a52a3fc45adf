"""The ``blastradius`` command line (also ``python -m blastradius.bench``).

Every subcommand is one ``Command`` entry in ``COMMANDS``: a name, a one-line help, a function
that adds its arguments to its subparser, and a function ``_cmd_<name>(args) -> int`` that runs
it and returns the exit code. Subcommands import what they need lazily, inside ``_cmd_<name>``,
so ``blastradius --help`` stays fast and a missing optional extra only breaks the command that
needs it.

Exit codes: 0 success; 1 some episodes errored; 2 usage or configuration error (argparse exits
with 2 on a usage error by itself); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
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


# --- the table ------------------------------------------------------------------------------

COMMANDS: tuple[Command, ...] = (
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
    try:
        return args._run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
