"""`fast` mobility (expected flows with randomized rounding for large groups) against `exact`."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from epictl.sim.metapop.compartments import D, S
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import DayPlan, MetapopSimulator, outbreak_counts

SEEDS, DAYS = 40, 150


def outcomes(city, mode: str) -> dict[str, np.ndarray]:
    # A low threshold makes fast mode use expected flows for nearly every susceptible group.
    sim = MetapopSimulator(city, DiseaseParams(), SimOptions(mobility=mode, fast_threshold=50))
    start = outbreak_counts(city, 20, 2, np.random.default_rng(0))
    population = city.population.sum()
    results = {"attack": [], "deaths": [], "peak_day": []}
    for seed in range(SEEDS):
        state = sim.reset(seed=1000 + seed, initial=start)
        ever = [population - state.counts[:, S].sum()]
        for _ in range(DAYS):
            sim.step(state, DayPlan.no_resources(city.n_regions))
            ever.append(population - state.counts[:, S].sum())
        results["attack"].append(ever[-1] / population)
        results["deaths"].append(state.counts[:, D].sum() / population)
        results["peak_day"].append(int(np.argmax(np.diff(ever))))
    return {key: np.asarray(values, dtype=float) for key, values in results.items()}


# Statistical and about 6 s on 2 cores: in `make test-smoke`, so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_fast_mode_matches_exact_in_distribution(tiny_city):
    exact, fast = outcomes(tiny_city, "exact"), outcomes(tiny_city, "fast")
    assert exact["attack"].mean() > 0.05, "the scenario must produce an epidemic to compare"
    for key in exact:
        a, b = exact[key], fast[key]
        standard_error = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)) + 1e-12
        assert abs(a.mean() - b.mean()) < 4 * standard_error, f"{key}: exact {a.mean():.4g} vs fast {b.mean():.4g}"
        assert stats.ks_2samp(a, b).pvalue > 1e-3, key
