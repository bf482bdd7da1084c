"""Invariants of the metapopulation kernels: conservation, limits, determinism, options."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_city

from epictl.sim.metapop.city import City, mobility_from_dense
from epictl.sim.metapop.compartments import IH, IT, IU, N_COMPARTMENTS, SLOTS_PER_WEEK, E, S
from epictl.sim.metapop.kernels import SLOTS_FIRST_DAY_ONLY, SLOTS_WEEKLY, slot_of
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import DayPlan, MetapopSimulator, outbreak_counts


def random_plan(city: City, n_beds: int, rng: np.random.Generator) -> DayPlan:
    m = city.n_regions
    return DayPlan(
        masks=rng.integers(0, city.population + 1),
        n_beds=n_beds,
        bed_order=rng.permutation(m).astype(np.int64),
        bed_factor=float(rng.uniform(0.1, 1.0)),
        bed_rule=str(rng.choice(["ranked", "proportional"])),
    )


@pytest.mark.parametrize("case", range(12))
def test_population_conserved_and_counts_never_negative(case):
    rng = np.random.default_rng(case)
    city = random_city(int(rng.integers(1, 9)), rng)
    options = SimOptions(mobility=["exact", "fast"][case % 2], fast_threshold=int(rng.integers(1, 500)),
                         it_moves=bool(case % 3 == 0), bed_rounding=["stochastic", "floor", "ceil"][case % 3])
    sim = MetapopSimulator(city, DiseaseParams(R0=float(rng.uniform(1, 6))), options)
    state = sim.reset(seed=case, initial=outbreak_counts(city, 200, min(3, city.n_regions), rng))
    total, n_beds = city.population.sum(), int(rng.integers(0, 200))
    for _ in range(25):
        sim.step(state, random_plan(city, n_beds, rng))
        assert state.counts.sum() == total
        assert state.counts.min() >= 0
        assert state.counts[:, IH].sum() <= n_beds


def test_beds_never_exceed_capacity_at_any_tick():
    rng = np.random.default_rng(7)
    city = random_city(6, rng, population=20000)
    sim = MetapopSimulator(city, DiseaseParams(R0=5.0), SimOptions(mobility="exact"))
    state = sim.reset(seed=1, initial=outbreak_counts(city, 500, 6, rng))
    plan = DayPlan(np.zeros(6, np.int64), 40, np.arange(6, dtype=np.int64), 1.0)
    saturated = 0
    for _ in range(30 * 48):
        sim.step_ticks(state, plan, 1)
        saturated += state.saturated_ticks
        assert state.counts[:, IH].sum() <= plan.n_beds
    assert saturated > 0, "the scenario should saturate the 40 beds at some tick"


def test_zero_mobility_city_is_independent_regions():
    rng = np.random.default_rng(3)
    city = random_city(5, rng, move_share=0.0)
    lone = City("lone", city.population[2:3].copy(), np.ones(1), np.ones(1),
                mobility_from_dense(np.tile(np.array([[[0.0, 1.0]]]), (SLOTS_PER_WEEK, 1, 1)), "lone"))
    start = np.zeros((5, N_COMPARTMENTS), np.int64)
    start[:, S] = city.population
    start[2, S] -= 30
    start[2, IU] += 30
    options, params = SimOptions(mobility="exact"), DiseaseParams(R0=4.0)
    many, one = MetapopSimulator(city, params, options), MetapopSimulator(lone, params, options)
    state_many, state_one = many.reset(seed=11, initial=start), one.reset(seed=11, initial=start[2:3])
    for _ in range(40):
        many.step(state_many, DayPlan.no_resources(5))
        one.step(state_one, DayPlan.no_resources(1))
        np.testing.assert_array_equal(state_many.counts[2], state_one.counts[0])
        others = np.delete(state_many.counts, 2, axis=0)
        np.testing.assert_array_equal(others[:, S], np.delete(city.population, 2))
    assert state_one.counts[0, S] < city.population[2] - 30, "the lone region should have an epidemic"


def test_masks_with_zero_efficacy_change_nothing(tiny_city):
    params = DiseaseParams(gamma_mask=0.0)
    sim = MetapopSimulator(tiny_city, params, SimOptions())
    start = outbreak_counts(tiny_city, 40, 3, np.random.default_rng(0))
    masked = DayPlan(tiny_city.population.copy(), 0, np.arange(tiny_city.n_regions, dtype=np.int64), 1.0)
    a, b = sim.reset(seed=5, initial=start), sim.reset(seed=5, initial=start)
    for _ in range(30):
        sim.step(a, masked)
        sim.step(b, DayPlan.no_resources(tiny_city.n_regions))
    np.testing.assert_array_equal(a.counts, b.counts)


def test_masks_with_efficacy_slow_the_epidemic(tiny_city):
    sim = MetapopSimulator(tiny_city, DiseaseParams(R0=4.0), SimOptions())
    start = outbreak_counts(tiny_city, 40, 3, np.random.default_rng(0))
    full = DayPlan(tiny_city.population.copy(), 0, np.arange(tiny_city.n_regions, dtype=np.int64), 1.0)
    infected = {}
    for name, plan in (("masks", full), ("none", DayPlan.no_resources(tiny_city.n_regions))):
        totals = []
        for seed in range(5):
            state = sim.reset(seed=seed, initial=start)
            for _ in range(40):
                sim.step(state, plan)
            totals.append(tiny_city.population.sum() - state.counts[:, S].sum())
        infected[name] = np.mean(totals)
    assert infected["masks"] < 0.5 * infected["none"]


def test_same_seed_same_run_and_other_seed_differs(tiny_city):
    sim = MetapopSimulator(tiny_city, DiseaseParams(), SimOptions(mobility="exact"))
    start = outbreak_counts(tiny_city, 40, 3, np.random.default_rng(0))
    runs = []
    for seed in (1, 1, 2):
        state = sim.reset(seed=seed, initial=start)
        for _ in range(20):
            sim.step(state, DayPlan.no_resources(tiny_city.n_regions))
        runs.append(state.counts.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_weekly_slots_all_used_and_code_defect_replays_first_day():
    weekly = {slot_of(t, 0, SLOTS_WEEKLY) for t in range(SLOTS_PER_WEEK * 2)}
    replay = {slot_of(t, 0, SLOTS_FIRST_DAY_ONLY) for t in range(SLOTS_PER_WEEK * 2)}
    assert weekly == set(range(SLOTS_PER_WEEK))
    assert replay == set(range(48))
    assert slot_of(0, 48 * 5, SLOTS_WEEKLY) == 240  # day 0 on a Saturday starts in the weekend slots


@pytest.mark.parametrize("rounding, expected_admitted", [("floor", 0), ("stochastic", 1), ("ceil", 1)])
def test_bed_rounding_single_patient(rounding, expected_admitted):
    """The code's floor(f * It) never admits a lone patient at f = 0.7 (spec §15.4)."""
    rng = np.random.default_rng(0)
    city = random_city(1, rng, move_share=0.0)
    params = DiseaseParams(R0=0.0, d=0.0, theta_ticks=1e9)  # nothing but admissions can change It
    sim = MetapopSimulator(city, params, SimOptions(bed_rounding=rounding))
    start = np.zeros((1, N_COMPARTMENTS), np.int64)
    start[0, S] = city.population[0] - 1
    start[0, IT] = 1
    state = sim.reset(seed=0, initial=start)
    sim.step(state, DayPlan(np.zeros(1, np.int64), 10, np.zeros(1, np.int64), 0.7))
    assert state.counts[0, IH] == expected_admitted


def test_derived_probabilities_match_the_spec():
    p = DiseaseParams()
    probs = p.tick_probabilities()
    assert p.beta_day == pytest.approx(0.140320, abs=1e-6)
    assert probs[0] == pytest.approx(0.00273935, rel=1e-5)
    assert probs[1:9] == pytest.approx([0.003928, 0.000072, 0.0208333, 2.2321e-4, 1.27858e-3, 1.48810e-3,
                                        6.5147e-5, 1.56740e-3], rel=1e-3)
    p_id, p_ir, p_test = probs[4], probs[5], probs[3]
    assert p_id / (p_id + p_ir) == pytest.approx(0.149, abs=1e-3)  # untreated die with 14.9 %
    assert p_test / (p_test + p_id + p_ir) == pytest.approx(0.933, abs=1e-3)  # Iu tested before leaving


def test_infection_needs_infectious_people(tiny_city):
    sim = MetapopSimulator(tiny_city, DiseaseParams(), SimOptions())
    start = np.zeros((tiny_city.n_regions, N_COMPARTMENTS), np.int64)
    start[:, S] = tiny_city.population
    state = sim.reset(seed=0, initial=start)
    for _ in range(5):
        sim.step(state, DayPlan.no_resources(tiny_city.n_regions))
    assert state.counts[:, E].sum() == 0
    np.testing.assert_array_equal(state.counts[:, S].sum(), tiny_city.population.sum())


def test_tick_by_tick_equals_one_day(tiny_city):
    sim = MetapopSimulator(tiny_city, DiseaseParams(), SimOptions(mobility="exact"))
    start = outbreak_counts(tiny_city, 40, 3, np.random.default_rng(0))
    plan = DayPlan(tiny_city.population // 2, 5, np.arange(tiny_city.n_regions, dtype=np.int64), 0.7)
    by_day, by_tick = sim.reset(seed=2, initial=start), sim.reset(seed=2, initial=start)
    for _ in range(3):
        sim.step(by_day, plan)
        for _ in range(48):
            sim.step_ticks(by_tick, plan, 1)
    assert by_day.tick == by_tick.tick == 3 * 48
    np.testing.assert_array_equal(by_day.counts, by_tick.counts)


def test_ever_tested_counts_every_confirmed_case(tiny_city):
    sim = MetapopSimulator(tiny_city, DiseaseParams(R0=4.0), SimOptions())
    state = sim.reset(seed=4, initial=outbreak_counts(tiny_city, 60, 3, np.random.default_rng(1), compartment=E))
    plan = DayPlan(np.zeros(tiny_city.n_regions, np.int64), 25, np.arange(tiny_city.n_regions, dtype=np.int64), 1.0)
    previous = state.ever_tested.copy()
    for _ in range(20):
        sim.step(state, plan)
        totals = state.counts.sum(axis=0)
        assert np.all(state.ever_tested >= previous)
        # Everyone waiting or in hospital was tested; nobody is tested before leaving E.
        assert totals[IT] + totals[IH] <= state.ever_tested.sum() <= tiny_city.total_population - totals[S] - totals[E]
        previous = state.ever_tested.copy()
    assert state.ever_tested.sum() > totals[IT] + totals[IH], "some confirmed cases should have left It and Ih"
