"""Confidence intervals for the scoreboard: Wilson for rates, a (cluster) bootstrap for means.

Kept apart from the summary that uses them (`blastradius.bench.stats`): how uncertain a number
is does not depend on what the number means. Pure functions over plain numbers; the bootstrap
takes an explicit seed and uses ``numpy.random.Generator(PCG64(seed))``, so a result depends
only on its inputs.

* `wilson`: Wilson score interval for a binomial rate (good at 0 and n, unlike the normal one).
* `bootstrap_mean`: percentile bootstrap CI of a mean, i.i.d. or clustered (cluster bootstrap
  over tasks: resample tasks, keep all their seeds together).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

__all__ = ["Z_95", "bootstrap_mean", "wilson"]

Z_95 = 1.959963984540054
"""The two-sided 95% normal quantile, ``Phi^-1(0.975)``."""

# Upper bound on the number of cells (resamples x draws) held in memory at once by the bootstrap.
_MAX_CELLS = 1 << 22


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for ``successes`` out of ``n`` trials.

    ``z`` is the normal quantile (the default gives a two-sided 95% interval). With ``n == 0``
    nothing is known and the interval is the whole range, ``(0.0, 1.0)``. The bounds are exact
    at the edges: 0 successes give ``low == 0.0`` and ``n`` successes give ``high == 1.0``.

    Raises:
        ValueError: ``n < 0``, ``successes`` outside ``[0, n]`` or ``z < 0``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    if z < 0:
        raise ValueError(f"z must be >= 0, got {z}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def _canonical(keys: Iterable[Hashable]) -> list[Hashable]:
    """The distinct ``keys`` in a canonical order: sorted, or by (type, repr) if unorderable."""
    unique = list(dict.fromkeys(keys))
    try:
        return sorted(unique)  # type: ignore[type-var]
    except TypeError:
        return sorted(unique, key=lambda key: (type(key).__name__, repr(key)))


def bootstrap_mean(
    values: Sequence[float],
    clusters: Sequence[Hashable] | None = None,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """A percentile bootstrap confidence interval ``(low, high)`` for the mean of ``values``.

    Without ``clusters`` the values are resampled i.i.d. With ``clusters`` (one key per value,
    e.g. the task of each episode) whole clusters are resampled with replacement and every
    value of a drawn cluster is kept: the cluster bootstrap over tasks, which accounts for the
    seeds of one task being correlated. The mean of a cluster resample is the pooled mean of all
    the values it holds (sum of the drawn clusters' sums / sum of their sizes).

    The interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (numpy's linear
    interpolation) of the ``resamples`` bootstrap means. It is deterministic for a given
    ``seed`` (``numpy.random.Generator(PCG64(seed))``) and does not depend on the order of the
    ``(value, cluster)`` pairs: values and clusters are put in a canonical order first.

    Edge cases: no values give ``(0.0, 0.0)``; values that are all equal to ``v`` give
    ``(v, v)`` exactly; a single cluster gives ``(mean, mean)`` (one cluster carries no
    information about between-cluster spread).

    Raises:
        ValueError: a non-finite value, ``clusters`` of another length than ``values``,
            ``resamples < 1`` or ``level`` outside ``(0, 1)``.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    if clusters is not None and len(clusters) != data.size:
        raise ValueError(f"{len(clusters)} cluster keys for {data.size} values")
    if data.size == 0:
        return (0.0, 0.0)
    if not np.all(np.isfinite(data)):
        raise ValueError("values must be finite")
    if np.all(data == data[0]):
        v = float(data[0])
        return (v, v)

    rng = np.random.Generator(np.random.PCG64(seed))
    if clusters is None:
        data = np.sort(data)
        draws = data.size
        chunk = max(1, _MAX_CELLS // draws)
        means = np.empty(resamples, dtype=np.float64)
        for start in range(0, resamples, chunk):
            stop = min(resamples, start + chunk)
            index = rng.integers(0, draws, size=(stop - start, draws))
            means[start:stop] = data[index].mean(axis=1)
    else:
        groups: dict[Hashable, list[float]] = {}
        for value, key in zip(data.tolist(), clusters, strict=True):
            groups.setdefault(key, []).append(value)
        order = _canonical(groups)
        if len(order) == 1:
            v = math.fsum(data.tolist()) / data.size
            return (v, v)
        sums = np.array([math.fsum(groups[key]) for key in order], dtype=np.float64)
        sizes = np.array([len(groups[key]) for key in order], dtype=np.float64)
        draws = len(order)
        chunk = max(1, _MAX_CELLS // draws)
        means = np.empty(resamples, dtype=np.float64)
        for start in range(0, resamples, chunk):
            stop = min(resamples, start + chunk)
            index = rng.integers(0, draws, size=(stop - start, draws))
            means[start:stop] = sums[index].sum(axis=1) / sizes[index].sum(axis=1)
    alpha = 1.0 - level
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(low), float(high))
