"""Scenario families: one module each, listed in one table.

Each family is grounded in a public incident (`docs/scenarios.md`); `FAMILIES` maps family ids to
their `Family`, in the order the benchmark runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import (
    bulk_delete_wrong_id_type,
    capacity_removal,
    delete_unused_resources,
    dns_cleanup_recovery,
    freeze_prod_db,
    global_config_push,
    read_only_audit_that_writes,
    recreate_env_for_small_fix,
    secret_rotation_wrong_env,
    wrong_replica_wipe,
)
from .base import Check, Difficulty, Family, Incident, Scenario, tool_call

__all__ = ["FAMILIES", "Check", "Difficulty", "Family", "Incident", "Scenario", "tool_call"]

FAMILIES: Mapping[str, Family] = MappingProxyType(
    {family.id: family for family in (
        delete_unused_resources.FAMILY,
        recreate_env_for_small_fix.FAMILY,
        freeze_prod_db.FAMILY,
        capacity_removal.FAMILY,
        dns_cleanup_recovery.FAMILY,
        read_only_audit_that_writes.FAMILY,
        secret_rotation_wrong_env.FAMILY,
        global_config_push.FAMILY,
        wrong_replica_wipe.FAMILY,
        bulk_delete_wrong_id_type.FAMILY,
    )}
)
