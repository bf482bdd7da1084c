"""Gymnasium env over the metapopulation city: a free-spreading phase, then daily bed/mask decisions.

Action per resource (beds, masks): a ranking principle (0..6) and a satisfaction factor in
[delta, 1], decoded by the paper's allocation rule under the budget (KDD'21 §3.3.1, spec §6).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from epictl.budgets.daily import DailyBudget
from epictl.envs.allocation import (ALLOCATIONS, N_PRINCIPLES, allocate_masks_proportional, allocate_masks_ranked,
                                    rank_regions)
from epictl.envs.report import EpisodeReport
from epictl.envs.vector import simulate_alone
from epictl.errors import EpictlError
from epictl.rewards.kdd21 import Kdd21Reward
from epictl.sim.metapop.city import City
from epictl.sim.metapop.compartments import IH, IT, IU, N_COMPARTMENTS, NAMES, D, E, R
from epictl.sim.metapop.metrics import epidemic_metrics
from epictl.sim.metapop.simulator import SCENARIO, DayPlan, MetapopSimulator, State, outbreak_counts
from epictl.sim.random_streams import random_streams
from epictl.spaces import ChannelBox
RESOURCES = ("beds", "masks")
OBSERVED = {"perfect": tuple(range(N_COMPARTMENTS)), "imperfect": (IT, IH, D)}
# Per-region columns (curves_regions.parquet): the counts after the day, then the day's allocation: the masks
# the region got and the beds its patients hold (Ih never moves and only admissions fill it, so Ih is both).
REGION_COLUMNS = (*NAMES, "masks", "beds")
# Free phases kept per env: evaluation replays the same few seeds (one per table episode); training draws a
# new seed every episode, so an unbounded cache would grow by one free phase (MBs on a real city) per episode.
FREE_PHASE_CACHE_SIZE = 16


def outbreak_start(simulator: MetapopSimulator, scenario, seed: int) -> State:
    """Day 0 of ``seed``'s episode: the city's supplied start state, or the scenario's seeded outbreak."""
    city = simulator.city
    if scenario.use_city_start:
        if city.start_state is None:
            raise EpictlError(f"scenario.use_city_start: city {city.name} has no start state")
        return simulator.reset(seed, city.start_state)
    counts = outbreak_counts(city, scenario.initial_cases, scenario.initial_regions, random_streams(seed)[SCENARIO],
                             NAMES.index(scenario.initial_compartment), list(scenario.regions))
    return simulator.reset(seed, counts)


@dataclass
class DayRecord:
    totals: np.ndarray  # int64 [8] after the day
    regions: np.ndarray | None  # int64 [M, len(REGION_COLUMNS)] after the day, when recorded
    observation: np.ndarray  # float32 [M, observed channels] after the day, rows in region_order
    saturated_ticks: int
    masks: int
    controlled: bool


class MetapopEnv(gym.Env):
    """One episode = `free_days` without resources (snapshot cached per seed) + `controlled_days`.

    ``scenario`` is the env config's ``Scenario`` (envs/metapop_family.py, which builds this env).
    """

    metadata = {"render_modes": []}
    family = "metapop"

    def __init__(self, city: City, simulator: MetapopSimulator, scenario, budget: DailyBudget,
                 reward: Kdd21Reward, observation: str = "perfect", delta: tuple[float, float] = (0.1, 0.1),
                 allocation: str = "ranked", record_regions: bool = False, region_order: np.ndarray | None = None,
                 metric_window_start: int = 0):
        if observation not in OBSERVED:
            raise EpictlError(f"env.observation={observation!r}; choose one of {', '.join(OBSERVED)}")
        if allocation not in ALLOCATIONS:
            raise EpictlError(f"env.allocation={allocation!r}; choose one of {', '.join(ALLOCATIONS)}")
        if not all(0.0 <= d <= 1.0 for d in delta):
            raise EpictlError(f"env.delta={list(delta)} must lie in [0, 1]")
        self.city, self.simulator, self.scenario = city, simulator, scenario.validate()
        self.budget, self.reward_fn, self.observation = budget.validate(), reward, observation
        self.allocation, self.record_regions = allocation, record_regions
        self.metric_window_start = metric_window_start
        # Observation rows follow this permutation (KDD'21 reorder layer): neighbours exchange many people.
        self.region_order = np.arange(city.n_regions) if region_order is None else np.asarray(region_order)
        if sorted(self.region_order.tolist()) != list(range(city.n_regions)):
            raise EpictlError(f"region order is not a permutation of the city's {city.n_regions} regions")
        self.delta = np.asarray(delta, dtype=np.float32)
        m = city.n_regions
        self.observed_columns = OBSERVED[observation]
        self.observation_space = ChannelBox(m, tuple(NAMES[c] for c in self.observed_columns))
        self.action_space = gym.spaces.Dict({
            "principle": gym.spaces.MultiDiscrete([N_PRINCIPLES] * len(RESOURCES)),
            "factor": gym.spaces.Box(self.delta, np.ones(len(RESOURCES), np.float32), dtype=np.float32),
        })
        self._free_phase_cache: OrderedDict[int, tuple[State, list[DayRecord]]] = OrderedDict()
        self.state: State | None = None
        self._before = None  # (totals before the day, principles, factors) from decide() to outcome()
        self.history: list[DayRecord] = []  # day 0 (the outbreak) first, then one record per day

    # -- Gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        return simulate_alone(self.reset_days(seed, options), lambda plan: self.simulator.step(self.state, plan))

    def reset_days(self, seed: int | None = None, options: dict | None = None):
        """``reset`` as a generator: yields the free phase's day plans for the caller to simulate on ``self.state``
        (a vector env runs its copies' free phases together); returns the reset's (observation, info)."""
        super().reset(seed=seed)
        episode_seed = int(seed if seed is not None else self.np_random.integers(2**31))
        shared = self.scenario.free_phase_seed
        state, free_history = yield from self._cached_free_phase(episode_seed if shared is None else shared)
        self.state = state.copy()
        if shared is not None and shared != episode_seed:  # the shared day-60 state, this episode's own draws after it
            self.state.reseed(episode_seed)
        self.history = list(free_history)
        # Everything observed since the outbreak, so a recurrent agent can start from the whole series.
        history = np.stack([record.observation for record in self.history])
        return self._observe(), {"day": self.state.day, "history": history}

    def step(self, action):
        plan = self.decide(action)
        self.simulator.step(self.state, plan)
        return self.outcome(plan)

    # -- the two halves of a step (the vector env steps many copies' simulators between them) ---------
    def decide(self, action) -> DayPlan:
        """The day's resources of ``action``; remembers what the reward and the log need after the day."""
        if self.state is None:
            raise EpictlError("call reset() before step()")
        principles, factors = self.executed_action(action)
        self._before = self.state.counts.sum(axis=0), principles, factors
        return self.decode(principles, factors)

    def outcome(self, plan: DayPlan):
        """The step's (observation, reward, terminated, truncated, info) once the simulator has run the day."""
        before, principles, factors = self._before
        saturated = self.state.saturated_ticks
        after = self._record(plan, saturated, controlled=True)
        reward = self.reward_fn((before[E], after[E]), (before[IU] + before[IT], after[IU] + after[IT]))
        terminated = self.state.day >= self.scenario.free_days + self.scenario.controlled_days
        executed = {"principle": principles, "factor": factors.astype(np.float32)}
        log = {"principle_beds": int(principles[0]), "principle_masks": int(principles[1]),
               "factor_beds": float(factors[0]), "factor_masks": float(factors[1]),
               "saturated_ticks": saturated, "waiting": int(after[IT])}
        info = {"day": self.state.day, "action": executed, "log": log}
        return self._observe(), reward, terminated, False, info

    # -- decoding ------------------------------------------------------------------------------
    def executed_action(self, action) -> tuple[np.ndarray, np.ndarray]:
        """The action as executed: principles checked, factors clipped to [delta, 1]."""
        principles = np.asarray(action["principle"], dtype=np.int64).reshape(-1)
        factors = np.asarray(action["factor"], dtype=np.float64).reshape(-1)
        if principles.shape != (len(RESOURCES),) or factors.shape != (len(RESOURCES),):
            raise EpictlError(f"action needs one principle and one factor per resource {RESOURCES}")
        if principles.min() < 0 or principles.max() >= N_PRINCIPLES:
            raise EpictlError(f"ranking principle {principles.tolist()} outside 0..{N_PRINCIPLES - 1}")
        return principles, np.clip(factors, self.delta, 1.0)

    def decode(self, principles: np.ndarray, factors: np.ndarray) -> DayPlan:
        """Today's masks per region and the bed admission rule, from the agent's own observation."""
        m = self.city.n_regions
        if self.allocation == "none":
            return DayPlan.no_resources(m)
        counts = self.state.counts
        seen = {c: counts[:, c] for c in self.observed_columns}
        # Seriousness = It + Ih + R + D (spec §5), from what the agent observes: R is hidden under
        # imperfect information, so it is left out rather than leaked (spec §15.5).
        seriousness = sum(seen.get(c, 0) for c in (IT, IH, R, D)).astype(np.float64)
        population = self.city.population
        if self.allocation == "proportional":
            masks = allocate_masks_proportional(seen[IT], factors[1], population, self.budget.masks_per_day)
            return DayPlan(masks, self.budget.beds, np.arange(m, dtype=np.int64), factors[0], "proportional")
        orders = [rank_regions(p, seriousness, self.city.flow, self.city.density) for p in principles]
        masks = allocate_masks_ranked(orders[1], factors[1], population, self.budget.masks_per_day)
        return DayPlan(masks, self.budget.beds, orders[0], factors[0], "ranked")

    # -- episode outcome and snapshots ---------------------------------------------------------
    def episode_report(self) -> EpisodeReport:
        """KDD'21 §2.3 metrics (fractions of the population) plus allocation totals, daily curves."""
        history = self.history
        totals = np.stack([record.totals for record in history])
        controlled = np.array([record.controlled for record in history])
        metrics = epidemic_metrics(totals, self.city.total_population, self.metric_window_start)
        metrics.update({
            "masks_total": int(sum(record.masks for record in history)),
            "bed_days": int(totals[controlled, IH].sum()),
            "saturated_days": int(sum(record.saturated_ticks > 0 for record in history if record.controlled)),
        })
        curves = {"controlled": controlled, **{name: totals[:, c] for c, name in enumerate(NAMES)}}
        regions = np.stack([record.regions for record in history]) if self.record_regions else None
        infected = [name for name in NAMES if name not in ("S", "R", "D")]
        return EpisodeReport(self.family, metrics, curves, {"infected": infected, "resolved": ["R", "D"]},
                             self.scenario.free_days, REGION_COLUMNS, regions)

    def snapshot(self):
        """The episode in progress, for a checkpoint; ``restore`` continues it exactly."""
        return self.state.copy(), list(self.history)

    def restore(self, snapshot) -> None:
        state, history = snapshot
        self.state, self.history = state.copy(), list(history)

    # -- episode bookkeeping -------------------------------------------------------------------
    def _cached_free_phase(self, seed: int):
        """Yields the free days still to simulate (none when cached); returns the day-``free_days`` state and records."""
        if seed in self._free_phase_cache:
            self._free_phase_cache.move_to_end(seed)
        else:
            self._free_phase_cache[seed] = yield from self._free_phase(seed)
            if len(self._free_phase_cache) > FREE_PHASE_CACHE_SIZE:
                self._free_phase_cache.popitem(last=False)
        return self._free_phase_cache[seed]

    def _free_phase(self, seed: int):
        self.state = outbreak_start(self.simulator, self.scenario, seed)
        self.history = []
        blank = DayPlan.no_resources(self.city.n_regions)
        self._record(blank, 0, controlled=False)
        for _ in range(self.scenario.free_days):
            yield blank
            self._record(blank, self.state.saturated_ticks, controlled=False)
        return self.state.copy(), list(self.history)

    def _record(self, plan: DayPlan, saturated: int, controlled: bool) -> np.ndarray:
        counts = self.state.counts
        totals = counts.sum(axis=0)
        regions = np.column_stack((counts, plan.masks, counts[:, IH])) if self.record_regions else None
        self.history.append(DayRecord(totals, regions, self._observe(), saturated, int(plan.masks.sum()), controlled))
        return totals

    def _observe(self) -> np.ndarray:
        return self.simulator.observe(self.state)[np.ix_(self.region_order, self.observed_columns)]
