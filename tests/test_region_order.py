"""Reorder layer: flow-path permutation of regions (greedy nearest neighbour + 2-opt), cached."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_city

from epictl.sim.metapop import region_order
from epictl.sim.metapop.city import City, mobility_from_dense
from epictl.sim.metapop.compartments import SLOTS_PER_WEEK
from epictl.sim.metapop.region_order import (
    cached_flow_path_order,
    flow_order_cache_path,
    flow_path_order,
    greedy_path,
    pairwise_flow,
    path_strength,
    two_opt,
)


def chain_city(labels: np.ndarray, rng: np.random.Generator) -> City:
    """Regions ``labels[0] - labels[1] - ...``: people move only between chain neighbours."""
    m = len(labels)
    dense = np.zeros((SLOTS_PER_WEEK, m, m + 1))
    for a, b in zip(labels[:-1], labels[1:]):
        share = rng.uniform(0.01, 0.05)
        dense[:, a, b] += share
        dense[:, b, a] += share
    dense[:, :, m] = 1.0 - dense[:, :, :m].sum(axis=2)
    population = rng.integers(1000, 5000, size=m).astype(np.int64)
    return City("chain", population, np.ones(m), np.ones(m), mobility_from_dense(dense, "chain city"))


def test_pairwise_flow_is_symmetric_and_matches_expected_exchange():
    city = random_city(7, np.random.default_rng(0))
    flow = pairwise_flow(city)
    assert flow.shape == (7, 7)
    np.testing.assert_allclose(flow, flow.T)
    assert np.all(np.diag(flow) == 0.0)
    # Each region's row sums its weekly departures plus arrivals, which expected_exchange reports per slot.
    exchange = city.mobility.expected_exchange(city.population.astype(np.float64))
    np.testing.assert_allclose(flow.sum(axis=1), exchange * SLOTS_PER_WEEK)


@pytest.mark.parametrize("seed", [0, 1])
def test_order_is_a_deterministic_permutation(seed):
    city = random_city(15, np.random.default_rng(3))
    order = flow_path_order(city, seed=seed)
    assert order.dtype == np.int64
    assert np.array_equal(np.sort(order), np.arange(15))
    assert np.array_equal(order, flow_path_order(city, seed=seed))


def test_tiny_city_beats_identity_and_best_of_random_orders(tiny_city):
    flow = pairwise_flow(tiny_city)
    strength = path_strength(flow_path_order(tiny_city), flow)
    rng = np.random.default_rng(0)
    best_random = max(path_strength(rng.permutation(tiny_city.n_regions), flow) for _ in range(200))
    assert strength >= path_strength(np.arange(tiny_city.n_regions), flow)
    assert strength >= best_random


@pytest.mark.parametrize("case", range(4))
def test_chain_city_recovers_the_chain(case):
    rng = np.random.default_rng(case)
    labels = rng.permutation(11)
    order = flow_path_order(chain_city(labels, rng), seed=case)
    assert np.array_equal(order, labels) or np.array_equal(order, labels[::-1])


def test_two_opt_reverses_a_path_end():
    # Path 1-0-2 keeps only edge 0-1; reversing the prefix gives 0-1-2, which also gains 1-2.
    flow = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 5.0], [0.0, 5.0, 0.0]])
    assert path_strength(two_opt(np.array([1, 0, 2]), flow), flow) == 6.0


@pytest.mark.parametrize("case", range(5))
def test_two_opt_never_worsens_the_greedy_path(case):
    city = random_city(20, np.random.default_rng(case))
    flow = pairwise_flow(city)
    greedy = greedy_path(flow, start=case)
    improved = two_opt(greedy, flow)
    assert np.array_equal(np.sort(improved), np.arange(20))
    assert path_strength(improved, flow) >= path_strength(greedy, flow)


def test_cache_round_trips_and_recomputes_a_corrupt_file(tmp_path, monkeypatch):
    city = random_city(10, np.random.default_rng(5))
    first = cached_flow_path_order(city, tmp_path, seed=2)
    path = flow_order_cache_path(city, tmp_path, seed=2)
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == [path.name]
    assert flow_order_cache_path(city, tmp_path, seed=3) != path

    def must_not_compute(*args, **kwargs):
        raise AssertionError("cached order was recomputed")

    with monkeypatch.context() as patch:
        patch.setattr(region_order, "flow_path_order", must_not_compute)
        assert np.array_equal(cached_flow_path_order(city, tmp_path, seed=2), first)

    path.write_bytes(b"not an npy file")
    assert np.array_equal(cached_flow_path_order(city, tmp_path, seed=2), first)
    assert np.array_equal(np.load(path), first)
