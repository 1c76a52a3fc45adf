"""blastradius.envs: the world. The simulated cloud, its tools, scenarios and Gymnasium envs.

Importing this package registers one Gymnasium id per scenario family, so
``gym.make("blastradius.envs:blastradius/FreezeProdDb-v2")`` works in a fresh process. The
registrations are one explicit table; bump ``-vN`` when dynamics or scoring change.

A custom family plays under the generic id (``gym.make("blastradius/Scenario-v2",
family="path/to/file.py:FAMILY")``) or under an id of its own that `register_family` gives it,
by default in the namespace ``custom``: ``custom/<EnvName>-v1`` (``custom/CrashedWorker-v1`` for
the family ``crashed_worker``). ``blastradius/`` is the built-in families' own namespace, and
``custom/`` says the family is not one of them. `family_env_id` is that id, and the one a run
records for the family's episodes (`blastradius.bench.episode.env_id`).

An id's ``max_episode_steps`` is its family's step budget (`Family.step_budget`); the generic id's
is the longest built-in budget, and its env truncates each episode at the family's own.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from .env import MAX_STEPS, BlastRadiusEnv
from .scenarios import FAMILIES, Family
from .scenarios.loader import resolve_family, spec_of

__all__ = ["CUSTOM_NAMESPACE", "ENV_IDS", "MAX_STEPS", "BlastRadiusEnv", "FAMILIES", "family_env_id", "register_family"]

CUSTOM_NAMESPACE = "custom"

_ENTRY_POINT = "blastradius.envs.env:BlastRadiusEnv"

# Gymnasium id -> scenario family id. The generic id takes the family as a kwarg.
ENV_IDS: dict[str, str] = {
    "blastradius/DeleteUnusedResources-v2": "delete_unused_resources",
    "blastradius/RecreateEnvForSmallFix-v2": "recreate_env_for_small_fix",
    "blastradius/FreezeProdDb-v2": "freeze_prod_db",
    "blastradius/CapacityRemoval-v2": "capacity_removal",
    "blastradius/DnsCleanupRecovery-v2": "dns_cleanup_recovery",
    "blastradius/ReadOnlyAuditThatWrites-v2": "read_only_audit_that_writes",
    "blastradius/SecretRotationWrongEnv-v2": "secret_rotation_wrong_env",
    "blastradius/GlobalConfigPush-v2": "global_config_push",
    "blastradius/WrongReplicaWipe-v2": "wrong_replica_wipe",
    "blastradius/BulkDeleteWrongIdType-v2": "bulk_delete_wrong_id_type",
}

# Each family's id is limited to the family's step budget. The generic id plays any family, and
# the env truncates each episode at its family's budget itself: its TimeLimit is only the backstop
# of the longest built-in budget (a custom family with a longer one gets its own id: `register_family`).
for _env_id, _family in ENV_IDS.items():
    register(id=_env_id, entry_point=_ENTRY_POINT, kwargs={"family": _family},
             max_episode_steps=FAMILIES[_family].step_budget)
register(id="blastradius/Scenario-v2", entry_point=_ENTRY_POINT,
         max_episode_steps=max(family.step_budget for family in FAMILIES.values()))

_BUILT_IN_IDS = {family: env_id for env_id, family in ENV_IDS.items()}


def family_env_id(family: Family, version: int = 1) -> str:
    """The Gymnasium id ``family`` goes by: a built-in's own (at the default ``version``,
    whatever version the built-in ids are at), else ``custom/<EnvName>-v<version>``, the id
    `register_family` gives it by default."""
    if version == 1 and FAMILIES.get(family.id) == family:
        return _BUILT_IN_IDS[family.id]
    return f"{CUSTOM_NAMESPACE}/{family.env_name}-v{version}"


def register_family(family: str | Family, env_id: str | None = None, version: int = 1) -> str:
    """Give a scenario family a Gymnasium id of its own, so ``gym.make(env_id)`` plays it; return the id.

    ``family`` is a spec as ``blastradius run --family`` takes it (``path/to/file.py:NAME``,
    ``module:NAME``, an entry point's name, a built-in id) or a `Family`. ``env_id`` defaults to
    `family_env_id` of ``version``. The registration holds the family as a spec string that
    names it (`blastradius.envs.scenarios.loader.spec_of`; a file's path made absolute), so the
    id's spec is JSON and works from any directory. A family no string names (one defined in
    ``__main__``) is held as the object: the id works in this process only.

    Registering the same family under the same id again does nothing (a module may call this
    at import, like the built-in table above).

    Raises:
        FamilySpecError: ``family`` is a spec that names no family (a ValueError).
        ValueError: ``env_id`` is registered already, to another family or env; or ``version``
            is not a positive integer.
        TypeError: ``family`` is neither a spec string nor a `Family`.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    resolved = resolve_family(family) if isinstance(family, str) else family
    if not isinstance(resolved, Family):
        raise TypeError(f"family must be a family spec string or a Family, got {type(family).__name__}")
    env_id = env_id or family_env_id(resolved, version)
    held = spec_of(resolved) or (family if isinstance(family, str) else resolved)
    existing = registry.get(env_id)
    if existing is not None:
        if existing.entry_point == _ENTRY_POINT and _registered_family(existing.kwargs.get("family")) == resolved:
            return env_id
        other = existing.kwargs.get("family")
        taken = other.id if isinstance(other, Family) else other or existing.entry_point
        raise ValueError(f"{env_id} is registered already, to {taken!r}, not to family {resolved.id!r}; pass "
                         f"another env_id, or another version (the default id is {family_env_id(resolved, version)})")
    register(id=env_id, entry_point=_ENTRY_POINT, kwargs={"family": held}, max_episode_steps=resolved.step_budget)
    return env_id


def _registered_family(held: object) -> Family | None:
    """The family a registration holds (None: none, or a spec that no longer loads)."""
    if isinstance(held, str):
        try:
            return resolve_family(held)
        except ValueError:
            return None
    return held if isinstance(held, Family) else None
