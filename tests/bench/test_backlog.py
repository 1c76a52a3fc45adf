"""The order a run starts its episodes in: the plan's, or for processes a world at a time."""

from __future__ import annotations

from blastradius.bench.backlog import Backlog, world_of
from blastradius.bench.episode import EpisodeSpec


def _plan() -> list[EpisodeSpec]:
    return [EpisodeSpec(family, "default", seed, 0, agent) for family in ("dns", "secrets") for seed in (0, 7)
            for agent in ("careful", "llm", "noop")]


def _play(backlog: Backlog, slots: int, ends: list[int]) -> list[list[EpisodeSpec]]:
    """Start an episode in every slot, then end them in the slot order ``ends`` cycles through;
    what each slot played, in order."""
    played: list[list[EpisodeSpec]] = [[] for _ in range(slots)]
    for slot in range(slots):
        spec = backlog.next()
        assert spec is not None
        played[slot].append(spec)
    turn = 0
    while True:
        slot = ends[turn % len(ends)]
        turn += 1
        spec = backlog.next(played[slot][-1])
        if spec is None:
            return played
        played[slot].append(spec)


def test_one_slot_plays_the_plan_in_order_either_way() -> None:
    for by_world in (False, True):
        assert _play(Backlog(_plan(), by_world), 1, [0]) == [_plan()]


def test_threads_start_the_plan_in_order() -> None:
    played = _play(Backlog(_plan(), by_world=False), 3, [1, 0, 2, 2])
    assert sorted(s.key for slot in played for s in slot) == sorted(s.key for s in _plan())
    # Every agent of the first seed plays at once, then the next seed's.
    assert [slot[0] for slot in played] == _plan()[:3]
    assert {slot[1].seed for slot in played} == {7}


def test_processes_build_each_world_once_until_the_last_worlds() -> None:
    for ends in ([0, 1], [1, 1, 0], [0, 0, 0, 1], [0, 1, 1, 1, 1]):
        played = _play(Backlog(_plan(), by_world=True), 2, ends)
        assert sorted(s.key for slot in played for s in slot) == sorted(s.key for s in _plan()), ends
        # A slot plays a world's episodes one after another, and builds at most one world the
        # other builds too: the last, once no world is left that nobody plays.
        for slot in played:
            worlds = [world_of(spec) for i, spec in enumerate(slot) if i == 0 or world_of(slot[i - 1]) != world_of(spec)]
            assert len(worlds) == len(set(worlds)), ends
        assert len({world_of(s) for s in played[0]} & {world_of(s) for s in played[1]}) <= 1, ends
        builds = sum(len({world_of(s) for s in slot}) for slot in played)
        assert builds <= 4 + 1, ends  # four worlds


def test_more_slots_than_worlds_share_the_last_world() -> None:
    plan = [EpisodeSpec("dns", "default", 0, 0, agent) for agent in ("a", "b", "c")]
    played = _play(Backlog(plan, by_world=True), 3, [0, 1, 2])
    assert sorted(slot[0].agent for slot in played) == ["a", "b", "c"]
