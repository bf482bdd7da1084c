"""The lockdown-and-vaccination city (the ``Simulator`` contract of epictl/sim/contract.py; spec
abm-ddpg-lockdown-vaccination.md §1-§8).

The city (population.py) is built once from ``population_seed``; an episode seed draws only the epidemic, so every
episode and policy sees the same city. A day is two 12-hour ticks, t = 2d (night) and t = 2d + 1 (day); each tick
(kernels.run_days):
  1. vaccination: the tick's half of the day's doses (each vaccine min(A_k, cap left at the start of the day),
     vaccine 1 first; the night tick gets the smaller half) to eligible agents of the groups open on this tick
     (not vaccinated, not Im, Is, H or D), by lottery; effective at once; doses a tick cannot place are lost;
  2. everyone's place (spec §2: hospitalised -> hospital; severe, night, locked down -> home; else office or
     school; the dead nowhere) and each house's, office's and school's infectious fraction f_X from the state at
     the start of the tick (after step 1) [epictl]: the agents present (or, place_fraction members, all members);
  3. infection: a susceptible agent at X is infected with p = beta m_age (1 - VE_k) f_X dt (spec §4);
  4. every stage change due by the next tick (spec §3): a stage ends at the first tick at or after t0 + 2 x (sum of
     the stage durations so far), t0 the infection tick, with one branch draw at its end.
After tick 1: the household economy (spec §7; the state at the end of the day: the head earns unless dead, sick
(Im, Is, H) or locked down on the day tick, every living member costs the expense), then the log row d + 1
(LOG_COLUMNS).

Randomness: ``random_streams(seed)`` gives SEEDING (which agents are infected at day 0) and the 64-bit keys of three
counter-based streams (epictl/sim/counter_random.py): INFECTION (one uniform per agent and tick), COURSE (per agent: the six stage
durations and three branch uniforms; an agent is infected at most once, so a course keyed by the agent alone is
distributed as one drawn at infection) and VACCINATION (the lottery key of each agent and tick). States copy without
streams, results do not depend on the thread count, and two policies on one seed share every agent's infection draws
and course as long as their actions agree (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numba as nb
import numpy as np

from epictl.errors import EpictlError
from epictl.sim.abm import kernels
from epictl.sim.abm.params import (
    AGE_GROUPS,
    COMPARTMENTS,
    DT,
    LOG_COLUMNS,
    STAGES,
    VACCINES,
    AbmParams,
    D,
    S,
)
from epictl.sim.abm.population import Population, build_population
from epictl.sim.contract import SHARE
from epictl.sim.random_streams import random_streams

# roles of the episode seed's streams
SEEDING, INFECTION, COURSE, VACCINATION = range(4)
STREAMS = 4
NO_INFECTION = np.int16(-1)  # infection_tick of agents never infected
# Below this many agents the kernels run on one thread: a tick's parallel loops are too short to repay waking the
# others (100 days on 2 idle cores, one thread vs two: 3,000 agents 6 vs 36 ms; 20,000 even at 0.06 s; 100,000
# 0.26 vs 0.18 s) [epictl]
PARALLEL_MIN_AGENTS = 20_000


@dataclass
class AbmDay:
    """One day's action: ``lockdown`` bool [2] (lockdown on tick 0 / tick 1), ``vaccinate`` bool [2, 3] (per tick,
    the age groups whose vaccination window is open; a tick's half of the day's doses goes only to them)."""

    lockdown: np.ndarray
    vaccinate: np.ndarray

    @classmethod
    def nothing(cls) -> "AbmDay":
        return cls(np.zeros(2, bool), np.zeros((2, len(AGE_GROUPS)), bool))


@dataclass
class AbmState:
    """The epidemic as a struct of arrays (the city is the simulator's, shared by every state)."""

    day: int  # days simulated so far: the next day to simulate
    keys: np.ndarray  # uint64 [3] keys of the INFECTION, COURSE and VACCINATION draws
    compartment: np.ndarray  # int8 [N] COMPARTMENTS code
    vaccine: np.ndarray  # int8 [N] 0 unvaccinated, k = vaccine k
    infection_tick: np.ndarray  # int16 [N] t0, -1 never infected
    elapsed: np.ndarray  # float64 [N] days from t0 to the end of the current stage (the durations so far)
    stage_end: np.ndarray  # int16 [N] first tick of the next stage (kernels.NEVER: none)
    location: np.ndarray  # int32 [N] place of each agent on the last simulated tick (before any: home), -1 dead
    savings: np.ndarray  # float64 [H] household savings
    totals: np.ndarray  # int64 [kernels.TOTALS] running totals of the log
    log: np.ndarray  # float64 [days + 1, LOG_COLUMNS] row d: after d simulated days

    def copy(self) -> "AbmState":
        return AbmState(**{key: value.copy() if isinstance(value, np.ndarray) else value
                           for key, value in vars(self).items()})


class AbmSimulator:
    metric_units = {
        "infected": SHARE,  # ever infected / N
        "hospitalised": SHARE,  # ever hospitalised / N
        "deceased": SHARE,  # D / N
        "below_poverty": SHARE,  # living agents below the poverty line on the last simulated day / N
        "vaccinated": SHARE,  # ever vaccinated / N
    }

    def __init__(self, params: AbmParams):
        self.params = params.validate()
        self.population: Population = build_population(params)
        self.rules = rules(params)
        self.place_fraction = np.zeros(self.population.n_places)  # scratch of the kernels: f_X of the tick

    def reset(self, seed: int, initial: float | None = None) -> AbmState:
        """A new epidemic on the city; ``initial``: the share infected at day 0 (None: params.initial_infected)."""
        p, city = self.params, self.population
        share = p.initial_infected if initial is None else initial
        if not (isinstance(share, (int, float)) and 0.0 <= share <= 1.0):
            raise EpictlError(f"the initial infected share {share!r} must be a number in [0, 1]")
        n = city.n_agents
        seeding, infection, course, vaccination = random_streams(seed, STREAMS)
        keys = np.array([stream.integers(0, 2**64, dtype=np.uint64) for stream in (infection, course, vaccination)],
                        np.uint64)
        state = AbmState(
            day=0, keys=keys, compartment=np.full(n, S, np.int8), vaccine=np.zeros(n, np.int8),
            infection_tick=np.full(n, NO_INFECTION, np.int16), elapsed=np.zeros(n),
            stage_end=np.full(n, kernels.NEVER, np.int16),
            location=city.home.copy(), savings=city.initial_savings.copy(),
            totals=np.zeros(kernels.TOTALS, np.int64), log=np.zeros((p.days + 1, len(LOG_COLUMNS))))
        seeded = np.sort(seeding.choice(n, round(share * n), replace=False))
        state.totals[kernels.TOTAL_INFECTED] = len(seeded)
        with self.threads():
            kernels.seed_infections(seeded, p.initial_state == "exposed", keys[1], self.rules, state.compartment,
                                    state.infection_tick, state.elapsed, state.stage_end)
            kernels.write_row(0, self.rules, city.house_start, state.compartment, state.savings, state.totals, 0,
                              np.zeros((VACCINES, len(AGE_GROUPS)), np.int64), 0, state.log[0])
        return state

    def step(self, state: AbmState, day: AbmDay) -> None:
        """Day ``state.day`` under ``day`` (see the module docstring for the order of operations)."""
        lockdown = np.ascontiguousarray(day.lockdown, bool)
        vaccinate = np.ascontiguousarray(day.vaccinate, bool)
        if lockdown.shape != (2,) or vaccinate.shape != (2, len(AGE_GROUPS)):
            raise EpictlError(f"an AbmDay needs lockdown of shape (2,) and vaccinate of shape (2, 3), got "
                              f"{lockdown.shape} and {vaccinate.shape}")
        days = self.params.days
        schedule_lockdown = np.zeros((days, 2), bool)
        schedule_vaccinate = np.zeros((days, 2, len(AGE_GROUPS)), bool)
        if not self.finished(state):
            schedule_lockdown[state.day], schedule_vaccinate[state.day] = lockdown, vaccinate
        self._advance(state, state.day + 1, schedule_lockdown, schedule_vaccinate)

    def run(self, state: AbmState, lockdown: np.ndarray, vaccinate: np.ndarray) -> None:
        """Every remaining day in one kernel call, exactly as ``step`` day by day: ``lockdown`` bool [days, 2] and
        ``vaccinate`` bool [days, 2, 3] over the whole horizon (rows before ``state.day`` are ignored)."""
        days = self.params.days
        lockdown = np.ascontiguousarray(lockdown, bool)
        vaccinate = np.ascontiguousarray(vaccinate, bool)
        if lockdown.shape != (days, 2) or vaccinate.shape != (days, 2, len(AGE_GROUPS)):
            raise EpictlError(f"run needs lockdown of shape ({days}, 2) and vaccinate of shape ({days}, 2, 3) "
                              f"(env.sim.days={days}), got {lockdown.shape} and {vaccinate.shape}")
        self._advance(state, days, lockdown, vaccinate)

    def _advance(self, state: AbmState, last_day: int, lockdown: np.ndarray, vaccinate: np.ndarray) -> None:
        if state.day >= last_day or self.finished(state):
            raise EpictlError(f"the episode ended after env.sim.days={self.params.days} days")
        city = self.population
        with self.threads():
            kernels.run_days(
                state.day, last_day, lockdown, vaccinate, state.keys, self.rules, city.age, city.age_band,
                city.age_group, city.exempt, city.house_start, city.head, city.income, city.home, city.work,
                city.hospital, city.work_start, city.work_members, state.compartment, state.vaccine,
                state.infection_tick, state.elapsed, state.stage_end, state.location, state.savings,
                self.place_fraction, state.totals, state.log)
        state.day = last_day

    @contextmanager
    def threads(self) -> Iterator[None]:
        """Numba's threads for this city's kernels: one below PARALLEL_MIN_AGENTS agents, else all (results are the
        same either way)."""
        available = nb.get_num_threads()
        nb.set_num_threads(1 if self.population.n_agents < PARALLEL_MIN_AGENTS else available)
        try:
            yield
        finally:
            nb.set_num_threads(available)

    def finished(self, state: AbmState) -> bool:
        return state.day >= self.params.days

    def locations(self, state: AbmState, lockdown: bool, parity: int) -> np.ndarray:
        """int32 [N]: where everyone would be on a tick of ``parity`` (0 night, 1 day) from ``state`` under
        ``lockdown`` (-1: dead), as the kernel places them."""
        city, location = self.population, np.empty(self.population.n_agents, np.int32)
        with self.threads():
            kernels.locate(parity, lockdown, self.rules, state.compartment, city.exempt, city.home, city.work,
                           city.hospital, location)
        return location

    def observe(self, state: AbmState) -> np.ndarray:
        """The last log row (float64 [LOG_COLUMNS])."""
        return state.log[state.day].copy()

    def log_frame(self, state: AbmState) -> dict[str, np.ndarray]:
        """Each of LOG_COLUMNS (int64) for days 0 .. state.day."""
        rows = state.log[: state.day + 1]
        return {name: rows[:, i].astype(np.int64) for i, name in enumerate(LOG_COLUMNS)}

    def metrics(self, state: AbmState) -> dict[str, float]:
        n, row = self.population.n_agents, state.log[state.day]
        column = {name: i for i, name in enumerate(LOG_COLUMNS)}
        return {
            "infected": float(row[column["cumulative_infected"]]) / n,
            "hospitalised": float(row[column["cumulative_hospitalised"]]) / n,
            "deceased": float(row[column[COMPARTMENTS[D]]]) / n,
            "below_poverty": float(row[column["below_poverty"]]) / n,
            "vaccinated": float(row[column["vaccinated"]]) / n,
        }


def rules(params: AbmParams) -> kernels.Rules:
    """The kernels' view of ``params``: per-band tables by vaccine status and the log-normal parameters
    (mu = ln m - ln(1 + s^2/m^2) / 2, sigma^2 = ln(1 + s^2/m^2) for mean m and sd s of the variable itself,
    spec §3)."""
    susceptibility = params.beta * np.asarray(params.beta_multiplier, np.float64)
    gamma = 1.0 - np.asarray(params.p_symptomatic, np.float64)
    vaccinated_gamma = np.minimum(gamma * params.vaccinated_asymptomatic_factor, 1.0)
    mean = np.array([getattr(params, f"{stage}_mean") for stage in STAGES], np.float64)
    sd = np.array([getattr(params, f"{stage}_sd") for stage in STAGES], np.float64)
    variance = np.log1p((sd / mean) ** 2)
    return kernels.Rules(
        susceptibility=np.stack([susceptibility * DT] + [susceptibility * (1.0 - vaccine.effectiveness) * DT
                                                         for vaccine in params.vaccines]),
        p_asymptomatic=np.stack([gamma] + [vaccinated_gamma] * VACCINES),
        p_severe=np.asarray(params.p_severe, np.float64), p_death=np.asarray(params.p_death, np.float64),
        log_mu=np.log(mean) - variance / 2.0, log_sigma=np.sqrt(variance),
        vaccinated_infectiousness=float(params.vaccinated_infectiousness), present=params.place_fraction == "present",
        mild_stays_home=bool(params.mild_stays_home), oldest_first=params.vaccine_priority == "oldest",
        doses_per_day=np.array([vaccine.doses_per_day for vaccine in params.vaccines], np.int64),
        vaccination_cap=int(math.floor(params.vaccination_cap * params.n_agents)),
        expense_per_person=float(params.expense_per_person), poverty_line=float(params.poverty_line))
