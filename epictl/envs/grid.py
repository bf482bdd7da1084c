"""Gymnasium env over the grid world of Ohi et al. 2020: one movement-restriction level per day.

Action: level 0 (no restriction), 1 (social distancing), 2 (lockdown) (spec §2). Observation: the
day's 7-value state (spec §8); a memory agent keeps its own window of past days. Reward: paper
eq. (1) (spec §9). The episode ends when nobody is exposed or infectious, or is truncated at
``max_days`` (spec §10).
"""

from __future__ import annotations

import math
from dataclasses import replace

import gymnasium as gym
import numpy as np

from epictl.envs.report import EpisodeReport
from epictl.envs.vector import simulate_alone
from epictl.errors import EpictlError
from epictl.rewards.ohi2020 import Ohi2020Reward
from epictl.sim.grid.params import GridParams
from epictl.sim.grid.simulator import STATE_SIZE, DayStats, GridSimulator, GridState
from epictl.sim.random_streams import keyed_stream

COMPARTMENTS = ("S", "E", "I", "R", "D")
SCENARIO_STREAM = 7  # entropy word of the outbreak-size draw, apart from the simulator's streams


class GridEnv(gym.Env):
    """One episode = placement, initial cases, ``warmup_days`` at level 0, then a level a day."""

    metadata = {"render_modes": []}
    family = "grid"

    def __init__(self, params: GridParams, reward: Ohi2020Reward, train_initial_share: list[float] | None = None):
        self.params, self.reward_fn = params.validate(), reward.validate()
        # [low, high] shares of N infectious at the start of a training episode (GridEnvConfig validates them)
        self.train_initial_share = train_initial_share
        # The env runs the warm-up days itself so that each one is recorded (curves, the agent's history).
        self.simulator = GridSimulator(replace(params, warmup_days=0))
        self.observation_space = gym.spaces.Box(0.0, np.inf, (STATE_SIZE,), np.float32)
        self.action_space = gym.spaces.Discrete(params.n_levels)
        self.state: GridState | None = None
        self.days: list[DayStats] = []  # day 0 (the placement) first, then one entry per simulated day
        self.rewards: list[float] = []  # one per step (the warm-up days earn none)

    # -- Gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """``options={"training": True}``: the outbreak size is drawn from ``train_initial_share``."""
        return simulate_alone(self.reset_days(seed, options), lambda level: self.simulator.step(self.state, level))

    def reset_days(self, seed: int | None = None, options: dict | None = None):
        """``reset`` as a generator: yields the warm-up days' level for the caller to simulate on ``self.state``
        (a vector env runs its copies' warm-ups together); returns the reset's (observation, info)."""
        super().reset(seed=seed)
        episode_seed = int(seed if seed is not None else self.np_random.integers(2**31))
        cases = self.initial_cases(episode_seed, bool((options or {}).get("training", False)))
        self.state = self.simulator.reset(episode_seed, cases)
        self.days, self.rewards = [self.state.last], []
        for _ in range(self.params.warmup_days):
            yield 0
            self.days.append(self.state.last)
        # Every day seen so far, the reset observation last, so a memory agent can fill its window.
        seen = self.days[1:] or self.days
        history = np.stack([day.vector(self.params.state) for day in seen])
        return self._observe(), {"day": self.state.day, "initial_infectious": cases, "history": history}

    def step(self, action):
        level = self.decide(action)
        self.simulator.step(self.state, level)
        return self.outcome(level)

    # -- the two halves of a step (the vector env steps many copies' simulators between them) ---------
    def decide(self, action) -> int:
        """The day's movement level of ``action``."""
        if self.state is None:
            raise EpictlError("call reset() before step()")
        return self.executed_action(action)

    def outcome(self, level: int):
        """The step's (observation, reward, terminated, truncated, info) once the simulator has run the day."""
        stats = self.state.last
        self.days.append(stats)
        n, active = stats.population, stats.active(self.params.state)
        reward = self.reward_fn(stats.economy, active / n, stats.dead / n, stats.new_deaths / n)
        self.rewards.append(reward)
        log = {"level": level, "active_pct": 100.0 * active / n, "deaths_pct": 100.0 * stats.dead / n,
               "economy": stats.economy, "reproduction": float(self._observe()[5])}
        info = {"day": stats.day, "action": level, "log": log}
        return (self._observe(), reward, self.simulator.done(self.state), self.simulator.truncated(self.state),
                info)

    def executed_action(self, action) -> int:
        """The level as an int; anything but one whole number in 0..levels-1 is an error."""
        value = np.asarray(action)
        if value.size != 1 or not float(value.reshape(())).is_integer():
            raise EpictlError(f"grid action must be one movement level, got {action!r}")
        level = int(value.reshape(()))
        if not 0 <= level < self.action_space.n:
            raise EpictlError(f"movement level {level} outside 0..{self.action_space.n - 1}")
        return level

    def initial_cases(self, seed: int, training: bool) -> int:
        """The evaluation scenario's fixed count, or a uniform share of N in training [paper: 1-20 %]."""
        if not training or self.train_initial_share is None:
            return self.params.initial_infectious
        n = self.params.n_people
        low, high = (round(share * n) for share in self.train_initial_share)
        return int(keyed_stream(seed, SCENARIO_STREAM).integers(low, high + 1))

    # -- episode outcome and snapshots ---------------------------------------------------------
    def episode_report(self) -> EpisodeReport:
        """Shares of the population, the peak, the policy's levels, economy, reward; daily curves."""
        days, kind, warmup = self.days, self.params.state, self.params.warmup_days
        n = days[-1].population
        counts = np.array([[d.susceptible, d.exposed, d.infectious, d.recovered, d.dead] for d in days])
        active = np.array([d.active(kind) for d in days])
        economy = np.array([d.economy for d in days])
        economy[0] = np.nan  # day 0 is the placement: nobody has moved yet
        levels = np.array([d.level for d in days])
        reward = np.full(len(days), np.nan)
        reward[len(days) - len(self.rewards):] = self.rewards
        reproduction = np.array([d.reproduction for d in days])
        reproduction_released = np.array([d.reproduction_released for d in days])
        spreading = counts[:, 2] > 0  # days with somebody infectious: the reproduction rate is defined
        decided = levels[warmup + 1:]
        state = self.state
        seeds = state.infected_day == 0
        outcome = self.simulator.metrics(state)
        metrics = {
            **{key: outcome[key] for key in ("days", "infected", "deaths")},
            "peak_active": active.max() / n,
            "peak_day": float(active.argmax()),
            "economy_mean": float(np.nanmean(economy)) if len(days) > 1 else 0.0,
            "economy_total": float(np.nansum(economy)),
            "reward_total": float(sum(self.rewards)),
            "reward_mean": float(np.mean(self.rewards)) if self.rewards else 0.0,
            "reproduction_mean": _mean(reproduction[spreading]),
            "reproduction_median": _median(reproduction[spreading]),
            "reproduction_released_mean": _mean(reproduction_released[spreading]),
            "reproduction_released_median": _median(reproduction_released[spreading]),
            "initial_case_secondary": float(state.secondary[seeds].mean()) if seeds.any() else math.nan,
            **{f"level{k}": float(np.mean(decided == k)) if len(decided) else 0.0 for k in range(self.action_space.n)},
        }
        curves = {**dict(zip(COMPARTMENTS, counts.T)), "economy": economy, "level": levels,
                  "reproduction": reproduction, "reward": reward}
        plots = {"epidemic": ["E", "I", "R", "D"], "economy": ["economy", "reward"],
                 "policy": ["level", "reproduction"]}
        return EpisodeReport(self.family, metrics, curves, plots, warmup)

    def snapshot(self):
        """The episode in progress, for a checkpoint; ``restore`` continues it exactly."""
        return self.state.copy(), list(self.days), list(self.rewards)

    def restore(self, snapshot) -> None:
        state, days, rewards = snapshot
        self.state, self.days, self.rewards = state.copy(), list(days), list(rewards)

    def _observe(self) -> np.ndarray:
        return self.simulator.observe(self.state)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else math.nan
