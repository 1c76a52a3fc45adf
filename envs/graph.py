"""How the resources of a world are tied together: dependency edges, containment and coupling.

Three relations, each declared through `World` and readable from it:

- a dependency edge (`World.connect`, an `Edge`): the consumer fails with its provider;
- containment (`World.contain`): a host holds its containers, a database server its databases,
  a cluster its nodes. A child runs inside its parent, so it is never healthier than its
  parent, and its `Containment` declares what the parent's actions do to it;
- coupling (`World.couple`): a backup kept on a database's own volume is destroyed with the
  database; nothing else follows (it keeps its own health).

`World.cascade` reads the last two: what an action on a resource also reaches, in the order to
act on them, so the tools that act and the plan that predicts read one declaration. The state of
the resources (lifecycle, health) is the world's; this module holds only the structure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from .resources import Edge

__all__ = ["Containment", "Graph"]


@dataclass(frozen=True)
class Containment:
    """What the actions of a parent do to one resource it contains.

    - ``delete``: deleting or recreating the parent deletes the child first (``"cascade"``), or
      is refused while the child exists (``"refuse"``: a server whose databases must be
      dropped first);
    - ``restart``: restarting the parent (rebooting a host) restarts the child after it
      (``"cascade"``: a host's processes), or leaves it running (``"none"``: the nodes of a
      cluster whose control plane restarts).

    Whatever it declares, a child is never healthier than its parent.
    """

    delete: Literal["cascade", "refuse"] = "cascade"
    restart: Literal["cascade", "none"] = "cascade"

    def __post_init__(self) -> None:
        if self.delete not in ("cascade", "refuse"):
            raise ValueError(f"containment: delete must be 'cascade' or 'refuse', got {self.delete!r}")
        if self.restart not in ("cascade", "none"):
            raise ValueError(f"containment: restart must be 'cascade' or 'none', got {self.restart!r}")


class Graph:
    """The structure of one world, by resource id. Its tuples are replaced whole, never changed
    in place: a copy is a few dict copies (`World.clone`), and what `World.providers` returns
    cannot change the graph behind the world's back."""

    def __init__(self) -> None:
        self.providers: dict[str, tuple[Edge, ...]] = {}
        self.consumers: dict[str, tuple[Edge, ...]] = {}
        self.parents: dict[str, str] = {}
        self.contents: dict[str, tuple[str, ...]] = {}  # what each parent contains, in order
        self._containment: dict[str, Containment] = {}  # by child
        self._coupled: dict[str, tuple[str, ...]] = {}

    def copy(self) -> Graph:
        twin = Graph()
        twin.providers, twin.consumers = dict(self.providers), dict(self.consumers)
        twin.parents, twin.contents = dict(self.parents), dict(self.contents)
        twin._containment, twin._coupled = dict(self._containment), dict(self._coupled)
        return twin

    def add(self, rid: str) -> None:
        self.providers.setdefault(rid, ())
        self.consumers.setdefault(rid, ())

    # -- edges ----------------------------------------------------------------------------

    def connect(self, edge: Edge) -> None:
        self.providers[edge.consumer] += (edge,)
        self.consumers[edge.provider] += (edge,)

    def disconnect(self, edge: Edge) -> None:
        if edge not in self.providers.get(edge.consumer, ()):
            raise ValueError(f"no edge {edge.consumer}->{edge.provider} ({edge.kind}) to disconnect")
        self.providers[edge.consumer] = _without(self.providers[edge.consumer], edge)
        self.consumers[edge.provider] = _without(self.consumers[edge.provider], edge)

    def retarget(self, record: str, old: str, new: str | None) -> None:
        """Move the ``resolves`` edge of a DNS record from ``old`` to ``new`` (None: drop it),
        keeping how it is evidenced: the edge follows the record's target, one source of truth."""
        for edge in [e for e in self.providers[record] if e.kind == "resolves" and e.provider == old]:
            self.disconnect(edge)
            if new is not None:
                self.connect(Edge(record, new, "resolves", edge.hard, edge.declared, edge.period, edge.phase,
                                  edge.evidence))

    def upstream_order(self, ids: Iterable[str]) -> list[str]:
        """``ids`` with providers and parents before what depends on them: the order in which
        one sweep derives every health."""
        # A depth-first walk, providers in declared order and then the parent. Every world start
        # walks all its resources: a stack of list iterators, resumed by ``for`` where it left
        # off, costs a fraction of a generator per resource.
        providers, parents = self.providers, self.parents

        def upstream(rid: str) -> Iterator[str]:
            ups = [edge.provider for edge in providers[rid]]
            if rid in parents:
                ups.append(parents[rid])
            return iter(ups)

        order: list[str] = []
        seen: set[str] = set()  # on the walk's path, or already in ``order``
        for root in ids:
            if root in seen:
                continue
            seen.add(root)
            path, pending = [root], [upstream(root)]
            while pending:
                for nxt in pending[-1]:
                    if nxt not in seen:
                        seen.add(nxt)
                        path.append(nxt)
                        pending.append(upstream(nxt))
                        break
                else:
                    pending.pop()
                    order.append(path.pop())
        return order

    # -- containment and coupling ---------------------------------------------------------

    def contain(self, parent: str, child: str, containment: Containment) -> None:
        if child in self.parents:
            raise ValueError(f"{child!r} is already contained in {self.parents[child]!r}")
        ancestor: str | None = parent
        while ancestor is not None:
            if ancestor == child:
                raise ValueError(f"{child!r} cannot be contained in {parent!r}: it contains {parent!r}")
            ancestor = self.parents.get(ancestor)
        self.parents[child] = parent
        self.contents[parent] = (*self.contents.get(parent, ()), child)
        self._containment[child] = containment

    def couple(self, resource: str, other: str) -> None:
        if resource == other:
            raise ValueError(f"cannot couple {resource!r} with itself")
        if other not in self._coupled.get(resource, ()):
            self._coupled[resource] = (*self._coupled.get(resource, ()), other)

    def coupled(self, rid: str) -> tuple[str, ...]:
        return self._coupled.get(rid, ())

    def destruction(self, rid: str, exists: Callable[[str], bool]) -> tuple[list[str], list[str]]:
        """What destroying ``rid`` destroys with it, each before what it goes with (coupled
        resources, then children whose containment cascades a delete, and in turn theirs), and
        the children that refuse it. Only resources that ``exists`` are reached."""
        gone: list[str] = []
        refused: list[str] = []
        seen = {rid}

        def visit(node: str) -> None:
            reached = [(other, "cascade") for other in self._coupled.get(node, ())]
            reached += [(child, self._containment[child].delete) for child in self.contents.get(node, ())]
            for other, how in reached:
                if other in seen or not exists(other):
                    continue
                seen.add(other)
                if how == "refuse":
                    refused.append(other)
                else:
                    visit(other)
                    gone.append(other)

        visit(rid)
        return gone, refused

    def restarts(self, rid: str, exists: Callable[[str], bool]) -> list[str]:
        """The children a restart of ``rid`` restarts too, each after its parent."""
        restarted: list[str] = []
        todo = list(reversed(self.contents.get(rid, ())))
        while todo:
            child = todo.pop()
            if exists(child) and self._containment[child].restart == "cascade":
                restarted.append(child)
                todo.extend(reversed(self.contents.get(child, ())))
        return restarted


def _without(edges: tuple[Edge, ...], edge: Edge) -> tuple[Edge, ...]:
    """``edges`` less the first one equal to ``edge``."""
    at = edges.index(edge)
    return edges[:at] + edges[at + 1:]
