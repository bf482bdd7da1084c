"""The contact-tracing city (the ``Simulator`` contract of epictl/sim/contract.py; spec papw-contact-tracing.md).

``reset`` builds the episode: each person's residential and working area (uniform over the areas of each category
[epictl]), the acquaintance groups (spec §4: the residents of each residential area, and the workers of each
working area, shuffled and cut into consecutive groups of sampled sizes, the last possibly smaller [epictl]; people
are then numbered by residential group, a relabelling of exchangeable people that lets the kernel read the groups'
hazards in order, 1.4x faster at a million people), and every draw that belongs to a person rather than to a day:
an Exp(1) infection resistance, the uniform that attributes their infection, their disease course (incubation
U{min..max}, days from onset to critical round(N(mean, sd)) clipped at 0, self-recovery U{min..max} days after
infection), plus the whole import schedule. A person is infected at most once, so a course drawn at reset is
distributed as one drawn at infection [bin: the countdown is drawn at infection], and two policies on one seed give
an infected person the same course.

Randomness: ``random_streams(seed)`` gives one stream per kind of event: SETUP (areas, groups), SCHEDULES (its
64-bit key feeds the counter-based draws of kernels.py: the draw of (day, person, slot) is a hash, so states copy
without a stream and a person's schedule on a day is the same under every policy that leaves them free),
INFECTION (resistances, attribution draws), COURSES, IMPORTS.

Infection (spec §5): each hour a susceptible person meets two independent trials, Bernoulli(p_acq) then
Bernoulli(p_str). Rather than draw both every hour, the hour's hazard -log(1 - p_acq) - log(1 - p_str) (= -log(1 - p)
for p = 1 - (1 - p_acq)(1 - p_str)) is taken off the person's Exp(1) resistance, drawn at reset, and they are infected
in the first hour it reaches 0: P(not infected through hour h) = exp(-total hazard) = the product of the hours' (1 - p),
exactly the hourly Bernoulli trials. Given an infection in an hour, the acquaintance trial succeeded (it comes
first) with probability p_acq / p, decided by the person's attribution uniform. Hazards of groups come from tables
over (infectious, eligible) members, built once here (groups are small); hazards of areas are computed once per area
and hour. Transmission ``fraction``: p_grp = P_c x infectious fraction of the group's eligible members [bin];
``per_contact``: 1 - (1 - P_c)^k for k infectious eligible members [epictl option] (same for strangers with P_s).

One day (``step``; kernels.run_day), for day d = ``state.day``:
  1. imports of day d (each hits a uniformly random person; only a susceptible one is infected, spec §6);
  2. the hospital rule (``hospitalise_symptomatic``: every symptomatic or critical person not in hospital is
     admitted), then the day's orders (``ContactDay``; ignored for people in hospital; a hospital order admits only
     the symptomatic and critical), then everyone's level for the day (hospital, else the highest order in force);
  3. everyone's schedule of the day (spec §3), overridden by their level, written to the visit history;
  4. hours 0..13: infections from the state at the start of each hour (infected people are infectious from the
     next hour; quarantined people and people out of the city count in no area);
  5. disease clocks at the boundary to d + 1 (spec §6): recovery (``treat_days`` days in hospital counting the day
     of admission, or the self-recovery countdown) with discharge, onset, critical;
  6. the log row of day d (LOG_COLUMNS: levels of the day, stages at its end), then ``state.day = d + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_type_hints

import numpy as np
from numba.typed import List

from epictl.errors import EpictlError
from epictl.sim.contacts import kernels
from epictl.sim.contacts.areas import city_map
from epictl.sim.contacts.params import (
    API_CODE_OF_STAGE,
    COMMERCIAL,
    CRITICAL,
    HISTORY_DAYS,
    HOSPITAL,
    HOURS,
    LOG_COLUMNS,
    NO_RECORD,
    ORDER_LEVELS,
    RESIDENTIAL,
    SUSCEPTIBLE,
    SYMPTOMATIC,
    WORKING,
    ContactParams,
)
from epictl.sim.contract import DAYS, PER_PERSON, SHARE
from epictl.sim.random_streams import random_streams

# roles of the episode seed's streams
SETUP, SCHEDULES, INFECTION, COURSES, IMPORTS = range(5)
STREAMS = 5
NO_IMPORTS = np.empty(0, np.int32)  # import_targets after the last import day
NO_IMPORTS.flags.writeable = False


@dataclass
class ContactDay:
    """New orders at the start of one day: ``level`` int8 [N] (0 none, 1..3 that level for ``days`` int16 [N] days
    from today, 4 hospitalise) (the env checks days >= 1 and that only the symptomatic are sent to hospital)."""

    level: np.ndarray
    days: np.ndarray

    @classmethod
    def no_orders(cls, n_people: int) -> "ContactDay":
        return cls(np.zeros(n_people, np.int8), np.zeros(n_people, np.int16))


@dataclass
class ContactState:
    """People as a struct of arrays, the areas, the day, and the draws of the episode. The city and every draw made
    at reset are read-only and shared by copies."""

    day: int  # days simulated so far: the next day to simulate
    home: np.ndarray  # int32 [N] residential area
    work: np.ndarray  # int32 [N] working area
    home_group: np.ndarray  # int32 [N] residential group, 0..n_home_groups-1
    work_group: np.ndarray  # int32 [N] work group, 0..n_work_groups-1
    n_home_groups: int
    n_work_groups: int
    area_category: np.ndarray  # int8 [A]
    area_xy: np.ndarray  # float64 [A, 2] lng, lat
    nearest_commercial: np.ndarray  # int32 [A] of each working area, -1 for the others
    commercial_areas: np.ndarray  # int32 [C] ids of the commercial areas
    schedule_key: np.uint64  # the key of the counter-based schedule draws
    imports: np.ndarray  # int32 [days with imports, trials] person hit by each successful trial, -1 failed
    resistance: np.ndarray  # float64 [N] Exp(1) drawn at reset less the hazard met since: infected at 0
    attribution_draw: np.ndarray  # float64 [N] uniform: acquaintances' infection if below p_acq / p
    incubation: np.ndarray  # int32 [N] days from infection to onset
    critical_delay: np.ndarray  # int32 [N] days from onset to critical
    recovery_days: np.ndarray  # int32 [N] days from infection to self-recovery
    stage: np.ndarray  # int8 [N] SUSCEPTIBLE .. RECOVERED
    infection_day: np.ndarray  # int32 [N] day of infection, -1 never
    hospitalised: np.ndarray  # int8 [N] 1 while in hospital
    hospital_days: np.ndarray  # int32 [N] days in hospital so far (the current stay)
    expiry: np.ndarray  # int32 [N, 3] first day each order level 1..3 is no longer in force (0: none)
    level: np.ndarray  # int8 [N] level of the last simulated day
    visits: np.ndarray  # int16 [HISTORY_DAYS, HOURS, N] area per hour; day d in slot d % 5 (NO_RECORD before day 0)
    totals: np.ndarray  # int64 [kernels.TOTALS] running totals of the log
    log: np.ndarray  # float64 [days, LOG_COLUMNS] one row per simulated day

    SHARED = ("home", "work", "home_group", "work_group", "area_category", "area_xy", "nearest_commercial",
              "commercial_areas", "imports", "attribution_draw", "incubation", "critical_delay",
              "recovery_days")

    def copy(self) -> "ContactState":
        return ContactState(**{key: value.copy() if isinstance(value, np.ndarray) and key not in self.SHARED
                               else value for key, value in vars(self).items()})


class ContactSimulator:
    metric_units = {
        "infected": SHARE,  # cumulative infected I / N
        "cost": PER_PERSON,  # Q / N: weighted person-days under interventions (spec §9)
        "mobility_retained": SHARE,  # 1 - person-days at level >= 1 / (N x days) [epictl, spec §9]
        "peak_hospitalised": SHARE,  # most people in hospital on one day / N
        "days": DAYS,
    }

    def __init__(self, params: ContactParams):
        self.params = params.validate()
        self.city = city_map(params.n_areas, params.map_seed)
        self.rules = day_rules(params)
        self.group_hazard, self.group_probability = group_tables(params)

    def reset(self, seed: int, initial=None) -> ContactState:
        if initial is not None:
            raise EpictlError("the contact simulator draws its own initial infections (env.sim.import_*); "
                              "it takes no initial condition")
        p, city = self.params, self.city
        n = p.n_people
        setup, schedules, infection, courses, imports = random_streams(seed, STREAMS)
        residential, working = city.areas_of(RESIDENTIAL), city.areas_of(WORKING)
        home = residential[setup.integers(0, len(residential), n)]
        work = working[setup.integers(0, len(working), n)]
        home_group, n_home_groups = acquaintance_groups(home, p.residential_group_min, p.residential_group_max, setup)
        work_group, n_work_groups = acquaintance_groups(work, p.work_group_min, p.work_group_max, setup)
        by_group = np.argsort(home_group, kind="stable")  # number people by residential group (module docstring)
        home, work, home_group, work_group = home[by_group], work[by_group], home_group[by_group], work_group[by_group]
        import_days = min(p.import_last_day, p.days - 1) + 1
        hits = imports.random((import_days, p.import_trials)) < p.import_p
        targets = imports.integers(0, n, (import_days, p.import_trials))
        critical_delay = np.clip(np.round(courses.normal(p.critical_mean, p.critical_sd, n)), 0, None)
        state = ContactState(
            day=0, home=home, work=work, home_group=home_group, work_group=work_group,
            n_home_groups=n_home_groups, n_work_groups=n_work_groups, area_category=city.category,
            area_xy=city.xy, nearest_commercial=city.nearest_commercial, commercial_areas=city.areas_of(COMMERCIAL),
            schedule_key=schedules.integers(0, 2**64, dtype=np.uint64),
            imports=np.where(hits, targets, -1).astype(np.int32),
            resistance=infection.standard_exponential(n), attribution_draw=infection.random(n),
            incubation=courses.integers(p.incubation_min, p.incubation_max + 1, n).astype(np.int32),
            critical_delay=critical_delay.astype(np.int32),
            recovery_days=courses.integers(p.recover_min, p.recover_max + 1, n).astype(np.int32),
            stage=np.full(n, SUSCEPTIBLE, np.int8), infection_day=np.full(n, -1, np.int32),
            hospitalised=np.zeros(n, np.int8), hospital_days=np.zeros(n, np.int32),
            expiry=np.zeros((n, len(ORDER_LEVELS)), np.int32), level=np.zeros(n, np.int8),
            visits=np.full((HISTORY_DAYS, HOURS, n), NO_RECORD, np.int16), totals=np.zeros(kernels.TOTALS, np.int64),
            log=np.zeros((p.days, len(LOG_COLUMNS))))
        for name in ContactState.SHARED:
            getattr(state, name).flags.writeable = False
        return state

    def step(self, state: ContactState, orders: ContactDay) -> None:
        """Day ``state.day`` under ``orders`` (see the module docstring for the order of operations)."""
        kernels.run_day(*self.day_arguments(state, orders))
        state.day += 1

    def step_many(self, states: list[ContactState], orders: list[ContactDay]) -> None:
        """Each state's day under its own orders, bit for bit as ``step`` on each in turn, in one kernel call that
        runs the copies in parallel. Bad input stops it before any state moves."""
        if len(states) != len(orders):
            raise EpictlError(f"step_many: {len(states)} states but {len(orders)} orders")
        if not states:  # as the loop over no copies (a vector env may step none of its copies)
            return
        written = [id(value) for state in states for key, value in vars(state).items()
                   if isinstance(value, np.ndarray) and key not in ContactState.SHARED]
        if len(set(written)) < len(written):
            raise EpictlError("step_many: the states share arrays the day writes; pass independent states "
                              "(each from reset or copy())")
        kernels.run_day_many(List([self.day_arguments(state, day) for state, day in zip(states, orders)]))
        for state in states:
            state.day += 1

    def day_arguments(self, state: ContactState, orders: ContactDay) -> tuple:
        """``kernels.run_day``'s arguments for day ``state.day`` under ``orders``, after checking both."""
        if self.finished(state):
            raise EpictlError(f"the episode ended after env.sim.days={self.params.days} days")
        level = np.ascontiguousarray(orders.level, np.int8)
        days = np.ascontiguousarray(orders.days, np.int16)
        if level.shape != state.stage.shape or days.shape != state.stage.shape:
            raise EpictlError(f"orders must have shape ({len(state.stage)},), got {level.shape} and {days.shape}")
        return (state.day, self.rules, state.schedule_key, self.import_targets(state), level, days, state.home,
                state.work, state.home_group, state.work_group, state.n_home_groups, state.n_work_groups,
                state.area_category, state.nearest_commercial, state.commercial_areas, state.resistance,
                state.attribution_draw, state.incubation, state.critical_delay, state.recovery_days,
                self.group_hazard, self.group_probability, state.stage, state.infection_day, state.hospitalised,
                state.hospital_days, state.expiry, state.level, state.visits, state.totals, state.log[state.day])

    @staticmethod
    def import_targets(state: ContactState) -> np.ndarray:
        """People hit by today's import trials (-1: a failed trial); none after the last import day. Read-only
        either way, so one compiled kernel serves every day and every copy of step_many."""
        return state.imports[state.day] if state.day < len(state.imports) else NO_IMPORTS

    def finished(self, state: ContactState) -> bool:
        return state.day >= self.params.days

    def api_codes(self, state: ContactState) -> np.ndarray:
        """int8 [N]: 1 susceptible or pre-symptomatic, 3 symptomatic, 4 critical, 5 recovered (spec §6)."""
        return np.asarray(API_CODE_OF_STAGE, np.int8)[state.stage]

    def observe(self, state: ContactState) -> np.ndarray:
        return self.api_codes(state)

    def standing_levels(self, state: ContactState) -> np.ndarray:
        """int8 [N]: the level each person is under on day ``state.day`` before its orders (hospital, else the
        highest order in force). The hospital rule of that day is not yet applied."""
        levels = np.zeros(len(state.stage), np.int8)
        for order in ORDER_LEVELS:  # ascending: the highest in force wins
            levels[state.expiry[:, order - ORDER_LEVELS[0]] > state.day] = order
        levels[state.hospitalised == 1] = HOSPITAL
        return levels

    def visit_history(self, state: ContactState) -> np.ndarray:
        """int16 [N, HISTORY_DAYS x HOURS]: the area of each hour of the last 5 days, oldest first (-1 hospital or
        isolation, -2 before day 0)."""
        slots = [day % HISTORY_DAYS for day in range(state.day - HISTORY_DAYS, state.day)]
        return state.visits[slots].reshape(HISTORY_DAYS * HOURS, -1).T.copy()

    def area_discovered(self, state: ContactState) -> np.ndarray:
        """int32 [A]: people with API code 3 or 4 (hospitalised included) by residential area."""
        sick = (state.stage == SYMPTOMATIC) | (state.stage == CRITICAL)
        return np.bincount(state.home[sick], minlength=len(state.area_category)).astype(np.int32)

    def log_frame(self, state: ContactState) -> dict[str, np.ndarray]:
        """One entry per simulated day for each of LOG_COLUMNS (counts as int64, ``cost`` as float64)."""
        rows = state.log[: state.day]
        return {name: rows[:, i] if name == "cost" else rows[:, i].astype(np.int64)
                for i, name in enumerate(LOG_COLUMNS)}

    def metrics(self, state: ContactState) -> dict[str, float]:
        n, rows = len(state.stage), state.log[: state.day]
        person_days = n * max(state.day, 1)
        return {
            "infected": float(state.totals[kernels.TOTAL_INFECTED]) / n,
            "cost": float(rows[:, kernels.LOG_COST].sum()) / n,
            "mobility_retained": float(rows[:, kernels.LOG_FREE].sum()) / person_days if state.day else 1.0,
            "peak_hospitalised": float(rows[:, kernels.LOG_HOSPITALISED].max(initial=0.0)) / n,
            "days": float(state.day),
        }


def day_rules(params: ContactParams) -> kernels.DayRules:
    """The kernels' view of ``params``, each value of its declared type (an int where a float is declared would
    make Numba compile the day again)."""
    derived = {"stranger_hazard": kernels.hazard_of(params.p_stranger),
               "per_contact": params.transmission == "per_contact"}
    return kernels.DayRules(**{name: kind(derived[name] if name in derived else getattr(params, name))
                               for name, kind in get_type_hints(kernels.DayRules).items()})


def group_tables(params: ContactParams) -> tuple[np.ndarray, np.ndarray]:
    """Hazard and probability of the acquaintance trial for a group with k infectious of m eligible members, as
    [k, m] tables up to the largest group (entries with k > m or m = 0 are never read)."""
    size = max(params.residential_group_max, params.work_group_max)
    infectious, members = np.meshgrid(np.arange(size + 1), np.arange(size + 1), indexing="ij")
    p_c = params.p_acquaintance
    with np.errstate(divide="ignore", invalid="ignore"):  # P_c = 1: infinite hazards
        if params.transmission == "per_contact":
            hazard = np.where(infectious > 0, infectious * kernels.hazard_of(p_c), 0.0)
            probability = -np.expm1(-hazard)
        else:
            probability = np.clip(p_c * infectious / np.maximum(members, 1), 0.0, 1.0)
            hazard = -np.log1p(-probability)
    return hazard, probability


def acquaintance_groups(area: np.ndarray, size_min: int, size_max: int,
                        rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Group of each person and the number of groups: the people of each area, shuffled, cut into consecutive groups
    of U{size_min..size_max} people, the last possibly smaller (spec §4 [epictl]); ids numbered area by area."""
    order = rng.permutation(len(area))
    order = order[np.argsort(area[order], kind="stable")]  # each area's people together, in shuffled order
    group = np.empty(len(area), np.int32)
    groups, start = 0, 0
    for count in np.bincount(area):
        if count == 0:
            continue
        sizes = rng.integers(size_min, size_max + 1, count // size_min + 1)  # more than enough to cover count
        local = np.repeat(np.arange(len(sizes)), sizes)[:count]
        group[order[start: start + count]] = groups + local
        groups += int(local[-1]) + 1
        start += count
    return group, groups
