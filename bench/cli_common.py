"""What every subcommand of the ``blastradius`` command line shares: its name, the exit codes,
the `Command` record, argument types, the usage error and printing to stdout."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["EXIT_INCOMPLETE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_TERMINATED", "EXIT_USAGE", "PROG", "Command",
           "UsageError", "out", "positive_float", "positive_int"]

PROG = "blastradius"

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
"""The run stopped before its end for a reason it was given (``--max-cost``); ``--resume`` finishes it."""
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


@dataclass(frozen=True)
class Command:
    """One subcommand: how to parse its arguments and how to run it."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A user's mistake on the command line: exit 2 with the message, which says what to type."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def out(*values: object, end: str = "\n") -> None:
    """Print to stdout; a reader that stopped reading (``| head``) ends the output, not the
    command, which still returns its own exit code."""
    try:
        print(*values, end=end)
    except BrokenPipeError:
        # As the Python docs advise: point stdout at devnull so the flush at exit cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

