"""Fixed movement-restriction schedules of Ohi et al. 2020 (spec §12), one class for all five.

A schedule is ``initial_lockdown_days`` at the lockdown level, then a cycle of ``work_days`` at
``work_level`` and ``lockdown_days`` at ``lockdown_level`` ("n days without lockdown followed by m
days of lockdown" [paper Fig. 22]), repeated until the episode ends. The constant policies are the
cycles without a lockdown part (no_lockdown, social_distancing) or without a work part
(full_lockdown). Day 0 is the first day the agent decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
from omegaconf import MISSING

from epictl.agents.base import Agent
from epictl.errors import EpictlError


@dataclass
class LockdownScheduleConfig:
    """The values are in conf/agent/<name>.yaml; validated here."""

    name: str = MISSING
    kind: str = MISSING
    work_days: int = MISSING  # n
    lockdown_days: int = MISSING  # m
    work_level: int = MISSING  # the movement level of the work part
    lockdown_level: int = MISSING  # the movement level of the lockdown part (and of the initial lockdown)
    lockdown_first: bool = MISSING  # start the cycle with its lockdown part
    initial_lockdown_days: int = MISSING  # a lockdown before the cycle starts

    def validate(self) -> "LockdownScheduleConfig":
        if self.kind != "lockdown_schedule":
            raise EpictlError(f"agent.kind={self.kind!r}; a schedule config builds only kind lockdown_schedule")
        if min(self.work_days, self.lockdown_days, self.initial_lockdown_days) < 0:
            raise EpictlError("agent: work_days, lockdown_days and initial_lockdown_days must be >= 0")
        if self.work_days + self.lockdown_days < 1:
            raise EpictlError("agent: a schedule cycle needs work_days + lockdown_days >= 1")
        return self

    def level(self, day: int) -> int:
        """The level on decision day ``day`` (0-based)."""
        if day < self.initial_lockdown_days:
            return self.lockdown_level
        phase = (day - self.initial_lockdown_days) % (self.work_days + self.lockdown_days)
        first, first_days, second = ((self.lockdown_level, self.lockdown_days, self.work_level) if self.lockdown_first
                                     else (self.work_level, self.work_days, self.lockdown_level))
        return first if phase < first_days else second


class LockdownSchedule(Agent):
    """Counts its own decisions since ``reset``; ignores what it observes."""

    def __init__(self, config: LockdownScheduleConfig, observation_space: gym.Space, action_space: gym.Space,
                 seed: int = 0):
        if not isinstance(action_space, gym.spaces.Discrete):
            raise EpictlError(f"agent {config.name}: needs a movement-level action (Discrete), got {action_space}")
        levels = int(action_space.n)
        for name in ("work_level", "lockdown_level"):
            if not 0 <= getattr(config, name) < levels:
                raise EpictlError(f"agent.{name}={getattr(config, name)} outside the env's levels 0..{levels - 1}")
        self.config = config.validate()
        self.day = 0

    def reset(self, seed: int, info: dict | None = None) -> None:
        self.day = 0

    def act(self, observation, explore: bool = False) -> int:
        level = self.config.level(self.day)
        self.day += 1
        return level
