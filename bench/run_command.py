"""``blastradius run``: its options, and running the benchmark from them.

The options map onto `blastradius.bench.runner.RunConfig`; a bad one is a `UsageError` (exit 2)
that says what to type instead. ``--sealed`` runs every agent sealed (`blastradius.bench.sealed`),
the oracles aside (`blastradius.agents.loader.ORACLES`), which play in the harness's process.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .cli_common import EXIT_INCOMPLETE, EXIT_OK, PROG, UsageError, out, positive_float, positive_int
from .monitor import Monitor

if TYPE_CHECKING:
    from pathlib import Path

    from .progress import Progress
    from .runner import Execution, RunConfig, RunOutcome

__all__ = ["add_run_arguments", "cmd_run"]


def _seeds(text: str) -> tuple[int, ...]:
    """``5`` (seeds 0-4), ``0,3,7`` or ``10-19``; never more than one run may plan."""
    from .run_config import MAX_EPISODES

    invalid = f"invalid seeds {text!r}: give a count (5), a list (0,3,7) or a range (10-19)"
    try:
        if "-" in text and "," not in text:
            low, high = (int(part) for part in text.split("-", 1))
            bounds = (low, high + 1)
        elif "," in text:
            return tuple(int(part) for part in text.split(","))
        else:
            bounds = (0, int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(invalid) from None
    if bounds[1] - bounds[0] > MAX_EPISODES:  # before the tuple is made: 10**12 seeds would not fit in memory
        raise argparse.ArgumentTypeError(f"{text!r} is {bounds[1] - bounds[0]:,} seeds; one run plays at most "
                                         f"{MAX_EPISODES:,} episodes: split it into several runs")
    if bounds[1] <= bounds[0]:
        raise argparse.ArgumentTypeError(f"{invalid}; {text!r} has no seed in it")
    return tuple(range(*bounds))


def seeds_value(value: object) -> tuple[int, ...]:
    """Seeds as a run file gives them: a count, a list of seeds, or the command line's text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _seeds(str(value))
    if isinstance(value, str):
        return _seeds(value)
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise argparse.ArgumentTypeError(f"invalid seeds {value!r}: give a count (5), a list ([0, 3, 7]) or a "
                                     "range (\"10-19\")")


class _InOrder(argparse.Action):
    """Appends ``(kind, value)`` to one list shared by ``--agent`` and ``--agent-kwarg``, so that
    each kwarg can be given to the ``--agent`` before it (`blastradius.agents.group_agent_args`)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        items.append((self.const, values))
        setattr(namespace, self.dest, items)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``run``. None is the default of each, so that what the command line gives
    can be told from what it leaves to the run file, to ``--resume``'s recorded settings or to
    `DEFAULTS`."""
    from ..agents.loader import AGENT, KWARG
    from .agent_thread import DEFAULT_STEP_TIMEOUT
    from .executors import EXECUTORS
    from .run_config import DEFAULT_AGENTS

    what = parser.add_argument_group("what to run")
    what.add_argument("--agent", action=_InOrder, const=AGENT, dest="agent_items", metavar="SPEC",
                      help="agent to run (repeatable): a built-in name (noop, random, careful, liar, llm, and "
                           "the oracles reference and reckless, which play the family's own scripted paths), "
                           "'cmd:<command line>' (any language, docs/agent-protocol.md), module:Class, "
                           "path/to/file.py:Class or an entry point of group blastradius.agents "
                           f"(default: {', '.join(DEFAULT_AGENTS)})")
    what.add_argument("--agent-kwarg", action=_InOrder, const=KWARG, dest="agent_items", metavar="KEY=VALUE",
                      help="a keyword argument for the nearest --agent before it (repeatable); VALUE is "
                           "parsed as JSON when it parses (7, 0.2, null, {...}), else taken as a string")
    what.add_argument("--family", action="append", dest="families", metavar="SPEC",
                      help="scenario family (repeatable): a built-in id (see 'blastradius list'), "
                           "path/to/file.py:NAME or module:NAME (default: every built-in family)")
    what.add_argument("--difficulty", action="append", dest="difficulties", metavar="NAME",
                      help="difficulty level (repeatable), or 'all'; every family given must have it "
                           "(default: each family's default)")
    what.add_argument("--seeds", type=_seeds, metavar="SEEDS",
                      help="a count (5 = seeds 0-4), a list (0,3,7) or a range (10-19) (default: 5)")
    what.add_argument("--trials", type=positive_int, metavar="K",
                      help="play each seed K times, for pass^k columns (default: 1)")
    what.add_argument("--size", type=positive_int, metavar="N",
                      help="resources in each generated topology, 10 to 5000 (default: 30)")
    what.add_argument("--chaos", type=int, choices=(0, 1, 2, 3), metavar="LEVEL",
                      help="chaos level: 0 off, 1 (default) to 3 more faults")
    what.add_argument("--step-timeout", type=positive_float, metavar="SECONDS",
                      help="seconds each agent call may take before its episode ends as 'timeout' "
                           f"(default: {DEFAULT_STEP_TIMEOUT:g})")
    what.add_argument("--config", metavar="FILE",
                      help="a run file (TOML): every option here as a key, agents as [agents.NAME] tables "
                           "named on the leaderboard by NAME; options given here win (docs/running.md)")
    how = parser.add_argument_group("how to run it")
    how.add_argument("--jobs", type=positive_int, metavar="N",
                     help="episodes to run at once; the results are the same whatever N (default: 1)")
    how.add_argument("--executor", choices=EXECUTORS,
                     help="local: threads of this process, for agents that wait on a model (default); process: "
                          "a process pool, for agents that compute; ray: Ray tasks, on this machine or "
                          "--ray-address (pip install -e '.[ray]')")
    how.add_argument("--ray-address", metavar="ADDRESS",
                     help="with --executor ray: the address of a Ray cluster you run (default: start one here)")
    how.add_argument("--max-cost", type=positive_float, metavar="USD",
                     help="start no episode once the cost the agents report would pass USD; the run stops "
                          "incomplete and --resume finishes it")
    how.add_argument("--max-connections", type=positive_int, metavar="N",
                     help="at most N requests in flight to one model endpoint from this process's LLM agents "
                          "(default: no bound)")
    how.add_argument("--resume", metavar="RUN_DIR",
                     help="finish a run that stopped, with its own recorded settings: play the episodes it "
                          "lacks into the same folder (how-to-run options may be given anew)")
    how.add_argument("--retry-errors", action="store_true", default=None,
                     help="with --resume: play again the episodes that errored or timed out")
    output = parser.add_argument_group("output")
    output.add_argument("--output-dir", metavar="DIR", help="where the run folder is created (default: results/runs)")
    output.add_argument("--json", action="store_true", default=None, help="print only summary.json on stdout")
    output.add_argument("--quiet", action="store_true", default=None, help="no progress on stderr")
    output.add_argument("--no-report", action="store_true", default=None,
                        help="write no report.html into the run folder (it takes seconds for a large run; "
                             "'blastradius report RUN_DIR' writes one later)")
    sealed = parser.add_argument_group("sealed runs")
    sealed.add_argument("--sealed", action="store_true", default=None,
                        help="the way to publishable numbers: every agent in a process of its own that sees "
                             "only its messages, as an unprivileged user when run as root, and worlds built "
                             "from a run secret written to run.json when the run ends (docs/agent-protocol.md)")
    sealed.add_argument("--sealed-env", action="append", metavar="NAME",
                        help="with --sealed: pass this variable of your environment (an API key) to every "
                             "sealed agent, whose environment is otherwise clean; repeat for several. Its "
                             "name is recorded, never its value")
    secret = sealed.add_mutually_exclusive_group()
    secret.add_argument("--secret-file", metavar="FILE",
                        help="with --sealed: read the run secret (64 hex digits, as run.json records it) from "
                             "FILE, to reproduce a published sealed run exactly")
    secret.add_argument("--secret", metavar="HEX",
                        help="like --secret-file, but any local process can read a command line: use it only "
                             "for a run whose secret is already public")


def _secret(settings: dict[str, Any]) -> str | None:
    """The run secret the settings give (``--secret``, or ``--secret-file`` from the command line
    or the run file), if any; a wrong one is a usage error."""
    from pathlib import Path

    from .sealing import parse_secret

    secret, secret_file = settings.get("secret"), settings.get("secret_file")
    if secret is None and secret_file is None:
        return None
    if not settings["sealed"]:
        raise UsageError("--secret and --secret-file build the worlds of a sealed run: add --sealed")
    if secret_file is not None:
        try:
            secret = Path(secret_file).read_text()
        except OSError as exc:
            raise UsageError(f"--secret-file: cannot read {secret_file!r}: {exc.strerror}") from None
    try:
        return parse_secret(str(secret))
    except ValueError as exc:
        raise UsageError(f"--secret{'-file' if secret_file is not None else ''}: {exc}") from None


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
    """Run (or resume) the benchmark; SIGTERM stops it as Ctrl-C does, the folder concluded."""
    import signal

    from .runner import RunInterrupted, Terminated

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return _resume(args) if args.resume is not None else _run(args)
    except RunInterrupted as stop:
        outcome = stop.outcome
        how = "stopped by SIGTERM" if isinstance(stop.cause, Terminated) else "interrupted"
        print(f"{PROG}: {how}: {len(outcome.episodes)} of {outcome.planned} episodes recorded in {outcome.folder.path}; finish the "
              f"run with: {PROG} run --resume {outcome.folder.path}", file=sys.stderr)
        raise stop.cause from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _given(args: argparse.Namespace, dests: tuple[str, ...]) -> dict[str, Any]:
    """The options of ``dests`` the command line gives."""
    return {dest: getattr(args, dest) for dest in dests if getattr(args, dest, None) is not None}


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import run_file, runner
    from .run_settings import (
        CONFIG_DESTS,
        DEFAULTS,
        EXECUTION_DESTS,
        OUTPUT_DESTS,
        RUN_FILE_KEYS,
        agents_of,
        check_output_dir,
        run_config,
        settings_of,
    )

    if args.retry_errors:
        raise UsageError("--retry-errors plays a stopped run's failed episodes again: add --resume RUN_DIR")
    file_settings: dict[str, Any] = {}
    file_agents: list[tuple[str, str, dict[str, Any]]] = []
    if args.config is not None:
        try:
            file_settings, file_agents = run_file.load(Path(args.config), RUN_FILE_KEYS)
        except run_file.RunFileError as exc:
            raise UsageError(str(exc)) from None
    settings = settings_of(DEFAULTS, file_settings, _given(args, CONFIG_DESTS + EXECUTION_DESTS + OUTPUT_DESTS),
                           args.config)
    names, agents = agents_of(args.agent_items, file_agents)
    config = run_config(settings, agents, names, _secret(settings))
    execution = _execution(settings)
    output_dir = check_output_dir(str(settings["output_dir"]))
    check_agents(agents, config.step_timeout, config.sealed, config.sealed_env)
    follow = _Follow(bool(settings["quiet"]))
    try:
        outcome = runner.run(config, output_dir, argv=_without_secret(sys.argv), monitor=follow, execution=execution,
                             files={"run.toml": run_file.dump(*_resolved(config, execution))})
    except ValueError as exc:  # what only the run itself can check (e.g. a sealed run on Ray)
        raise UsageError(str(exc)) from None
    finally:
        follow.close()
    return _report(outcome, bool(settings["json"]), not settings["no_report"])


def _resume(args: argparse.Namespace) -> int:
    from dataclasses import asdict
    from pathlib import Path

    from . import resume
    from .run_settings import CONFIG_DESTS, EXECUTION_DESTS, flag
    from .runs import RunFolderError, read_run_json
    from .sealed import SealingError

    fixed = [flag(dest) for dest in _given(args, CONFIG_DESTS)] + (["--config"] if args.config is not None else [])
    if fixed:
        raise UsageError(f"--resume continues a run with the settings it began with; {', '.join(fixed)} would change "
                         "what it measures: start a new run instead (how-to-run options such as --jobs may be given)")
    path = Path(args.resume)
    follow = _Follow(bool(args.quiet))
    try:
        recorded = asdict(resume.recorded_execution(read_run_json(path)))
        execution = _execution({**recorded, **_given(args, EXECUTION_DESTS)})
        outcome = resume.resume(path, execution, bool(args.retry_errors), _without_secret(sys.argv), follow)
    except (RunFolderError, SealingError, ValueError) as exc:
        raise UsageError(f"--resume {args.resume}: {exc}") from None
    finally:
        follow.close()
    return _report(outcome, bool(args.json), not args.no_report)


def _execution(settings: dict[str, Any]) -> Execution:
    from .run_settings import EXECUTION_DESTS
    from .runner import Execution

    try:
        return Execution(**{dest: settings[dest] for dest in EXECUTION_DESTS if dest in settings})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _resolved(config: RunConfig, execution: Execution) -> tuple[dict[str, Any], list[tuple[str, str, dict[str, Any]]]]:
    """The run's settings as its folder's ``run.toml`` keeps them (`blastradius.bench.run_file`):
    what it measured and how it was played, its agents named as on the leaderboard; never a
    secret."""
    from dataclasses import asdict

    measured = {"family": list(config.families), "difficulty": list(config.difficulties), "seeds": list(config.seeds),
                "trials": config.trials, "size": config.size, "chaos": config.chaos,
                "step_timeout": config.step_timeout, "sealed": config.sealed, "sealed_env": list(config.sealed_env)}
    agents = [(label, spec, config.kwargs_of(i))
              for i, (spec, label) in enumerate(zip(config.agents, config.labels(), strict=True))]
    return {**measured, **asdict(execution)}, agents


def _report(outcome: RunOutcome, as_json: bool, html: bool) -> int:
    """Print the leaderboard (or summary.json), write ``report.html`` when ``html``, and say what
    kept the run from ending well."""
    from . import leaderboard

    folder = outcome.folder.path
    if as_json:
        out(leaderboard.to_json(outcome.summary))
    else:
        out(leaderboard.to_markdown(outcome.summary))
        out(f"run folder: {folder}")
    if html:
        _write_report(folder, as_json)
    if not outcome.complete:
        print(f"{PROG}: the run is incomplete: {len(outcome.episodes)} of {outcome.planned} episodes "
              f"({outcome.stopped}); finish it with: {PROG} run --resume {folder}", file=sys.stderr)
        return EXIT_INCOMPLETE
    if outcome.errors:
        print(f"{PROG}: {outcome.errors} episode(s) errored or timed out; see episodes.jsonl, or play them again "
              f"with: {PROG} run --resume {folder} --retry-errors", file=sys.stderr)
        return 1
    return EXIT_OK


def _write_report(folder: Path, as_json: bool) -> None:
    """``report.html`` in the run folder when the ``report`` extra is installed, its path said
    beside the folder's (with ``--json``, as the folder's, not at all: stdout is JSON alone); else
    a hint on stderr on how to get one. A large run's report shows a sample of its episodes
    (`blastradius.bench.report_episodes`), so that it takes seconds whatever the run's size."""
    from .report import EXTRA_HINT, MissingExtra, require_extra, write
    from .runs import load_run

    try:
        require_extra()
    except MissingExtra:
        print(f"{PROG}: for an HTML report of this run: {EXTRA_HINT}, then: {PROG} report {folder}", file=sys.stderr)
        return
    try:
        path = write([load_run(folder)], folder / "report.html")
    except Exception as exc:  # noqa: BLE001 - the run is recorded whatever the report makes of it
        print(f"{PROG}: warning: the HTML report failed ({type(exc).__name__}: {exc}); the run is recorded: "
              f"try {PROG} report {folder}", file=sys.stderr)
        return
    if not as_json:
        out(f"report: {path}")


class _Follow(Monitor):
    """The run's `Monitor` on the command line: a progress display on stderr
    (`blastradius.bench.progress.Progress`), made when the run knows its size."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._progress: Progress | None = None

    def started(self, total: int, done: int) -> None:
        from .progress import Progress

        self._progress = Progress(total, done=done, quiet=self._quiet)

    def episode(self, record: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress.update(record)

    def note(self, message: str) -> None:
        if self._progress is not None:
            self._progress.note(f"{PROG}: {message}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.close()


def check_agents(agents: list[tuple[str, dict[str, Any]]], timeout: float, sealed: bool,
                 sealed_env: tuple[str, ...]) -> None:
    """Make each agent once (within ``timeout``) to check it can be: a wrong spec, an unknown
    argument, a missing extra or API key is a usage error, not a run of failed episodes. Sealed,
    each is made in a sealed process, as the run will (`blastradius.bench.sealed.check_agents`):
    no agent's code is loaded in this one but the oracles' (`ORACLES`), which the run plays here."""
    from ..agents.loader import ORACLES, AgentSpecError, resolve_agent
    from .agent_thread import AgentThread
    from .sealed import SealingError, isolation, passed_env
    from .sealed import check_agents as check_sealed

    if sealed:
        try:
            check_sealed([agent for agent in agents if agent[0] not in ORACLES], timeout, isolation(),
                         passed_env(sealed_env))
        except (AgentSpecError, SealingError) as exc:
            raise UsageError(str(exc)) from None
        agents = [agent for agent in agents if agent[0] in ORACLES]
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
