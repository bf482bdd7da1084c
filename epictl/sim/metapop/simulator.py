"""The metapopulation simulator: state, options, one day of 48 ticks, initial outbreaks."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop import kernels
from epictl.sim.metapop.city import City
from epictl.sim.metapop.compartments import IU, MOVING, MOVING_WITH_IT, N_COMPARTMENTS, NAMES, TICKS_PER_DAY, S
from epictl.sim.metapop.params import DiseaseParams

_CHOICES = {
    "mobility": {"exact": kernels.MOBILITY_EXACT, "fast": kernels.MOBILITY_FAST},
    "bed_rounding": {"stochastic": kernels.ROUND_STOCHASTIC, "floor": kernels.ROUND_FLOOR, "ceil": kernels.ROUND_CEIL},
    "mask_coverage_base": {"static": False, "present": True},
    "mobility_slots": {"weekly": kernels.SLOTS_WEEKLY, "first_day_only": kernels.SLOTS_FIRST_DAY_ONLY},
}
BED_RULES = {"ranked": kernels.BEDS_RANKED, "proportional": kernels.BEDS_PROPORTIONAL}


@dataclass
class SimOptions:
    """How the model is simulated; [code] marks the original code's behaviour kept as an option."""

    mobility: str = "fast"  # exact: per-origin multinomial; fast: expected flows for large groups
    fast_threshold: int = 1000  # fast mode samples groups smaller than this exactly
    it_moves: bool = False  # tested cases waiting for a bed travel too
    bed_rounding: str = "stochastic"  # round(f * It_i): stochastic (unbiased) | floor [code] | ceil
    mask_coverage_base: str = "static"  # masks / static population [paper] | / present population [code]
    mobility_slots: str = "weekly"  # weekly: all 336 slots | first_day_only: replays slots 0-47 [code defect]
    start_weekday: int = 0  # weekday of day 0 (0 = Monday)

    def validate(self) -> "SimOptions":
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)!r}; choose one of {', '.join(choices)}")
        if self.fast_threshold < 1:
            raise EpictlError(f"env.sim.fast_threshold={self.fast_threshold} must be >= 1")
        if not 0 <= self.start_weekday <= 6:
            raise EpictlError(f"env.sim.start_weekday={self.start_weekday} must be 0..6")
        return self


@dataclass
class DayPlan:
    """One day's decoded decisions, in the simulator's terms."""

    masks: np.ndarray  # int64 [M], masks worn in each region all day
    n_beds: int  # total beds (occupied ones included)
    bed_order: np.ndarray  # int64 [M], admission priority (ranked rule)
    bed_factor: float  # satisfaction factor f for beds
    bed_rule: str = "ranked"  # ranked [paper] | proportional

    @staticmethod
    def no_resources(n_regions: int) -> "DayPlan":
        return DayPlan(np.zeros(n_regions, np.int64), 0, np.arange(n_regions, dtype=np.int64), 1.0)


@dataclass
class State:
    """Counts [M, 8] at tick ``tick`` and the three random streams that continue from there.

    ``ever_tested`` [M] counts the Iu -> It moves in each region since the start: confirmed cases.
    """

    counts: np.ndarray
    tick: int
    rng_transitions: np.random.Generator
    rng_mobility: np.random.Generator
    rng_allocation: np.random.Generator
    ever_tested: np.ndarray

    @property
    def day(self) -> int:
        return self.tick // TICKS_PER_DAY

    def copy(self) -> "State":
        return copy.deepcopy(self)


def random_streams(seed: int) -> tuple[np.random.Generator, ...]:
    """Independent streams for transitions, mobility, allocation lotteries and scenario draws."""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))


def outbreak_counts(city: City, n_cases: int, n_regions: int, rng: np.random.Generator, compartment: int = IU,
                    regions: list[int] | None = None) -> np.ndarray:
    """Everyone susceptible except ``n_cases`` split evenly over ``n_regions`` regions (spec §13).

    Regions are ``regions`` if given, else drawn without replacement in proportion to population.
    """
    m = city.n_regions
    if regions:
        chosen = np.asarray(regions, dtype=np.int64)
        if chosen.min() < 0 or chosen.max() >= m:
            raise EpictlError(f"scenario.regions: region index outside 0..{m - 1}")
    else:
        populated = int(np.count_nonzero(city.population))  # the draw below never picks an empty region
        if not 1 <= n_regions <= populated:
            raise EpictlError(f"scenario.initial_regions={n_regions} must be 1..{populated} (regions of "
                              f"{city.name} with people)")
        weights = city.population / city.population.sum()
        chosen = rng.choice(m, size=n_regions, replace=False, p=weights)
    per_region = np.full(len(chosen), n_cases // len(chosen), dtype=np.int64)
    per_region[: n_cases % len(chosen)] += 1
    counts = np.zeros((m, N_COMPARTMENTS), dtype=np.int64)
    counts[:, S] = city.population
    if np.any(city.population[chosen] < per_region):
        raise EpictlError("scenario.initial_cases exceeds the population of a seeded region")
    counts[chosen, S] -= per_region
    counts[chosen, compartment] += per_region
    return counts


class MetapopSimulator:
    """Runs the 30-minute model of KDD'21 spec §3 over one city."""

    def __init__(self, city: City, params: DiseaseParams, options: SimOptions):
        self.city = city
        self.params = params.validate()
        self.options = options.validate()
        self._p = params.tick_probabilities()
        mobility = city.mobility
        self._mobility = (
            mobility.slot_matrix.astype(np.int64), np.ascontiguousarray(mobility.stay),
            mobility.indptr.astype(np.int64), mobility.dest.astype(np.int64), mobility.prob,
            _row_cumulative(mobility.indptr, mobility.prob),
        )
        self._moving = np.array(MOVING_WITH_IT if options.it_moves else MOVING, dtype=np.int64)
        self._population = city.population.astype(np.float64)

    def reset(self, counts: np.ndarray, seed: int) -> State:
        counts = np.ascontiguousarray(counts, dtype=np.int64)
        if counts.shape != (self.city.n_regions, N_COMPARTMENTS):
            raise EpictlError(f"start state must be [{self.city.n_regions}][8], got {list(counts.shape)}")
        if np.any(counts < 0):
            raise EpictlError("start state has negative counts")
        transitions, mobility, allocation, _ = random_streams(seed)
        return State(counts.copy(), 0, transitions, mobility, allocation, np.zeros(len(counts), np.int64))

    def step_day(self, state: State, plan: DayPlan) -> int:
        """Simulate 48 ticks in place; returns the number of ticks that ended with beds saturated."""
        return self.step_ticks(state, plan, TICKS_PER_DAY)

    def step_ticks(self, state: State, plan: DayPlan, n_ticks: int) -> int:
        o = self.options
        if plan.bed_rule not in BED_RULES:
            raise EpictlError(f"bed rule {plan.bed_rule!r}; choose one of {', '.join(BED_RULES)}")
        saturated = kernels.run_ticks(
            state.counts, state.ever_tested, state.tick, n_ticks, self._p,
            np.asarray(plan.masks, dtype=np.float64), self._population, _CHOICES["mask_coverage_base"][o.mask_coverage_base],
            int(plan.n_beds), BED_RULES[plan.bed_rule], np.asarray(plan.bed_order, dtype=np.int64), float(plan.bed_factor),
            _CHOICES["bed_rounding"][o.bed_rounding], self._moving, *self._mobility,
            o.start_weekday * TICKS_PER_DAY, _CHOICES["mobility_slots"][o.mobility_slots],
            _CHOICES["mobility"][o.mobility], o.fast_threshold,
            state.rng_transitions, state.rng_mobility, state.rng_allocation,
        )
        state.tick += n_ticks
        return int(saturated)


def _row_cumulative(indptr: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Cumulative probabilities restarting at every CSR row (for per-person destination draws)."""
    cumulative = np.cumsum(prob)
    row_start = np.repeat(indptr[:-1], np.diff(indptr))
    offsets = np.where(row_start > 0, cumulative[np.maximum(row_start - 1, 0)], 0.0)
    return cumulative - offsets


def compartment_totals(counts: np.ndarray) -> dict[str, int]:
    return dict(zip(NAMES, (int(x) for x in counts.sum(axis=0))))
