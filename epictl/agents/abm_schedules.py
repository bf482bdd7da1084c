"""Fixed lockdown and vaccination windows for the ABM of Deshkar et al. 2023: the baselines of spec §10 and
the paper's published DDPG schedule, one class for all.

A schedule is the env's whole action, 8 numbers in days: lockdown start and length, then vaccination start
and length for the age groups 0-17, 18-59 and 60-99. A length of 0 means never; the env caps each window's
end at the horizon and rounds to whole ticks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from omegaconf import MISSING

from epictl.agents.base import Agent
from epictl.errors import EpictlError

VACCINATION_GROUPS = 3  # age groups 0-17, 18-59, 60-99 [paper]


@dataclass
class AbmScheduleConfig:
    """The values are in conf/agent/abm_<name>.yaml; validated here."""

    name: str = MISSING
    kind: str = MISSING
    lockdown_start: float = MISSING  # day
    lockdown_days: float = MISSING  # 0: no lockdown
    vaccination_start: list[float] = MISSING  # day, per age group
    vaccination_days: list[float] = MISSING  # per age group; 0: that group is never vaccinated

    def validate(self) -> "AbmScheduleConfig":
        if self.kind != "abm_schedule":
            raise EpictlError(f"agent.kind={self.kind!r}; an ABM schedule config builds only kind abm_schedule")
        for name in ("lockdown_start", "lockdown_days"):
            if not 0.0 <= getattr(self, name) < math.inf:
                raise EpictlError(f"agent.{name}={getattr(self, name)} must be a finite number of days >= 0")
        for name in ("vaccination_start", "vaccination_days"):
            days = list(getattr(self, name))
            if len(days) != VACCINATION_GROUPS or not all(0.0 <= day < math.inf for day in days):
                raise EpictlError(f"agent.{name}={days} needs {VACCINATION_GROUPS} finite numbers of days >= 0, "
                                  f"one per age group 0-17, 18-59, 60-99")
        return self

    def action(self) -> np.ndarray:
        """The env's action order: lockdown (start, days), then (start, days) per age group."""
        vaccination = [day for window in zip(self.vaccination_start, self.vaccination_days) for day in window]
        return np.array([self.lockdown_start, self.lockdown_days, *vaccination], dtype=np.float64)


class AbmSchedule(Agent):
    """Always the same schedule; ignores what it observes."""

    def __init__(self, config: AbmScheduleConfig, observation_space: gym.Space, action_space: gym.Space,
                 seed: int = 0):
        self.config = config.validate()
        if not isinstance(action_space, gym.spaces.Box) or action_space.shape != (2 + 2 * VACCINATION_GROUPS,):
            raise EpictlError(f"agent {config.name}: needs the ABM's 8-number schedule action (Box), "
                              f"got {action_space}")
        # Days beyond the horizon mean the same as the horizon (the env caps window ends there).
        self._action = np.clip(config.action(), action_space.low, action_space.high).astype(action_space.dtype)

    def act(self, observation, explore: bool = False) -> np.ndarray:
        return self._action.copy()
