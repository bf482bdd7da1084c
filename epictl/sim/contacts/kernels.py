"""The contact city's day in Numba (arrays in, arrays out): orders, schedules, 14 hours of transmission, disease
clocks and the log row. The order of operations and the randomness are documented in simulator.py.

Schedules come from the counter-based generator of epictl/sim/counter_random.py: ``draw(key, day, person, slot)``
depends on nothing but its coordinates; each 64-bit draw gives two uniforms of 32 bits. States need no stream to
copy, policies on one seed share each person's schedule for every day the person moves freely, and the NumPy
reference (reference.py) reproduces the same draws with uint64 arithmetic.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from epictl.sim.contacts.params import (
    CONFINE,
    COST_WEIGHTS,
    CRITICAL,
    HISTORY_DAYS,
    HOSPITAL,
    HOURS,
    ISOLATE,
    LEVELS,
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
from epictl.sim.counter_random import LOW32, UNIT32, draw
from epictl.sim.threads import use_workqueue_threads

use_workqueue_threads()  # not OpenMP, which torch shares (epictl/sim/threads.py)

# slots of one person's schedule draws on one day, each giving two uniforms: (work start, work hours),
# (shopping after work?, its hours), (weekend outing?, its area), (outing start, its hours)
WORK_DAY, SHOPPING, OUTING, OUTING_TIME = range(4)
# fields of the stays away from home of one day (draw_stays)
FIRST_AREA, FIRST_START, FIRST_END, SECOND_AREA, SECOND_END = range(5)
STAY_FIELDS = 5
# running totals kept in the state
TOTAL_INFECTED, TOTAL_SYMPTOMATIC, TOTAL_CRITICAL, TOTAL_ACQUAINTANCE, TOTAL_STRANGER = range(5)
TOTALS = 5
# columns of the log row, by name
(LOG_DAY, LOG_HOSPITALISED, LOG_ISOLATED, LOG_QUARANTINED, LOG_CONFINED, LOG_FREE, LOG_HEALTHY, LOG_INFECTED,
 LOG_INFECTED_FREE, LOG_SUSCEPTIBLE, LOG_INCUBATING, LOG_SYMPTOMATIC, LOG_CRITICAL, LOG_RECOVERED,
 LOG_CUMULATIVE_SYMPTOMATIC, LOG_CUMULATIVE_CRITICAL, LOG_ACQUAINTANCE, LOG_STRANGER, LOG_NEW_INFECTIONS, LOG_ONSETS,
 LOG_COST) = (LOG_COLUMNS.index(name) for name in (
    "day", "hospitalised", "isolated", "quarantined", "confined", "free", "current_healthy", "infected",
    "infected_free", "susceptible", "incubating", "symptomatic", "critical", "recovered", "cumulative_symptomatic",
    "cumulative_critical", "acquaintance_infections", "stranger_infections", "new_infections", "onsets", "cost"))
LOG_OF_LEVEL = (LOG_FREE, LOG_CONFINED, LOG_QUARANTINED, LOG_ISOLATED, LOG_HOSPITALISED)
LOG_OF_STAGE = (LOG_SUSCEPTIBLE, LOG_INCUBATING, LOG_SYMPTOMATIC, LOG_CRITICAL, LOG_RECOVERED)
COST_OF_LEVEL = np.array(COST_WEIGHTS)


class DayRules(NamedTuple):
    """The params a day needs, as a tuple Numba can take (built by simulator.day_rules)."""

    work_start_min: int
    work_start_max: int
    work_hours_min: int
    work_hours_max: int
    commercial_after_work_p: float
    commercial_hours_min: int
    commercial_hours_max: int
    weekend_visit_p: float
    weekend_start_min: int
    weekend_start_max: int
    p_stranger: float
    stranger_hazard: float  # -log(1 - P_s): one infectious stranger's hazard (per_contact)
    per_contact: bool
    hospitalise_symptomatic: bool
    self_recovery: bool
    treat_days: int


@nb.njit(cache=True)
def halves(bits):
    """Two uniforms in [0, 1) from the high and the low 32 bits of one draw."""
    return np.float64(bits >> np.uint64(32)) * UNIT32, np.float64(bits & LOW32) * UNIT32


@nb.njit(cache=True)
def pick(u, low, high):
    """An integer uniform on low..high (inclusive) from a uniform u: low + floor(u * (high - low + 1))."""
    return low + np.int64(u * (high - low + 1))


@nb.njit(cache=True)
def hazard_of(p):
    """-log(1 - p): the hazard of one hour's infection probability p (infinite at p = 1)."""
    return math.inf if p >= 1.0 else -math.log1p(-p)


@nb.njit(cache=True)
def start_day(day, import_targets, order_level, order_days, hospitalise_symptomatic, stage, infection_day,
              hospitalised, hospital_days, expiry, level):
    """Imports, the hospital rule, the day's orders, then everyone's level for the day. Returns the imports that
    infected someone.

    An import infects its target only if susceptible [bin]. Orders on people in hospital (after the rule) are
    ignored; a hospital order admits only the symptomatic and critical [epictl]; an order of level 1..3 replaces
    that level's expiry from today (day + days, exclusive). The level of the day is hospital, else the highest
    order in force."""
    infected = 0
    for person in import_targets:
        if person >= 0 and stage[person] == SUSCEPTIBLE:
            stage[person] = PRESYMPTOMATIC
            infection_day[person] = day
            infected += 1
    for person in range(stage.shape[0]):
        sick = stage[person] == SYMPTOMATIC or stage[person] == CRITICAL
        order = order_level[person]
        if not hospitalised[person] and sick and (hospitalise_symptomatic or order == HOSPITAL):
            hospitalised[person] = 1
            hospital_days[person] = 0
        elif not hospitalised[person] and CONFINE <= order < HOSPITAL:
            expiry[person, order - CONFINE] = day + order_days[person]
        highest = NONE
        for candidate in ORDER_LEVELS:
            highest = max(highest, candidate * (expiry[person, candidate - CONFINE] > day))
        level[person] = HOSPITAL if hospitalised[person] else highest
    return infected


@nb.njit(cache=True)
def draw_stays(day, key, rules, home, work, nearest_commercial, commercial_areas, level):
    """Everyone's day as at most two stays away from home (spec §3): [first area, its start, its end, second area,
    its end] (int16 [5, N]; the second stay follows the first), and where they are the rest of the day (int16 [N]).

    Weekday: home until T_start, work for T_work hours, then with probability p the nearest commercial area for
    U{..} hours, then home. Weekend: with probability p one commercial area, uniform, from a random hour for
    U{..} hours. Stays are cut at the end of the day [epictl]. Confined and quarantined people stay home,
    isolated and hospitalised ones are out of the city; they draw nothing (their draws are keyed, not consumed)."""
    n = home.shape[0]
    stays = np.zeros((STAY_FIELDS, n), np.int16)
    first_area, first_start, first_end = stays[FIRST_AREA], stays[FIRST_START], stays[FIRST_END]
    second_area, second_end = stays[SECOND_AREA], stays[SECOND_END]
    rest = np.empty(n, np.int16)
    weekday = day % 7 < WEEKDAYS
    for person in range(n):
        rest[person] = OUT_OF_CITY if level[person] >= ISOLATE else home[person]
        if level[person] != NONE:
            continue
        if weekday:
            start_u, hours_u = halves(draw(key, day, person, WORK_DAY))
            start = pick(start_u, rules.work_start_min, rules.work_start_max)
            end = start + pick(hours_u, rules.work_hours_min, rules.work_hours_max)
            first_area[person] = work[person]
            first_start[person] = min(start, HOURS)
            first_end[person] = min(end, HOURS)
            shops_u, hours_u = halves(draw(key, day, person, SHOPPING))
            if shops_u < rules.commercial_after_work_p:
                second_area[person] = nearest_commercial[work[person]]
                second_end[person] = min(end + pick(hours_u, rules.commercial_hours_min, rules.commercial_hours_max),
                                         HOURS)
            continue
        outing_u, area_u = halves(draw(key, day, person, OUTING))
        if outing_u < rules.weekend_visit_p:
            start_u, hours_u = halves(draw(key, day, person, OUTING_TIME))
            start = pick(start_u, rules.weekend_start_min, rules.weekend_start_max)
            first_area[person] = commercial_areas[np.int64(area_u * commercial_areas.shape[0])]
            first_start[person] = min(start, HOURS)
            first_end[person] = min(start + pick(hours_u, rules.commercial_hours_min, rules.commercial_hours_max),
                                    HOURS)
    return stays, rest


@nb.njit(cache=True)
def write_hours(stays, rest, where):
    """The area of everyone in each hour into ``where`` [HOURS, N], in arithmetic rather than branches so that
    the loop over people vectorises."""
    first_area, first_start, first_end = stays[FIRST_AREA], stays[FIRST_START], stays[FIRST_END]
    second_area, second_end = stays[SECOND_AREA], stays[SECOND_END]
    for hour in range(HOURS):
        row, now = where[hour], np.int16(hour)
        for person in range(rest.shape[0]):
            first = np.int16((first_start[person] <= now) & (now < first_end[person]))
            second = np.int16((first_end[person] <= now) & (now < second_end[person]))
            row[person] = (rest[person] + first * (first_area[person] - rest[person])
                           + second * (second_area[person] - rest[person]))


@nb.njit(cache=True)
def count_present(stays, rest, level, stage, n_areas):
    """The people strangers meet in each area and hour, and the infectious among them, int64 [HOURS, A] each:
    everyone in the city but the quarantined [epictl]. Built from the stays, by differences over the hours."""
    present = np.zeros((HOURS + 1, n_areas), np.int64)
    sick = np.zeros((HOURS + 1, n_areas), np.int64)
    first_area, first_start, first_end = stays[FIRST_AREA], stays[FIRST_START], stays[FIRST_END]
    second_area, second_end = stays[SECOND_AREA], stays[SECOND_END]
    for person in range(rest.shape[0]):
        if level[person] > CONFINE:
            continue
        home, away, shop = rest[person], first_area[person], second_area[person]
        start, end, leave = first_start[person], first_end[person], second_end[person]
        add_day(present, home, away, start, end, shop, leave)
        if infectious(stage[person]):
            add_day(sick, home, away, start, end, shop, leave)
    for hour in range(1, HOURS):
        for area in range(n_areas):
            present[hour, area] += present[hour - 1, area]
            sick[hour, area] += sick[hour - 1, area]
    return present[:HOURS], sick[:HOURS]


@nb.njit(cache=True)
def add_day(change, home, away, start, end, shop, leave):
    """One person's day into ``change`` [HOURS + 1, A]: +1 where and when they arrive, -1 where and when they
    leave. Unsigned indices: Numba skips the negative-index fix-up (the people counted are in the city)."""
    home, away, shop = np.uint64(home), np.uint64(away), np.uint64(shop)
    start, end, leave = np.uint64(start), np.uint64(end), np.uint64(leave)
    change[0, home] += 1
    if end > start:
        change[start, away] += 1
        change[end, away] -= 1
        change[start, home] -= 1
        change[end, home] += 1
    if leave > end:
        change[end, shop] += 1
        change[leave, shop] -= 1
        change[end, home] -= 1
        change[leave, home] += 1


@nb.njit(cache=True)
def infectious(stage):
    return stage == PRESYMPTOMATIC or stage == SYMPTOMATIC or stage == CRITICAL


@nb.njit(cache=True)
def stranger_pressure(present, sick, rules, probability, hazard):
    """Per area, this hour: the stranger infection probability p_str and its hazard (spec §5)."""
    for area in range(present.shape[0]):
        if sick[area] == 0:
            probability[area] = 0.0
            hazard[area] = 0.0
        elif rules.per_contact:
            hazard[area] = sick[area] * rules.stranger_hazard
            probability[area] = -math.expm1(-hazard[area])
        else:
            probability[area] = rules.p_stranger * sick[area] / present[area]
            hazard[area] = hazard_of(probability[area])


@nb.njit(cache=True)
def transmit(day, where, present, sick, rules, category, level, stage, infection_day, home_group, work_group,
             n_home_groups, n_work_groups, resistance, attribution_draw, group_hazard, group_probability, totals):
    """The 14 hours of ``day`` (spec §5). Returns the people infected.

    Each susceptible person in the city takes the hour's hazard -log(1 - p_acq) - log(1 - p_str) off their Exp(1)
    ``resistance`` and is infected in the first hour it reaches 0; the infection is the acquaintances' with
    probability p_acq / p, p = 1 - (1 - p_acq)(1 - p_str), decided by ``attribution_draw``. Every probability
    comes from the state at the start of the hour: people infected in an hour are infectious from the next.
    Each hour visits the people susceptible at the start of the day, whose data are gathered into dense arrays (the
    susceptible are scattered once the epidemic has passed); those infected are marked, not removed, and their
    resistance is written back at once, the others' at the end of the day. ``present`` and ``sick`` [HOURS, A]
    count the people strangers meet in each area and hour, and the infectious among them (those infected today
    added as they are)."""
    n = stage.shape[0]
    home_members, home_sick = np.zeros(n_home_groups, np.int64), np.zeros(n_home_groups, np.int64)
    work_members, work_sick = np.zeros(n_work_groups, np.int64), np.zeros(n_work_groups, np.int64)
    exposed = np.empty(n, np.int32)
    n_exposed = 0
    for person in range(n):  # eligible and infectious eligible group members (spec §5); the people exposed
        ill = np.int64(infectious(stage[person]))
        if level[person] < ISOLATE:  # residential groups: everyone not isolated or hospitalised
            home_members[home_group[person]] += 1
            home_sick[home_group[person]] += ill
        if level[person] == NONE:  # work groups: everyone under no intervention
            work_members[work_group[person]] += 1
            work_sick[work_group[person]] += ill
        if stage[person] == SUSCEPTIBLE and level[person] <= QUARANTINE:
            exposed[n_exposed] = person
            n_exposed += 1
    exposed_home, exposed_work = home_group[exposed[:n_exposed]], work_group[exposed[:n_exposed]]
    exposed_left = resistance[exposed[:n_exposed]]  # their resistance, less the hazards met today
    meets_strangers = level[exposed[:n_exposed]] != QUARANTINE
    home_hazard = np.empty(n_home_groups)  # each group's acquaintance hazard, kept up to date
    for group in range(n_home_groups):
        home_hazard[group] = group_hazard[home_sick[group], home_members[group]]
    work_hazard = np.empty(n_work_groups)
    for group in range(n_work_groups):
        work_hazard[group] = group_hazard[work_sick[group], work_members[group]]
    n_areas = category.shape[0]
    area_probability, area_hazard = np.empty(n_areas), np.empty(n_areas)
    caught = np.empty(n, np.int32)  # positions in ``exposed`` of the people infected this hour
    infected = 0
    for hour in range(HOURS):
        now = where[hour]
        stranger_pressure(present[hour], sick[hour], rules, area_probability, area_hazard)
        count = meet_hazards(now, exposed, exposed_home, exposed_work, meets_strangers, exposed_left, n_exposed,
                             category, home_hazard, work_hazard, area_hazard, caught)
        for j in range(count):
            person = exposed[caught[j]]
            resistance[person] = exposed_left[caught[j]]
            exposed_left[caught[j]] = math.inf  # infected: never caught again today
            area = now[person]
            acquaintance_p = 0.0
            if category[area] == RESIDENTIAL:
                acquaintance_p = group_probability[home_sick[home_group[person]], home_members[home_group[person]]]
            elif category[area] == WORKING:
                acquaintance_p = group_probability[work_sick[work_group[person]], work_members[work_group[person]]]
            stranger_p = area_probability[area] if level[person] != QUARANTINE else 0.0
            either = acquaintance_p + stranger_p - acquaintance_p * stranger_p
            if attribution_draw[person] * either < acquaintance_p:
                totals[TOTAL_ACQUAINTANCE] += 1
            else:
                totals[TOTAL_STRANGER] += 1
        for j in range(count):  # infectious from the next hour
            person = exposed[caught[j]]
            stage[person] = PRESYMPTOMATIC
            infection_day[person] = day
            group = home_group[person]  # everyone exposed is in their residential group
            home_sick[group] += 1
            home_hazard[group] = group_hazard[home_sick[group], home_members[group]]
            if level[person] == NONE:
                group = work_group[person]
                work_sick[group] += 1
                work_hazard[group] = group_hazard[work_sick[group], work_members[group]]
            if level[person] <= CONFINE:  # strangers meet them from the next hour
                for later in range(hour + 1, HOURS):
                    sick[later, where[later, person]] += 1
        infected += count
    for i in range(n_exposed):
        if stage[exposed[i]] == SUSCEPTIBLE:
            resistance[exposed[i]] = exposed_left[i]
    return infected


@nb.njit(cache=True)
def meet_hazards(now, exposed, exposed_home, exposed_work, meets_strangers, exposed_left, n_exposed, category,
                 home_hazard, work_hazard, area_hazard, caught):
    """One hour for the exposed people: take the hour's hazard off what is left of their resistance; the positions
    of those it brings to 0 go to ``caught``; returns their number. Indices are cast to unsigned so that Numba skips
    the negative-index fix-up, and the compaction has no branch (each 2-3x faster here)."""
    count = 0
    for i in range(n_exposed):
        area = np.uint64(now[np.uint64(exposed[i])])  # everyone exposed is in the city
        kind = category[area]
        at_home = home_hazard[np.uint64(exposed_home[i])]
        at_work = work_hazard[np.uint64(exposed_work[i])]
        hour_hazard = at_home if kind == RESIDENTIAL else (at_work if kind == WORKING else 0.0)
        hour_hazard += area_hazard[area] if meets_strangers[i] else 0.0
        exposed_left[i] -= hour_hazard
        caught[count] = i  # kept only if infected
        count += (hour_hazard > 0.0) & (exposed_left[i] <= 0.0)
    return count


@nb.njit(cache=True)
def end_day(day, rules, level, stage, infection_day, incubation, critical_delay, recovery_days, hospitalised,
            hospital_days, totals, new_infections, row):
    """Disease clocks at the boundary to ``day + 1`` (spec §6), then the day's log row.

    Recovery first: after ``treat_days`` days in hospital (the day of admission counts) or, with self-recovery,
    ``recovery_days`` after infection; recovery discharges. Then onset ``incubation`` days after infection, and
    critical ``critical_delay`` days after onset (0: at onset). The same walk over people counts the row's levels
    (each person once, at the day's level) and stages (at the end of the day)."""
    tomorrow = day + 1
    onsets, infected_free = 0, 0
    level_counts, stage_counts = np.zeros(LEVELS, np.int64), np.zeros(5, np.int64)
    for person in range(stage.shape[0]):
        level_counts[level[person]] += 1
        if infectious(stage[person]):
            if hospitalised[person]:
                hospital_days[person] += 1
            treated = hospitalised[person] and hospital_days[person] >= rules.treat_days
            onset = infection_day[person] + incubation[person]
            if treated or (rules.self_recovery and tomorrow >= infection_day[person] + recovery_days[person]):
                stage[person] = RECOVERED
                hospitalised[person] = 0
            elif stage[person] == PRESYMPTOMATIC and tomorrow >= onset:
                stage[person] = SYMPTOMATIC
                onsets += 1
                totals[TOTAL_SYMPTOMATIC] += 1
            if stage[person] == SYMPTOMATIC and tomorrow >= onset + critical_delay[person]:
                stage[person] = CRITICAL
                totals[TOTAL_CRITICAL] += 1
            if level[person] == NONE and infectious(stage[person]):
                infected_free += 1
        stage_counts[stage[person]] += 1
    write_row(day, level_counts, stage_counts, infected_free, totals, new_infections, onsets, row)


@nb.njit(cache=True)
def write_row(day, level_counts, stage_counts, infected_free, totals, new_infections, onsets, row):
    """The day's log row, LOG_COLUMNS."""
    row[LOG_DAY] = day
    cost = 0.0
    for value in range(LEVELS):
        row[LOG_OF_LEVEL[value]] = level_counts[value]
        cost += COST_OF_LEVEL[value] * level_counts[value]
    for value in range(5):
        row[LOG_OF_STAGE[value]] = stage_counts[value]
    row[LOG_HEALTHY] = stage_counts[SUSCEPTIBLE] + stage_counts[RECOVERED]
    row[LOG_INFECTED] = totals[TOTAL_INFECTED]
    row[LOG_INFECTED_FREE] = infected_free
    row[LOG_CUMULATIVE_SYMPTOMATIC] = totals[TOTAL_SYMPTOMATIC]
    row[LOG_CUMULATIVE_CRITICAL] = totals[TOTAL_CRITICAL]
    row[LOG_ACQUAINTANCE] = totals[TOTAL_ACQUAINTANCE]
    row[LOG_STRANGER] = totals[TOTAL_STRANGER]
    row[LOG_NEW_INFECTIONS] = new_infections
    row[LOG_ONSETS] = onsets
    row[LOG_COST] = cost


@nb.njit(cache=True)
def run_day(day, rules, schedule_key, import_targets, order_level, order_days, home, work, home_group, work_group,
            n_home_groups, n_work_groups, category, nearest_commercial, commercial_areas, resistance,
            attribution_draw, incubation, critical_delay, recovery_days, group_hazard, group_probability, stage,
            infection_day, hospitalised, hospital_days, expiry, level, visits, totals, row):
    """One whole day in the order of simulator.py's docstring; today's hours go to ``visits[day % 5]``."""
    imported = start_day(day, import_targets, order_level, order_days, rules.hospitalise_symptomatic, stage,
                         infection_day, hospitalised, hospital_days, expiry, level)
    where = visits[day % HISTORY_DAYS]
    stays, rest = draw_stays(day, schedule_key, rules, home, work, nearest_commercial, commercial_areas, level)
    write_hours(stays, rest, where)
    present, sick = count_present(stays, rest, level, stage, category.shape[0])
    infected = imported + transmit(day, where, present, sick, rules, category, level, stage, infection_day, home_group,
                                   work_group, n_home_groups, n_work_groups, resistance, attribution_draw,
                                   group_hazard, group_probability, totals)
    totals[TOTAL_INFECTED] += infected
    end_day(day, rules, level, stage, infection_day, incubation, critical_delay, recovery_days, hospitalised,
            hospital_days, totals, infected, row)


@nb.njit(cache=True, parallel=True)
def run_day_many(copies):
    """``run_day`` for each of ``copies``, a typed list of each copy's run_day arguments. Copies write no array
    in common, so they run in parallel and their results do not depend on the number of threads."""
    for index in nb.prange(len(copies)):
        run_day(*copies[np.int64(index)])  # prange counts in uint64, which typed lists take only with a warning
