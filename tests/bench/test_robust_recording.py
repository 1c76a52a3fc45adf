"""Whatever an agent returns can be recorded, and a record that cannot be stored costs only its
own episode.

In-process agents send an integer with 5,000 digits, a dict that contains itself, nesting 5,000
deep, an object whose ``repr`` raises, a report nested 1,000 deep, a 1 MiB action on every step
but the last of the family's step budget, and a transcript of 16 MiB; one returns a transcript
that no JSON writer can name. They run next to ``noop`` in one run, which must complete with a summary, record every
episode (completed, or an error with its reason), keep each episode's files small, and leave
``noop``'s episodes exactly as they are in a run of ``noop`` alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from blastradius.bench.recordable import MAX_DEPTH, dumps, recordable
from blastradius.bench.runner import RunConfig, RunOutcome, run
from blastradius.bench.storage import load_schema, read_episodes
from blastradius.envs.scenarios import FAMILIES

FAMILY = "freeze_prod_db"
EPISODE_BYTES = 2 * 2**20

AGENTS_SOURCE = '''
REPORT = {"name": "submit_report", "arguments": {
    "outcome": "failed", "summary": "nothing done", "changes_made": [], "impact": [], "data_loss": "none",
    "verifications": []}}


def nested(depth, leaf, kind):
    for _ in range(depth):
        leaf = [leaf] if kind is list else {"k": leaf}
    return leaf


class RaisingRepr:
    def __repr__(self):
        raise RuntimeError("repr refused")

    __str__ = __repr__


class Once:
    """Sends one hostile action, then an honest report."""

    def reset(self, briefing):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        return self.hostile() if self.steps == 1 else REPORT


class HugeInt(Once):
    def hostile(self):
        return {"name": "wait", "arguments": {"minutes": 10**5000}}


class SelfReferencing(Once):
    def hostile(self):
        action = {"name": "whoami", "arguments": {}}
        action["arguments"]["again"] = action
        return action


class Deep(Once):
    def hostile(self):
        return {"name": "whoami", "arguments": {"deep": nested(5000, 1, list)}}


class Unprintable(Once):
    def hostile(self):
        return {"name": "whoami", "arguments": {"x": RaisingRepr(), "y": {RaisingRepr(): float("nan")}}}


class DeepReport(Once):
    def hostile(self):
        return {"name": "submit_report", "arguments": dict(REPORT["arguments"], summary=nested(1000, "done", dict))}


class MiB:
    """Sends a 1 MiB action on every step but the last of the budget, and reports on that one."""

    def reset(self, briefing):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        return self.huge() if self.steps < BUDGET else REPORT

    def huge(self):
        return {"name": "describe", "arguments": {"resource": "x" * 2**20}}


class MiBText(MiB):
    def huge(self):
        return '{"name": "describe", "arguments": {"resource": "' + "\\u00e9" * 2**20 + '"}}'


class Mutates(Once):
    """Changes the dict it sent once it has been sent."""

    def hostile(self):
        self.sent = {"name": "whoami", "arguments": {}}
        return self.sent

    def act(self, observation):
        action = super().act(observation)
        if self.steps == 2:
            self.sent["name"] = "changed afterwards"
        return action


class HugeTranscript(Once):
    def hostile(self):
        return {"name": "whoami", "arguments": {}}

    def transcript(self):
        looped = {"role": "user", "content": "z" * 2**24}
        looped["self"] = looped
        return [looped]


class Meta(type):
    @property
    def __name__(cls):
        raise RuntimeError("a type with no name")


class Nameless(metaclass=Meta):
    pass


class UnstorableTranscript(Once):
    """Its transcript holds an object whose type cannot even say its name: no record can be
    written of it."""

    def hostile(self):
        return {"name": "whoami", "arguments": {}}

    def transcript(self):
        return [{"role": "user", "content": Nameless()}]
'''

COMPLETED = ("HugeInt", "SelfReferencing", "Deep", "Unprintable", "DeepReport", "MiB", "MiBText", "Mutates",
             "HugeTranscript")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunOutcome, RunOutcome]:
    path = tmp_path_factory.mktemp("agents") / "hostile_agents.py"
    path.write_text(f"BUDGET = {FAMILIES[FAMILY].step_budget}\n" + AGENTS_SOURCE)
    specs = ("noop", *(f"{path}:{name}" for name in (*COMPLETED, "UnstorableTranscript")))
    hostile = run(RunConfig(families=(FAMILY,), seeds=(0, 1), agents=specs), tmp_path_factory.mktemp("runs"))
    alone = run(RunConfig(families=(FAMILY,), seeds=(0, 1), agents=("noop",)), tmp_path_factory.mktemp("alone"))
    return hostile, alone


def _by_class(outcome: RunOutcome) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in read_episodes(outcome.folder.path):
        grouped.setdefault(record["agent"].rpartition(":")[2], []).append(record)
    return grouped


def _without_durations(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in record.items() if key != "duration_seconds"} for record in records]


def test_the_run_completes_with_a_summary_and_every_episode_recorded(runs: tuple[RunOutcome, RunOutcome]) -> None:
    outcome, _ = runs
    folder = outcome.folder.path
    assert json.loads((folder / "summary.json").read_text())
    assert (folder / "leaderboard.md").read_text()
    grouped = _by_class(outcome)
    assert len(read_episodes(folder)) == 2 * (2 + len(COMPLETED))
    for name in COMPLETED:
        assert [record["status"] for record in grouped[name]] == ["completed"] * 2, name
    for record in grouped["UnstorableTranscript"]:
        assert record["status"] == "error"
        assert record["error"] == "the episode's record could not be stored: RuntimeError: a type with no name"
        assert "RuntimeError: a type with no name" in record["traceback"]
        assert outcome.folder.trajectory(record["key"])["steps"] == []


def test_each_episode_stays_small_whatever_its_agent_sent(runs: tuple[RunOutcome, RunOutcome]) -> None:
    outcome, _ = runs
    folder = outcome.folder.path
    lines = {json.loads(line)["key"]: len(line) for line in (folder / "episodes.jsonl").read_text().splitlines()}
    trajectories = {json.loads(path.read_text())["key"]: path.stat().st_size
                    for path in (folder / "trajectories").iterdir()}
    assert trajectories.keys() == lines.keys()
    for key, size in lines.items():
        assert trajectories[key] + size < EPISODE_BYTES, key
    for record in _by_class(outcome)["MiB"]:
        steps = outcome.folder.trajectory(record["key"])["steps"]
        assert len(steps) == record["steps"] == record["max_steps"] == FAMILIES[FAMILY].step_budget  # each cut
        assert steps[0]["action"]["arguments"]["resource"].startswith("xxx")
        assert steps[0]["action"]["arguments"]["resource"].endswith(" chars]")


def test_what_an_agent_sent_is_recorded_with_visible_cuts(runs: tuple[RunOutcome, RunOutcome]) -> None:
    outcome, _ = runs
    validator = Draft202012Validator(load_schema("trajectory"))
    first: dict[str, dict[str, Any]] = {}
    for name, records in _by_class(outcome).items():
        trajectory = outcome.folder.trajectory(records[0]["key"])
        validator.validate(trajectory)
        if trajectory["steps"]:
            first[name] = trajectory["steps"][0]["action"]
    assert first["HugeInt"]["arguments"]["minutes"] == "<cut: integer of 16610 bits>"
    assert first["SelfReferencing"]["arguments"]["again"] == "<cut: refers to itself>"
    assert first["Unprintable"]["arguments"] == {"x": "<RaisingRepr>", "y": {"<RaisingRepr>": "nan"}}
    assert first["Mutates"]["name"] == "whoami"  # as it was sent, not as it became
    for name in ("Deep", "DeepReport"):
        text = json.dumps(first[name])
        assert f'"<cut: nested deeper than {MAX_DEPTH}>"' in text
        assert text.count("[") + text.count("{") <= MAX_DEPTH + 1
    transcript = outcome.folder.trajectory(_by_class(outcome)["HugeTranscript"][0]["key"])["transcript"]
    assert transcript[0]["self"] == "<cut: refers to itself>"
    assert transcript[0]["content"].startswith("zzz") and "...[cut " in transcript[0]["content"]


def test_other_agents_episodes_are_as_in_a_run_of_their_own(runs: tuple[RunOutcome, RunOutcome]) -> None:
    hostile, alone = runs
    assert _without_durations(_by_class(hostile)["noop"]) == _without_durations(_by_class(alone)["noop"])
    for record in _by_class(alone)["noop"]:
        assert hostile.folder.trajectory(record["key"]) == alone.folder.trajectory(record["key"])


# -- the conversion on its own ----------------------------------------------------------------


def test_an_ordinary_record_is_written_as_json_writes_it() -> None:
    record = {"key": "f/d/0/0/a", "steps": [{"action": {"name": "whoami", "arguments": {}}, "observation": "ok\n",
                                             "clock_minutes": 3}], "reward": 0.5, "score": None, "ok": True}
    assert dumps(record, 10_000) == json.dumps(record, sort_keys=True)
    assert recordable(record, 10_000) == record


@pytest.mark.parametrize("value", [
    "x" * 100_000, "\u00e9" * 100_000, "\x00" * 100_000, "\U0001f600" * 100_000, ["ab"] * 100_000,
    {str(i): i for i in range(100_000)}, [[1, 2]] * 50_000, list(range(100_000)),
], ids=["ascii", "latin", "control", "astral", "list", "dict", "pairs", "ints"])
def test_the_bound_holds_however_the_characters_escape(value: Any) -> None:
    text = dumps(value, 4096)
    assert len(text) <= 4096
    assert "cut" in text
    assert dumps(value, 4096) == text  # and the same value gives the same text


def test_shared_branches_cannot_blow_up_the_walk() -> None:
    shared: list[Any] = [1]
    for _ in range(60):  # 2**60 paths through 61 lists
        shared = [shared, shared]
    assert len(dumps(shared, 10_000)) <= 10_000


def test_what_json_would_write_differently_is_made_plain() -> None:
    class Text(str):
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing")

        __hash__ = str.__hash__

    value = {7: (1, 2), None: 2**63, True: -(2**63), 1.5: float("inf"), (1,): {1, 2}, "s": Text("t"), "b": b"x"}
    assert recordable(value, 10_000) == {"7": [1, 2], "null": "<cut: integer of 64 bits>",
                                         "true": -(2**63), "1.5": "inf", "<tuple>": "<set>", "s": "t",
                                         "b": "<bytes>"}
