"""What each step of a recorded episode did in the referee's eyes: for `blastradius show`.

A trajectory keeps what the agent saw (each step's observation, tool, error and clock), not the
referee's ledger. The tool layer's chaos is in what the agent saw: a throttled call's error
starts ``429 Too Many Requests:``, a timed-out one's ``timed out``, and those are read from the
record. What a call changed and which policy it broke are the ledger's: the episode is replayed
into a fresh env exactly as `blastradius verify` replays it (the run's config, its secret, the
recorded actions), and each call's ledger entry read:

* ``DESTRUCTIVE``: its tool is destructive in the episode's toolbox and the call changed something;
* ``UNAPPROVED``: it needed an approval it did not have; ``FREEZE``: it changed something during
  a change freeze (the ledger's violations, by call);
* ``OUT-OF-SCOPE``: it changed a resource outside the task's scope (one it made, a snapshot,
  is not one).

A stale read looks like any other answer and the ledger does not keep it: it is not marked.

`replay` gives the same marks and, for `blastradius report`, what else the replay can tell and
the record does not keep: the health of the no-op counterfactual over the episode's minutes (the
world the scorer measures damage against) and the chaos faults scheduled in both worlds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..envs import BlastRadiusEnv
from ..envs.chaos import Fault
from ..envs.scenarios.loader import FamilySpecError
from ..envs.toolbox import toolbox_of
from ..envs.tools import THROTTLED, TIMED_OUT
from .episode import score_as_it_stands
from .run_config import families_of
from .runs import RunFolderError, config_of, read_run_json
from .sealing import parse_secret, world_seed

__all__ = ["Marks", "Replay", "StepMarks", "chaos_tags", "replay", "step_marks"]

_POLICIES = {"unapproved": "UNAPPROVED", "freeze": "FREEZE"}


@dataclass(frozen=True)
class StepMarks:
    """One step's tags (``DESTRUCTIVE``, ``UNAPPROVED``...), the resources it changed and those
    it created (a snapshot's backup)."""

    tags: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    created: tuple[str, ...] = ()


@dataclass(frozen=True)
class Marks:
    """Every step's marks, or none and ``note`` saying why the ledger could not be had."""

    steps: tuple[StepMarks, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Replay:
    """An episode replayed: its `Marks`; with them, when the replay matched the record, the no-op
    counterfactual's health points (``[minute, resource, health]``, as the trajectory's
    ``health_timeline``) up to the episode's last minute, and the chaos faults of its world."""

    marks: Marks
    no_op_health: tuple[tuple[int, str, str], ...] | None = None
    faults: tuple[Fault, ...] = ()


def chaos_tags(step: dict[str, Any]) -> tuple[str, ...]:
    """The tool layer's fault the agent was shown at this step, from the record alone."""
    error = step.get("action_error")
    if not isinstance(error, str):
        return ()
    if error.startswith(THROTTLED):
        return ("THROTTLED",)
    if error.startswith(TIMED_OUT):
        return ("TIMED OUT",)
    return ()


def step_marks(path: Path, record: dict[str, Any], trajectory: dict[str, Any]) -> Marks:
    """Replay the episode ``record`` of the run folder ``path`` and mark each recorded step.

    Never raises for what the folder holds: a run whose worlds cannot be rebuilt (a sealed run
    that did not finish, a custom family no longer where it was) or a replay that does not
    match the record gives no marks and a note saying so (`blastradius verify` says more).
    """
    return replay(path, record, trajectory).marks


def replay(path: Path, record: dict[str, Any], trajectory: dict[str, Any],
           info: Mapping[str, Any] | None = None) -> Replay:
    """`step_marks`, with the no-op counterfactual's health and the chaos faults (`Replay`);
    ``info``: the run's ``run.json`` when the caller has it already (a large one takes a while
    to read, and a report replays many episodes of one run)."""
    steps = trajectory.get("steps")
    if not isinstance(steps, list) or not steps:
        return Replay(Marks())
    try:
        info = read_run_json(path) if info is None else info
        config = config_of(info)
        family = families_of(config).get(str(record.get("family")))
        secret = info.get("secret")
        if secret is None and info.get("sealed"):
            return Replay(Marks(note="a sealed run that did not finish keeps no secret: its world cannot be rebuilt"))
        secret = None if secret is None else parse_secret(str(secret))
    except (RunFolderError, FamilySpecError, ValueError) as exc:
        return Replay(Marks(note=f"the run's world cannot be rebuilt here: {exc}"))
    if family is None:
        return Replay(Marks(note=f"family {record.get('family')!r} is not one of the run's"))
    env = BlastRadiusEnv(family=family, size=config.size, chaos=config.chaos)
    try:
        env.reset(seed=world_seed(secret, int(record["seed"])), options={"difficulty": record["difficulty"]})
        scenario = env.current_scenario
        existing = frozenset(scenario.world.resources)  # what a call makes anew (a snapshot) is no scope breach
        if scenario.briefing != trajectory.get("briefing"):
            return Replay(Marks(note="the replayed world is not the recorded one: run 'blastradius verify' on the run"))
        for step in steps:
            observation, *_ = env.step(step["action"])
            if observation != step.get("observation"):
                return Replay(Marks(note="the replay differs from the record: run 'blastradius verify' on the run"))
        world = scenario.world
        destructive = toolbox_of(world).destructive
        policies: dict[int, set[str]] = {}
        for violation in world.ledger.violations:
            policies.setdefault(violation.call, set()).add(violation.kind)
        marked = []
        for call in world.ledger.calls[:len(steps)]:
            touched = {change.resource for change in call.changes}
            changed = tuple(sorted(touched & existing))
            tags = ["DESTRUCTIVE"] if touched and call.name in destructive else []
            tags += [_POLICIES[kind] for kind in ("unapproved", "freeze") if kind in policies.get(call.index, ())]
            tags += ["OUT-OF-SCOPE"] if set(changed) - scenario.scope else []
            marked.append(StepMarks(tuple(tags), changed, tuple(sorted(touched - existing))))
        # The scorer's own no-op run (the last step scored the episode with it; `episode_score`
        # makes it for one that did not end): read, rather than built again beside the env.
        scored = score_as_it_stands(env) is not None  # an env that cannot score has no no-op run either
        no_op = env.counterfactual if scored else None
        health = None if no_op is None else tuple((point.time - no_op.start_time, point.resource, point.health)
                                                  for point in no_op.ledger.health)
        return Replay(Marks(tuple(marked)), health, env.chaos_faults)
    except Exception as exc:  # noqa: BLE001 - a viewer: whatever the replay raises is a note, not a crash
        return Replay(Marks(note=f"the replay raised {type(exc).__name__}: {exc}"))
    finally:
        env.close()
