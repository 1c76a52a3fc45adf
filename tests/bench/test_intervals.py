"""Tests for blastradius.bench.intervals: the Wilson interval and the (cluster) bootstrap of a mean."""

from __future__ import annotations

import math
import random
import time

import numpy as np
import pytest

from blastradius.bench.intervals import bootstrap_mean, wilson

# -- wilson ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        (0, 10, (0.0, 0.2775)),
        (5, 10, (0.2366, 0.7634)),
        (10, 10, (0.7225, 1.0)),
        (1, 1, (0.2065, 1.0)),
        (8, 10, (0.4902, 0.9433)),
    ],
)
def test_wilson_known_values(successes, n, expected):
    low, high = wilson(successes, n)
    assert (round(low, 4), round(high, 4)) == expected


def test_wilson_edges_are_exact_and_bounds_ordered():
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(0, 7)[0] == 0.0
    assert wilson(7, 7)[1] == 1.0
    for n in range(1, 30):
        for s in range(n + 1):
            low, high = wilson(s, n)
            assert 0.0 <= low <= s / n <= high <= 1.0


def test_wilson_narrows_with_n_and_z():
    assert wilson(50, 100)[1] - wilson(50, 100)[0] < wilson(5, 10)[1] - wilson(5, 10)[0]
    assert wilson(5, 10, z=1.0)[1] < wilson(5, 10)[1]
    assert wilson(5, 10, z=0.0) == pytest.approx((0.5, 0.5))


@pytest.mark.parametrize(("successes", "n", "z", "message"), [
    (-1, 10, 1.96, r"successes must be in \[0, 10\], got -1"),
    (11, 10, 1.96, r"successes must be in \[0, 10\], got 11"),
    (0, -1, 1.96, "n must be >= 0, got -1"),
    (1, 2, -1.0, "z must be >= 0, got -1.0"),
])
def test_wilson_rejects_bad_input(successes, n, z, message):
    with pytest.raises(ValueError, match=message):
        wilson(successes, n, z)


# -- bootstrap_mean --------------------------------------------------------------------------------


def test_bootstrap_edge_cases():
    assert bootstrap_mean([]) == (0.0, 0.0)
    assert bootstrap_mean([], clusters=[]) == (0.0, 0.0)
    assert bootstrap_mean([0.1] * 1000) == (0.1, 0.1)
    assert bootstrap_mean([3.0, 3.0], clusters=["a", "b"]) == (3.0, 3.0)
    assert bootstrap_mean([1.0, 2.0, 6.0], clusters=["x", "x", "x"]) == (3.0, 3.0)  # one cluster


def test_bootstrap_is_deterministic_per_seed_and_brackets_the_mean():
    values = np.random.default_rng(7).normal(10.0, 2.0, size=300).tolist()
    first = bootstrap_mean(values, seed=3)
    assert first == bootstrap_mean(values, seed=3)
    assert first != bootstrap_mean(values, seed=4)
    low, high = first
    assert low < float(np.mean(values)) < high
    assert all(isinstance(bound, float) for bound in first)
    # A 95% interval of the mean of 300 N(10, 2) draws is about +-0.23 wide each side.
    assert 0.3 < high - low < 0.6


def test_bootstrap_does_not_depend_on_input_order():
    rng = random.Random(1)
    values = [rng.random() for _ in range(200)]
    clusters = [i % 9 for i in range(200)]
    pairs = list(zip(values, clusters, strict=True))
    rng.shuffle(pairs)
    shuffled_values, shuffled_clusters = (list(t) for t in zip(*pairs, strict=True))
    assert bootstrap_mean(values) == bootstrap_mean(shuffled_values)
    assert bootstrap_mean(values, clusters) == bootstrap_mean(shuffled_values, shuffled_clusters)


def test_bootstrap_level_widens_the_interval():
    values = list(range(50))
    low90, high90 = bootstrap_mean(values, level=0.90)
    low99, high99 = bootstrap_mean(values, level=0.99)
    assert low99 < low90 < high90 < high99


def test_cluster_bootstrap_is_wider_than_iid_when_clusters_differ():
    # 10 tasks x 10 seeds; every seed of a task gives the same value, tasks differ a lot.
    task_values = np.linspace(0.0, 9.0, 10)
    values = np.repeat(task_values, 10).tolist()
    clusters = np.repeat(np.arange(10), 10).tolist()
    iid_low, iid_high = bootstrap_mean(values)
    cl_low, cl_high = bootstrap_mean(values, clusters)
    assert cl_high - cl_low > 2.0 * (iid_high - iid_low)
    # The clustered interval matches the i.i.d. bootstrap over the 10 task means.
    assert (cl_low, cl_high) == pytest.approx(bootstrap_mean(task_values.tolist()), abs=0.3)


def test_cluster_bootstrap_uses_pooled_means_with_unequal_cluster_sizes():
    # Cluster a has 9 values of 0, cluster b one value of 10: the pooled mean is 1.0 and a
    # resample holding both clusters once has mean 1.0, not 5.0 (the mean of cluster means).
    low, high = bootstrap_mean([0.0] * 9 + [10.0], ["a"] * 9 + ["b"], resamples=500)
    assert low == 0.0
    assert high <= 10.0
    assert 0.0 <= low <= 1.0 <= high


def test_bootstrap_accepts_unorderable_cluster_keys():
    values = [1.0, 2.0, 3.0, 4.0]
    clusters = [("a", 1), "b", 3, ("a", 1)]
    assert bootstrap_mean(values, clusters) == bootstrap_mean(values, clusters)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": [1.0, 2.0], "clusters": ["a"]}, "1 cluster keys for 2 values"),
        ({"values": [1.0, 2.0], "resamples": 0}, "resamples must be >= 1, got 0"),
        ({"values": [1.0, 2.0], "level": 1.0}, r"level must be in \(0, 1\), got 1.0"),
        ({"values": [1.0, math.nan]}, "values must be finite"),
    ],
)
def test_bootstrap_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_mean(**kwargs)


def test_bootstrap_is_vectorised():
    values = np.random.default_rng(0).random(1000).tolist()
    start = time.perf_counter()
    bootstrap_mean(values, resamples=2000)
    bootstrap_mean(values, clusters=[i % 50 for i in range(1000)], resamples=2000)
    assert time.perf_counter() - start < 5.0  # a Python loop over resamples takes far longer
