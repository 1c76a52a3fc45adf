"""The settings of ``blastradius run``, from three layers: `DEFAULTS`, a run file, the command line.

Each option's value is checked the same way whichever layer gives it (a run file's ``seeds =
"0-9"`` as the flag's ``--seeds 0-9``), and a bad one is a `UsageError` naming the option, its
layer and what to give instead. `run_config` makes the `blastradius.bench.runner.RunConfig`,
`check_output_dir` refuses an output folder that cannot be written before anything is.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_common import UsageError, positive_float, positive_int

if TYPE_CHECKING:
    from .run_config import RunConfig

__all__ = ["CONFIG_DESTS", "DEFAULTS", "EXECUTION_DESTS", "OUTPUT_DESTS", "RUN_FILE_KEYS", "agents_of",
           "check_output_dir", "flag", "run_config", "settings_of"]

CONFIG_DESTS = ("agent_items", "families", "difficulties", "seeds", "trials", "size", "chaos", "step_timeout",
                "sealed", "sealed_env", "secret", "secret_file")
"""What a run measures: fixed once it began, so ``--resume`` takes them from its ``run.json``."""
EXECUTION_DESTS = ("jobs", "executor", "ray_address", "max_cost", "max_connections")
"""How a run's episodes are played (`blastradius.bench.runner.Execution`): a resume may change them."""
OUTPUT_DESTS = ("output_dir", "json", "quiet", "no_report")
DEFAULTS: dict[str, Any] = {"jobs": 1, "executor": "local", "seeds": (0, 1, 2, 3, 4), "trials": 1,
                            "output_dir": "results/runs", "json": False, "quiet": False, "no_report": False,
                            "sealed": False,
                            "sealed_env": (), "families": (), "difficulties": ()}
"""The value of each option neither the command line nor the run file gives (absent: the
library's own default, e.g. `RunConfig`'s size; no families: every built-in one)."""

RUN_FILE_KEYS = {"family": "families", "families": "families", "difficulty": "difficulties",
                 "difficulties": "difficulties", "seeds": "seeds", "trials": "trials", "size": "size",
                 "chaos": "chaos", "step_timeout": "step_timeout", "sealed": "sealed", "sealed_env": "sealed_env",
                 "secret_file": "secret_file", "jobs": "jobs", "executor": "executor", "ray_address": "ray_address",
                 "max_cost": "max_cost", "max_connections": "max_connections", "output_dir": "output_dir",
                 "json": "json", "quiet": "quiet", "no_report": "no_report"}
"""A run file's keys (`blastradius.bench.run_file`) and the option each sets; a secret itself is
never a key (a file is shared more readily than a secret should be): use ``secret_file``."""


def flag(dest: str) -> str:
    """The command-line flag of the option ``dest``."""
    return {"agent_items": "--agent", "families": "--family", "difficulties": "--difficulty"}.get(
        dest, "--" + dest.replace("_", "-"))


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise argparse.ArgumentTypeError(f"give a string or a list of strings, not {value!r}")


def _number(check: Callable[[str], Any], kinds: tuple[type, ...]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, *kinds)):
            raise argparse.ArgumentTypeError(f"give a number, not {value!r}")
        return check(str(value))
    return convert


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"give true or false, not {value!r}")
    return value


def _choice(*choices: Any) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value not in choices or isinstance(value, bool):
            raise argparse.ArgumentTypeError(f"choose from {', '.join(map(str, choices))}, not {value!r}")
        return value
    return convert


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise argparse.ArgumentTypeError(f"give a non-empty string, not {value!r}")
    return value


def _converters() -> dict[str, Callable[[Any], Any]]:
    from .executors import EXECUTORS
    from .run_command import seeds_value

    return {"families": _strings, "difficulties": _strings, "seeds": seeds_value, "sealed_env": _strings,
            "trials": _number(positive_int, (int,)), "size": _number(positive_int, (int,)),
            "jobs": _number(positive_int, (int,)), "max_connections": _number(positive_int, (int,)),
            "step_timeout": _number(positive_float, (int, float)), "max_cost": _number(positive_float, (int, float)),
            "chaos": _choice(0, 1, 2, 3), "executor": _choice(*EXECUTORS), "sealed": _boolean, "json": _boolean,
            "quiet": _boolean, "no_report": _boolean, "output_dir": _text, "ray_address": _text, "secret_file": _text}


def settings_of(defaults: Mapping[str, Any], from_file: Mapping[str, Any], given: Mapping[str, Any],
                run_file: str | None) -> dict[str, Any]:
    """The options as the run will use them: ``given`` (the command line, already checked by its
    parser) over ``from_file`` (checked here) over ``defaults``."""
    converters = _converters()
    checked = {}
    for dest, value in from_file.items():
        try:
            checked[dest] = converters[dest](value)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"{run_file}: {flag(dest)[2:].replace('-', '_')}: {exc}") from None
    return {**defaults, **checked, **given}


def agents_of(items: Sequence[tuple[str, str]] | None,
              from_file: Sequence[tuple[str, str, dict[str, Any]]]) -> tuple[tuple[str, ...], list[tuple[str, dict[str, Any]]]]:
    """The run's agent names (empty: named by their specs) and ``(spec, kwargs)`` of each: the
    command line's ``--agent`` options when it gives any, else the run file's tables, else the
    default agents."""
    from ..agents.loader import AgentSpecError, group_agent_args
    from .run_config import DEFAULT_AGENTS

    if items:
        try:
            return (), group_agent_args(items)
        except AgentSpecError as exc:
            raise UsageError(str(exc)) from None
    if from_file:
        return tuple(name for name, _, _ in from_file), [(spec, dict(kwargs)) for _, spec, kwargs in from_file]
    return (), [(spec, {}) for spec in DEFAULT_AGENTS]


def run_config(settings: Mapping[str, Any], agents: list[tuple[str, dict[str, Any]]], names: tuple[str, ...],
               secret: str | None) -> RunConfig:
    """The run's `RunConfig`, every family and difficulty checked; a wrong one is a `UsageError`
    that lists the choices."""
    from ..envs import FAMILIES
    from ..envs.scenarios.loader import FamilySpecError, resolve_family
    from .run_config import RunConfig, check_levels

    families = tuple(settings["families"]) or tuple(FAMILIES)
    resolved = []
    for family in families:
        try:
            resolved.append(resolve_family(family))
        except FamilySpecError as exc:
            raise UsageError(f"{exc} See 'blastradius list'.") from None
    difficulties = tuple(settings["difficulties"])
    try:
        check_levels(difficulties, resolved)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if settings["sealed_env"] and not settings["sealed"]:
        raise UsageError("--sealed-env passes variables to sealed agents: add --sealed")
    optional = {key: settings[key] for key in ("size", "chaos", "step_timeout") if settings.get(key) is not None}
    try:
        return RunConfig(families=families, difficulties=("all",) if "all" in difficulties else difficulties,
                         seeds=tuple(settings["seeds"]), trials=int(settings["trials"]),
                         agents=tuple(spec for spec, _ in agents),
                         agent_kwargs=tuple(kwargs for _, kwargs in agents) if any(k for _, k in agents) else (),
                         agent_names=names, sealed=bool(settings["sealed"]), secret=secret,
                         sealed_env=tuple(settings["sealed_env"]), **optional)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_output_dir(text: str) -> Path:
    """``--output-dir`` as a path the run can create its folder in; nothing is written here.

    Raises:
        UsageError: it is a file, lies under a file, or this user cannot write where it is or
            would be created.
    """
    path = Path(text)
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == path else f"is under {str(existing)!r}, which is a file"
        raise UsageError(f"--output-dir {text!r} {where}; give a folder (it is created if missing)")
    try:  # tried, not asked (os.access says yes to root on a read-only file system); nothing is left behind
        os.rmdir(tempfile.mkdtemp(prefix=".blastradius-check-", dir=existing))
    except OSError as exc:
        raise UsageError(f"--output-dir {text!r}: cannot write in {str(existing)!r} ({exc.strerror}); give a folder "
                         "you can write to") from None
    return path
