"""The metapopulation simulator (the ``Simulator`` contract of epictl/sim/contract.py): state, one day of
48 ticks under a ``DayPlan``, initial outbreaks."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.contract import SHARE
from epictl.sim.copy_lists import CopyLists
from epictl.sim.metapop import kernels
from epictl.sim.metapop.city import City
from epictl.sim.metapop.compartments import IU, MOVING, MOVING_WITH_IT, N_COMPARTMENTS, TICKS_PER_DAY, D, S
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.random_streams import random_streams

# The kernel constant of each simulation option's choice (params.OPTION_CHOICES).
_CHOICES = {
    "mobility": {"exact": kernels.MOBILITY_EXACT, "fast": kernels.MOBILITY_FAST},
    "bed_rounding": {"stochastic": kernels.ROUND_STOCHASTIC, "floor": kernels.ROUND_FLOOR, "ceil": kernels.ROUND_CEIL},
    "mask_coverage_base": {"static": False, "present": True},
    "mobility_slots": {"weekly": kernels.SLOTS_WEEKLY, "first_day_only": kernels.SLOTS_FIRST_DAY_ONLY},
}
BED_RULES = {"ranked": kernels.BEDS_RANKED, "proportional": kernels.BEDS_PROPORTIONAL}


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
    ``saturated_ticks`` counts the ticks of the last step that ended with every bed taken.
    """

    counts: np.ndarray
    tick: int
    rng_transitions: np.random.Generator
    rng_mobility: np.random.Generator
    rng_allocation: np.random.Generator
    ever_tested: np.ndarray
    saturated_ticks: int = 0

    @property
    def day(self) -> int:
        return self.tick // TICKS_PER_DAY

    def copy(self) -> "State":
        return copy.deepcopy(self)

    def reseed(self, seed: int) -> None:
        """Continue from here with ``seed``'s streams (one snapshot shared by episodes of different seeds)."""
        streams = random_streams(seed)
        self.rng_transitions, self.rng_mobility, self.rng_allocation = (streams[TRANSITIONS], streams[MOBILITY],
                                                                        streams[ALLOCATION])


# a State's arrays and random streams that a day changes per copy, in the order run_ticks_many takes them
COPY_FIELDS = ("counts", "ever_tested", "rng_transitions", "rng_mobility", "rng_allocation")

# The roles of the family's random streams (epictl/sim/random_streams.py), in spawn order.
TRANSITIONS, MOBILITY, ALLOCATION, SCENARIO = range(4)


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
    """Runs the 30-minute model of KDD'21 spec §3 over one city; the day action is a ``DayPlan``."""

    metric_units = {"infected": SHARE, "deaths": SHARE, "confirmed": SHARE}

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
        o = self.options
        self._coverage_on_present = _CHOICES["mask_coverage_base"][o.mask_coverage_base]
        # the kernels' option arguments on either side of the mobility arrays (same for every copy and day)
        self._options_before_mobility = (_CHOICES["bed_rounding"][o.bed_rounding], self._moving)
        self._options_after_mobility = (o.start_weekday * TICKS_PER_DAY, _CHOICES["mobility_slots"][o.mobility_slots],
                                        _CHOICES["mobility"][o.mobility], o.fast_threshold)
        self._copy_lists = CopyLists(COPY_FIELDS)

    def reset(self, seed: int, initial: np.ndarray | None = None) -> State:
        """``initial``: counts [M, 8] at tick 0 (an outbreak from ``outbreak_counts``, or the city's start state)."""
        if initial is None:
            raise EpictlError("the metapopulation simulator starts from given counts: pass initial=[M][8] counts")
        counts = np.ascontiguousarray(initial, dtype=np.int64)
        if counts.shape != (self.city.n_regions, N_COMPARTMENTS):
            raise EpictlError(f"start state must be [{self.city.n_regions}][8], got {list(counts.shape)}")
        if np.any(counts < 0):
            raise EpictlError("start state has negative counts")
        streams = random_streams(seed)
        return State(counts.copy(), 0, streams[TRANSITIONS], streams[MOBILITY], streams[ALLOCATION],
                     np.zeros(len(counts), np.int64))

    def step(self, state: State, plan: DayPlan) -> None:
        """Simulate one day (48 ticks) in place."""
        self.step_ticks(state, plan, TICKS_PER_DAY)

    def step_ticks(self, state: State, plan: DayPlan, n_ticks: int) -> None:
        masks, bed_rule, bed_order = self._plan_arrays(plan)
        saturated = kernels.run_ticks(
            state.counts, state.ever_tested, state.tick, n_ticks, self._p,
            masks, self._population, self._coverage_on_present,
            int(plan.n_beds), bed_rule, bed_order, float(plan.bed_factor), *self._options_before_mobility,
            *self._mobility, *self._options_after_mobility,
            state.rng_transitions, state.rng_mobility, state.rng_allocation,
        )
        state.tick += n_ticks
        state.saturated_ticks = int(saturated)

    def step_many(self, states: list[State], plans: list[DayPlan]) -> None:
        """One day of every state under its own plan, in place: exactly ``step`` on each in turn (the same counts,
        ticks and random streams afterwards), in one kernel call that runs the copies in parallel."""
        if len(states) != len(plans):
            raise EpictlError(f"step_many: {len(states)} states but {len(plans)} day plans")
        if not states:
            return
        counts, ever_tested, rngs_transitions, rngs_mobility, rngs_allocation = self._copy_lists(states)
        arrays = [self._plan_arrays(plan) for plan in plans]
        saturated = np.zeros(len(states), np.int64)
        kernels.run_ticks_many(
            counts, ever_tested, np.array([s.tick for s in states], np.int64), TICKS_PER_DAY, self._p,
            np.stack([masks for masks, _, _ in arrays]), self._population, self._coverage_on_present,
            np.array([int(plan.n_beds) for plan in plans], np.int64), np.array([rule for _, rule, _ in arrays], np.int64),
            np.stack([order for _, _, order in arrays]), np.array([float(plan.bed_factor) for plan in plans]),
            *self._options_before_mobility, *self._mobility, *self._options_after_mobility,
            rngs_transitions, rngs_mobility, rngs_allocation, saturated,
        )
        for s, ticks in zip(states, saturated):
            s.tick += TICKS_PER_DAY
            s.saturated_ticks = int(ticks)

    def _plan_arrays(self, plan: DayPlan) -> tuple[np.ndarray, int, np.ndarray]:
        """The plan's masks (float64 [M]), bed rule code and bed order (int64 [M]) as the kernels take them."""
        if plan.bed_rule not in BED_RULES:
            raise EpictlError(f"bed rule {plan.bed_rule!r}; choose one of {', '.join(BED_RULES)}")
        masks = np.asarray(plan.masks, dtype=np.float64)
        bed_order = np.asarray(plan.bed_order, dtype=np.int64)
        m = self.city.n_regions
        if masks.shape != (m,) or bed_order.shape != (m,):
            raise EpictlError(f"day plan: masks and bed_order must be [{m}], got {list(masks.shape)} and "
                              f"{list(bed_order.shape)}")
        return masks, BED_RULES[plan.bed_rule], bed_order

    def observe(self, state: State) -> np.ndarray:
        """Counts [M, 8] as float32: every compartment of every region (the env picks what its agent sees)."""
        return state.counts.astype(np.float32)

    def metrics(self, state: State) -> dict[str, float]:
        """Shares of the city population: ever infected (N - S), dead, ever confirmed (Iu -> It moves)."""
        n = self.city.total_population
        return {"infected": float((n - state.counts[:, S].sum()) / n), "deaths": float(state.counts[:, D].sum() / n),
                "confirmed": float(state.ever_tested.sum() / n)}


def _row_cumulative(indptr: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Cumulative probabilities restarting at every CSR row (for per-person destination draws)."""
    cumulative = np.cumsum(prob)
    row_start = np.repeat(indptr[:-1], np.diff(indptr))
    offsets = np.where(row_start > 0, cumulative[np.maximum(row_start - 1, 0)], 0.0)
    return cumulative - offsets

