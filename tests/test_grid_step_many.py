"""GridSimulator.step_many: one kernel call over independent copies is, bit for bit, ``step`` on each copy in
turn (arrays, counters, the day's statistics and every random stream), whatever the copies' days, levels and
thread count; bad batches are one-line errors that change nothing."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields

import numba
import numpy as np
import pytest

from epictl.errors import EpictlError
from epictl.sim.grid.params import GridParams
from epictl.sim.grid.simulator import GridSimulator, GridState


def small(**overrides) -> GridParams:
    """400 people on a 40² grid (density 0.25): a few days see many contacts, an epidemic ends in ~100 days."""
    return GridParams(**{"population": 400, "density": 0.25, "initial_infectious": 20, **overrides})


def assert_same(state: GridState, twin: GridState) -> None:
    for item in fields(GridState):
        mine, theirs = getattr(state, item.name), getattr(twin, item.name)
        if isinstance(mine, np.ndarray):
            assert mine.dtype == theirs.dtype, item.name
            np.testing.assert_array_equal(mine, theirs, err_msg=item.name)
        else:
            assert mine == theirs, item.name


def copies_at_different_days(sim: GridSimulator) -> list[GridState]:
    """A fresh copy, one 10 days in, one whose epidemic ended with deaths, one that never had a case."""
    fresh, running, ended = sim.reset(seed=1), sim.reset(seed=2), sim.reset(seed=3)
    for _ in range(10):
        sim.step(running, 1)
    while not sim.done(ended):
        sim.step(ended, 0)
    assert ended.n_alive < ended.population, "the ended epidemic should have killed someone"
    return [fresh, running, ended, sim.reset(seed=4, initial=0)]


def step_both_ways(sim: GridSimulator, states: list[GridState], levels) -> list[GridState]:
    """Advance twins of ``states`` by ``step_many`` and ``states`` themselves by ``step`` in turn; the twins."""
    twins = [state.copy() for state in states]
    sim.step_many(twins, levels)
    for state, level in zip(states, levels):
        sim.step(state, level)
    return twins


@pytest.mark.parametrize("options", [
    {}, {"moves_rounding": "stochastic", "p_contact": 0.5, "economy_draw": "move"},
    {"contact_model": "moore_neighbourhood", "order": "id"},
])
def test_many_copies_equal_step_in_turn(options):
    sim = GridSimulator(small(**options))
    states = copies_at_different_days(sim)
    rng = np.random.default_rng(0)
    for _ in range(5):
        twins = step_both_ways(sim, states, rng.integers(0, 3, size=len(states)))
        for state, twin in zip(states, twins):
            assert_same(state, twin)


def test_released_preset_and_one_copy_equal_step():
    sim = GridSimulator(GridParams.released(population=400, density=0.25, initial_infectious=20))
    state = sim.reset(seed=5)
    twin = state.copy()
    for level in (0, 2, 1):
        sim.step_many([twin], [level])
        sim.step(state, level)
        assert_same(state, twin)


def test_the_same_states_day_after_day_and_replaced_ones_stay_exact():
    """A vector env passes the same states every day and new ones after a reset (or fewer of them)."""
    sim = GridSimulator(small())
    states = [sim.reset(seed=seed) for seed in range(3)]
    twins = [state.copy() for state in states]
    for batch in ([0, 1, 2], [0, 1, 2], [0, 2], [1]):
        if batch == [0, 2]:  # copy 1 resets; the batch shrinks afterwards
            states[1], twins[1] = sim.reset(seed=9), sim.reset(seed=9)
        levels = [day % 3 for day in batch]
        sim.step_many([twins[k] for k in batch], levels)
        for k, level in zip(batch, levels):
            sim.step(states[k], level)
        for state, twin in zip(states, twins):
            assert_same(state, twin)


def test_results_do_not_depend_on_the_thread_count():
    sim = GridSimulator(small())
    states = copies_at_different_days(sim)
    before = numba.get_num_threads()
    runs = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        try:
            twins = [state.copy() for state in states]
            for _ in range(3):
                sim.step_many(twins, [0, 1, 2, 0])
        finally:
            numba.set_num_threads(before)
        runs.append(twins)
    for one, two in zip(*runs):
        assert_same(one, two)


@pytest.mark.parametrize("batch, levels, message", [
    ("two", [0], "step_many: 2 states but 1 movement levels"),
    ("two", [0, 3], "movement level 3 outside 0..2"),
    ("repeated", [0, 1], "step_many: the states share arrays"),
    ("shallow", [0, 1], "step_many: the states share arrays"),
])
def test_bad_batches_are_one_line_errors_and_change_nothing(batch, levels, message):
    sim = GridSimulator(small())
    state, other = sim.reset(seed=0), sim.reset(seed=1)
    states = {"two": [state, other], "repeated": [state, state], "shallow": [state, copy.copy(state)]}[batch]
    before = [s.copy() for s in states]
    with pytest.raises(EpictlError, match=message) as error:
        sim.step_many(states, levels)
    assert "\n" not in str(error.value)
    for s, kept in zip(states, before):
        assert_same(s, kept)


def test_a_simulator_that_stepped_many_still_pickles_and_copies():
    sim = GridSimulator(small())
    states = [sim.reset(seed=seed) for seed in range(2)]
    twins = [state.copy() for state in states]
    sim.step_many(twins, [0, 1])
    for clone in (pickle.loads(pickle.dumps(sim)), copy.deepcopy(sim)):
        clone.step_many(twins, [2, 0])
        sim.step_many(twins, [1, 1])  # the original keeps its own lists
    for state, levels in zip(states, [(0, 2, 1, 2, 1), (1, 0, 1, 0, 1)]):
        for level in levels:
            sim.step(state, level)
    for state, twin in zip(states, twins):
        assert_same(state, twin)
