"""The episodes a run has yet to start, handed out a world at a time.

A seed's episodes (every agent and trial of one family, level and seed) play the same world, and
a process keeps what it built (`blastradius.envs.builds`): a pool's worker that just played one
of them builds nothing to play the next. So, for an executor of processes, `Backlog.next` hands
the slot an episode freed the next episode of that episode's world, and a fresh slot the first
episode of a world no slot is playing. With one job that is the plan's own order; with N, N
worlds play at once and each is built by one process, where handing out the plan in order would
have every process build nearly every world. Threads share one process's builds: for them the
backlog is the plan in order, which has every agent of a seed play at once (and spreads a run's
model requests over its agents' endpoints). The order changes only when records come, never
what they say.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Iterable

from .episode import EpisodeSpec

__all__ = ["Backlog", "world_of"]


def world_of(spec: EpisodeSpec) -> tuple[str, str, int]:
    """What the world ``spec``'s episode plays is built from, besides the run's size and chaos."""
    return spec.family, spec.difficulty, spec.seed


class Backlog:
    """The episodes of ``specs`` not yet started, in plan order, by world when ``by_world``."""

    def __init__(self, specs: Iterable[EpisodeSpec], by_world: bool) -> None:
        self._world = world_of if by_world else _own
        self._left: OrderedDict[object, deque[EpisodeSpec]] = OrderedDict()
        for spec in specs:
            self._left.setdefault(self._world(spec), deque()).append(spec)
        self._playing: Counter[object] = Counter()  # episodes in flight, by world

    def next(self, freed_by: EpisodeSpec | None = None) -> EpisodeSpec | None:
        """The episode to start in a slot ``freed_by`` that episode's end (None: a slot never
        used), or None when none is left."""
        world: object = None
        if freed_by is not None:
            world = self._world(freed_by)
            self._playing[world] -= 1
            if not self._playing[world]:
                del self._playing[world]
        if not self._left:
            return None
        if world is None or world not in self._left:
            # The first world no slot plays; when every world left is playing, the first of them.
            world = next((w for w in self._left if not self._playing[w]), next(iter(self._left)))
        episodes = self._left[world]
        spec = episodes.popleft()
        if not episodes:
            del self._left[world]
        self._playing[world] += 1
        return spec


def _own(spec: EpisodeSpec) -> str:
    """A world of its own for each episode: the plan's order."""
    return spec.key
