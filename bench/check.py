"""``blastradius check``: does a scenario family hold up, as the project's tests hold up the built-in ones?

A family declares the referee's knowledge: goals, scope, the consequence of the reckless path
and two scripted paths. A run's numbers rest on that declaration, so a family author checks it
first. For each seed, each difficulty level and chaos off and at the default level (`CHAOS`),
each on a fresh episode of the family's env:

* ``reference``: the reference path, replayed as `blastradius.envs.tools.replay` plays it,
  ends the episode within its step limit as a safe success with no collateral damage, every
  report claim supported and nothing material left undisclosed (an oracle whose report the
  referee cannot back would make every honest agent's report suspect);
* ``reckless``: the reckless path, replayed the same way, brings about the family's documented
  consequence and is not a safe success;
* ``noop``: doing nothing (the ``noop`` agent's honest report) neither succeeds nor earns reward;
  skipped when it succeeds where doing nothing is a right answer (``needs_action`` False);

and once per family, Gymnasium's env checker passes on the family's env, a warning counting as
a failure. Every failure comes with its reasons: the lines of
`blastradius.envs.scoring.EpisodeScore.explain` that say what went wrong, honesty flags, and
the path's calls that failed.

Only scripted paths are played, with no agent and no thread: the built-in families take a few
seconds each at 5 seeds. `check_family` checks one family, `render` prints the results and
`run_cli` is the command.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tabulate import tabulate

from ..agents.noop import NoopAgent
from ..envs import FAMILIES, BlastRadiusEnv
from ..envs.chaos import DEFAULT_CHAOS
from ..envs.scenarios import Family, Scenario
from ..envs.scenarios.loader import FamilySpecError, resolve_family
from ..envs.scoring import EpisodeScore, reward
from ..envs.tools import is_transient, replay
from ..envs.topology import DEFAULT_SIZE
from .cli_common import EXIT_OK, UsageError, out
from .run_config import MAX_SIZE, MIN_SIZE, check_levels

__all__ = ["ALL", "CHAOS", "CHECKS", "DEFAULT_SEEDS", "GENERIC_ID", "Failure", "FamilyCheck", "Row", "check_family",
           "render", "resolve", "run_cli"]

CHECKS = ("reference", "reckless", "noop")
"""The checks of every episode, in table order."""
CHAOS = (0, DEFAULT_CHAOS)
"""Chaos off, and the level a run plays at by default."""
DEFAULT_SEEDS = tuple(range(5))
ALL = "all"
"""The family spec that names every built-in family."""
GENERIC_ID = "blastradius/Scenario-v2"
"""The Gymnasium id that plays any family given as its ``family`` argument."""

# Lines of `EpisodeScore.explain` that report nothing wrong.
_FINE = ("goal met", "constraint kept", "claim supported")
_FLAGS = ("false_success_claim", "hidden_destructive_action", "fabricated", "false_unrecoverable")


@dataclass(frozen=True)
class Failure:
    """One check of one episode that failed, and why."""

    check: str
    difficulty: str
    chaos: int
    seed: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """The checks of one difficulty level at one chaos level: by check, how many episodes
    passed and how many were checked (``noop``'s skipped ones aside)."""

    difficulty: str
    chaos: int
    passed: dict[str, int]
    checked: dict[str, int]
    skipped: int = 0


@dataclass
class FamilyCheck:
    """Everything `check_family` found about one family."""

    family: str
    rows: list[Row] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    env_checker: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every check of every episode passed, and the env checker too."""
        return not self.failures and not self.env_checker


def check_family(family: Family, seeds: Sequence[int] = DEFAULT_SEEDS, difficulties: Sequence[str] = (),
                 size: int = DEFAULT_SIZE) -> FamilyCheck:
    """Check ``family`` on ``seeds`` x ``difficulties`` (empty: every level) x `CHAOS`, with
    topologies of about ``size`` resources. A family that raises (in its build, a check or a
    path) fails the episode with the exception's place; it never stops the other episodes.

    Raises:
        ValueError: a difficulty the family does not have.
    """
    levels = [family.difficulty(name) for name in difficulties] or [d.name for d in family.difficulties]
    result = FamilyCheck(family.id, env_checker=_env_checker(family, size))
    env = BlastRadiusEnv(family=family, size=size)
    try:
        for difficulty in levels:
            for chaos in CHAOS:
                passed, checked, skipped = dict.fromkeys(CHECKS, 0), dict.fromkeys(CHECKS, 0), 0
                for seed in seeds:
                    for check in CHECKS:
                        try:
                            verdict = _CHECKS[check](env, seed, difficulty, chaos)
                        except Exception as exc:  # noqa: BLE001 - the family's bug is this episode's failure
                            verdict = _Verdict(reasons=(_raised(exc),))
                        if verdict.skipped:
                            skipped += 1
                            continue
                        checked[check] += 1
                        if verdict.reasons:
                            result.failures.append(Failure(check, difficulty, chaos, seed, verdict.reasons))
                        else:
                            passed[check] += 1
                result.rows.append(Row(difficulty, chaos, passed, checked, skipped))
    finally:
        env.close()
    return result


# -- the checks of one episode ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
    """One check of one episode: why it failed (empty: it passed), or that it was skipped."""

    reasons: tuple[str, ...] = ()
    skipped: bool = False


def _episode(env: BlastRadiusEnv, seed: int, difficulty: str, chaos: int) -> Scenario:
    env.reset(seed=seed, options={"difficulty": difficulty, "chaos": chaos})
    if env.scenario is None:
        raise RuntimeError("the env has no scenario after reset()")
    return env.scenario


def _reference(env: BlastRadiusEnv, seed: int, difficulty: str, chaos: int) -> _Verdict:
    scenario = _episode(env, seed, difficulty, chaos)
    replay(scenario.world, scenario.reference)
    score = env.episode_score()
    truth = score.truthfulness
    lines = score.explain()
    reasons = _steps(env, scenario)
    if scenario.world.session.finish is None:
        reasons.append("the path ended without ending the episode: end it with submit_report (or escalate)")
    if not (score.safe_success and score.damage.total == 0 and not truth.undisclosed
            and all(claim.verdict == "supported" for claim in truth.claims)):
        reasons += _problems(score, lines) or ["not a safe success"]
    if reasons:
        reasons += _failed_calls(scenario)
    return _Verdict(tuple(reasons))


def _reckless(env: BlastRadiusEnv, seed: int, difficulty: str, chaos: int) -> _Verdict:
    scenario = _episode(env, seed, difficulty, chaos)
    replay(scenario.world, scenario.reckless)
    reasons = _steps(env, scenario)
    if not scenario.consequence.holds(scenario.world):
        reasons.append(f"the documented consequence did not happen: {scenario.consequence.description}")
    if env.episode_score().safe_success:
        reasons.append("the reckless path is a safe success: it should do the harm its consequence describes")
    if reasons:
        reasons += _failed_calls(scenario)
    return _Verdict(tuple(reasons))


def _noop(env: BlastRadiusEnv, seed: int, difficulty: str, chaos: int) -> _Verdict:
    scenario = _episode(env, seed, difficulty, chaos)
    replay(scenario.world, [NoopAgent().act(scenario.briefing)])
    score = env.episode_score()
    reasons = []
    if score.success and not scenario.needs_action:
        return _Verdict(skipped=True)  # a right answer there, when its report says enough
    if score.success:
        reasons.append("doing nothing succeeded: every goal and constraint holds without any action "
                       "(if that is a right answer, build the scenario with needs_action=False)")
    elif reward(score) > 0:
        held = ", ".join(text for text, met in score.goals if met)
        reasons.append(f"doing nothing earned a reward of {reward(score):g}: goals that hold without any action "
                       f"({held}) are partial credit; make them constraints")
    return _Verdict(tuple(reasons))


_CHECKS: dict[str, Callable[[BlastRadiusEnv, int, str, int], _Verdict]] = {
    "reference": _reference, "reckless": _reckless, "noop": _noop}


def _problems(score: EpisodeScore, lines: list[str]) -> list[str]:
    """What ``score`` found wrong: its explanation's lines but those of goals met, constraints
    kept, claims supported and harmless (zero-weight) events, then its honesty flags."""
    harmless = tuple(f"damage {event.tier} {event.resource}:" for event in score.damage.events if event.damage == 0)
    problems = [line for line in lines
                if not line.startswith(_FINE) and not (harmless and line.startswith(harmless))]
    truth = score.truthfulness
    return problems + [f"honesty flag: {flag}" for flag in _FLAGS if getattr(truth, flag)]


def _steps(env: BlastRadiusEnv, scenario: Scenario) -> list[str]:
    """A path longer than an episode's step limit would be cut short in a run."""
    sent = len(scenario.world.ledger.calls)
    if sent <= env.max_steps:
        return []
    return [f"the path took {sent} calls (re-sends included), more than an episode's {env.max_steps} steps: "
            "a run would cut it short"]


def _failed_calls(scenario: Scenario) -> list[str]:
    """The path's calls that failed for a reason of their own (not the chaos of the tool layer)."""
    return [f"call {call.index} {call.name or '?'} failed: {call.error}"
            for call in scenario.world.ledger.calls if call.error and not is_transient(call.error)]


def _raised(exc: Exception) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {frame.filename}:{frame.lineno}" if frame else ""
    return f"raised {type(exc).__name__}: {exc}{where}"


def _env_checker(family: Family, size: int) -> tuple[str, ...]:
    """What Gymnasium's env checker says of the family's env, made under the generic id (`GENERIC_ID`)
    so that it has the spec the checker makes its render modes from: empty when it passes silently."""
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    try:
        env = gym.make(GENERIC_ID, family=family, size=size).unwrapped
    except Exception as exc:  # noqa: BLE001 - the family's env cannot even be made: that is the finding
        return (f"making the env {_raised(exc)}",)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env)
    except Exception as exc:  # noqa: BLE001 - the checker's failure is the family's finding
        return (f"the env checker {_raised(exc)}",)
    finally:
        env.close()
    return tuple(dict.fromkeys(f"the env checker warned: {warning.message}" for warning in caught))


# -- the command ------------------------------------------------------------------------------------


def resolve(specs: Sequence[str]) -> list[Family]:
    """The families ``specs`` name (`ALL`, or none: every built-in one), each once, in order.

    Raises:
        UsageError: a spec names no family, or loading it raised.
    """
    families: dict[str, Family] = {}
    for spec in specs or [ALL]:
        try:
            found = list(FAMILIES.values()) if spec == ALL else [resolve_family(spec)]
        except FamilySpecError as exc:
            raise UsageError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a user's family module that does not run
            raise UsageError(f"family {spec!r}: loading it {_raised(exc)}") from None
        for family in found:
            families.setdefault(family.id, family)
    return list(families.values())


def render(checks: Sequence[FamilyCheck]) -> str:
    """The table (one row per family, level and chaos; a column per check, passed/checked), the
    env checker's verdicts, each failure with its reasons, and a verdict."""
    table = [[check.family, row.difficulty, row.chaos, *(_cell(row, name) for name in CHECKS)]
             for check in checks for row in check.rows]
    parts = [tabulate(table, headers=["family", "level", "chaos", *CHECKS], tablefmt="github")]
    parts.append("\n".join(f"{check.family}: Gymnasium env checker "
                           + ("passed" if not check.env_checker else "FAILED\n    " + "\n    ".join(check.env_checker))
                           for check in checks))
    if any(row.skipped for check in checks for row in check.rows):
        parts.append("noop is skipped where it succeeds and the scenario says doing nothing is a right answer "
                     "(needs_action=False).")
    failures = [_finding("FAILED", check.family, failure) for check in checks for failure in check.failures]
    if failures:
        parts.append("\n".join(failures))
    failed = [check.family for check in checks if not check.ok]
    parts.append(f"FAILED: {', '.join(failed)}" if failed
                 else f"All checks passed: {len(checks)} famil{'y' if len(checks) == 1 else 'ies'}.")
    return "\n\n".join(parts) + "\n"


def _cell(row: Row, check: str) -> str:
    """``passed/checked``; ``noop`` says how many it skipped, or only that, when it skipped all."""
    counted = f"{row.passed[check]}/{row.checked[check]}"
    if check != "noop" or not row.skipped:
        return counted
    return f"{counted} ({row.skipped} skipped)" if row.checked[check] else "skipped"


def _finding(what: str, family: str, failure: Failure) -> str:
    head = f"{what} {failure.check}: {family}/{failure.difficulty} chaos {failure.chaos} seed {failure.seed}"
    return "\n    ".join([head, *failure.reasons])


def run_cli(specs: Sequence[str], seeds: Sequence[int] = DEFAULT_SEEDS, difficulties: Sequence[str] = (),
            size: int = DEFAULT_SIZE) -> int:
    """Check the families ``specs`` name on ``difficulties`` (empty or ``all``: every level) and
    print the results; 0 when every check passed, 1 when one failed.

    Raises:
        UsageError: a bad family spec, a level some family lacks, or a size out of bounds.
    """
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise UsageError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} resources, got {size}")
    families = resolve(specs)
    try:
        check_levels(difficulties, families)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if ALL in difficulties:
        difficulties = ()
    checks = [check_family(family, seeds, difficulties, size) for family in families]
    out(render(checks), end="")
    return EXIT_OK if all(check.ok for check in checks) else 1
