"""The ``blastradius mcp`` subcommand's arguments and entry point, apart from `mcp_server` so
that the command line imports no MCP SDK until ``mcp`` is the command run."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .cli_common import UsageError, positive_float

__all__ = ["DEFAULT_AGENT_NAME", "MCP_STEP_TIMEOUT", "add_mcp_arguments", "cmd_mcp"]

DEFAULT_AGENT_NAME = "mcp-client"
MCP_STEP_TIMEOUT = 600.0
"""Seconds to wait for each tool call after the first (which is awaited without a limit: a desktop
app starts its MCP servers when it starts): longer than `blastradius run`'s 120 s, because a
person may be approving each call."""
_FACE = Path(__file__).with_name("mcp_server.py")
"""The code relaying the client's calls: the episode's provenance."""
_INSTALL_HINT = ('the mcp command needs the MCP Python SDK 2.x: pip install -e ".[mcp]" in your clone of '
                 'blastradius (or pip install "blastradius-bench[mcp]")')


def add_mcp_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", required=True, metavar="SPEC",
                        help="scenario family: a built-in id (see 'blastradius list'), path/to/file.py:NAME or "
                             "module:NAME")
    parser.add_argument("--difficulty", metavar="NAME", help="difficulty level (default: the family's default)")
    parser.add_argument("--seed", type=int, required=True, metavar="N", help="the episode's seed")
    parser.add_argument("--output-dir", required=True, metavar="DIR",
                        help="where the episode's run folder is created (pool several with 'blastradius "
                             "leaderboard DIR')")
    parser.add_argument("--agent-name", default=DEFAULT_AGENT_NAME, metavar="NAME",
                        help="the agent's name in the episode key and on the leaderboard (default: %(default)s)")
    parser.add_argument("--sealed", action="store_true",
                        help="build the world from a fresh secret, written to run.json only when the episode "
                             "ends, so that the seed alone tells the agent nothing")
    parser.add_argument("--step-timeout", type=positive_float, default=MCP_STEP_TIMEOUT, metavar="SECONDS",
                        help="seconds to wait for each tool call after the first (awaited without a limit) before "
                             "the episode ends as 'timeout' (default: %(default)g)")
    parser.add_argument("--http", type=_port, metavar="PORT",
                        help="serve streamable HTTP at http://127.0.0.1:PORT/mcp (0: any free port, said on "
                             "stderr) instead of stdio")


def cmd_mcp(args: argparse.Namespace) -> int:
    """Serve one episode; its exit code is 0 if the episode completed, 1 if it did not."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("mcp").split(".")[0])
    except PackageNotFoundError:
        raise UsageError(_INSTALL_HINT) from None
    if major < 2:
        raise UsageError(f"{_INSTALL_HINT}; mcp {version('mcp')} is installed, whose server API differs")
    from .driven import DrivenEpisode
    from .runner import Terminated

    output_dir = Path(args.output_dir).expanduser().resolve()
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output-dir {args.output_dir} is a file: give a folder (it is made if missing)")
    try:
        episode = DrivenEpisode(args.family, args.seed, output_dir, args.agent_name, "mcp", _FACE,
                                difficulty=args.difficulty, sealed=args.sealed, step_timeout=args.step_timeout,
                                untimed_start=True, argv=sys.argv)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    from . import mcp_server  # the SDK, imported only now that the arguments are known good

    try:
        # Bound before the episode starts: a port in use is a usage error, not an episode's error.
        listener = mcp_server.listen(args.http) if args.http is not None else None
    except OSError as exc:
        raise UsageError(f"{exc}: give another --http port, or 0 for any free one") from None

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    # SIGTERM stops the server as Ctrl-C does, the episode recorded on the way out.
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return mcp_server.run(episode, listener)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {port}")
    return port
