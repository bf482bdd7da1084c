"""The city's ticks and days in Numba (arrays in, arrays out): vaccination, where everyone is, the infectious fraction
of each place, infection, the disease course, the household economy and the log row. The order of operations and the
randomness are documented in simulator.py.

Random numbers come from the counter-based generator of epictl/sim/counter_random.py: ``draw(key, tick, agent,
slot)`` depends on nothing but its coordinates. Loops over agents and places run in parallel (``prange``) where each
iteration writes only its own agent or place and the only sums are integer counts, so results do not depend on the
number of threads; the vaccine lottery, which picks among all agents, runs serially. Helpers called once per agent are inlined and take scalars, not arrays or the Rules tuple:
arrays passed to a function inside a hot loop cost reference counting on every call (about 10x slower here).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from epictl.sim.abm.params import (
    AGE_GROUPS,
    COMPARTMENTS,
    IM,
    IS,
    LOG_COLUMNS,
    TICKS_PER_DAY,
    VACCINES,
    A,
    D,
    E,
    H,
    P,
    R,
    S,
)
from epictl.sim.counter_random import LOW32, UNIT32, draw
from epictl.sim.threads import use_workqueue_threads

use_workqueue_threads()  # not OpenMP, which torch shares (epictl/sim/threads.py)

TWO_PI = 2.0 * math.pi
NEVER = np.int16(32767)  # stage_end of agents whose stage never ends (S, R, D)
# slots of an agent's course draws (key COURSE, tick 0): one log-normal duration per stage (params.STAGES order),
# then the uniforms of the three branches
(EXPOSED_DAYS, ASYMPTOMATIC_DAYS, PRESYMPTOMATIC_DAYS, MILD_DAYS, SEVERE_DAYS, HOSPITALISED_DAYS, BRANCH_ASYMPTOMATIC,
 BRANCH_SEVERE, BRANCH_DEATH) = range(9)
# a vaccine lottery key: priority byte (0, or 255 - age with priority oldest) above 56 bits of the agent's hash
PRIORITY_SHIFT, HASH_SHIFT = np.uint64(56), np.uint64(8)
HASH_RANGE = 2.0**56
# running totals kept in the state
TOTAL_INFECTED, TOTAL_HOSPITALISED, TOTAL_VACCINATED = range(3)
TOTALS = 3
# columns of the log row, by name
LOG_DAY = LOG_COLUMNS.index("day")
LOG_COMPARTMENT = LOG_COLUMNS.index(COMPARTMENTS[0])  # the 9 compartments follow in code order
(LOG_INFECTED, LOG_HOSPITALISED, LOG_POVERTY, LOG_LOCKED, LOG_VACCINATED, LOG_DOSES) = (
    LOG_COLUMNS.index(name) for name in ("cumulative_infected", "cumulative_hospitalised", "below_poverty",
                                         "locked_down", "vaccinated", "doses_v1_" + AGE_GROUPS[0]))
# (doses of vaccine k + 1 to group g are at LOG_DOSES + k x 3 + g)
LOG_NEW_INFECTIONS = LOG_COLUMNS.index("new_infections")


class Rules(NamedTuple):
    """The params a tick needs, as a tuple Numba can take (built by simulator.rules)."""

    susceptibility: np.ndarray  # float64 [VACCINES + 1, AGE_BANDS] beta x m_age x (1 - VE_k) x dt, row 0 unvaccinated
    p_asymptomatic: np.ndarray  # float64 [VACCINES + 1, AGE_BANDS] gamma, x factor capped at 1 if vaccinated
    p_severe: np.ndarray  # float64 [AGE_BANDS] 1 - delta
    p_death: np.ndarray  # float64 [AGE_BANDS] sigma
    log_mu: np.ndarray  # float64 [6] the underlying normal's mean of each stage's duration
    log_sigma: np.ndarray  # float64 [6] and its sd
    vaccinated_infectiousness: float
    present: bool  # place_fraction present (else members)
    mild_stays_home: bool
    oldest_first: bool  # vaccine_priority oldest
    doses_per_day: np.ndarray  # int64 [VACCINES]
    vaccination_cap: int  # agents vaccinated at most
    expense_per_person: float
    poverty_line: float


@nb.njit(cache=True, inline="always")
def uniform(bits):
    """A uniform in [0, 1) from the high 32 bits of a draw."""
    return np.float64(bits >> np.uint64(32)) * UNIT32


@nb.njit(cache=True, inline="always")
def duration(course_key, agent, stage, mu, sigma):
    """Days the agent spends in ``stage`` if it passes through it: log-normal from one Box-Muller normal (the high 32
    bits, shifted off 0, for the radius; the low 32 for the angle); mu and sigma of the stage's underlying normal."""
    bits = draw(course_key, 0, agent, stage)
    radius = math.sqrt(-2.0 * math.log((np.float64(bits >> np.uint64(32)) + 0.5) * UNIT32))
    normal = radius * math.cos(TWO_PI * (np.float64(bits & LOW32) * UNIT32))
    return math.exp(mu + sigma * normal)


@nb.njit(cache=True, inline="always")
def end_tick(infection_tick, days):
    """The first tick at or after infection_tick + 2 x days (spec §3), NEVER beyond int16."""
    end = math.ceil(infection_tick + TICKS_PER_DAY * days)
    return NEVER if end >= NEVER else np.int16(end)


@nb.njit(cache=True, inline="always")
def infectious(compartment):
    return compartment == P or compartment == A or compartment == IM or compartment == IS or compartment == H


@nb.njit(cache=True, inline="always")
def where(state, parity, lockdown, mild_stays_home, exempt, home, work, hospital):
    """An agent's place this tick (spec §2), -1 for the dead, and whether the lockdown kept them home (they would
    have gone to office or school): hospitalised -> hospital; severe, night, mild with mild_stays_home, locked down
    (lockdown on, neither essential nor violator) -> home; else office or school."""
    if state == D:
        return np.int32(-1), False
    if state == H:
        return hospital, False
    if state == IS or parity == 0 or (mild_stays_home and state == IM):
        return home, False
    if lockdown and not exempt:
        return home, True
    return work, False


@nb.njit(cache=True, parallel=True)
def locate(parity, lockdown, rules, compartment, exempt, home, work, hospital, location):
    """Everyone's place this tick into ``location``; returns the agents the lockdown kept home."""
    kept, mild_stays_home = 0, rules.mild_stays_home
    for agent in nb.prange(compartment.shape[0]):
        place, locked = where(compartment[agent], parity, lockdown, mild_stays_home, exempt[agent], home[agent],
                              work[agent], hospital[agent])
        location[agent] = place
        kept += np.int64(locked)
    return kept


@nb.njit(cache=True, inline="always")
def fraction(members, unvaccinated, vaccinated, vaccinated_infectiousness):
    """f_X = (I_unvacc + 0.8 I_vacc) / N(X) (spec §4), 0 for an empty place."""
    if members == 0:
        return 0.0
    return (unvaccinated + vaccinated_infectiousness * vaccinated) / members


@nb.njit(cache=True, parallel=True)
def house_fractions(parity, lockdown, rules, house_start, compartment, vaccine, exempt, home, work, hospital,
                    location, place_fraction):
    """Each house's f_X into ``place_fraction`` from the state at the start of the tick, writing everyone's place
    (the members of a house are consecutive agents). Returns the agents the lockdown kept home."""
    kept, mild_stays_home, present = 0, rules.mild_stays_home, rules.present
    weight = rules.vaccinated_infectiousness
    for house in nb.prange(house_start.shape[0] - 1):
        members, unvaccinated, vaccinated, locked_here = 0, 0, 0, 0
        for agent in range(house_start[house], house_start[house + 1]):
            place, locked = where(compartment[agent], parity, lockdown, mild_stays_home, exempt[agent], home[agent],
                                  work[agent], hospital[agent])
            location[agent] = place
            locked_here += np.int64(locked)
            if place == house or not present:
                members += 1
                if infectious(compartment[agent]):
                    vaccinated += np.int64(vaccine[agent] > 0)
                    unvaccinated += np.int64(vaccine[agent] == 0)
        place_fraction[house] = fraction(members, unvaccinated, vaccinated, weight)
        kept += locked_here
    return kept


@nb.njit(cache=True, parallel=True)
def work_fractions(first_work, rules, work_start, work_members, compartment, vaccine, location, place_fraction):
    """Each office's and school's f_X into ``place_fraction`` (after house_fractions wrote everyone's place)."""
    present, weight = rules.present, rules.vaccinated_infectiousness
    for local in nb.prange(work_start.shape[0] - 1):
        place = first_work + local
        members, unvaccinated, vaccinated = 0, 0, 0
        for index in range(work_start[local], work_start[local + 1]):
            agent = work_members[index]
            if location[agent] == place or not present:
                members += 1
                if infectious(compartment[agent]):
                    vaccinated += np.int64(vaccine[agent] > 0)
                    unvaccinated += np.int64(vaccine[agent] == 0)
        place_fraction[place] = fraction(members, unvaccinated, vaccinated, weight)


@nb.njit(cache=True, inline="always")
def advance(agent, boundary, course_key, course, age_band, vaccine, compartment, infection_tick, elapsed, stage_end):
    """The agent's stage changes due by tick ``boundary`` (spec §3: durations add up from the infection tick t0,
    ``elapsed`` holding their sum so far; one branch draw at the end of each stage with the agent's current
    probabilities; ``course``: the Rules' p_asymptomatic, p_severe, p_death, log_mu, log_sigma). Returns 1 if it
    entered H."""
    p_asymptomatic, p_severe, p_death, log_mu, log_sigma = course
    hospitalised = 0
    while stage_end[agent] <= boundary:
        state = compartment[agent]
        entered = -1  # the stage entered (its duration slot), -1 for R and D
        if state == E:
            calm = uniform(draw(course_key, 0, agent, BRANCH_ASYMPTOMATIC)) < \
                p_asymptomatic[vaccine[agent], age_band[agent]]
            compartment[agent], entered = (A, ASYMPTOMATIC_DAYS) if calm else (P, PRESYMPTOMATIC_DAYS)
        elif state == P:
            severe = uniform(draw(course_key, 0, agent, BRANCH_SEVERE)) < p_severe[age_band[agent]]
            compartment[agent], entered = (IS, SEVERE_DAYS) if severe else (IM, MILD_DAYS)
        elif state == IS:
            compartment[agent], entered = H, HOSPITALISED_DAYS
            hospitalised += 1
        elif state == H:
            compartment[agent] = D if uniform(draw(course_key, 0, agent, BRANCH_DEATH)) < p_death[age_band[agent]] \
                else R
        else:  # A and IM recover
            compartment[agent] = R
        if entered >= 0:
            elapsed[agent] += duration(course_key, agent, entered, log_mu[entered], log_sigma[entered])
            stage_end[agent] = end_tick(infection_tick[agent], elapsed[agent])
        else:
            stage_end[agent] = NEVER
    return hospitalised


@nb.njit(cache=True, parallel=True)
def infect_and_advance(tick, infection_key, course_key, rules, age_band, vaccine, location, place_fraction,
                       compartment, infection_tick, elapsed, stage_end):
    """The tick's infections (p = beta m_age (1 - VE_k) f_X dt against the agent's uniform of this tick, spec §4),
    then every stage change due by the next tick. Returns (new infections, new hospitalisations)."""
    infected, hospitalised = 0, 0
    susceptibility = rules.susceptibility
    exposed_mu, exposed_sigma = rules.log_mu[EXPOSED_DAYS], rules.log_sigma[EXPOSED_DAYS]
    course = (rules.p_asymptomatic, rules.p_severe, rules.p_death, rules.log_mu, rules.log_sigma)
    for agent in nb.prange(compartment.shape[0]):
        if compartment[agent] == S:
            share = place_fraction[location[agent]]
            if share > 0.0 and uniform(draw(infection_key, tick, agent, 0)) < \
                    susceptibility[vaccine[agent], age_band[agent]] * share:
                compartment[agent] = E
                infection_tick[agent] = tick
                elapsed[agent] = duration(course_key, agent, EXPOSED_DAYS, exposed_mu, exposed_sigma)
                stage_end[agent] = end_tick(tick, elapsed[agent])
                infected += 1
        if stage_end[agent] <= tick + 1:
            hospitalised += advance(agent, tick + 1, course_key, course, age_band, vaccine, compartment,
                                    infection_tick, elapsed, stage_end)
    return infected, hospitalised


@nb.njit(cache=True, inline="always")
def eligible(state, vaccinated, group_open):
    """Not yet vaccinated, not Im, Is, H or D, and in a group whose window is open (spec §6)."""
    return not vaccinated and group_open and state != IM and state != IS and state != H and state != D


@nb.njit(cache=True)
def vaccinate(tick, vaccination_key, quota, open_groups, rules, age, age_group, compartment, vaccine, doses):
    """Give this tick's ``quota`` (int64 [VACCINES]) to the eligible agents with the smallest lottery keys: priority
    byte (0; 255 - age with priority oldest) above 56 bits of the agent's hash of this tick; vaccine 1 to the
    first, vaccine 2 to the next (spec §6 [epictl]). Adds to ``doses`` [VACCINES, groups]; returns the agents
    vaccinated.

    Finding the smallest keys without sorting everyone: a histogram of priority bytes gives the cut byte; among the
    agents of that byte, those with hash below a threshold (expected count a margin above the number still needed,
    raised until enough) are the candidates; the candidates and the agents of higher priority are sorted."""
    wanted = quota.sum()
    if wanted == 0:
        return 0
    count, oldest_first = np.zeros(256, np.int64), rules.oldest_first
    for agent in range(compartment.shape[0]):
        if eligible(compartment[agent], vaccine[agent] > 0, open_groups[age_group[agent]]):
            count[priority(oldest_first, age[agent])] += 1
    cut, ahead = 0, 0  # the byte where the wanted agents run out, and the eligible agents of higher priority
    while cut < 256 and ahead + count[cut] < wanted:
        ahead += count[cut]
        cut += 1
    needed = wanted - ahead  # from the cut byte (when cut == 256 everyone eligible is taken)
    margin = 16.0 + 4.0 * math.sqrt(needed)  # about 4 sd above the expected count: one pass nearly always does
    while True:
        share = (needed + margin) / count[cut] if cut < 256 else 2.0
        threshold = np.uint64(HASH_RANGE) if share >= 1.0 else np.uint64(share * HASH_RANGE)
        agents, keys = candidates(tick, vaccination_key, cut, threshold, ahead + needed + np.int64(margin) + 1,
                                  open_groups, oldest_first, age, age_group, compartment, vaccine)
        if agents.shape[0] >= wanted or share >= 1.0:
            break
        margin *= 4.0
    order = np.argsort(keys, kind="mergesort")  # candidates are in agent order: ties go to the lower id
    given = min(wanted, agents.shape[0])
    for rank in range(given):
        agent = agents[order[rank]]
        kind = 0 if rank < quota[0] else 1
        vaccine[agent] = kind + 1
        doses[kind, age_group[agent]] += 1
    return given


@nb.njit(cache=True, inline="always")
def priority(oldest_first, age):
    """The lottery key's priority byte: 0, or 255 - age with priority oldest."""
    return 255 - np.int64(age) if oldest_first else 0


@nb.njit(cache=True)
def candidates(tick, vaccination_key, cut, threshold, capacity, open_groups, oldest_first, age, age_group,
               compartment, vaccine):
    """Eligible agents of priority byte below ``cut``, and those of byte ``cut`` whose 56-bit hash is below
    ``threshold``, with their lottery keys, in agent order."""
    agents = np.empty(capacity, np.int64)
    keys = np.empty(capacity, np.uint64)
    found = 0
    for agent in range(compartment.shape[0]):
        if not eligible(compartment[agent], vaccine[agent] > 0, open_groups[age_group[agent]]):
            continue
        byte = priority(oldest_first, age[agent])
        if byte > cut:
            continue
        hashed = draw(vaccination_key, tick, agent, 0) >> HASH_SHIFT
        if byte == cut and hashed >= threshold:
            continue
        if found == agents.shape[0]:
            agents = np.concatenate((agents, np.empty(found, np.int64)))
            keys = np.concatenate((keys, np.empty(found, np.uint64)))
        agents[found] = agent
        keys[found] = (np.uint64(byte) << PRIORITY_SHIFT) | hashed
        found += 1
    return agents[:found], keys[:found]


@nb.njit(cache=True, parallel=True)
def pay_households(lockdown, rules, house_start, head, exempt, income, compartment, savings):
    """The day's household economy (spec §7), after tick 1: the head earns unless dead, sick (Im, Is, H) or locked
    down (lockdown on the day tick, head neither essential nor violator); every living member costs
    ``expense_per_person``."""
    expense = rules.expense_per_person
    for house in nb.prange(house_start.shape[0] - 1):
        living = 0
        for agent in range(house_start[house], house_start[house + 1]):
            living += np.int64(compartment[agent] != D)
        state = compartment[head[house]]
        earns = state != D and state != IM and state != IS and state != H and not (lockdown and not exempt[head[house]])
        if earns:
            savings[house] += income[house] - expense * living
        else:
            savings[house] -= expense * living


@nb.njit(cache=True, parallel=True)
def below_poverty(rules, house_start, compartment, savings):
    """Living agents whose household's savings are below the poverty line [paper]."""
    total, line = 0, rules.poverty_line
    for house in nb.prange(house_start.shape[0] - 1):
        if savings[house] < line:
            living = 0
            for agent in range(house_start[house], house_start[house + 1]):
                living += np.int64(compartment[agent] != D)
            total += living
    return total


@nb.njit(cache=True)
def write_row(day, rules, house_start, compartment, savings, totals, locked_down, doses, new_infections, row):
    """The log row after ``day`` simulated days (LOG_COLUMNS)."""
    row[:] = 0.0
    row[LOG_DAY] = day
    for agent in range(compartment.shape[0]):
        row[LOG_COMPARTMENT + compartment[agent]] += 1.0
    row[LOG_INFECTED] = totals[TOTAL_INFECTED]
    row[LOG_HOSPITALISED] = totals[TOTAL_HOSPITALISED]
    row[LOG_POVERTY] = below_poverty(rules, house_start, compartment, savings)
    row[LOG_LOCKED] = locked_down
    row[LOG_VACCINATED] = totals[TOTAL_VACCINATED]
    for kind in range(VACCINES):
        for group in range(len(AGE_GROUPS)):
            row[LOG_DOSES + kind * len(AGE_GROUPS) + group] = doses[kind, group]
    row[LOG_NEW_INFECTIONS] = new_infections


@nb.njit(cache=True, inline="always")
def tick_quota(day_doses, parity):
    """This tick's half of the day's doses: the night tick gets the smaller half."""
    night = day_doses // 2
    return night if parity == 0 else day_doses - night


@nb.njit(cache=True)
def run_days(first_day, last_day, lockdown, vaccinate_groups, keys, rules, age, age_band, age_group, exempt,
             house_start, head, income, home, work, hospital, work_start, work_members, compartment, vaccine,
             infection_tick, elapsed, stage_end, location, savings, place_fraction, totals, log):
    """Days first_day .. last_day - 1 (``lockdown`` bool [days, 2] and ``vaccinate_groups`` bool [days, 2, 3]
    indexed by day), each: two ticks of vaccination, places, infection and course, then the economy and the log
    row ``log[day + 1]``. ``keys``: uint64 [infection, course, vaccination]."""
    infection_key, course_key, vaccination_key = keys[0], keys[1], keys[2]
    n_houses = house_start.shape[0] - 1
    for day in range(first_day, last_day):
        doses = np.zeros((VACCINES, len(AGE_GROUPS)), np.int64)
        cap_left = max(rules.vaccination_cap - totals[TOTAL_VACCINATED], 0)
        first = min(rules.doses_per_day[0], cap_left)
        day_doses = np.array([first, min(rules.doses_per_day[1], cap_left - first)])  # vaccine 1 first
        new_infections, locked_down = 0, 0
        for parity in range(TICKS_PER_DAY):
            tick = day * TICKS_PER_DAY + parity
            locked = lockdown[day, parity]
            quota = tick_quota(day_doses, parity)
            if vaccinate_groups[day, parity].any():
                totals[TOTAL_VACCINATED] += vaccinate(tick, vaccination_key, quota, vaccinate_groups[day, parity],
                                                      rules, age, age_group, compartment, vaccine, doses)
            kept = house_fractions(parity, locked, rules, house_start, compartment, vaccine, exempt, home, work,
                                   hospital, location, place_fraction)
            if parity == 1 or not rules.present:  # nobody is at work at night
                work_fractions(n_houses, rules, work_start, work_members, compartment, vaccine, location,
                               place_fraction)
            infected, hospitalised = infect_and_advance(tick, infection_key, course_key, rules, age_band, vaccine,
                                                        location, place_fraction, compartment, infection_tick,
                                                        elapsed, stage_end)
            new_infections += infected
            totals[TOTAL_INFECTED] += infected
            totals[TOTAL_HOSPITALISED] += hospitalised
            if parity == 1:
                locked_down = kept
        pay_households(lockdown[day, 1], rules, house_start, head, exempt, income, compartment, savings)
        write_row(day + 1, rules, house_start, compartment, savings, totals, locked_down, doses, new_infections,
                  log[day + 1])


@nb.njit(cache=True)
def seed_infections(agents, exposed, course_key, rules, compartment, infection_tick, elapsed, stage_end):
    """The day-0 infections: Asymptomatic [bharatsim] (their A stage starts at tick 0: ends at 2 d_A) or Exposed
    (ends at 2 d_E) [epictl option], infection tick 0."""
    for agent in agents:
        compartment[agent] = E if exposed else A
        infection_tick[agent] = 0
        stage = EXPOSED_DAYS if exposed else ASYMPTOMATIC_DAYS
        elapsed[agent] = duration(course_key, agent, stage, rules.log_mu[stage], rules.log_sigma[stage])
        stage_end[agent] = end_tick(0, elapsed[agent])
