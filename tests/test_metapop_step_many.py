"""`MetapopSimulator.step_many`: one kernel call over independent copies is `step` on each in turn, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from epictl.errors import EpictlError
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import BED_RULES, DayPlan, MetapopSimulator, State, outbreak_counts

STREAMS = ("rng_transitions", "rng_mobility", "rng_allocation")


def random_plan(city, rng: np.random.Generator) -> DayPlan:
    """Some masks, few beds (so they fill and saturated ticks count), a random order and rule."""
    masks = np.floor(rng.uniform(0.0, 0.8) * city.population).astype(np.int64)
    return DayPlan(masks, int(rng.integers(0, 40)), rng.permutation(city.n_regions).astype(np.int64),
                   float(rng.uniform(0.1, 1.0)), str(rng.choice(sorted(BED_RULES))))


def assert_same(a: State, b: State):
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.ever_tested, b.ever_tested)
    assert (a.tick, a.saturated_ticks) == (b.tick, b.saturated_ticks)
    for stream in STREAMS:
        assert getattr(a, stream).bit_generator.state == getattr(b, stream).bit_generator.state, stream


@pytest.mark.parametrize("n_copies, mobility", [(1, "exact"), (3, "fast")])
def test_step_many_is_step_on_each_copy(tiny_city, n_copies, mobility):
    sim = MetapopSimulator(tiny_city, DiseaseParams(R0=4.0), SimOptions(mobility=mobility, fast_threshold=50))
    rng = np.random.default_rng(n_copies)
    many = []
    for k in range(n_copies):  # copies of their own seeds and outbreaks, copy k at day 2k
        state = sim.reset(seed=10 + k, initial=outbreak_counts(tiny_city, 300, 3, np.random.default_rng(k)))
        for _ in range(2 * k):
            sim.step(state, random_plan(tiny_city, rng))
        many.append(state)
    one_by_one = [state.copy() for state in many]
    saturated = 0
    for day in range(4):
        if day == 2:  # a copy's episode ends and a new one starts in its place, as a vector env's reset does
            many[0] = sim.reset(seed=99, initial=outbreak_counts(tiny_city, 300, 3, np.random.default_rng(9)))
            one_by_one[0] = many[0].copy()
        plans = [random_plan(tiny_city, rng) for _ in range(n_copies)]
        sim.step_many(many, plans)
        for state, plan in zip(one_by_one, plans):
            sim.step(state, plan)
        for a, b in zip(many, one_by_one):
            assert_same(a, b)
            saturated += a.saturated_ticks
    assert saturated > 0, "the beds must fill on some tick for the saturation count to be checked"


def test_step_many_rejects_bad_input_and_leaves_states_alone(tiny_city):
    sim = MetapopSimulator(tiny_city, DiseaseParams(), SimOptions())
    start = outbreak_counts(tiny_city, 40, 3, np.random.default_rng(0))
    states = [sim.reset(seed=seed, initial=start) for seed in range(2)]
    before = [state.copy() for state in states]
    good = DayPlan.no_resources(tiny_city.n_regions)
    bad_rule = DayPlan.no_resources(tiny_city.n_regions)
    bad_rule.bed_rule = "lottery"
    short_masks = DayPlan(np.zeros(3, np.int64), 0, np.arange(tiny_city.n_regions), 1.0)
    cases = [
        (states, [good, bad_rule], "bed rule 'lottery'; choose one of ranked, proportional"),
        (states, [good], "step_many: 2 states but 1 day plans"),
        ([states[0], states[0]], [good, good], "the states share arrays or random streams"),
        (states, [good, short_masks], "day plan: masks and bed_order must be [12], got [3] and [12]"),
    ]
    for given_states, plans, message in cases:
        with pytest.raises(EpictlError, match=message.replace("[", r"\[")) as caught:
            sim.step_many(given_states, plans)
        assert "\n" not in str(caught.value)
    for a, b in zip(states, before):
        assert_same(a, b)
    sim.step_many([], [])  # nothing to advance, as the loop over no copies
