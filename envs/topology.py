"""Procedural topologies: a realistic service graph from a seed.

A topology is a set of product *stacks* (public DNS name, load balancer with its certificate,
frontend, API, primary database with a read replica and a backup, cache, queue, worker, a nightly
job, a bucket, a credential, a config set), all running on shared server fleets, with APIs of
different stacks calling each other. Names and ids are drawn from the seed so nothing can be
memorised. Every edge made here is declared: scenarios place their hidden edges and traps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TypeVar

import numpy as np

from .policies import Policies
from .resources import Edge, Resource
from .world import DAY, World

__all__ = ["DEFAULT_SIZE", "Stack", "Topology", "generate", "pick", "random_id", "unique_id"]

T = TypeVar("T")

DEFAULT_SIZE = 30
_PRODUCTS = (
    "billing", "checkout", "search", "catalog", "profile", "orders", "inventory", "payments",
    "ledger", "notify", "reports", "auth", "media", "shipping", "analytics", "pricing", "reviews",
    "support", "loyalty", "ads", "booking", "chat", "feeds", "geo", "invoices", "maps", "quotes",
    "ratings", "rewards", "tickets",
)
_TEAMS = ("team-atlas", "team-beacon", "team-cobalt", "team-delta", "team-ember", "team-fjord",
          "team-garnet", "team-harbor")
_REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
_DOMAINS = ("shopwave.io", "parcelly.com", "tixhub.net", "quillpay.com", "fernbank.app")
# Resources one stack adds: the default size of 30 is two stacks plus the shared ones.
_STACK_SIZE = 14


@dataclass
class Stack:
    """The resources of one product area, by role (role name -> resource id)."""

    product: str
    region: str
    owner: str
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, role: str) -> str:
        return self.ids[role]


@dataclass
class Topology:
    world: World
    domain: str
    stacks: list[Stack]
    shared: dict[str, str]

    def stack_of(self, rid: str) -> Stack | None:
        return next((stack for stack in self.stacks if rid in stack.ids.values()), None)

    def pick_stack(self, rng: np.random.Generator) -> Stack:
        """One of the stacks, drawn from ``rng`` (one draw)."""
        return self.stacks[int(rng.integers(len(self.stacks)))]


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One of ``options``: the one ``rng.choice(options)`` would draw, by the same single draw,
    at a fraction of the cost (``choice`` first makes an array of the options)."""
    return options[int(rng.integers(len(options)))]


def random_id(rng: np.random.Generator, prefix: str) -> str:
    """An id in the simulated cloud's format: ``prefix``, a dash and six hex digits drawn from
    ``rng`` (one draw). Unique only by chance: see `unique_id`."""
    return f"{prefix}-{int(rng.integers(16**6)):06x}"


def unique_id(rng: np.random.Generator, world: World, prefix: str) -> str:
    """A `random_id` no resource of ``world`` has yet (drawn again until it is new)."""
    rid = random_id(rng, prefix)
    while rid in world.resources:
        rid = random_id(rng, prefix)
    return rid


class _Draws:
    """The bounded integers one block of a build draws from ``rng``, each the one
    ``int(rng.integers(low, high))`` would draw there. One by one, each costs a numpy call; this
    draws the ``expected`` bounds in one call with arrays of bounds, which draws them one bounded
    draw after another, exactly as the calls one by one would. Asked for other bounds than
    expected (an id drawn again because it was taken), or for fewer (`close`), it puts ``rng``
    where the draws made so far leave it and draws the rest one by one: what it returns and the
    state it leaves ``rng`` in never depend on ``expected``, only its cost does."""

    def __init__(self, rng: np.random.Generator, expected: tuple[tuple[int, int], ...]) -> None:
        self.rng = rng
        self.bounds: list[tuple[int, int]] = []  # of every draw made, in order
        self._expected = expected
        self._ahead: list[int] = []
        if expected:
            self._start = rng.bit_generator.state
            lows, highs = zip(*expected, strict=True)
            self._ahead = rng.integers(lows, highs).tolist()

    def integers(self, low: int, high: int) -> int:
        at = len(self.bounds)
        self.bounds.append((low, high))
        if at < len(self._ahead):
            if self._expected[at] == (low, high):
                return self._ahead[at]
            self._rewind(at)
        return int(self.rng.integers(low, high))

    def close(self) -> None:
        """End the block: ``rng`` is left where its draws leave it, ready for other draws."""
        if len(self.bounds) < len(self._ahead):
            self._rewind(len(self.bounds))

    def _rewind(self, made: int) -> None:
        self.rng.bit_generator.state = self._start
        if made:
            lows, highs = zip(*self.bounds[:made], strict=True)
            self.rng.integers(lows, highs)
        self._ahead = []


# By number of stacks, the bounds of the integers the last topology drew for its shared resources
# and stacks (`_Draws`): the same for every seed, unless an id was drawn again.
_BOUNDS: dict[int, tuple[tuple[int, int], ...]] = {}


class _Builder:
    """Adds resources and edges, drawing from ``draws`` as `random_id`, `unique_id` and `pick`
    draw from a generator."""

    def __init__(self, draws: _Draws, world: World) -> None:
        self.draws = draws
        self.world = world

    def integers(self, low: int, high: int) -> int:
        return self.draws.integers(low, high)

    def pick(self, options: Sequence[T]) -> T:
        return options[self.draws.integers(0, len(options))]

    def random_id(self, prefix: str) -> str:
        return f"{prefix}-{self.draws.integers(0, 16**6):06x}"

    def add(self, prefix: str, name: str, kind: str, *, env: str = "prod", region: str, owner: str,
            cost: tuple[int, int], criticality: float, **attrs: object) -> str:
        rid = self.random_id(prefix)
        while rid in self.world.resources:
            rid = self.random_id(prefix)
        low, high = cost
        self.world.add(Resource(rid, name, kind, env, region, owner,
                                float(self.draws.integers(low, high + 1)), criticality, attrs))
        return rid

    def edge(self, consumer: str, provider: str, kind: str, hard: bool = True, period: int = 1) -> None:
        phase = self.draws.integers(0, period) if period > 1 else 0
        self.world.connect(Edge(consumer, provider, kind, hard, True, period, phase))


def generate(rng: np.random.Generator, size: int = DEFAULT_SIZE, policies: Policies | None = None) -> Topology:
    """A production-like cloud of about ``size`` resources (at least one stack)."""
    if size < 10:
        raise ValueError(f"topology size must be at least 10, got {size}")
    world = World(policies)
    domain = pick(rng, _DOMAINS)
    n_stacks = max(1, round((size - 4) / _STACK_SIZE))
    products = _names(rng, n_stacks)
    draws = _Draws(rng, _BOUNDS.get(n_stacks, ()))
    build = _Builder(draws, world)
    shared = {
        "fleet": build.add("fl", "general-compute", "fleet", region=_REGIONS[0], owner="team-platform",
                           cost=(8000, 15000), criticality=1.0, servers=40, safe_minimum=12),
        "status_page": build.add("sp", "status", "status_page", region=_REGIONS[0], owner="team-platform",
                                 cost=(20, 50), criticality=0.2),
        "iam_role": build.add("role", "ops-automation", "iam_role", region="global", owner="team-platform",
                              cost=(0, 0), criticality=0.1,
                              environments=tuple(sorted(world.policies.credential_envs)), actions=("*",)),
        "monitoring": build.add("svc", "monitoring", "service", region=_REGIONS[0], owner="team-platform",
                                cost=(300, 600), criticality=0.4),
    }
    stacks = [_stack(build, product, domain, shared) for product in products]
    draws.close()
    _BOUNDS[n_stacks] = tuple(draws.bounds)
    for previous, stack in pairwise(stacks):
        build.edge(stack["api"], previous["api"], "calls", hard=bool(rng.random() < 0.3))
    build.edge(shared["status_page"], shared["monitoring"], "monitors", hard=False)
    for stack in stacks:
        build.edge(shared["monitoring"], stack["frontend"], "monitors", hard=False, period=5)
    return Topology(world, domain, stacks, shared)


def _names(rng: np.random.Generator, count: int) -> list[str]:
    # The same draws as ``rng.permutation(_PRODUCTS)``, which would make an array of the names first.
    names = [_PRODUCTS[i] for i in rng.permutation(len(_PRODUCTS)).tolist()]
    # Past the word list, names repeat with a numeric suffix: unique, still readable.
    return [names[i % len(names)] + (f"-{i // len(names) + 1}" if i >= len(names) else "")
            for i in range(count)]


def _stack(build: _Builder, product: str, domain: str, shared: dict[str, str]) -> Stack:
    region = build.pick(_REGIONS)
    owner = build.pick(_TEAMS)
    stack = Stack(product, region, owner)
    add = build.add
    common = {"region": region, "owner": owner}
    records = build.integers(20, 400) * 100
    volume = build.random_id("vol")
    ids = stack.ids
    ids["db"] = add("db", f"{product}-db", "database", cost=(400, 1500), criticality=1.0,
                    records=records, volume=volume, **common)
    ids["replica"] = add("db", f"{product}-db-replica", "database", cost=(300, 1100), criticality=0.5,
                         role="replica", records=records, replication_source=ids["db"],
                         volume=build.random_id("vol"), **common)
    ids["backup"] = add("bk", f"{product}-db-nightly", "backup", cost=(30, 120), criticality=0.6,
                        source=ids["db"], records=records, taken_at=build.world.now - build.integers(60, 20 * 60),
                        volume=f"vault-{owner}", verified=True, **common)
    ids["db_dns"] = add("dns", f"{product}-db.internal", "dns_record", cost=(0, 1), criticality=0.9,
                        fqdn=f"{product}-db.internal", target=ids["db"], **common)
    ids["secret"] = add("sec", f"{product}-db-credentials", "secret", cost=(1, 5), criticality=0.9, **common)
    ids["cache"] = add("ca", f"{product}-cache", "cache", cost=(80, 400), criticality=0.4, **common)
    ids["queue"] = add("q", f"{product}-events", "queue", cost=(20, 200), criticality=0.5,
                       depth=build.integers(0, 50), **common)
    ids["config"] = add("cfg", f"{product}-settings", "config", cost=(0, 1), criticality=0.6,
                        settings={"timeout_ms": 3000, "pool_size": 20, "feature_new_ui": False}, **common)
    ids["api"] = add("svc", f"{product}-api", "service", cost=(500, 2500), criticality=0.8,
                     replicas=build.integers(2, 7), version=f"v{build.integers(1, 40)}", **common)
    ids["frontend"] = add("svc", f"{product}-web", "service", cost=(300, 1500), criticality=1.0,
                          replicas=build.integers(2, 7), public=True, **common)
    ids["worker"] = add("svc", f"{product}-worker", "service", cost=(200, 900), criticality=0.5, **common)
    ids["job"] = add("job", f"{product}-nightly-rollup", "job", cost=(10, 60), criticality=0.3,
                     schedule="0 2 * * *", period_minutes=DAY, **common)
    ids["lb"] = add("lb", f"{product}-lb", "load_balancer", cost=(50, 200), criticality=1.0,
                    targets=(ids["frontend"],), **common)
    ids["cert"] = add("cert", f"{product}.{domain}", "certificate", cost=(0, 20), criticality=1.0,
                      domain=f"{product}.{domain}", expires_at=build.world.now + build.integers(60, 300) * DAY,
                      **common)
    ids["dns"] = add("dns", f"{product}.{domain}", "dns_record", cost=(0, 1), criticality=1.0,
                     fqdn=f"{product}.{domain}", target=ids["lb"], **common)
    edge = build.edge
    edge(ids["replica"], ids["db"], "reads")
    edge(ids["backup"], ids["db"], "reads", hard=False, period=DAY)
    edge(ids["db_dns"], ids["db"], "resolves")
    edge(ids["dns"], ids["lb"], "resolves")
    edge(ids["lb"], ids["cert"], "terminates_tls")
    edge(ids["lb"], ids["frontend"], "calls")
    edge(ids["frontend"], ids["api"], "calls")
    edge(ids["api"], ids["db_dns"], "writes")
    edge(ids["api"], ids["secret"], "authenticates_with")
    edge(ids["api"], ids["cache"], "reads", hard=False)
    edge(ids["api"], ids["queue"], "writes", hard=False)
    edge(ids["api"], ids["config"], "reads")
    edge(ids["worker"], ids["queue"], "consumes")
    edge(ids["worker"], ids["db_dns"], "writes")
    edge(ids["worker"], ids["secret"], "authenticates_with")
    edge(ids["job"], ids["replica"], "reads", period=DAY)
    for service in ("api", "frontend", "worker"):
        edge(ids[service], shared["fleet"], "runs_on")
    return stack
