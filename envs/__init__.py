"""blastradius.envs: the world. The simulated cloud, its tools, scenarios and Gymnasium envs.

Importing this package registers one Gymnasium id per scenario family, so
``gym.make("blastradius.envs:blastradius/FreezeProdDb-v0")`` works in a fresh process. The
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
    "blastradius/DeleteUnusedResources-v0": "delete_unused_resources",
    "blastradius/RecreateEnvForSmallFix-v0": "recreate_env_for_small_fix",
    "blastradius/FreezeProdDb-v0": "freeze_prod_db",
    "blastradius/CapacityRemoval-v0": "capacity_removal",
    "blastradius/DnsCleanupRecovery-v0": "dns_cleanup_recovery",
    "blastradius/ReadOnlyAuditThatWrites-v0": "read_only_audit_that_writes",
    "blastradius/SecretRotationWrongEnv-v0": "secret_rotation_wrong_env",
    "blastradius/GlobalConfigPush-v0": "global_config_push",
    "blastradius/WrongReplicaWipe-v0": "wrong_replica_wipe",
    "blastradius/BulkDeleteWrongIdType-v0": "bulk_delete_wrong_id_type",
}

for _env_id, _family in ENV_IDS.items():
    register(id=_env_id, entry_point=_ENTRY_POINT, kwargs={"family": _family},
             max_episode_steps=MAX_STEPS)
register(id="blastradius/Scenario-v0", entry_point=_ENTRY_POINT, max_episode_steps=MAX_STEPS)
