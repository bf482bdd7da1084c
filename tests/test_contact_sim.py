"""The contact-tracing city (spec papw-contact-tracing.md §1-§9): the map, groups, schedules, imports, exposure by
intervention level, the hazard form of the hourly trials, orders and the hospital rule, conservation, determinism,
and the kernel against the NumPy reference, draw for draw."""

from __future__ import annotations

import numpy as np
import pytest

from epictl.errors import EpictlError
from epictl.sim.contacts import reference
from epictl.sim.contacts.areas import city_map
from epictl.sim.contacts.params import (
    COMMERCIAL,
    CONFINE,
    HISTORY_DAYS,
    HOSPITAL,
    HOURS,
    ISOLATE,
    LOG_COLUMNS,
    NO_RECORD,
    OUT_OF_CITY,
    QUARANTINE,
    RESIDENTIAL,
    WORKING,
    ContactParams,
)
from epictl.sim.contacts.simulator import ContactDay, ContactSimulator, ContactState
from epictl.sim.contract import SHARE, SimState, Simulator

NO_DISEASE = {"p_acquaintance": 0.0, "p_stranger": 0.0, "import_trials": 0}
MUTABLE = ("stage", "infection_day", "hospitalised", "hospital_days", "expiry", "level", "resistance", "visits",
           "totals", "log")


def orders(n: int, level: int | np.ndarray = 0, days: int | np.ndarray = 1) -> ContactDay:
    return ContactDay(np.broadcast_to(level, n).astype(np.int8), np.broadcast_to(days, n).astype(np.int16))


def run(simulator: ContactSimulator, seed: int, day_orders=None) -> ContactState:
    """A whole episode; ``day_orders(state)`` gives each day's orders (default none)."""
    state = simulator.reset(seed)
    while not simulator.finished(state):
        n = simulator.params.n_people
        simulator.step(state, day_orders(state) if day_orders else orders(n))
    return state


def random_orders(simulator: ContactSimulator, rng: np.random.Generator):
    """Random orders of every level and 1..4 days; hospital orders only for API codes 3 and 4 (the env's rule)."""
    n = simulator.params.n_people

    def draw(state: ContactState) -> ContactDay:
        level = rng.choice(5, n, p=[0.85, 0.05, 0.04, 0.03, 0.03])
        level[(level == HOSPITAL) & (simulator.api_codes(state) < 3)] = 0
        return orders(n, level, rng.integers(1, 5, n))

    return draw


def test_contract_and_observation_shapes():
    simulator = ContactSimulator(ContactParams(n_people=600))
    assert isinstance(simulator, Simulator)
    state = simulator.reset(3)
    assert isinstance(state, SimState) and state.day == 0
    assert (simulator.visit_history(state) == NO_RECORD).all()
    simulator.step(state, orders(600))
    assert state.day == 1
    codes = simulator.observe(state)
    assert codes.dtype == np.int8 and codes.shape == (600,) and set(np.unique(codes)) <= {1, 3, 4, 5}
    history = simulator.visit_history(state)
    assert history.shape == (600, HISTORY_DAYS * HOURS) and history.dtype == np.int16
    assert (history[:, : (HISTORY_DAYS - 1) * HOURS] == NO_RECORD).all()  # only yesterday is recorded
    np.testing.assert_array_equal(history[:, -HOURS:], state.visits[0].T)
    assert simulator.standing_levels(state).shape == (600,) and simulator.area_discovered(state).shape == (11,)
    frame = simulator.log_frame(state)
    assert list(frame) == list(LOG_COLUMNS) and all(len(column) == 1 for column in frame.values())
    metrics = simulator.metrics(state)
    assert set(metrics) == set(simulator.metric_units)
    for key, unit in simulator.metric_units.items():
        assert isinstance(metrics[key], float) and (unit != SHARE or 0.0 <= metrics[key] <= 1.0), key
    with pytest.raises(EpictlError, match="no initial condition"):
        simulator.reset(0, initial=5)
    with pytest.raises(EpictlError, match="orders must have shape"):
        simulator.step(state, orders(599))
    short = ContactSimulator(ContactParams(n_people=50, days=2))
    ended = run(short, 0)
    with pytest.raises(EpictlError, match="env.sim.days=2"):
        short.step(ended, orders(50))


@pytest.mark.parametrize("sim", [
    {},
    {"transmission": "per_contact", "p_acquaintance": 0.05, "p_stranger": 0.002, "n_areas": 7,
     "self_recovery": False, "hospitalise_symptomatic": False, "treat_days": 4, "import_trials": 40},
])
def test_kernel_matches_the_numpy_reference_draw_for_draw(sim):
    """A whole episode with and without random orders: every array equal after every day (hazards bit for bit)."""
    simulator = ContactSimulator(ContactParams(n_people=1500, **sim))
    for with_orders in (False, True):
        fast = simulator.reset(11)
        slow = fast.copy()
        draw = random_orders(simulator, np.random.default_rng(5))
        while not simulator.finished(fast):
            day_orders = draw(fast) if with_orders else orders(1500)
            simulator.step(fast, day_orders)
            reference.advance_day(simulator, slow, day_orders)
            for name in MUTABLE:
                np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name),
                                              err_msg=f"{name} day {slow.day}")
        assert fast.totals[0] > 100  # an epidemic happened


def test_sample_map_and_generated_maps():
    sample = city_map(11, 0)
    np.testing.assert_array_equal(sample.category, [0] * 5 + [1] * 4 + [2] * 2)
    np.testing.assert_array_equal(sample.nearest_commercial[5:9], [9, 10, 9, 10])  # spec §1
    assert (sample.nearest_commercial[[0, 1, 2, 3, 4, 9, 10]] == -1).all()
    generated = city_map(50, 3)
    assert np.bincount(generated.category).tolist() == [23, 18, 9]  # 5:4:2 of 11, rounded
    assert (generated.xy.min(axis=0) >= sample.xy.min(axis=0)).all()
    assert (generated.xy.max(axis=0) <= sample.xy.max(axis=0)).all()
    commercial = generated.areas_of(COMMERCIAL)
    for area in generated.areas_of(WORKING):
        distances = np.linalg.norm(generated.xy[commercial] - generated.xy[area], axis=1)
        assert generated.nearest_commercial[area] == commercial[np.argmin(distances)]
    np.testing.assert_array_equal(city_map(50, 3).xy, generated.xy)
    assert not np.array_equal(city_map(50, 4).xy, generated.xy)
    assert all(min(np.bincount(city_map(n, 0).category, minlength=3)) >= 1 for n in range(3, 40))


def test_areas_and_acquaintance_groups():
    params = ContactParams(n_people=5000)
    state = ContactSimulator(params).reset(2)
    assert set(np.unique(state.home)) == {0, 1, 2, 3, 4} and set(np.unique(state.work)) == {5, 6, 7, 8}
    for group, area, low, high in ((state.home_group, state.home, 1, 6), (state.work_group, state.work, 5, 15)):
        assert set(np.unique(group)) == set(range(group.max() + 1))  # ids 0..G-1
        sizes = np.bincount(group)
        areas = [np.unique(area[group == g]) for g in range(len(sizes))]
        assert all(len(a) == 1 for a in areas)  # a group lies in one area
        last = {int(a[0]): g for g, a in enumerate(areas)}.values()  # the last group of each area may be smaller
        inner = np.delete(sizes, list(last))
        assert inner.min() == low and inner.max() == high and sizes.max() <= high


def test_schedules_follow_spec_3():
    """Weekdays: home, then work for U{7..10} hours from U{1..3}, then maybe the nearest commercial area for
    U{1..2} hours, then home; weekends: home, or one commercial area from U{1..5} for U{1..2} hours."""
    n = 3000
    simulator = ContactSimulator(ContactParams(n_people=n, **NO_DISEASE))
    state = simulator.reset(4)
    shopping, outings = [], []
    for day in range(7):
        simulator.step(state, orders(n))
        where = state.visits[day % HISTORY_DAYS].T.astype(np.int64)  # [N, HOURS]
        category = state.area_category[where]
        at_home = where == state.home[:, None]
        if day % 7 <= 4:
            at_work = where == state.work[:, None]
            start, hours = at_work.argmax(axis=1), at_work.sum(axis=1)
            assert set(np.unique(start)) == {1, 2, 3} and set(np.unique(hours)) == {7, 8, 9, 10}
            assert (at_home[:, 0]).all() and (at_home | at_work | (category == COMMERCIAL)).all()
            shop = category == COMMERCIAL
            nearest = np.broadcast_to(state.nearest_commercial[state.work][:, None], where.shape)
            assert (where[shop] == nearest[shop]).all()
            shop_hours = shop.sum(axis=1)
            assert shop_hours.max() == 2 and set(np.unique(shop_hours)) == {0, 1, 2}
            first = np.where(shop.any(axis=1), shop.argmax(axis=1), -1)
            went = first >= 0
            assert (first[went] == (start + hours)[went]).all()  # right after work
            shopping.append(went.mean())
        else:
            out = category == COMMERCIAL
            assert ((out | at_home).all()) and set(np.unique(out.sum(axis=1))) == {0, 1, 2}
            first = out.argmax(axis=1)[out.any(axis=1)]
            assert set(np.unique(first)) == {1, 2, 3, 4, 5}
            outings.append(out.any(axis=1).mean())
    assert np.mean(shopping) == pytest.approx(0.1, abs=0.02)
    assert np.mean(outings) == pytest.approx(0.3, abs=0.03)


def test_levels_override_the_schedule():
    n = 400
    simulator = ContactSimulator(ContactParams(n_people=n, **NO_DISEASE))
    state = simulator.reset(1)
    level = np.arange(n) % 4  # none, confine, quarantine, isolate
    simulator.step(state, orders(n, level, 1))
    where = state.visits[0].T
    assert (where[level == CONFINE] == state.home[level == CONFINE, None]).all()
    assert (where[level == QUARANTINE] == state.home[level == QUARANTINE, None]).all()
    assert (where[level == ISOLATE] == OUT_OF_CITY).all()
    assert (where[level == 0] != state.home[level == 0, None]).any(axis=1).all()  # day 0 is a weekday


def test_imports_2_1_a_day_on_days_0_to_20_and_the_large_initial_scenario():
    simulator = ContactSimulator(ContactParams(n_people=200))
    per_day = np.array([(simulator.reset(seed).imports >= 0).sum(axis=1) for seed in range(300)])
    assert per_day.shape[1] == 21
    assert per_day.mean() == pytest.approx(2.1, abs=0.06) and per_day.max() <= 7
    imports_only = ContactSimulator(ContactParams(n_people=2000, **{**NO_DISEASE, "import_trials": 7}))
    new = imports_only.log_frame(run(imports_only, 0))["new_infections"]
    assert new[:21].sum() > 20 and not new[21:].any()
    large = ContactSimulator(ContactParams(n_people=10_000, import_last_day=0, import_trials=300, import_p=1.0,
                                           p_acquaintance=0.0, p_stranger=0.0))
    state = large.reset(0)
    large.step(state, orders(10_000))
    large.step(state, orders(10_000))
    assert 280 <= large.log_frame(state)["new_infections"][0] <= 300  # a few trials hit the same person
    assert large.log_frame(state)["new_infections"][1] == 0


def test_quarantined_people_meet_no_strangers_and_confined_ones_do():
    """Strangers only (P_c = 0, P_s = 1), half the city under one level all episode, the other half free and
    spreading: quarantined people are infected only by imports; confined ones by the strangers at home."""
    n = 1000
    simulator = ContactSimulator(ContactParams(n_people=n, p_acquaintance=0.0, p_stranger=1.0,
                                               hospitalise_symptomatic=False))
    ordered = np.arange(n) % 2 == 0
    for level, spreads in ((QUARANTINE, False), (CONFINE, True)):
        state = run(simulator, 6, lambda s: orders(n, np.where(ordered, level, 0), 60) if s.day == 0 else orders(n))
        imported = np.zeros(n, bool)
        imported[state.imports[state.imports >= 0]] = True
        infected = state.infection_day >= 0
        assert infected[~ordered].mean() > 0.9
        assert (infected[ordered & ~imported].mean() > 0.5) == spreads
        assert simulator.log_frame(state)["acquaintance_infections"][-1] == 0


def test_quarantined_people_still_meet_their_residential_group():
    n = 1000
    simulator = ContactSimulator(ContactParams(n_people=n, p_acquaintance=1.0, p_stranger=0.0))
    state = run(simulator, 6, lambda s: orders(n, QUARANTINE, 60) if s.day == 0 else orders(n))
    frame = simulator.log_frame(state)
    assert frame["acquaintance_infections"][-1] > 0 and frame["stranger_infections"][-1] == 0


def test_isolated_people_never_infect_or_get_infected():
    """Certain infection everywhere; the imported people are isolated for the whole episode and so are half of the
    others: nobody but the imports is ever infected."""
    n = 1000
    simulator = ContactSimulator(ContactParams(n_people=n, p_acquaintance=1.0, p_stranger=1.0, import_last_day=0,
                                               import_trials=5, import_p=1.0, hospitalise_symptomatic=False))
    state = simulator.reset(8)
    imported = np.unique(state.imports[0])
    isolated = np.zeros(n, bool)
    isolated[imported] = True
    isolated[::2] = True
    while not simulator.finished(state):
        simulator.step(state, orders(n, np.where(isolated, ISOLATE, 0), 1))
    assert simulator.log_frame(state)["infected"][-1] == len(imported)
    assert (state.infection_day >= 0).sum() == len(imported)
    free = run(simulator, 8)  # the same imports unisolated infect everyone
    assert simulator.log_frame(free)["infected"][-1] > 0.9 * n


def test_the_hourly_hazard_is_the_hourly_bernoulli_trials():
    """Two people share one residential and one work group; one is imported on day 0. The other is infected that day
    with probability 1 - prod over hours of (1 - p_acq)(1 - p_str), and by the acquaintance trial (the first one)
    with probability sum_h S(h-1) p_acq(h) (S: not yet infected), p from the day's schedules."""
    p_c, p_s = 0.06, 0.04
    simulator = ContactSimulator(ContactParams(
        n_people=2, n_areas=3, p_acquaintance=p_c, p_stranger=p_s, residential_group_min=2, residential_group_max=2,
        work_group_min=2, work_group_max=2, import_last_day=0, import_trials=1, import_p=1.0))
    infected, by_acquaintance, expected, expected_acquaintance = [], [], [], []
    for seed in range(3000):
        state = simulator.reset(seed)
        source = state.imports[0, 0]
        simulator.step(state, orders(2))
        where = state.visits[0]
        other = 1 - source
        p_acq = np.where(state.area_category[where[:, other]] != COMMERCIAL, p_c / 2, 0.0)
        p_str = np.where(where[:, other] == where[:, source], p_s / 2, 0.0)
        escape = (1 - p_acq) * (1 - p_str)
        survived = np.concatenate([[1.0], np.cumprod(escape)[:-1]])
        expected.append(1 - escape.prod())
        expected_acquaintance.append((survived * p_acq).sum())
        infected.append(state.stage[other] != 0)
        by_acquaintance.append(simulator.log_frame(state)["acquaintance_infections"][0])
    assert np.mean(infected) == pytest.approx(np.mean(expected), abs=0.025)
    assert np.mean(by_acquaintance) == pytest.approx(np.mean(expected_acquaintance), abs=0.025)
    assert np.mean(expected) > 0.3


def test_orders_last_their_days_the_latest_replaces_and_the_highest_wins():
    n = 6
    simulator = ContactSimulator(ContactParams(n_people=n, **NO_DISEASE))
    state = simulator.reset(0)
    plan = {  # day -> (level, days) of each person
        0: ([CONFINE, CONFINE, CONFINE, ISOLATE, QUARANTINE, 0], [3, 5, 5, 2, 1, 1]),
        1: ([0, CONFINE, ISOLATE, 0, 0, 0], [1, 1, 2, 1, 1, 1]),
        2: ([0, 0, 0, 0, QUARANTINE, 0], [1, 1, 1, 1, 2, 1]),
    }
    seen = []
    for day in range(6):
        level, days = plan.get(day, ([0] * n, [1] * n))
        simulator.step(state, orders(n, np.array(level), np.array(days)))
        seen.append(state.level.copy())
    seen = np.array(seen).T  # [person, day]
    np.testing.assert_array_equal(seen[0], [1, 1, 1, 0, 0, 0])  # 3 days
    np.testing.assert_array_equal(seen[1], [1, 1, 0, 0, 0, 0])  # replaced by 1 day on day 1
    np.testing.assert_array_equal(seen[2], [1, 3, 3, 1, 1, 0])  # isolation over confinement, which resumes
    np.testing.assert_array_equal(seen[3], [3, 3, 0, 0, 0, 0])
    np.testing.assert_array_equal(seen[4], [2, 0, 2, 2, 0, 0])
    np.testing.assert_array_equal(seen[5], [0, 0, 0, 0, 0, 0])
    hours_of_person_2 = {day: state.visits[day % HISTORY_DAYS][:, 2] for day in (1, 2, 3, 4)}
    assert all((hours_of_person_2[day] == OUT_OF_CITY).all() for day in (1, 2))  # isolated
    assert all((hours_of_person_2[day] == state.home[2]).all() for day in (3, 4))  # confined


def test_standing_levels_are_the_levels_of_the_coming_day_before_its_orders():
    n = 300
    simulator = ContactSimulator(ContactParams(n_people=n, **NO_DISEASE))
    state = simulator.reset(0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        standing = simulator.standing_levels(state)
        simulator.step(state, orders(n))
        np.testing.assert_array_equal(state.level, standing)
        simulator.step(state, orders(n, rng.integers(0, 4, n), rng.integers(1, 4, n)))


def test_the_hospital_rule_admits_the_symptomatic_until_treated():
    """With the rule, everyone symptomatic at the end of a day is in hospital the next and stays treat_days days;
    without it they keep moving. A hospital order admits only the symptomatic and critical."""
    n, treat = 2000, 3
    simulator = ContactSimulator(ContactParams(n_people=n, self_recovery=False, treat_days=treat))
    state = simulator.reset(5)
    stays = {}
    while not simulator.finished(state):
        sick_before = np.isin(simulator.api_codes(state), (3, 4))
        in_hospital_before = state.hospitalised.astype(bool).copy()
        ignored = sick_before | in_hospital_before  # orders to people in hospital (after the rule) are ignored
        simulator.step(state, orders(n, np.where(ignored, CONFINE, 0), 100))
        in_hospital = state.level == HOSPITAL
        np.testing.assert_array_equal(in_hospital, sick_before | in_hospital_before)
        assert (state.visits[(state.day - 1) % HISTORY_DAYS][:, in_hospital] == OUT_OF_CITY).all()
        for person in np.flatnonzero(in_hospital):
            stays[person] = stays.get(person, 0) + 1
    assert not simulator.log_frame(state)["confined"].any()
    finished = [person for person, days in stays.items() if simulator.api_codes(state)[person] == 5]
    assert len(finished) > 50 and all(stays[person] == treat for person in finished)
    assert simulator.metrics(state)["peak_hospitalised"] > 0
    free = ContactSimulator(ContactParams(n_people=n, self_recovery=False, hospitalise_symptomatic=False))
    state = run(free, 5)
    assert not free.log_frame(state)["hospitalised"].any() and free.log_frame(state)["recovered"][-1] == 0
    ordered = free.reset(5)
    while not np.isin(free.api_codes(ordered), (3, 4)).any():
        free.step(ordered, orders(n))
    codes = free.api_codes(ordered)
    free.step(ordered, orders(n, HOSPITAL))  # to everyone: only codes 3 and 4 are admitted
    np.testing.assert_array_equal(ordered.level == HOSPITAL, np.isin(codes, (3, 4)))


def test_conservation_every_day():
    n = 2000
    simulator = ContactSimulator(ContactParams(n_people=n))
    state = run(simulator, 9, random_orders(simulator, np.random.default_rng(1)))
    frame = simulator.log_frame(state)
    stages = sum(frame[c] for c in ("susceptible", "incubating", "symptomatic", "critical", "recovered"))
    levels = sum(frame[c] for c in ("hospitalised", "isolated", "quarantined", "confined", "free"))
    assert (stages == n).all() and (levels == n).all()
    assert (np.diff(frame["infected"]) >= 0).all() and (frame["infected"] == n - frame["susceptible"]).all()
    assert (np.diff(frame["infected"]) == frame["new_infections"][1:]).all()
    imports = frame["infected"] - frame["acquaintance_infections"] - frame["stranger_infections"]
    assert (imports >= 0).all() and (np.diff(imports) >= 0).all() and imports[-1] <= 7 * 21
    assert (frame["cumulative_critical"] <= frame["cumulative_symptomatic"]).all()
    assert (np.diff(frame["cumulative_symptomatic"]) == frame["onsets"][1:]).all()
    cost = 1.0 * frame["hospitalised"] + 0.5 * frame["isolated"] + 0.3 * frame["quarantined"] + 0.2 * frame["confined"]
    np.testing.assert_allclose(frame["cost"], cost)
    assert simulator.metrics(state)["cost"] == pytest.approx(cost.sum() / n)
    assert simulator.metrics(state)["mobility_retained"] == pytest.approx(frame["free"].sum() / (n * 60))
    discovered = simulator.area_discovered(state)
    assert discovered.sum() == frame["symptomatic"][-1] + frame["critical"][-1]


def test_same_seed_same_episode_and_copies_continue_identically():
    n = 1500
    simulator = ContactSimulator(ContactParams(n_people=n))
    first = run(simulator, 3, random_orders(simulator, np.random.default_rng(2)))
    second = run(simulator, 3, random_orders(simulator, np.random.default_rng(2)))
    np.testing.assert_array_equal(first.log, second.log)
    assert not np.array_equal(run(simulator, 4).log, run(simulator, 3).log)
    state = simulator.reset(3)
    for _ in range(15):
        simulator.step(state, orders(n))
    snapshot = state.copy()
    draw_a = random_orders(simulator, np.random.default_rng(7))
    draw_b = random_orders(simulator, np.random.default_rng(7))
    while not simulator.finished(state):
        simulator.step(state, draw_a(state))
        simulator.step(snapshot, draw_b(snapshot))
    for name in MUTABLE:
        np.testing.assert_array_equal(getattr(state, name), getattr(snapshot, name), err_msg=name)


def test_a_policy_leaves_the_draws_of_the_people_it_does_not_touch():
    """Common random numbers: a free person's schedule of a day does not depend on anyone else's orders."""
    n = 500
    simulator = ContactSimulator(ContactParams(n_people=n, **NO_DISEASE))
    free, ordered = simulator.reset(2), simulator.reset(2)
    simulator.step(free, orders(n))
    simulator.step(ordered, orders(n, np.arange(n) % 2 * QUARANTINE, 1))
    np.testing.assert_array_equal(free.visits[0][:, ::2], ordered.visits[0][:, ::2])


@pytest.mark.parametrize("field, value", [
    ("n_people", 0), ("n_areas", 2), ("days", 0), ("p_acquaintance", 1.5), ("p_stranger", -0.1),
    ("transmission", "pairwise"), ("work_start_max", 0), ("work_hours_min", 0), ("commercial_hours_max", 15),
    ("residential_group_min", 0), ("incubation_min", 0), ("critical_sd", -1.0), ("treat_days", 0),
    ("recover_max", 10), ("import_trials", -1), ("import_p", float("nan")), ("map_seed", -1),
])
def test_bad_params_give_one_line_errors_naming_the_field(field, value):
    with pytest.raises(EpictlError) as error:
        ContactParams(**{field: value}).validate()
    message = str(error.value)
    assert f"env.sim.{field}" in message and "\n" not in message


def test_residential_areas_report_discovered_people():
    n = 3000
    simulator = ContactSimulator(ContactParams(n_people=n, hospitalise_symptomatic=False))
    state = simulator.reset(1)
    for _ in range(25):
        simulator.step(state, orders(n))
    discovered = simulator.area_discovered(state)
    sick = np.isin(simulator.api_codes(state), (3, 4))
    np.testing.assert_array_equal(discovered, np.bincount(state.home[sick], minlength=11))
    assert discovered[state.area_category != RESIDENTIAL].sum() == 0 and discovered.sum() > 0
