"""The synthetic city (spec §1-§2, §5, §7), drawn once from ``population_seed`` with array operations and small
Numba kernels, so that 10,000,000 agents build in seconds.

Agents are numbered household by household: the members of house h are agents house_start[h] .. house_start[h+1] - 1,
so houses are CSR membership lists with implicit members. Ages are drawn independently of households (a city with no
family structure [epictl]). Offices and schools are CSR lists (work_start, work_members, members in agent order).
Hospitals serve contiguous blocks of households (catchments of about equal size [epictl]); nobody susceptible is ever
in a hospital (no health-care workers, spec §1), so their infectious fractions are never needed.

Place ids share one range: houses [0, H), offices [H, H + O), schools [H + O, H + O + C), hospitals after them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from epictl.sim.abm.params import AGE_BANDS, AGE_GROUP_STARTS, AbmParams
from epictl.sim.random_streams import random_streams

# roles of the population seed's streams: a change to one part of the city leaves the others as they were
AGES, HOUSEHOLDS, WORKPLACES, ROLES, ECONOMY = range(5)
STREAMS = 5


@dataclass
class Population:
    """The city as a struct of arrays (read-only once built)."""

    age: np.ndarray  # uint8 [N] years, uniform within the age band
    age_band: np.ndarray  # uint8 [N] 0..9 (0-9 .. 90-99)
    age_group: np.ndarray  # uint8 [N] vaccination group 0..2 (AGE_GROUPS)
    employed: np.ndarray  # bool [N] age >= employed_min_age: office by day; the others are students
    essential: np.ndarray  # bool [N] works through lockdowns (employed only)
    violator: np.ndarray  # bool [N] ignores lockdowns
    exempt: np.ndarray  # bool [N] essential or violator
    house_start: np.ndarray  # int64 [H + 1] members of house h: agents house_start[h] .. house_start[h + 1] - 1
    home: np.ndarray  # int32 [N] place id of the agent's house
    head: np.ndarray  # int32 [H] the household head: oldest employed member, else oldest member [epictl]
    work: np.ndarray  # int32 [N] place id of the agent's office (employed) or school (students)
    work_start: np.ndarray  # int64 [O + C + 1] CSR offsets of offices then schools
    work_members: np.ndarray  # int32 [N] members of each office and school, in agent order
    hospital: np.ndarray  # int32 [N] place id of the hospital the agent is taken to
    hospital_start: np.ndarray  # int64 [n_hospitals + 1] each hospital's catchment: agents in this range
    income: np.ndarray  # float64 [H] daily household income, clipped at 0 [paper; epictl]
    initial_savings: np.ndarray  # float64 [H] clipped at 0 [paper; epictl]
    n_houses: int
    n_offices: int
    n_schools: int
    n_hospitals: int

    @property
    def n_agents(self) -> int:
        return len(self.age)

    @property
    def first_office(self) -> int:
        return self.n_houses

    @property
    def first_school(self) -> int:
        return self.n_houses + self.n_offices

    @property
    def first_hospital(self) -> int:
        return self.n_houses + self.n_offices + self.n_schools

    @property
    def n_places(self) -> int:
        return self.first_hospital + self.n_hospitals

    def household_sizes(self) -> np.ndarray:
        return np.diff(self.house_start)


def build_population(params: AbmParams) -> Population:
    """The city of ``params`` (validated), from ``params.population_seed`` only."""
    ages, households, workplaces, roles, economy = random_streams(params.population_seed, STREAMS)
    n = params.n_agents
    shares = np.asarray(params.age_band_shares, np.float64)
    band = np.minimum(np.searchsorted(np.cumsum(shares / shares.sum()), ages.random(n), side="right"),
                      AGE_BANDS - 1).astype(np.uint8)
    age = (band * 10 + ages.integers(0, 10, n)).astype(np.uint8)
    group = (np.searchsorted(np.asarray(AGE_GROUP_STARTS), age, side="right") - 1).astype(np.uint8)
    employed = age >= params.employed_min_age

    house_start = household_starts(n, params, households)
    n_houses = len(house_start) - 1
    home = np.repeat(np.arange(n_houses, dtype=np.int32), np.diff(house_start))
    head = household_heads(house_start, age, employed)

    workers, students = np.flatnonzero(employed), np.flatnonzero(~employed)
    office = geometric_groups(len(workers), params.office_size_mean, workplaces)
    n_offices = int(office[-1]) + 1 if len(workers) else 0
    n_schools = max(1, round(len(students) / params.school_size_mean)) if len(students) else 0
    school = np.arange(len(students), dtype=np.int64) * n_schools // max(len(students), 1)  # equal sizes [epictl]
    work_local = np.empty(n, np.int64)
    work_local[workplaces.permutation(workers)] = office
    work_local[workplaces.permutation(students)] = n_offices + school
    work_start, work_members = csr_by(work_local, n_offices + n_schools)

    n_essential = min(round(params.essential_share * n), len(workers))
    essential = np.zeros(n, bool)
    essential[roles.choice(workers, n_essential, replace=False)] = True
    violator = np.zeros(n, bool)
    violator[roles.choice(n, round(params.violator_share * n), replace=False)] = True

    n_hospitals = params.n_hospitals
    first_hospital = n_houses + n_offices + n_schools
    house_hospital = np.arange(n_houses, dtype=np.int64) * n_hospitals // n_houses  # contiguous catchments
    hospital_start = house_start[np.searchsorted(house_hospital, np.arange(n_hospitals + 1), side="left")]
    income = np.clip(economy.normal(params.income_mean, params.income_sd, n_houses), 0.0, None)
    savings = np.clip(economy.normal(params.savings_mean, params.savings_sd, n_houses), 0.0, None)
    population = Population(
        age=age, age_band=band, age_group=group, employed=employed, essential=essential, violator=violator,
        exempt=essential | violator, house_start=house_start, home=home, head=head,
        work=(work_local + n_houses).astype(np.int32), work_start=work_start, work_members=work_members,
        hospital=(np.repeat(house_hospital, np.diff(house_start)) + first_hospital).astype(np.int32),
        hospital_start=hospital_start, income=income, initial_savings=savings, n_houses=n_houses,
        n_offices=n_offices, n_schools=n_schools, n_hospitals=n_hospitals)
    for value in vars(population).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return population


def household_starts(n: int, params: AbmParams, rng: np.random.Generator) -> np.ndarray:
    """CSR offsets of households of min + Binomial(max - min, p) people, p set for the mean [epictl]; the last
    household is cut to fit N."""
    low, high = params.household_size_min, params.household_size_max
    p = (params.household_size_mean - low) / (high - low) if high > low else 0.0
    sizes = np.empty(0, np.int64)
    while sizes.sum() < n:
        sizes = np.concatenate([sizes, low + rng.binomial(high - low, p, n // low // 4 + 16)])
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, n)) + 1  # households until the n-th agent
    return np.concatenate([[0], np.minimum(ends[:count], n)]).astype(np.int64)


def geometric_groups(count: int, mean: float, rng: np.random.Generator) -> np.ndarray:
    """Group of each of ``count`` consecutive positions: groups of geometric sizes with ``mean`` (support 1, 2, ...),
    the last possibly smaller [epictl]."""
    sizes = np.empty(0, np.int64)
    while sizes.sum() < count:
        sizes = np.concatenate([sizes, rng.geometric(1.0 / mean, count // math.ceil(mean) + 16)])
    return np.repeat(np.arange(len(sizes)), sizes)[:count]


@nb.njit(cache=True)
def household_heads(house_start, age, employed):
    """The oldest employed member of each household, else its oldest member; the first such in agent order."""
    heads = np.empty(house_start.shape[0] - 1, np.int32)
    for house in range(heads.shape[0]):
        best, best_key = house_start[house], -1
        for agent in range(house_start[house], house_start[house + 1]):
            key = np.int64(employed[agent]) * 256 + np.int64(age[agent])
            if key > best_key:
                best, best_key = agent, key
        heads[house] = best
    return heads


@nb.njit(cache=True)
def csr_by(place, n_places):
    """Counting sort of agents by ``place`` (int64 [N]): CSR offsets int64 [n_places + 1] and members int32, each
    place's members in agent order."""
    start = np.zeros(n_places + 1, np.int64)
    for agent in range(place.shape[0]):
        start[place[agent] + 1] += 1
    for index in range(n_places):
        start[index + 1] += start[index]
    members = np.empty(place.shape[0], np.int32)
    fill = start[:-1].copy()
    for agent in range(place.shape[0]):
        members[fill[place[agent]]] = agent
        fill[place[agent]] += 1
    return start, members
