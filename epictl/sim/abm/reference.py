"""A plain NumPy version of the city's day (kernels.run_days for one day), written from spec §2-§7 and the order of
operations in simulator.py, with array operations over agents. It draws the same numbers (the counter-based hash in
uint64 arithmetic; the log-normal durations with the C library's log, cos and exp through ``math``, as the kernel
calls them), so the kernel must match it exactly (tests/test_abm_sim.py); scripts/bench_abm.py times it beside the
kernel."""

from __future__ import annotations

import math

import numpy as np

from epictl.sim.abm.kernels import (
    ASYMPTOMATIC_DAYS,
    BRANCH_ASYMPTOMATIC,
    BRANCH_DEATH,
    BRANCH_SEVERE,
    EXPOSED_DAYS,
    HASH_SHIFT,
    HOSPITALISED_DAYS,
    MILD_DAYS,
    NEVER,
    PRESYMPTOMATIC_DAYS,
    PRIORITY_SHIFT,
    SEVERE_DAYS,
    TOTAL_HOSPITALISED,
    TOTAL_INFECTED,
    TOTAL_VACCINATED,
    TWO_PI,
)
from epictl.sim.abm.params import (
    AGE_GROUPS,
    COMPARTMENTS,
    IM,
    IS,
    LOG_COLUMNS,
    SICK,
    TICKS_PER_DAY,
    VACCINES,
    A,
    D,
    E,
    H,
    INFECTIOUS,
    P,
    R,
    S,
)
from epictl.sim.abm.simulator import AbmDay, AbmSimulator, AbmState
from epictl.sim.counter_random import LOW32, UNIT32, draws


def uniform(bits: np.ndarray) -> np.ndarray:
    return (bits >> np.uint64(32)).astype(np.float64) * UNIT32


def durations(simulator: AbmSimulator, state: AbmState, agents: np.ndarray, stage: int) -> np.ndarray:
    """kernels.duration for many agents: the Box-Muller normal and its log-normal, element by element in ``math``."""
    bits = draws(state.keys[1], 0, agents, stage)
    high = ((bits >> np.uint64(32)).astype(np.float64) + 0.5) * UNIT32
    low = (bits & LOW32).astype(np.float64) * UNIT32
    mu, sigma = simulator.rules.log_mu[stage], simulator.rules.log_sigma[stage]
    return np.array([math.exp(mu + sigma * (math.sqrt(-2.0 * math.log(h)) * math.cos(TWO_PI * u)))
                     for h, u in zip(high, low)], np.float64)


def end_ticks(infection_tick: np.ndarray, days: np.ndarray) -> np.ndarray:
    end = np.ceil(infection_tick.astype(np.float64) + TICKS_PER_DAY * days)
    return np.where(end >= NEVER, NEVER, end).astype(np.int16)


def advance_day(simulator: AbmSimulator, state: AbmState, day: AbmDay) -> None:
    """The same day as ``simulator.step``."""
    rules, totals = simulator.rules, state.totals
    cap_left = max(rules.vaccination_cap - int(totals[TOTAL_VACCINATED]), 0)
    first = min(int(rules.doses_per_day[0]), cap_left)
    day_doses = np.array([first, min(int(rules.doses_per_day[1]), cap_left - first)])
    doses = np.zeros((VACCINES, len(AGE_GROUPS)), np.int64)
    new_infections, locked_down = 0, 0
    for parity in range(TICKS_PER_DAY):
        tick = state.day * TICKS_PER_DAY + parity
        quota = day_doses // 2 if parity == 0 else day_doses - day_doses // 2
        if day.vaccinate[parity].any():
            totals[TOTAL_VACCINATED] += vaccinate(simulator, state, tick, quota, day.vaccinate[parity], doses)
        location, kept = places(simulator, state, bool(day.lockdown[parity]), parity)
        state.location[:] = location
        share = fractions(simulator, state, location)
        infected = infect(simulator, state, tick, share)
        hospitalised = advance_courses(simulator, state, tick + 1)
        new_infections += infected
        totals[TOTAL_INFECTED] += infected
        totals[TOTAL_HOSPITALISED] += hospitalised
        if parity == 1:
            locked_down = kept
    pay_households(simulator, state, bool(day.lockdown[1]))
    write_row(simulator, state, state.day + 1, locked_down, doses, new_infections)
    state.day += 1


def vaccinate(simulator: AbmSimulator, state: AbmState, tick: int, quota: np.ndarray, open_groups: np.ndarray,
              doses: np.ndarray) -> int:
    """The ``quota`` to the eligible agents with the smallest lottery keys (priority byte, then 56 hashed bits;
    ties to the lower id), vaccine 1 first."""
    city, compartment = simulator.population, state.compartment
    eligible = np.flatnonzero((state.vaccine == 0) & ~np.isin(compartment, (IM, IS, H, D))
                              & open_groups[city.age_group])
    byte = 255 - city.age[eligible].astype(np.uint64) if simulator.rules.oldest_first else np.zeros(len(eligible),
                                                                                                   np.uint64)
    keys = (byte << PRIORITY_SHIFT) | (draws(state.keys[2], tick, eligible, 0) >> HASH_SHIFT)
    chosen = eligible[np.argsort(keys, kind="stable")[: int(quota.sum())]]
    kind = (np.arange(len(chosen)) >= quota[0]).astype(np.int64)
    state.vaccine[chosen] = kind + 1
    np.add.at(doses, (kind, city.age_group[chosen]), 1)
    return len(chosen)


def places(simulator: AbmSimulator, state: AbmState, lockdown: bool, parity: int) -> tuple[np.ndarray, int]:
    """Everyone's place this tick (spec §2) and the agents the lockdown kept home."""
    city, compartment, rules = simulator.population, state.compartment, simulator.rules
    home_anyway = (compartment == IS) | (parity == 0) | (rules.mild_stays_home & (compartment == IM))
    kept = ~home_anyway & lockdown & ~city.exempt
    location = np.where(home_anyway | kept, city.home, city.work)
    location = np.where(compartment == H, city.hospital, location)
    location = np.where(compartment == D, -1, location).astype(np.int32)
    kept &= (compartment != H) & (compartment != D)
    return location, int(kept.sum())


def fractions(simulator: AbmSimulator, state: AbmState, location: np.ndarray) -> np.ndarray:
    """f_X of every house, office and school (hospitals: 0, never read)."""
    city, rules = simulator.population, simulator.rules
    sick = np.isin(state.compartment, INFECTIOUS)
    vaccinated = state.vaccine > 0
    if rules.present:
        at = np.where(location < city.first_hospital, location, -1)
        counted = at >= 0
        place = at[counted]
        members = np.bincount(place, minlength=city.n_places)
        unvaccinated_sick = np.bincount(place, (sick & ~vaccinated)[counted], city.n_places).astype(np.int64)
        vaccinated_sick = np.bincount(place, (sick & vaccinated)[counted], city.n_places).astype(np.int64)
    else:
        both = np.concatenate([city.home, city.work])
        members = np.bincount(both, minlength=city.n_places)
        unvaccinated_sick = np.bincount(both, np.tile(sick & ~vaccinated, 2), city.n_places).astype(np.int64)
        vaccinated_sick = np.bincount(both, np.tile(sick & vaccinated, 2), city.n_places).astype(np.int64)
    share = np.zeros(city.n_places)
    filled = members > 0
    share[filled] = (unvaccinated_sick[filled] + rules.vaccinated_infectiousness * vaccinated_sick[filled]) \
        / members[filled]
    return share


def infect(simulator: AbmSimulator, state: AbmState, tick: int, share: np.ndarray) -> int:
    """p = beta m_age (1 - VE_k) f_X dt against each susceptible agent's uniform of the tick (spec §4)."""
    city = simulator.population
    agents = np.flatnonzero(state.compartment == S)
    exposure = share[state.location[agents]]
    p = simulator.rules.susceptibility[state.vaccine[agents], city.age_band[agents]] * exposure
    new = agents[(exposure > 0.0) & (uniform(draws(state.keys[0], tick, agents, 0)) < p)]
    state.compartment[new] = E
    state.infection_tick[new] = tick
    state.elapsed[new] = durations(simulator, state, new, EXPOSED_DAYS)
    state.stage_end[new] = end_ticks(state.infection_tick[new], state.elapsed[new])
    return len(new)


def advance_courses(simulator: AbmSimulator, state: AbmState, boundary: int) -> int:
    """Every stage change due by ``boundary``, repeated while some agent has another (spec §3). Returns the agents
    admitted to hospital."""
    city, rules, compartment = simulator.population, simulator.rules, state.compartment
    admitted = 0
    while True:
        due = np.flatnonzero(state.stage_end <= boundary)
        if len(due) == 0:
            return admitted
        band, now = city.age_band[due], compartment[due]
        after = np.where((now == A) | (now == IM), R, now)
        next_stage = np.full(len(due), -1)  # the stage whose duration is added, -1 none
        exposed = now == E
        calm = uniform(draws(state.keys[1], 0, due, BRANCH_ASYMPTOMATIC)) < \
            rules.p_asymptomatic[state.vaccine[due], band]
        after[exposed] = np.where(calm[exposed], A, P)
        next_stage[exposed] = np.where(calm[exposed], ASYMPTOMATIC_DAYS, PRESYMPTOMATIC_DAYS)
        onset = now == P
        severe = uniform(draws(state.keys[1], 0, due, BRANCH_SEVERE)) < rules.p_severe[band]
        after[onset] = np.where(severe[onset], IS, IM)
        next_stage[onset] = np.where(severe[onset], SEVERE_DAYS, MILD_DAYS)
        after[now == IS] = H
        next_stage[now == IS] = HOSPITALISED_DAYS
        leaving = now == H
        dies = uniform(draws(state.keys[1], 0, due, BRANCH_DEATH)) < rules.p_death[band]
        after[leaving] = np.where(dies[leaving], D, R)
        for stage in np.unique(next_stage[next_stage >= 0]):
            agents = due[next_stage == stage]
            state.elapsed[agents] += durations(simulator, state, agents, stage)
        compartment[due] = after
        ends = end_ticks(state.infection_tick[due], state.elapsed[due])
        state.stage_end[due] = np.where((after == R) | (after == D), NEVER, ends)
        admitted += int((now == IS).sum())


def living_members(simulator: AbmSimulator, state: AbmState) -> np.ndarray:
    city = simulator.population
    return np.bincount(city.home[state.compartment != D], minlength=city.n_houses)


def pay_households(simulator: AbmSimulator, state: AbmState, lockdown: bool) -> None:
    """The head earns unless dead, sick or locked down; every living member costs the expense (spec §7)."""
    city, rules = simulator.population, simulator.rules
    living = living_members(simulator, state)
    head_state = state.compartment[city.head]
    earns = ~np.isin(head_state, (D, *SICK)) & ~(lockdown & ~city.exempt[city.head])
    state.savings[earns] += city.income[earns] - rules.expense_per_person * living[earns]
    state.savings[~earns] -= rules.expense_per_person * living[~earns]


def write_row(simulator: AbmSimulator, state: AbmState, day: int, locked_down: int, doses: np.ndarray,
              new_infections: int) -> None:
    poor = state.savings < simulator.rules.poverty_line
    values = {
        "day": day, **dict(zip(COMPARTMENTS, np.bincount(state.compartment, minlength=len(COMPARTMENTS)))),
        "cumulative_infected": state.totals[TOTAL_INFECTED],
        "cumulative_hospitalised": state.totals[TOTAL_HOSPITALISED],
        "below_poverty": living_members(simulator, state)[poor].sum(), "locked_down": locked_down,
        "vaccinated": state.totals[TOTAL_VACCINATED], "new_infections": new_infections,
        **{f"doses_v{kind + 1}_{group}": doses[kind, g] for kind in range(VACCINES)
           for g, group in enumerate(AGE_GROUPS)},
    }
    state.log[day] = [values[name] for name in LOG_COLUMNS]
