"""Property tests: for any valid parameters and any actions, every simulator family conserves people
and never lets a compartment go negative, on every day."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_city
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from epictl.errors import EpictlError
from epictl.sim.grid.compartments import D
from epictl.sim.grid.params import CHOICES, GridParams
from epictl.sim.grid.simulator import GridSimulator
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import BED_RULES, DayPlan, MetapopSimulator, outbreak_counts

# Small and few, so the file runs in seconds; derandomized, so every run checks the same examples.
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)
DAYS = 6


def unit(low: float = 0.0, high: float = 1.0):
    return st.floats(low, high, allow_nan=False)


@st.composite
def disease_params(draw) -> DiseaseParams:
    """Any parameter set the validation accepts, edges included (exit probabilities of exactly 1)."""
    params = DiseaseParams(
        R0=draw(unit(0.0, 20.0)), Pa=draw(unit()), eps_ticks=draw(unit(1.0, 500.0)), eps_days=draw(unit(0.1, 20.0)),
        d=draw(unit()), t_ticks=draw(unit(1.0, 1000.0)), t_days=draw(unit(1.01, 30.0)), d_h=draw(unit()),
        th_ticks=draw(unit(1.0, 1000.0)), th_days=draw(unit(1.01, 30.0)), r_a=draw(unit(0.0, 3.0)),
        r_E=draw(unit(0.0, 3.0)), theta_ticks=draw(unit(1.0, 200.0)), gamma_mask=draw(unit()),
    )
    try:
        return params.validate()
    except EpictlError:
        assume(False)


@st.composite
def day_plans(draw, population: np.ndarray) -> DayPlan:
    m = len(population)
    return DayPlan(
        masks=np.array([draw(st.integers(0, int(n))) for n in population], dtype=np.int64),
        n_beds=draw(st.integers(0, 300)),
        bed_order=np.array(draw(st.permutations(range(m))), dtype=np.int64),
        bed_factor=draw(unit(0.0, 1.0)),
        bed_rule=draw(st.sampled_from(sorted(BED_RULES))),
    )


@PROPERTY
@given(data=st.data(), params=disease_params(), n_regions=st.integers(1, 4), city_seed=st.integers(0, 2**16),
       mobility=st.sampled_from(["exact", "fast"]), fast_threshold=st.integers(1, 400), it_moves=st.booleans(),
       bed_rounding=st.sampled_from(["stochastic", "floor", "ceil"]), cases=st.integers(0, 300))
def test_metapop_conserves_people_and_stays_non_negative(data, params, n_regions, city_seed, mobility, fast_threshold,
                                                        it_moves, bed_rounding, cases):
    city = random_city(n_regions, np.random.default_rng(city_seed), population=1000)
    options = SimOptions(mobility=mobility, fast_threshold=fast_threshold, it_moves=it_moves, bed_rounding=bed_rounding)
    simulator = MetapopSimulator(city, params, options)
    regions = data.draw(st.integers(1, n_regions))
    start = outbreak_counts(city, min(cases, int(city.population.min())), regions, np.random.default_rng(city_seed),
                            data.draw(st.integers(1, 5)))  # seeds in E, Iu, It, Ia or Ih
    state = simulator.reset(seed=city_seed, initial=start)
    total = city.total_population
    for _ in range(DAYS):
        simulator.step(state, data.draw(day_plans(city.population)))
        assert state.counts.min() >= 0
        assert state.counts.sum() == total


# About 5 s of generated worlds: in `make test-smoke`, so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
@PROPERTY
@given(population=st.integers(2, 150), density=unit(0.05, 0.6), p_contact=unit(), death_probability=unit(),
       exposed=st.tuples(st.integers(0, 3), st.integers(0, 3)).map(sorted),
       infectious=st.tuples(st.integers(1, 6), st.integers(1, 6)).map(sorted),
       level_movement=st.lists(unit(), min_size=1, max_size=3), moves_per_day=st.integers(1, 20),
       options=st.fixed_dictionaries({name: st.sampled_from(values) for name, values in CHOICES.items()}),
       share_infectious=unit(), seed=st.integers(0, 2**16), data=st.data())
def test_grid_conserves_people_and_stays_non_negative(population, density, p_contact, death_probability, exposed,
                                                     infectious, level_movement, moves_per_day, options,
                                                     share_infectious, seed, data):
    params = GridParams(
        population=population, density=density, p_contact=p_contact, death_probability=death_probability,
        exposed_min=exposed[0], exposed_max=exposed[1], infectious_min=infectious[0], infectious_max=infectious[1],
        level_movement=level_movement, moves_per_day=moves_per_day, initial_infectious=round(share_infectious * population),
        warmup_days=1, **options,
    ).validate()
    simulator = GridSimulator(params)
    state = simulator.reset(seed)
    for _ in range(DAYS):
        simulator.step(state, data.draw(st.integers(0, params.n_levels - 1)))
        day = state.last
        counts = (day.susceptible, day.exposed, day.infectious, day.recovered, day.dead)
        assert min(counts) >= 0
        assert sum(counts) == params.n_people
        assert np.bincount(state.status, minlength=5).tolist() == list(counts)
        if params.contact_model != "collision_released":  # whose overwrites erase occupants from the index (spec §13.1)
            assert np.count_nonzero(state.grid >= 0) == np.count_nonzero(state.status != D)
