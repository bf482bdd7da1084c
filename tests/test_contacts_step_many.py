"""The contact city's ``step_many``: every copy ends exactly as ``step`` on each in turn, and bad input stops it with
one line before any state moves."""

from __future__ import annotations

import numpy as np
import pytest

from epictl.errors import EpictlError
from epictl.sim.contacts.kernels import TOTAL_INFECTED
from epictl.sim.contacts.params import HOSPITAL, ContactParams
from epictl.sim.contacts.simulator import ContactDay, ContactSimulator, ContactState

N = 400


@pytest.fixture(scope="module")
def simulator() -> ContactSimulator:
    # imports stop after day 2, so the copies also run days without import trials
    return ContactSimulator(ContactParams(n_people=N, days=12, import_last_day=2, import_trials=20))


def random_orders(simulator: ContactSimulator, state: ContactState, rng: np.random.Generator) -> ContactDay:
    """Orders of every level for 1..4 days; hospital orders only for API codes 3 and 4 (the env's rule)."""
    level = rng.choice(5, N, p=[0.7, 0.1, 0.1, 0.05, 0.05]).astype(np.int8)
    level[(level == HOSPITAL) & (simulator.api_codes(state) < 3)] = 0
    return ContactDay(level, rng.integers(1, 5, N).astype(np.int16))


def assert_same_state(left: ContactState, right: ContactState) -> None:
    for key, value in vars(left).items():
        np.testing.assert_array_equal(getattr(right, key), value, err_msg=key)


@pytest.mark.parametrize("copies", [1, 3])
def test_step_many_is_step_on_each_copy(simulator, copies):
    """Copies from different seeds, at different days, under their own random orders, over several days."""
    rng = np.random.default_rng(copies)
    states = [simulator.reset(seed) for seed in range(copies)]
    for lead, state in enumerate(states):  # copy k starts k days in
        for _ in range(lead):
            simulator.step(state, random_orders(simulator, state, rng))
    sequential = [state.copy() for state in states]
    for _ in range(6):
        orders = [random_orders(simulator, state, rng) for state in states]
        simulator.step_many(states, orders)
        for state, day in zip(sequential, orders):
            simulator.step(state, day)
        for state, reference in zip(states, sequential):
            assert_same_state(state, reference)
    assert [state.day for state in states] == [6 + lead for lead in range(copies)]
    assert sum(state.totals[TOTAL_INFECTED] for state in states) > 0  # the comparison saw infections


def test_step_many_refuses_bad_input_before_any_state_moves(simulator):
    states = [simulator.reset(seed) for seed in range(2)]
    before = [state.copy() for state in states]
    fine = ContactDay.no_orders(N)
    ended = simulator.reset(5)
    ended.day = simulator.params.days
    cases = {
        "2 states but 1 orders": (states, [fine]),
        "share arrays": ([states[0], states[0]], [fine, fine]),
        "orders must have shape": (states, [fine, ContactDay.no_orders(N - 1)]),
        "the episode ended": ([states[0], ended], [fine, fine]),
    }
    for message, (some_states, orders) in cases.items():
        with pytest.raises(EpictlError, match=message):
            simulator.step_many(some_states, orders)
    simulator.step_many([], [])  # nothing to advance, as the loop over no copies
    for state, reference in zip(states, before):
        assert_same_state(state, reference)
