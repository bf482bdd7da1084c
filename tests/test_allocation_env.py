"""Action decoding under budgets, ranking rules, reward, and the Gymnasium env."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from epictl.budgets.daily import DailyBudget
from epictl.envs.allocation import allocate_masks_proportional, allocate_masks_ranked, rank_regions
from epictl.envs.metapop import MetapopEnv
from epictl.envs.metapop_family import Scenario
from epictl.rewards.kdd21 import Kdd21Reward
from epictl.sim.metapop.compartments import IH, IT
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import MetapopSimulator


@pytest.mark.parametrize("case", range(30))
def test_mask_allocation_never_exceeds_budget_or_demand(case):
    rng = np.random.default_rng(case)
    m = int(rng.integers(1, 40))
    population = rng.integers(0, 10_000, size=m)
    budget, factor = int(rng.integers(0, 100_000)), float(rng.uniform(0.1, 1.0))
    weights = rng.integers(0, 50, size=m) * (rng.random(m) < 0.5)
    ranked = allocate_masks_ranked(rng.permutation(m), factor, population, budget)
    shared = allocate_masks_proportional(weights, factor, population, budget)
    cap = np.floor(factor * population)
    eligible = cap[weights > 0].sum() if weights.sum() > 0 else cap.sum()  # no cases: share by population
    for masks, demand in ((ranked, cap.sum()), (shared, eligible)):
        assert masks.sum() <= budget
        assert np.all(masks >= 0) and np.all(masks <= cap)
        assert masks.sum() == min(budget, demand), "masks go out until they or the demand run out"
    assert np.all(shared[weights == 0] == 0) or weights.sum() == 0


def test_ranked_masks_follow_the_rank():
    population = np.array([100, 200, 300])
    masks = allocate_masks_ranked(np.array([2, 0, 1]), 0.5, population, 220)
    np.testing.assert_array_equal(masks, [50, 20, 150])


def test_rank_is_safe_without_cases_and_breaks_ties_by_index():
    zeros = np.zeros(5)
    np.testing.assert_array_equal(rank_regions(0, zeros, np.ones(5), np.ones(5)), np.arange(5))
    order = rank_regions(3, np.array([0.0, 4, 0, 4, 0]), np.array([1.0, 0, 2, 0, 1]), np.ones(5))
    np.testing.assert_array_equal(order, [1, 3, 2, 0, 4])


def test_reward_formula():
    reward = Kdd21Reward(constant=10.0)
    assert reward((5, 5), (3, 3)) == pytest.approx(10.0)
    assert reward((0, 9), (0, 1)) == pytest.approx(10 + np.log((0.1 + 0.5) / 2))
    assert reward((9, 0), (5, 0)) == pytest.approx(10.0), "shrinking compartments count as no growth"


def outbreak(free_days: int, controlled_days: int, free_phase_seed: int | None = None) -> Scenario:
    """60 cases seeded in Iu, split over 3 regions drawn by population."""
    return Scenario(initial_cases=60, initial_regions=3, regions=[], initial_compartment="Iu", use_city_start=False,
                    free_days=free_days, controlled_days=controlled_days, free_phase_seed=free_phase_seed)


def make_env(city, observation="perfect", allocation="ranked", beds=30, masks=3000,
             free_phase_seed: int | None = None) -> MetapopEnv:
    sim = MetapopSimulator(city, DiseaseParams(R0=4.0), SimOptions())
    return MetapopEnv(city, sim, outbreak(15, 5, free_phase_seed), DailyBudget("test", beds, masks), Kdd21Reward(),
                      observation, allocation=allocation)


def controlled_run(env, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The counts at the first decision and at the episode's end, acting with principle 0 at full factors."""
    env.reset(seed=seed)
    start = env.state.counts.copy()
    done = False
    while not done:
        _, _, done, _, _ = env.step({"principle": np.array([0, 0]), "factor": np.array([1.0, 1.0])})
    return start, env.state.counts.copy()


def test_shared_free_phase_starts_every_episode_from_one_state(tiny_city):
    shared = make_env(tiny_city, free_phase_seed=7)
    (start_1, end_1), (start_2, end_2) = controlled_run(shared, 1), controlled_run(shared, 2)
    own_start, _ = controlled_run(make_env(tiny_city), 7)
    np.testing.assert_array_equal(start_1, own_start)
    np.testing.assert_array_equal(start_2, own_start)
    assert not np.array_equal(end_1, end_2), "each episode draws its controlled days from its own seed"
    np.testing.assert_array_equal(controlled_run(shared, 1)[1], end_1)


# About 10 s on 2 cores: in `make test-smoke`, so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_env_passes_gymnasium_checks(tiny_city):
    check_env(make_env(tiny_city), skip_render_check=True)


@pytest.mark.parametrize("allocation", ["ranked", "proportional"])
def test_env_decisions_respect_the_budget(tiny_city, allocation):
    env = make_env(tiny_city, allocation=allocation)
    env.action_space.seed(0)
    env.reset(seed=4)
    done = False
    while not done:
        _, reward, done, _, info = env.step(env.action_space.sample())
        record = env.history[-1]
        assert record.masks <= env.budget.masks_per_day
        assert record.totals[IH] <= env.budget.beds
        assert np.isfinite(reward)
    assert len(env.history) == 1 + 15 + 5


def test_imperfect_observation_shows_only_tested_hospitalised_dead(tiny_city):
    env = make_env(tiny_city, observation="imperfect")
    observation, _ = env.reset(seed=1)
    assert observation.shape == (tiny_city.n_regions, 3)
    np.testing.assert_array_equal(observation[:, 0], env.state.counts[:, IT])


def test_reset_with_same_seed_replays_the_free_phase(tiny_city):
    env = make_env(tiny_city)
    first, _ = env.reset(seed=9)
    env.step({"principle": np.array([0, 0]), "factor": np.array([1.0, 1.0])})
    again, _ = env.reset(seed=9)
    np.testing.assert_array_equal(first, again)
    assert len(env.history) == 1 + 15


def test_factors_are_clipped_to_delta_and_reported(tiny_city):
    env = make_env(tiny_city)
    env.reset(seed=0)
    _, _, _, _, info = env.step({"principle": np.array([1, 2]), "factor": np.array([0.0, 2.0])})
    np.testing.assert_allclose(info["action"]["factor"], [0.1, 1.0])


def test_observation_rows_follow_the_region_order(tiny_city):
    order = np.random.default_rng(0).permutation(tiny_city.n_regions)
    sim = MetapopSimulator(tiny_city, DiseaseParams(), SimOptions())
    env = MetapopEnv(tiny_city, sim, outbreak(5, 2), DailyBudget("test", 10, 100), Kdd21Reward(), region_order=order)
    observation, _ = env.reset(seed=0)
    np.testing.assert_array_equal(observation, env.state.counts[order].astype(np.float32))
