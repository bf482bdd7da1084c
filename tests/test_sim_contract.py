"""Every simulator family honours the contract of epictl/sim/contract.py, and every family declaration
(epictl/envs/<family>_family.py) is complete. A new family adds one entry to SIMULATORS below."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

import numpy as np
import pytest

from conftest import random_city
from epictl.agents.registry import KINDS
from epictl.envs.registry import FAMILIES
from epictl.paths import CONF_DIR
from epictl.sim.abm.params import AbmParams
from epictl.sim.abm.simulator import AbmDay, AbmSimulator
from epictl.sim.clusters.params import MAX_MEMBERS, ClusterParams
from epictl.sim.clusters.simulator import ClusterDay, ClusterSimulator
from epictl.sim.contacts.params import ContactParams
from epictl.sim.contacts.simulator import ContactDay, ContactSimulator
from epictl.sim.contract import DAYS, PER_PERSON, SHARE, SimState, Simulator
from epictl.sim.grid.params import GridParams
from epictl.sim.grid.simulator import GridSimulator
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import DayPlan, MetapopSimulator, outbreak_counts


def metapop() -> tuple[MetapopSimulator, object, Callable[[int], DayPlan]]:
    city = random_city(5, np.random.default_rng(0))
    initial = outbreak_counts(city, 50, 2, np.random.default_rng(1))
    return MetapopSimulator(city, DiseaseParams(R0=3.0), SimOptions()), initial, lambda day: DayPlan.no_resources(5)


def grid() -> tuple[GridSimulator, object, Callable[[int], int]]:
    return GridSimulator(GridParams(population=300, density=0.2, initial_infectious=10)), None, lambda day: day % 3


def clusters() -> tuple[ClusterSimulator, object, Callable[[int], ClusterDay]]:
    every = np.ones((3, MAX_MEMBERS), np.int8)  # off-member and off-day entries are ignored by the kernel
    return ClusterSimulator(ClusterParams(n_clusters=3, max_start_offset=2)), None, \
        lambda day: ClusterDay(every * (day % 2), every * (day % 3 == 0))


def contacts() -> tuple[ContactSimulator, object, Callable[[int], ContactDay]]:
    people = 300
    confine_some = (np.arange(people) % 7 == 0).astype(np.int8)  # a tenth confined, renewed every other day
    return ContactSimulator(ContactParams(n_people=people, days=12)), None, \
        lambda day: ContactDay(confine_some * (day % 2), np.full(people, 2, np.int16))


def abm() -> tuple[AbmSimulator, object, Callable[[int], AbmDay]]:
    lockdown, adults = np.ones(2, bool), np.array([[False, True, False]] * 2)  # every third day; 18-59 from day 3
    return AbmSimulator(AbmParams(n_agents=500, days=14)), None, \
        lambda day: AbmDay(lockdown * (day % 3 == 0), adults * (day >= 3))


# family -> (simulator, its initial condition, the day action of day t)
SIMULATORS = {"metapop": metapop, "grid": grid, "clusters": clusters, "contacts": contacts, "abm": abm}


@pytest.fixture(params=sorted(SIMULATORS))
def family_simulator(request):
    return SIMULATORS[request.param]()


def run(simulator, initial, action, seed: int, days: int):
    state = simulator.reset(seed, initial)
    for day in range(days):
        simulator.step(state, action(day))
    return state


def test_every_family_has_a_contract_test():
    assert set(SIMULATORS) == set(FAMILIES)


def test_simulator_implements_the_contract(family_simulator):
    simulator, initial, action = family_simulator
    assert isinstance(simulator, Simulator)
    state = simulator.reset(3, initial)
    assert isinstance(state, SimState)
    start = state.day  # the grid's reset runs its warm-up days
    simulator.step(state, action(0))
    assert state.day == start + 1
    observation = simulator.observe(state)
    assert isinstance(observation, np.ndarray) and np.all(np.isfinite(observation))
    metrics = simulator.metrics(state)
    assert set(metrics) == set(simulator.metric_units)
    assert set(simulator.metric_units.values()) <= {SHARE, DAYS, PER_PERSON}
    for key, unit in simulator.metric_units.items():
        assert isinstance(metrics[key], float)
        if unit == SHARE:
            assert 0.0 <= metrics[key] <= 1.0, key


def test_same_seed_same_run_and_snapshots_are_independent(family_simulator):
    simulator, initial, action = family_simulator
    first, second = run(simulator, initial, action, 7, 6), run(simulator, initial, action, 7, 6)
    np.testing.assert_array_equal(simulator.observe(first), simulator.observe(second))
    snapshot = first.copy()
    for day in range(6, 12):
        simulator.step(first, action(day))
        simulator.step(snapshot, action(day))
    np.testing.assert_array_equal(simulator.observe(first), simulator.observe(snapshot))
    assert simulator.metrics(first) == simulator.metrics(snapshot)


def test_family_declarations_are_complete():
    produced = {action for kind in KINDS.values() for action in kind.actions}
    for name, family in FAMILIES.items():
        assert family.name == name
        assert "family" in {f.name for f in fields(family.config)} and family.config().family == name
        assert family.action in produced, f"no agent kind produces {family.name}'s actions"
        assert (CONF_DIR / "env" / "family" / f"{name}.yaml").is_file(), f"conf/env/family/{name}.yaml: its defaults"
        columns = [metric.column for metric in family.metrics.values()]
        assert len(set(columns)) == len(columns)
        assert set(family.table_metrics) <= set(columns)
