"""The plain NumPy ReferenceSimulator as an oracle: the Numba simulator must agree with it in distribution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from epictl.sim.metapop.compartments import IH, MOVING, MOVING_WITH_IT, N_COMPARTMENTS, D, S
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.reference import ReferenceSimulator
from epictl.sim.metapop.simulator import DayPlan, MetapopSimulator, outbreak_counts

SEEDS, DAYS = 40, 30
BEDS = 15  # scarce: beds saturate, so the epidemic grows and peaks inside the 30 days


def resourced_plan(city, rule: str = "ranked") -> DayPlan:
    """Half-population masks in the four largest regions; beds ranked by population, factor 0.7."""
    order = np.argsort(-city.population, kind="stable").astype(np.int64)
    masks = np.zeros(city.n_regions, dtype=np.int64)
    masks[order[:4]] = city.population[order[:4]] // 2
    return DayPlan(masks, BEDS, order, 0.7, rule)


def outcomes(simulator, city, first_seed: int) -> dict[str, np.ndarray]:
    start = outbreak_counts(city, 1500, 6, np.random.default_rng(0))
    population = city.total_population
    plan = resourced_plan(city)
    results = {"attack": [], "deaths": [], "peak_day": [], "confirmed": []}
    for seed in range(first_seed, first_seed + SEEDS):
        state = simulator.reset(seed=seed, initial=start)
        ever = [population - state.counts[:, S].sum()]
        for _ in range(DAYS):
            simulator.step(state, plan)
            ever.append(population - state.counts[:, S].sum())
        results["attack"].append(ever[-1] / population)
        results["deaths"].append(state.counts[:, D].sum() / population)
        results["confirmed"].append(state.ever_tested.sum() / population)
        results["peak_day"].append(int(np.argmax(np.diff(ever))))
    return {key: np.asarray(values, dtype=float) for key, values in results.items()}


# Statistical and about 20 s on 2 cores: in `make test-smoke`, so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_numba_simulator_matches_reference_in_distribution(tiny_city):
    fast = MetapopSimulator(tiny_city, DiseaseParams(), SimOptions(mobility="exact"))
    reference = ReferenceSimulator(tiny_city, DiseaseParams(), SimOptions())
    # Disjoint seeds keep the two samples independent, as the tests below assume.
    ours, oracle = outcomes(fast, tiny_city, 0), outcomes(reference, tiny_city, 10_000)
    assert oracle["attack"].mean() > 0.05, "the scenario must produce an epidemic to compare"
    for key in ours:
        a, b = ours[key], oracle[key]
        standard_error = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)) + 1e-12
        assert abs(a.mean() - b.mean()) < 4 * standard_error, f"{key}: numba {a.mean():.4g}, reference {b.mean():.4g}"
    assert stats.ks_2samp(ours["attack"], oracle["attack"]).pvalue > 1e-3


@pytest.mark.parametrize(("rule", "rounding", "it_moves"), [("ranked", "stochastic", False), ("proportional", "ceil", True)])
def test_reference_conserves_people_every_tick(tiny_city, rule, rounding, it_moves):
    simulator = ReferenceSimulator(tiny_city, DiseaseParams(), SimOptions(bed_rounding=rounding, it_moves=it_moves))
    fixed = [c for c in range(N_COMPARTMENTS) if c not in (MOVING_WITH_IT if it_moves else MOVING)]
    move = simulator.move

    def checked_move(counts, matrix, rng):
        moved = move(counts, matrix, rng)
        assert moved.min() >= 0
        np.testing.assert_array_equal(moved.sum(axis=0), counts.sum(axis=0))  # travel keeps every compartment
        np.testing.assert_array_equal(moved[:, fixed], counts[:, fixed])  # Ih, D (and It) never move
        return moved

    simulator.move = checked_move
    state = simulator.reset(seed=7, initial=outbreak_counts(tiny_city, 500, 3, np.random.default_rng(1)))
    plan = resourced_plan(tiny_city, rule)
    for _ in range(15):
        deaths_before = state.counts[:, D].copy()
        simulator.step(state, plan)
        assert state.counts.sum() == tiny_city.total_population
        assert state.counts[:, IH].sum() <= BEDS
        assert np.all(state.counts[:, D] >= deaths_before)
    assert state.counts[:, IH].sum() > 0 and state.counts[:, D].sum() > 0
