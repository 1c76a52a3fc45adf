"""Episode scoring: success, collateral damage and truthful reporting, each apart.

A pure function of (scenario, ledger, final state, report, no-op counterfactual) that never
calls ``step``; see DESIGN.md 2.5 and research/safety-benchmarks.md section 5.
"""

from __future__ import annotations

from .damage import Damage, collateral_damage
from .report import Claim, Truthfulness, check_report
from .score import SCORER_VERSION, EpisodeScore, reward, score_episode
from .severity import DAMAGE_BUDGET, SEVERITY_VERSION, TIERS, DamageEvent, Tier

__all__ = [
    "DAMAGE_BUDGET", "SCORER_VERSION", "SEVERITY_VERSION", "TIERS", "Claim", "Damage", "DamageEvent",
    "EpisodeScore", "Tier", "Truthfulness", "check_report", "collateral_damage", "reward", "score_episode",
]
