"""A plain NumPy version of the contact city's day (kernels.run_day), written from spec §3-§6 and the order of
operations in simulator.py, with array operations over people. It draws the same numbers (the counter-based hash
in uint64 arithmetic, the same per-person draws of the state), so the kernel must match it exactly
(tests/test_contact_sim.py); scripts/bench_contacts.py times it beside the kernel."""

from __future__ import annotations

import math

import numpy as np

from epictl.sim.contacts.kernels import (
    OUTING,
    OUTING_TIME,
    SHOPPING,
    TOTAL_ACQUAINTANCE,
    TOTAL_CRITICAL,
    TOTAL_INFECTED,
    TOTAL_STRANGER,
    TOTAL_SYMPTOMATIC,
    WORK_DAY,
)
from epictl.sim.contacts.params import (
    CONFINE,
    COST_WEIGHTS,
    CRITICAL,
    HISTORY_DAYS,
    HOSPITAL,
    HOURS,
    ISOLATE,
    LOG_COLUMNS,
    NONE,
    ORDER_LEVELS,
    OUT_OF_CITY,
    PRESYMPTOMATIC,
    QUARANTINE,
    RECOVERED,
    RESIDENTIAL,
    SUSCEPTIBLE,
    SYMPTOMATIC,
    WEEKDAYS,
    WORKING,
)
from epictl.sim.contacts.simulator import ContactDay, ContactSimulator, ContactState
from epictl.sim.counter_random import LOW32, UNIT32, draws


def halves(key: np.uint64, day: int, people: np.ndarray, slot: int) -> tuple[np.ndarray, np.ndarray]:
    """kernels.halves(draw(...)) for many people: the draws of (day, person, slot) split into two uniforms of
    32 bits."""
    z = draws(key, day, people, slot)
    return (z >> np.uint64(32)).astype(np.float64) * UNIT32, (z & LOW32).astype(np.float64) * UNIT32


def pick(u: np.ndarray, low: int, high: int) -> np.ndarray:
    return low + (u * (high - low + 1)).astype(np.int64)


def advance_day(simulator: ContactSimulator, state: ContactState, orders: ContactDay) -> None:
    """The same day as ``simulator.step``."""
    day = state.day
    imported = admit_and_order(simulator, state, orders)
    where = schedules(simulator, state)
    state.visits[day % HISTORY_DAYS] = where
    infected = imported + transmit(simulator, state, where)
    state.totals[TOTAL_INFECTED] += infected
    onsets = advance_clocks(simulator, state)
    write_log(state, infected, onsets)
    state.day = day + 1


def admit_and_order(simulator: ContactSimulator, state: ContactState, orders: ContactDay) -> int:
    """Imports, the hospital rule, the orders and the day's levels; returns the people imports infected."""
    day, stage = state.day, state.stage
    targets = ContactSimulator.import_targets(state)
    hit = np.unique(targets[targets >= 0])
    hit = hit[stage[hit] == SUSCEPTIBLE]
    stage[hit] = PRESYMPTOMATIC
    state.infection_day[hit] = day
    sick = (stage == SYMPTOMATIC) | (stage == CRITICAL)
    out_of_hospital = state.hospitalised == 0
    admit = out_of_hospital & sick & (simulator.params.hospitalise_symptomatic | (orders.level == HOSPITAL))
    state.hospitalised[admit] = 1
    state.hospital_days[admit] = 0
    ordered = np.flatnonzero(out_of_hospital & ~admit & (orders.level >= CONFINE) & (orders.level < HOSPITAL))
    state.expiry[ordered, orders.level[ordered] - CONFINE] = day + orders.days[ordered].astype(np.int64)
    state.level[:] = NONE
    for order in ORDER_LEVELS:
        state.level[state.expiry[:, order - CONFINE] > day] = order
    state.level[state.hospitalised == 1] = HOSPITAL
    return len(hit)


def schedules(simulator: ContactSimulator, state: ContactState) -> np.ndarray:
    """[HOURS, N] area of everyone in each hour of the day (spec §3), levels applied."""
    rules, day, key, level = simulator.rules, state.day, state.schedule_key, state.level
    people = np.arange(len(level))
    hours = np.arange(HOURS)[:, None]
    moving = level == NONE
    where = np.broadcast_to(state.home, (HOURS, len(level))).copy()
    if day % 7 < WEEKDAYS:
        start_u, hours_u = halves(key, day, people, WORK_DAY)
        start = pick(start_u, rules.work_start_min, rules.work_start_max)
        end = start + pick(hours_u, rules.work_hours_min, rules.work_hours_max)
        where = np.where(moving & (start <= hours) & (hours < end), state.work, where)
        shops_u, hours_u = halves(key, day, people, SHOPPING)
        leave = end + pick(hours_u, rules.commercial_hours_min, rules.commercial_hours_max)
        shopping = moving & (shops_u < rules.commercial_after_work_p)
        where = np.where(shopping & (end <= hours) & (hours < leave), state.nearest_commercial[state.work], where)
    else:
        outing_u, area_u = halves(key, day, people, OUTING)
        start_u, hours_u = halves(key, day, people, OUTING_TIME)
        start = pick(start_u, rules.weekend_start_min, rules.weekend_start_max)
        end = start + pick(hours_u, rules.commercial_hours_min, rules.commercial_hours_max)
        area = state.commercial_areas[(area_u * len(state.commercial_areas)).astype(np.int64)]
        outing = moving & (outing_u < rules.weekend_visit_p)
        where = np.where(outing & (start <= hours) & (hours < end), area, where)
    where[:, level >= ISOLATE] = OUT_OF_CITY
    return where.astype(np.int16)


def stranger_pressure(simulator: ContactSimulator, present: np.ndarray, sick: np.ndarray) -> tuple:
    """Per area: p_str and its hazard, with the C library's log1p/expm1 like the kernel (areas are few)."""
    rules = simulator.rules
    probability, hazard = np.zeros(len(present)), np.zeros(len(present))
    for area in np.flatnonzero(sick):
        if rules.per_contact:
            hazard[area] = sick[area] * rules.stranger_hazard
            probability[area] = -math.expm1(-hazard[area])
        else:
            probability[area] = rules.p_stranger * sick[area] / present[area]
            hazard[area] = math.inf if probability[area] >= 1.0 else -math.log1p(-probability[area])
    return probability, hazard


def transmit(simulator: ContactSimulator, state: ContactState, where: np.ndarray) -> int:
    """The 14 hours (spec §5): the hour's hazards from the state at its start taken off the resistances, infection
    when one reaches 0, attribution with probability p_acq / p. Returns the people infected."""
    level, stage = state.level, state.stage
    n_areas = len(state.area_category)
    sick = (stage >= PRESYMPTOMATIC) & (stage <= CRITICAL)
    in_home_group, in_work_group = level < ISOLATE, level == NONE
    home_members = np.bincount(state.home_group[in_home_group], minlength=state.n_home_groups)
    work_members = np.bincount(state.work_group[in_work_group], minlength=state.n_work_groups)
    home_sick = np.bincount(state.home_group[in_home_group & sick], minlength=state.n_home_groups)
    work_sick = np.bincount(state.work_group[in_work_group & sick], minlength=state.n_work_groups)
    infected = 0
    for hour in range(HOURS):
        here = where[hour]
        counted = (here != OUT_OF_CITY) & (level != QUARANTINE)
        area_p, area_hazard = stranger_pressure(simulator, np.bincount(here[counted], minlength=n_areas),
                                                np.bincount(here[counted & sick], minlength=n_areas))
        people = np.flatnonzero((stage == SUSCEPTIBLE) & (here != OUT_OF_CITY))
        area = here[people]
        at_home, at_work = state.area_category[area] == RESIDENTIAL, state.area_category[area] == WORKING
        home, work = state.home_group[people], state.work_group[people]
        k = np.where(at_home, home_sick[home], np.where(at_work, work_sick[work], 0))
        m = np.where(at_home, home_members[home], np.where(at_work, work_members[work], 0))
        with_group = at_home | at_work
        acquaintance_hazard = np.where(with_group, simulator.group_hazard[k, m], 0.0)
        acquaintance_p = np.where(with_group, simulator.group_probability[k, m], 0.0)
        strangers = level[people] != QUARANTINE
        hour_hazard = acquaintance_hazard + np.where(strangers, area_hazard[area], 0.0)
        stranger_p = np.where(strangers, area_p[area], 0.0)
        exposed = hour_hazard > 0.0
        state.resistance[people[exposed]] -= hour_hazard[exposed]
        caught = exposed & (state.resistance[people] <= 0.0)
        new = people[caught]
        either = acquaintance_p[caught] + stranger_p[caught] - acquaintance_p[caught] * stranger_p[caught]
        by_acquaintance = state.attribution_draw[new] * either < acquaintance_p[caught]
        state.totals[TOTAL_ACQUAINTANCE] += int(by_acquaintance.sum())
        state.totals[TOTAL_STRANGER] += int((~by_acquaintance).sum())
        stage[new] = PRESYMPTOMATIC
        state.infection_day[new] = state.day
        sick[new] = True
        home_sick += np.bincount(state.home_group[new[in_home_group[new]]], minlength=state.n_home_groups)
        work_sick += np.bincount(state.work_group[new[in_work_group[new]]], minlength=state.n_work_groups)
        infected += len(new)
    return infected


def advance_clocks(simulator: ContactSimulator, state: ContactState) -> int:
    """Recovery (treatment or self-recovery, with discharge), then onset, then critical. Returns the onsets."""
    p, stage, tomorrow = simulator.params, state.stage, state.day + 1
    ill = (stage >= PRESYMPTOMATIC) & (stage <= CRITICAL)
    treating = ill & (state.hospitalised == 1)
    state.hospital_days[treating] += 1
    recovered = treating & (state.hospital_days >= p.treat_days)
    if p.self_recovery:
        recovered |= ill & (tomorrow >= state.infection_day + state.recovery_days)
    stage[recovered] = RECOVERED
    state.hospitalised[recovered] = 0
    onset = state.infection_day + state.incubation
    onsets = ill & ~recovered & (stage == PRESYMPTOMATIC) & (tomorrow >= onset)
    stage[onsets] = SYMPTOMATIC
    critical = ill & ~recovered & (stage == SYMPTOMATIC) & (tomorrow >= onset + state.critical_delay)
    stage[critical] = CRITICAL
    state.totals[TOTAL_SYMPTOMATIC] += int(onsets.sum())
    state.totals[TOTAL_CRITICAL] += int(critical.sum())
    return int(onsets.sum())


def write_log(state: ContactState, infected: int, onsets: int) -> None:
    levels = np.bincount(state.level, minlength=len(COST_WEIGHTS))
    stages = np.bincount(state.stage, minlength=5)
    cost = 0.0
    for weight, count in zip(COST_WEIGHTS, levels):
        cost += weight * count
    ill = (state.stage >= PRESYMPTOMATIC) & (state.stage <= CRITICAL)
    totals = state.totals
    values = {
        "day": state.day, "hospitalised": levels[HOSPITAL], "isolated": levels[ISOLATE],
        "quarantined": levels[QUARANTINE], "confined": levels[CONFINE], "free": levels[NONE],
        "current_healthy": stages[SUSCEPTIBLE] + stages[RECOVERED], "infected": totals[TOTAL_INFECTED],
        "infected_free": int((ill & (state.level == NONE)).sum()), "susceptible": stages[SUSCEPTIBLE],
        "incubating": stages[PRESYMPTOMATIC], "symptomatic": stages[SYMPTOMATIC], "critical": stages[CRITICAL],
        "recovered": stages[RECOVERED], "cumulative_symptomatic": totals[TOTAL_SYMPTOMATIC],
        "cumulative_critical": totals[TOTAL_CRITICAL], "acquaintance_infections": totals[TOTAL_ACQUAINTANCE],
        "stranger_infections": totals[TOTAL_STRANGER], "new_infections": infected, "onsets": onsets, "cost": cost,
    }
    state.log[state.day] = [values[name] for name in LOG_COLUMNS]
