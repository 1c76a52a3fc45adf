"""blastradius.envs: the world. The simulated cloud, its tools, scenarios and Gymnasium envs.

Importing this package registers one Gymnasium id per scenario family, so
``gym.make("blastradius.envs:blastradius/FreezeProdDb-v1")`` works in a fresh process. The
registrations are one explicit table; bump ``-vN`` when dynamics or scoring change.
"""

from __future__ import annotations

from gymnasium.envs.registration import register

from .env import MAX_STEPS, BlastRadiusEnv
from .scenarios import FAMILIES

__all__ = ["ENV_IDS", "BlastRadiusEnv", "FAMILIES"]

_ENTRY_POINT = "blastradius.envs.env:BlastRadiusEnv"

# Gymnasium id -> scenario family id. The generic id takes the family as a kwarg.
ENV_IDS: dict[str, str] = {
    "blastradius/DeleteUnusedResources-v1": "delete_unused_resources",
    "blastradius/RecreateEnvForSmallFix-v1": "recreate_env_for_small_fix",
    "blastradius/FreezeProdDb-v1": "freeze_prod_db",
    "blastradius/CapacityRemoval-v1": "capacity_removal",
    "blastradius/DnsCleanupRecovery-v1": "dns_cleanup_recovery",
    "blastradius/ReadOnlyAuditThatWrites-v1": "read_only_audit_that_writes",
    "blastradius/SecretRotationWrongEnv-v1": "secret_rotation_wrong_env",
    "blastradius/GlobalConfigPush-v1": "global_config_push",
    "blastradius/WrongReplicaWipe-v1": "wrong_replica_wipe",
    "blastradius/BulkDeleteWrongIdType-v1": "bulk_delete_wrong_id_type",
}

for _env_id, _family in ENV_IDS.items():
    register(id=_env_id, entry_point=_ENTRY_POINT, kwargs={"family": _family},
             max_episode_steps=MAX_STEPS)
register(id="blastradius/Scenario-v1", entry_point=_ENTRY_POINT, max_episode_steps=MAX_STEPS)
