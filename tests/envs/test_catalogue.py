"""The scenario catalogue a person reads is generated from the families' own metadata."""

from __future__ import annotations

from pathlib import Path

from blastradius.envs import ENV_IDS, FAMILIES
from blastradius.envs.scenarios.catalogue import render_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def test_docs_scenarios_md_is_the_generated_catalogue() -> None:
    ids = {family: env_id for env_id, family in ENV_IDS.items()}
    assert DOCS.read_text() == render_markdown(FAMILIES.values(), ids), (
        "docs/scenarios.md is stale: regenerate it with 'blastradius list --markdown > docs/scenarios.md'")


def test_every_family_documents_its_incident_and_levels() -> None:
    for family in FAMILIES.values():
        assert family.incident.url.startswith("https://"), family.id
        assert family.incident.date[:4].isdigit(), family.id
        assert family.tests and family.title, family.id
        assert len(family.difficulties) >= 3, family.id
        assert len({d.evidence for d in family.difficulties}) == len(family.difficulties), family.id
        assert all(d.owners for d in family.difficulties), f"{family.id}: say what owners know at every level"
