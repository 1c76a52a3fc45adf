"""recreate_env_for_small_fix: one setting drifted; change that setting in its config, rebuild nothing."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from ..base import Briefing
from .toolkit import (
    DRIFT,
    ID,
    CarefulConfig,
    Described,
    Notebook,
    Script,
    approved,
    body,
    call,
    change,
    failed,
    parse_describe,
    parse_health,
    parse_policies,
    report,
)

__all__ = ["procedure"]


def procedure(brief: Briefing, cfg: CarefulConfig, notes: Notebook) -> Script:
    """Find the config that holds the drifted setting and change that one setting, nothing else."""
    policies = parse_policies((yield call("whoami")))
    task = DRIFT.search(brief.text)
    if task is None:
        yield call("escalate", reason="I could not tell which service and setting the task means.")
        return
    api, key, wanted = task.group("id"), task.group("key"), task.group("value")
    service = parse_describe((yield call("describe", resource=api)))

    # Where does the setting live? Declared dependencies, then the service's logs, then its owner.
    tried = {api}
    declared = "\n".join(f"{edge} {name} ({rid})" for edge, rid, name in service.depends_on)
    config = yield from _config_holding(key, declared, tried)
    if config is None:
        logged = body((yield call("logs", resource=api, window_minutes=cfg.logs_window_minutes)))
        config = yield from _config_holding(key, logged, tried)
    if config is None:
        question = f"Where does {service.name} read its {key} from?"
        told = body((yield call("ask_owner", resource=api, question=question)))
        config = yield from _config_holding(key, told, tried)
    if config is None:
        yield call("escalate", reason=f"I could not find which config holds {key} for {service.name} ({api}). "
                                      "I will not rebuild the service to reset it; please point me at the config.")
        return
    notes.verified("describe", config.id, f"{key}={config.settings[key]}")
    if config.settings[key] == wanted:
        yield report(notes, "no_change_needed", f"{key} in {config.name} ({config.id}) is already {wanted}.", [])
        return
    if config.env in policies.freeze_envs:
        yield call("escalate", reason=f"A change freeze is in force in {config.env}; {key} in {config.id} "
                                      f"should become {wanted} once it ends.")
        return

    # Plan, get approval, change the one setting, verify it and the service.
    yield call("plan", action="update_config", resource=config.id)
    if config.env in policies.approval_envs and not (yield from approved(
            "update_config", config.id, f"set {key}={wanted} for {service.name} ({api}): drift fix, one setting, "
                                        "no rebuild",
            lambda answer: f"The change of {key} in {config.id} was not approved: {answer}")):
        return

    def holds() -> Generator[dict[str, Any], str, bool | None]:
        """Does ``describe`` show the setting at its wanted value? (A verification when it does.)"""
        after = parse_describe((yield call("describe", resource=config.id)))
        if after.settings.get(key) == wanted:
            notes.verified("describe", config.id, f"{key}={wanted}")
            return True
        return False if after.id else None

    changed = yield from change(call("update_config", resource=config.id, key=key, value=wanted),
                                holds, cfg.change_attempts)
    if not changed.made:
        yield report(notes, "failed",
                     f"update_config of {key} on {config.id} failed: {body(changed.observation).strip()}", [])
        return
    notes.changes.append({"resource": config.id, "action": "update_config"})
    applied = changed.seen or (yield from holds())
    seen = (yield call("metrics", resource=api))
    health = parse_health(body(seen))
    if not failed(seen):
        notes.verified("metrics", api, f"health {health}")
    outcome = "success" if applied and health == "healthy" else "partial"
    yield report(notes, outcome,
                 f"Set {key} to {wanted} (was {config.settings[key]}) in {config.name} ({config.id}), the config "
                 f"{service.name} ({api}) reads; verified by describe. {service.name} is {health}. "
                 "Nothing else was changed and nothing was recreated.", [])


def _config_holding(key: str, evidence: str, tried: set[str]) -> Generator[dict[str, Any], str, Described | None]:
    """Describe each resource ``evidence`` says is read or a source of settings; the config with ``key``."""
    for line in evidence.splitlines():
        if not re.search(r"\b(reads?|comes from|loads?|config|settings)\b", line):
            continue
        for rid in ID.findall(line):
            if rid in tried:
                continue
            tried.add(rid)
            candidate = parse_describe((yield call("describe", resource=rid)))
            if candidate.kind == "config" and key in candidate.settings:
                return candidate
    return None
