"""``blastradius run``: its options, and running the benchmark from them.

The options map onto `blastradius.bench.runner.RunConfig`; a bad one is a `UsageError` (exit 2)
that says what to type instead. ``--sealed`` runs every agent sealed (`blastradius.bench.sealed`).
"""

from __future__ import annotations

import argparse
import sys

from .cli_common import EXIT_OK, PROG, UsageError, close_match, out, positive_float, positive_int

__all__ = ["add_run_arguments", "cmd_run"]


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


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="episodes to run at once, each on a thread of its own (for agents that wait on a "
                             "model); the results are the same whatever N (default: %(default)s)")
    parser.add_argument("--step-timeout", type=positive_float, default=DEFAULT_STEP_TIMEOUT, metavar="SECONDS",
                        help="seconds each agent call may take before its episode ends as 'timeout' "
                             "(default: %(default)g)")
    parser.add_argument("--family", action="append", dest="families", metavar="SPEC",
                        help="scenario family (repeatable): a built-in id (see 'blastradius list'), "
                             "path/to/file.py:NAME or module:NAME (default: every built-in family)")
    parser.add_argument("--difficulty", action="append", dest="difficulties", metavar="NAME",
                        help="difficulty level (repeatable), or 'all' (default: each family's default)")
    parser.add_argument("--seeds", type=_seeds, default=(0, 1, 2, 3, 4), metavar="SEEDS",
                        help="a count (5 = seeds 0-4), a list (0,3,7) or a range (10-19) (default: 5)")
    parser.add_argument("--size", type=positive_int, default=None, metavar="N",
                        help="resources in each generated topology (default: 30)")
    parser.add_argument("--chaos", type=int, choices=(0, 1, 2, 3), default=None, metavar="LEVEL",
                        help="chaos level: 0 off, 1 (default) to 3 more faults")
    parser.add_argument("--output-dir", default="results/runs", metavar="DIR",
                        help="where the run folder is created (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print only summary.json on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--sealed", action="store_true",
                        help="the way to publishable numbers: every agent in a process of its own that sees "
                             "only its messages, as an unprivileged user when run as root, and worlds built "
                             "from a run secret written to run.json when the run ends (docs/agent-protocol.md)")
    parser.add_argument("--sealed-env", action="append", default=[], metavar="NAME",
                        help="with --sealed: pass this variable of your environment (an API key) to every "
                             "sealed agent, whose environment is otherwise clean; repeat for several. Its "
                             "name is recorded, never its value")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--secret-file", metavar="FILE",
                        help="with --sealed: read the run secret (64 hex digits, as run.json records it) from "
                             "FILE, to reproduce a published sealed run exactly")
    secret.add_argument("--secret", metavar="HEX",
                        help="like --secret-file, but any local process can read a command line: use it only "
                             "for a run whose secret is already public")


def _secret(args: argparse.Namespace) -> str | None:
    """The run secret the command line gives, if any; a wrong one is a usage error."""
    from pathlib import Path

    from .sealing import parse_secret

    if args.secret is None and args.secret_file is None:
        return None
    if not args.sealed:
        raise UsageError("--secret and --secret-file build the worlds of a sealed run: add --sealed")
    if args.secret_file is not None:
        try:
            text = Path(args.secret_file).read_text()
        except OSError as exc:
            raise UsageError(f"--secret-file: cannot read {args.secret_file!r}: {exc.strerror}") from None
    try:
        return parse_secret(args.secret if args.secret is not None else text)
    except ValueError as exc:
        raise UsageError(f"--secret{'-file' if args.secret is None else ''}: {exc}") from None


def _without_secret(argv: list[str]) -> list[str]:
    """``argv`` as ``run.json`` records it when the run starts: a ``--secret`` value is left out
    (``run.json`` gets the secret itself when the run ends)."""
    kept = list(argv)
    for i, part in enumerate(kept):
        if part.startswith("--secret="):
            kept[i] = "--secret=<secret>"
        elif part == "--secret" and i + 1 < len(kept):
            kept[i + 1] = "<secret>"
    return kept


def cmd_run(args: argparse.Namespace) -> int:
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
            raise UsageError(f"unknown difficulty {difficulty!r}{close_match(difficulty, levels)} for "
                             f"{', '.join(families)}; choose from {', '.join(sorted(levels))} or 'all'")
    secret = _secret(args)
    if args.sealed_env and not args.sealed:
        raise UsageError("--sealed-env passes variables to sealed agents: add --sealed")
    agents = _agents(args.agent_items, args.step_timeout, args.sealed, tuple(args.sealed_env))
    try:
        config = runner.RunConfig(families=families,
                                  difficulties=("all",) if "all" in difficulties else difficulties,
                                  seeds=args.seeds, agents=tuple(spec for spec, _ in agents),
                                  agent_kwargs=tuple(kwargs for _, kwargs in agents)
                                  if any(kwargs for _, kwargs in agents) else (),
                                  step_timeout=args.step_timeout, sealed=args.sealed, secret=secret,
                                  sealed_env=tuple(args.sealed_env),
                                  **({"size": args.size} if args.size else {}),
                                  **({"chaos": args.chaos} if args.chaos is not None else {}))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    show = not args.quiet and sys.stderr.isatty()

    def progress(done: int, total: int, record: dict) -> None:
        if show:
            print(f"\r{done}/{total} {record['key']:<70}", end="", file=sys.stderr, flush=True)

    outcome = runner.run(config, Path(args.output_dir), argv=_without_secret(sys.argv), progress=progress,
                         jobs=args.jobs)
    if show:
        print(file=sys.stderr)
    if args.json:
        out(leaderboard.to_json(outcome.summary))
    else:
        out(leaderboard.to_markdown(outcome.summary))
        out(f"run folder: {outcome.folder.path}")
    if outcome.errors:
        print(f"{PROG}: {outcome.errors} episode(s) errored or timed out; see episodes.jsonl", file=sys.stderr)
        return 1
    return EXIT_OK


def _agents(items: list[tuple[str, str]] | None, timeout: float, sealed: bool,
            sealed_env: tuple[str, ...]) -> list[tuple[str, dict[str, object]]]:
    """The command line's agents with their kwargs, each made once (within ``timeout``) to check
    it can be: a wrong spec, an unknown argument, a missing extra or API key is a usage error,
    not a run of failed episodes. Sealed, each is made in a sealed process, as the run will
    (`blastradius.bench.sealed.check_agents`): no agent's code is loaded in this one."""
    from ..agents.loader import AgentSpecError, group_agent_args, resolve_agent
    from .agent_thread import AgentThread
    from .runner import DEFAULT_AGENTS
    from .sealed import SealingError, check_agents, isolation, passed_env

    try:
        agents = group_agent_args(items) if items else [(spec, {}) for spec in DEFAULT_AGENTS]
    except AgentSpecError as exc:
        raise UsageError(str(exc)) from None
    if sealed:
        try:
            check_agents(agents, timeout, isolation(), passed_env(sealed_env))
        except (AgentSpecError, SealingError) as exc:
            raise UsageError(str(exc)) from None
        return agents
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
