"""The lockdown-and-vaccination city (spec abm-ddpg-lockdown-vaccination.md §1-§8): the synthetic population, the
schedule under lockdown, the disease course (durations, branch shares), the infection formula, vaccination
(availability, halves per tick, cap, eligibility, priority), the household economy on hand-made households,
conservation, determinism (seeds, threads, copies, step == run, common random numbers), and the kernel against the
NumPy reference, draw for draw."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from epictl.errors import EpictlError
from epictl.sim.abm import kernels, reference
from epictl.sim.abm import simulator as simulator_module
from epictl.sim.abm.params import (
    AGE_GROUPS,
    COMPARTMENTS,
    LOG_COLUMNS,
    STAGES,
    A,
    AbmParams,
    D,
    E,
    H,
    IM,
    IS,
    P,
    R,
    S,
    VaccineParams,
)
from epictl.sim.abm.simulator import AbmDay, AbmSimulator, AbmState, rules
from epictl.sim.contract import SHARE, SimState, Simulator

MUTABLE = ("compartment", "vaccine", "infection_tick", "elapsed", "stage_end", "location", "savings", "totals", "log")
GROUPS = len(AGE_GROUPS)


def day_action(lockdown=(False, False), vaccinate=((False,) * GROUPS,) * 2) -> AbmDay:
    return AbmDay(np.array(lockdown, bool), np.array(vaccinate, bool))


def random_days(rng: np.random.Generator):
    """Random lockdown ticks and vaccination windows, as the env's rounded schedules produce them."""
    return lambda: AbmDay(rng.random(2) < 0.3, rng.random((2, GROUPS)) < 0.5)


def run_days(simulator: AbmSimulator, state: AbmState, days: int, action=None) -> AbmState:
    for _ in range(days):
        simulator.step(state, action() if action else AbmDay.nothing())
    return state


@pytest.fixture(scope="module")
def city() -> AbmSimulator:
    return AbmSimulator(AbmParams(n_agents=5000, days=30))


def test_contract_log_and_errors(city):
    assert isinstance(city, Simulator)
    state = city.reset(3)
    assert isinstance(state, SimState) and state.day == 0
    assert state.log.shape == (31, len(LOG_COLUMNS))
    city.step(state, AbmDay.nothing())
    assert state.day == 1
    assert np.array_equal(city.observe(state), state.log[1]) and city.observe(state).dtype == np.float64
    frame = city.log_frame(state)
    assert list(frame) == list(LOG_COLUMNS) and all(len(column) == 2 for column in frame.values())
    assert frame["day"].tolist() == [0, 1] and frame["cumulative_infected"][0] == 750  # 15 % of 5000
    metrics = city.metrics(state)
    assert set(metrics) == set(city.metric_units)
    for key, unit in city.metric_units.items():
        assert isinstance(metrics[key], float) and (unit != SHARE or 0.0 <= metrics[key] <= 1.0), key
    assert city.reset(0, initial=0.01).log[0, LOG_COLUMNS.index("asymptomatic")] == 50
    with pytest.raises(EpictlError, match="initial infected share"):
        city.reset(0, initial=1.5)
    with pytest.raises(EpictlError, match="AbmDay needs"):
        city.step(state, AbmDay(np.zeros(3, bool), np.zeros((2, 3), bool)))
    with pytest.raises(EpictlError, match=r"run needs lockdown of shape \(30, 2\)"):
        city.run(state, np.zeros((29, 2), bool), np.zeros((30, 2, 3), bool))
    city.run(state, np.zeros((30, 2), bool), np.zeros((30, 2, 3), bool))
    assert state.day == 30
    with pytest.raises(EpictlError, match="env.sim.days=30"):
        city.step(state, AbmDay.nothing())


def test_population_follows_spec_1_and_2(city):
    people, n = city.population, 5000
    sizes = people.household_sizes()
    assert sizes.sum() == n and sizes.min() >= 1 and sizes[:-1].max() <= 8
    assert sizes.mean() == pytest.approx(4.0, abs=0.15)
    assert np.array_equal(people.home, np.repeat(np.arange(people.n_houses), sizes))
    assert np.array_equal(people.age // 10, people.age_band) and people.age.max() <= 99
    shares = np.bincount(people.age_band, minlength=10) / n
    np.testing.assert_allclose(shares, AbmParams().age_band_shares, atol=0.015)
    assert np.array_equal(people.age_group, (people.age >= 18).astype(int) + (people.age >= 60))
    assert np.array_equal(people.employed, people.age >= 30)
    for house in range(people.n_houses):  # the head: oldest employed member, else oldest member
        members = np.arange(people.house_start[house], people.house_start[house + 1])
        head = people.head[house]
        assert head in members
        candidates = members[people.employed[members]] if people.employed[members].any() else members
        assert people.age[head] == people.age[candidates].max()
    offices = people.work[people.employed] - people.first_office
    schools = people.work[~people.employed] - people.first_school
    assert offices.min() == 0 and offices.max() == people.n_offices - 1 and schools.min() == 0
    assert np.bincount(offices).mean() == pytest.approx(20, rel=0.2)
    school_sizes = np.bincount(schools)
    assert len(school_sizes) == people.n_schools == round((~people.employed).sum() / 500)
    assert school_sizes.max() - school_sizes.min() <= 1
    for place in range(people.n_offices + people.n_schools):  # CSR lists agree with work, members in agent order
        members = people.work_members[people.work_start[place]: people.work_start[place + 1]]
        assert (people.work[members] == people.first_office + place).all() and (np.diff(members) > 0).all()
    assert people.work_start[-1] == n
    assert people.essential.sum() == 1000 and not people.essential[~people.employed].any()
    assert people.violator.sum() == 500 and np.array_equal(people.exempt, people.essential | people.violator)
    hospitals = people.hospital - people.first_hospital
    assert set(np.unique(hospitals)) == set(range(10)) and (np.diff(hospitals) >= 0).all()
    for hospital in range(10):  # catchments: contiguous agents, whole households
        assert (hospitals[people.hospital_start[hospital]: people.hospital_start[hospital + 1]] == hospital).all()
        assert people.hospital_start[hospital] in people.house_start
    assert (people.income >= 0).all() and (people.initial_savings >= 0).all()
    assert people.income.mean() == pytest.approx(100, abs=3) and people.initial_savings.mean() > 450
    same = AbmSimulator(AbmParams(n_agents=5000, days=30)).population
    other = AbmSimulator(AbmParams(n_agents=5000, days=30, population_seed=1)).population
    assert np.array_equal(same.age, people.age) and np.array_equal(same.income, people.income)
    assert not np.array_equal(other.age, people.age)


def test_population_edge_sizes():
    tiny = AbmSimulator(AbmParams(n_agents=7, household_size_min=2, household_size_max=2, household_size_mean=2))
    assert tiny.population.household_sizes().tolist() == [2, 2, 2, 1]
    single = AbmSimulator(AbmParams(n_agents=1, days=3)).population
    assert single.n_houses == 1 and single.n_offices + single.n_schools == 1


@pytest.mark.parametrize("sim", [
    {},
    {"place_fraction": "members", "mild_stays_home": True, "vaccine_priority": "oldest", "initial_state": "exposed",
     "initial_infected": 0.03, "beta": 1.5},
    {"n_agents": 6000, "vaccines": [VaccineParams(0.8, 40), VaccineParams(0.6, 7)], "vaccination_cap": 0.05,
     "p_severe": [0.3] * 10, "p_death": [0.2] * 10},
])
def test_kernel_matches_the_numpy_reference_draw_for_draw(sim):
    """Whole episodes under random lockdowns and vaccination windows: every array equal after every day."""
    simulator = AbmSimulator(AbmParams(**{"n_agents": 3000, "days": 40, **sim}))
    fast = simulator.reset(11)
    slow = fast.copy()
    draw = random_days(np.random.default_rng(5))
    while not simulator.finished(fast):
        day = draw()
        simulator.step(fast, day)
        reference.advance_day(simulator, slow, day)
        for name in MUTABLE:
            np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=f"{name} day {slow.day}")
    frame = simulator.log_frame(fast)
    assert frame["cumulative_infected"][-1] > 2 * frame["cumulative_infected"][0]  # an epidemic happened
    assert frame["cumulative_hospitalised"][-1] > 0 and frame["vaccinated"][-1] > 0 and frame["locked_down"].any()


def test_conservation_and_absorbing_states():
    n = 4000
    simulator = AbmSimulator(AbmParams(n_agents=n, days=60, p_severe=[0.2] * 10, p_death=[0.3] * 10))
    state = simulator.reset(9)
    draw = random_days(np.random.default_rng(1))
    before = state.compartment.copy()
    ever_hospitalised = np.zeros(n, bool)
    while not simulator.finished(state):
        simulator.step(state, draw())
        now = state.compartment
        assert now.min() >= S and now.max() <= D
        assert (now[before == R] == R).all() and (now[before == D] == D).all()  # R and D absorbing
        assert (now[before != S] != S).all()  # nobody is infected twice
        ever_hospitalised |= (now == H) | (now == D)
        before = now.copy()
    frame = simulator.log_frame(state)
    assert (sum(frame[name] for name in COMPARTMENTS) == n).all()
    assert (np.diff(frame["deceased"]) >= 0).all() and frame["deceased"][-1] > 0
    assert (frame["cumulative_infected"] == n - frame["susceptible"]).all()
    assert (np.diff(frame["cumulative_infected"]) == frame["new_infections"][1:]).all()
    assert (np.diff(frame["cumulative_hospitalised"]) >= 0).all()
    assert frame["cumulative_hospitalised"][-1] >= ever_hospitalised.sum()  # the dead all passed through H
    assert (frame["cumulative_hospitalised"] >= frame["hospitalised"] + frame["deceased"]).all()
    assert (np.diff(frame["vaccinated"]) == sum(frame[f"doses_v{k}_{g}"] for k in (1, 2) for g in AGE_GROUPS)[1:]).all()
    assert (state.infection_tick[state.compartment == S] == -1).all()
    assert (state.stage_end[np.isin(state.compartment, (S, R, D))] == kernels.NEVER).all()


def test_lockdown_keeps_all_but_essential_workers_and_violators_home():
    n = 4000
    simulator = AbmSimulator(AbmParams(n_agents=n, days=30, mild_stays_home=True))
    people = simulator.population
    state = run_days(simulator, simulator.reset(2), 12)
    alive = state.compartment != D
    night = simulator.locations(state, True, 0)
    assert (night[alive & (state.compartment != H)] == people.home[alive & (state.compartment != H)]).all()
    for lockdown in (True, False):
        where = simulator.locations(state, lockdown, 1)
        assert (where[state.compartment == D] == -1).all()
        assert (where[state.compartment == H] == people.hospital[state.compartment == H]).all()
        at_home_anyway = np.isin(state.compartment, (IS, IM))  # severe; mild with mild_stays_home
        away = alive & (state.compartment != H) & ~at_home_anyway
        expected = np.where(people.exempt | (not lockdown), people.work, people.home)
        assert (where[away] == expected[away]).all()
        assert (where[at_home_anyway] == people.home[at_home_anyway]).all()
    simulator.step(state, day_action(lockdown=(True, True)))
    at_work = (state.location >= people.first_office) & (state.location < people.first_hospital)
    assert at_work.any() and not (at_work & ~people.exempt).any()  # closed offices and schools: only the exempt go
    frame = simulator.log_frame(state)
    assert frame["locked_down"][-2] == 0 and 0.5 * n < frame["locked_down"][-1] <= (~people.exempt).sum()


def test_mild_cases_keep_their_schedule_by_default(city):
    """[bharatsim]: mild, asymptomatic and pre-symptomatic agents go to office or school; severe ones stay home."""
    people = city.population
    state = run_days(city, city.reset(1), 10)
    where = city.locations(state, False, 1)
    for compartment, place in ((IM, people.work), (A, people.work), (P, people.work), (IS, people.home)):
        chosen = state.compartment == compartment
        assert chosen.any() or compartment == IS
        assert (where[chosen] == place[chosen]).all(), COMPARTMENTS[compartment]


def test_vaccines_respect_availability_halves_cap_and_eligibility():
    """Doses per day <= A_k (vaccine 1 first), split smaller half at night; a tick gives only to its open groups;
    never more than the 90 % cap; the sick and dead are not vaccinated."""
    n = 3000
    params = AbmParams(n_agents=n, days=60, vaccines=[VaccineParams(0.8, 101), VaccineParams(0.6, 51)])
    simulator = AbmSimulator(params)
    people = simulator.population
    state = simulator.reset(4)
    rng = np.random.default_rng(3)
    night_only = np.array([[True] * GROUPS, [False] * GROUPS])
    for day in range(params.days):
        vaccinate = night_only if day < 5 else rng.random((2, GROUPS)) < 0.6
        before, vaccine_before = state.compartment.copy(), state.vaccine.copy()
        simulator.step(state, day_action(vaccinate=vaccinate))
        given = (state.vaccine > 0) & (vaccine_before == 0)
        doses = np.array([[state.log[day + 1, LOG_COLUMNS.index(f"doses_v{k}_{g}")] for g in AGE_GROUPS]
                          for k in (1, 2)])
        assert doses[0].sum() <= 101 and doses[1].sum() <= 51 and given.sum() == doses.sum()
        np.testing.assert_array_equal(doses, [np.bincount(people.age_group[given & (state.vaccine == k)],
                                                          minlength=GROUPS) for k in (1, 2)])
        assert not (given & ~vaccinate.any(axis=0)[people.age_group]).any()  # only open groups
        if day < 5:  # night tick only: the smaller halves, to agents eligible at the start of the day
            assert doses.sum(axis=1).tolist() == [50, 25]
            assert not np.isin(before[given], (IM, IS, H, D)).any()
        assert (state.vaccine[vaccine_before > 0] == vaccine_before[vaccine_before > 0]).all()  # for good
    frame = simulator.log_frame(state)
    assert frame["vaccinated"][-1] == math.floor(0.9 * n)  # the cap binds: 152 a day for 60 days > 2700
    assert (frame["vaccinated"] <= 0.9 * n).all()
    capped = AbmSimulator(AbmParams(n_agents=1000, days=3, vaccination_cap=0.1,
                                    vaccines=[VaccineParams(0.8, 60), VaccineParams(0.6, 60)]))
    state = capped.reset(0, initial=0.0)
    run_days(capped, state, 3, lambda: day_action(vaccinate=np.ones((2, GROUPS), bool)))
    frame = capped.log_frame(state)
    assert frame["vaccinated"].tolist() == [0, 100, 100, 100]  # 60 of vaccine 1 then 40 of vaccine 2
    assert sum(frame[f"doses_v1_{g}"][1] for g in AGE_GROUPS) == 60


def test_vaccine_priority_oldest_takes_the_oldest_eligible():
    simulator = AbmSimulator(AbmParams(n_agents=4000, days=5, vaccine_priority="oldest", initial_infected=0.0,
                                       vaccines=[VaccineParams(0.8, 300), VaccineParams(0.6, 100)]))
    state = simulator.reset(1)
    simulator.step(state, day_action(vaccinate=np.ones((2, GROUPS), bool)))
    ages = simulator.population.age
    assert (state.vaccine > 0).sum() == 400
    assert ages[state.vaccine > 0].min() >= ages[state.vaccine == 0].max()
    uniform = AbmSimulator(AbmParams(n_agents=4000, days=5, initial_infected=0.0))
    state = uniform.reset(1)
    uniform.step(state, day_action(vaccinate=np.ones((2, GROUPS), bool)))
    assert ages[state.vaccine > 0].mean() == pytest.approx(ages.mean(), abs=3.0)


def test_vaccination_effects_on_the_course():
    """All agents exposed at day 0 with no transmission: the share with an asymptomatic course per age band is near
    gamma = 1 - P(symptomatic), and near min(1, 1.8 gamma) when everyone is vaccinated before their exposure ends."""
    n = 6000
    for vaccinated in (False, True):
        params = AbmParams(n_agents=n, days=20, beta=0.0, initial_infected=1.0, initial_state="exposed",
                           vaccination_cap=1.0, vaccines=[VaccineParams(0.8, n), VaccineParams(0.6, 0)])
        simulator = AbmSimulator(params)
        state = simulator.reset(6)
        ever_asymptomatic = np.zeros(n, bool)
        for day in range(params.days):
            simulator.step(state, day_action(vaccinate=np.full((2, GROUPS), vaccinated and day == 0)))
            ever_asymptomatic |= state.compartment == A
        assert (state.vaccine > 0).all() == vaccinated
        gamma = 1.0 - np.asarray(params.p_symptomatic)
        expected = np.minimum(gamma * 1.8, 1.0) if vaccinated else gamma
        band = simulator.population.age_band
        for b in range(8):  # bands with a few hundred agents
            assert ever_asymptomatic[band == b].mean() == pytest.approx(expected[b], abs=0.07), (vaccinated, b)


def test_durations_are_log_normal_with_the_table_mean_and_sd():
    """Spec §3: mean and sd of the variable itself; stage ends at the first tick at or after t0 + 2 x duration."""
    params = AbmParams(n_agents=40_000, days=2, beta=0.0, initial_infected=1.0, initial_state="exposed")
    simulator = AbmSimulator(params)
    state = simulator.reset(0)
    agents = np.arange(params.n_agents)
    for stage, name in enumerate(STAGES):
        days = reference.durations(simulator, state, agents, stage)
        mean, sd = getattr(params, f"{name}_mean"), getattr(params, f"{name}_sd")
        assert days.mean() == pytest.approx(mean, rel=0.02) and days.std() == pytest.approx(sd, rel=0.05), name
        assert days.min() > 0
    exposed = reference.durations(simulator, state, agents, 0)
    np.testing.assert_array_equal(state.stage_end, np.ceil(2 * exposed).astype(np.int16))
    np.testing.assert_array_equal(state.elapsed, exposed)


def test_the_infection_probability_of_spec_4():
    """The day's new infections match sum over the susceptible of 1 - (1 - p_night)(1 - p_day), with
    p = beta m_age f_X dt and f_X the infectious share of the agents present (the seeded agents stay infectious)."""
    n = 5000
    simulator = AbmSimulator(AbmParams(n_agents=n, days=3, beta=1.0, initial_infected=0.4))
    people, table = simulator.population, 1.0 * np.asarray(AbmParams().beta_multiplier) * 0.5
    observed, expected, variance = 0, 0.0, 0.0
    for seed in range(6):
        state = simulator.reset(seed)
        susceptible = state.compartment == S
        p_tick = []
        for parity in (0, 1):
            where = simulator.locations(state, False, parity)
            share = reference.fractions(simulator, state, where)
            p_tick.append(table[people.age_band] * share[where])
        p = 1.0 - (1.0 - p_tick[0]) * (1.0 - p_tick[1])
        expected += p[susceptible].sum()
        variance += (p * (1 - p))[susceptible].sum()
        simulator.step(state, AbmDay.nothing())
        observed += simulator.log_frame(state)["new_infections"][1]
    assert abs(observed - expected) < 4 * math.sqrt(variance) and expected > 500


def test_household_economy_on_hand_made_households():
    """Spec §7 with the kernels alone: three households, a day with and a day without lockdown."""
    city_rules = rules(AbmParams())
    house_start = np.array([0, 3, 5, 6], np.int64)  # households of 3, 2 and 1
    head = np.array([0, 4, 5], np.int32)
    exempt = np.array([False, False, False, False, True, False])  # the second head is essential
    income = np.array([100.0, 80.0, 50.0])
    compartment = np.array([S, IM, D, S, R, IM], np.int8)  # first head healthy with a dead member; third head sick
    savings = np.array([500.0, 95.0, 120.0])
    kernels.pay_households(False, city_rules, house_start, head, exempt, income, compartment, savings)
    np.testing.assert_array_equal(savings, [500.0 + 100 - 2 * 10, 95.0 + 80 - 2 * 10, 120.0 - 10])
    assert kernels.below_poverty(city_rules, house_start, compartment, savings) == 0
    kernels.pay_households(True, city_rules, house_start, head, exempt, income, compartment, savings)
    np.testing.assert_array_equal(savings, [580.0 - 20, 155.0 + 80 - 20, 110.0 - 10])  # the first head locked down
    assert kernels.below_poverty(city_rules, house_start, compartment, savings) == 0
    kernels.pay_households(True, city_rules, house_start, head, exempt, income, compartment, savings)
    assert savings[2] == 90.0 and kernels.below_poverty(city_rules, house_start, compartment, savings) == 1
    compartment[0] = D  # a dead head never earns again; the living still spend
    savings[:] = [105.0, 5.0, 500.0]
    kernels.pay_households(False, city_rules, house_start, head, exempt, income, compartment, savings)
    np.testing.assert_array_equal(savings, [95.0, 5.0 + 80 - 20, 490.0])
    assert kernels.below_poverty(city_rules, house_start, compartment, savings) == 1 + 2  # living members only


def test_lockdown_costs_the_economy():
    params = AbmParams(n_agents=3000, days=30, initial_infected=0.01)
    simulator = AbmSimulator(params)
    free, locked = simulator.reset(0), simulator.reset(0)
    simulator.run(free, np.zeros((30, 2), bool), np.zeros((30, 2, GROUPS), bool))
    simulator.run(locked, np.ones((30, 2), bool), np.zeros((30, 2, GROUPS), bool))
    assert simulator.metrics(locked)["below_poverty"] > 0.5 > simulator.metrics(free)["below_poverty"]
    assert simulator.metrics(locked)["infected"] < simulator.metrics(free)["infected"]


def test_same_seed_same_run_whatever_the_threads_copies_and_step_equals_run(monkeypatch):
    monkeypatch.setattr(simulator_module, "PARALLEL_MIN_AGENTS", 0)  # small cities on every thread too
    params = AbmParams(n_agents=3000, days=40)
    simulator = AbmSimulator(params)
    rng = np.random.default_rng(8)
    lockdown = rng.random((40, 2)) < 0.3
    vaccinate = rng.random((40, 2, GROUPS)) < 0.5
    threads = numba.get_num_threads()
    try:
        logs = []
        for count in sorted({1, threads}):
            numba.set_num_threads(count)
            state = simulator.reset(5)
            simulator.run(state, lockdown, vaccinate)
            logs.append(state)
    finally:
        numba.set_num_threads(threads)
    for name in MUTABLE:
        np.testing.assert_array_equal(getattr(logs[0], name), getattr(logs[-1], name), err_msg=name)
    stepped = simulator.reset(5)
    for day in range(12):
        simulator.step(stepped, AbmDay(lockdown[day], vaccinate[day]))
    snapshot = stepped.copy()
    simulator.run(stepped, lockdown, vaccinate)  # the remaining days from day 12
    while not simulator.finished(snapshot):
        simulator.step(snapshot, AbmDay(lockdown[snapshot.day], vaccinate[snapshot.day]))
    for name in MUTABLE:
        np.testing.assert_array_equal(getattr(stepped, name), getattr(logs[0], name), err_msg=name)
        np.testing.assert_array_equal(getattr(snapshot, name), getattr(logs[0], name), err_msg=name)
    other = simulator.reset(6)
    simulator.run(other, lockdown, vaccinate)
    assert not np.array_equal(other.log, logs[0].log)


def test_two_policies_on_one_seed_share_the_epidemic_until_they_differ():
    """Common random numbers: identical days until the first differing action; afterwards every agent infected
    under both policies on the same tick has the same course."""
    simulator = AbmSimulator(AbmParams(n_agents=3000, days=30, initial_infected=0.05))
    nothing, lockdown = simulator.reset(3), simulator.reset(3)
    for day in range(30):
        simulator.step(nothing, AbmDay.nothing())
        simulator.step(lockdown, day_action(lockdown=(day >= 10, day >= 10)))
        if day < 10:
            np.testing.assert_array_equal(nothing.log[: day + 2], lockdown.log[: day + 2])
    assert not np.array_equal(nothing.log[11:], lockdown.log[11:])
    both = (nothing.infection_tick == lockdown.infection_tick) & (nothing.infection_tick >= 0)
    assert both.sum() > 500
    np.testing.assert_array_equal(nothing.elapsed[both & (nothing.compartment == lockdown.compartment)],
                                  lockdown.elapsed[both & (nothing.compartment == lockdown.compartment)])


@pytest.mark.parametrize("field, value", [
    ("n_agents", 0), ("n_agents", 10_000_001), ("days", 0), ("population_seed", -1), ("beta", -0.5),
    ("age_band_shares", [0.1] * 9), ("age_band_shares", [0.2] * 10), ("beta_multiplier", [1.0] * 9 + [-1.0]),
    ("p_symptomatic", [0.5] * 9 + [1.5]), ("p_death", [float("nan")] * 10), ("exposed_mean", 0.0),
    ("hospitalised_sd", -1.0), ("initial_infected", 1.5), ("initial_state", "infected"),
    ("household_size_mean", 9.0), ("household_size_min", 0), ("household_size_max", 0), ("office_size_mean", 0.5),
    ("school_size_mean", 0.0),
    ("n_hospitals", 0), ("employed_min_age", 101), ("essential_share", -0.1), ("violator_share", 2.0),
    ("place_fraction", "everyone"), ("vaccines", [VaccineParams()]), ("vaccination_cap", 1.1),
    ("vaccinated_infectiousness", 1.2), ("vaccinated_asymptomatic_factor", -1.0), ("vaccine_priority", "youngest"),
    ("savings_sd", -1.0), ("income_sd", -1.0), ("expense_per_person", -10.0), ("poverty_line", float("inf")),
])
def test_bad_params_give_one_line_errors_naming_the_field(field, value):
    with pytest.raises(EpictlError) as error:
        AbmParams(**{field: value}).validate()
    message = str(error.value)
    assert f"env.sim.{field}" in message and "\n" not in message


@pytest.mark.parametrize("index, vaccine, key", [
    (0, VaccineParams(1.5, 10), "effectiveness"), (1, VaccineParams(0.5, -1), "doses_per_day"),
])
def test_bad_vaccines_name_their_entry(index, vaccine, key):
    vaccines = [VaccineParams(), VaccineParams()]
    vaccines[index] = vaccine
    with pytest.raises(EpictlError, match=rf"env\.sim\.vaccines\.{index}\.{key}="):
        AbmParams(vaccines=vaccines).validate()


def test_params_are_an_omegaconf_schema():
    from omegaconf import OmegaConf

    config = OmegaConf.structured(AbmParams)
    for key, value in (("initial_infected", 0.01), ("vaccines.0.doses_per_day", 100), ("vaccine_priority", "oldest")):
        OmegaConf.update(config, key, value)  # as Hydra applies env.sim.<key>=<value>
    params = OmegaConf.to_object(config)
    assert isinstance(params, AbmParams) and params.validate().vaccines[0].doses_per_day == 100
    assert isinstance(params.vaccines[1], VaccineParams) and params.initial_infected == 0.01
    assert P == COMPARTMENTS.index("presymptomatic") and E == 1
