"""Non-learning policies of KDD'21 §4.2 (spec §7) plus two extra heuristics."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from omegaconf import MISSING

from epictl.agents.base import Agent
from epictl.errors import EpictlError


@dataclass
class BaselineAgentConfig:
    """A fixed or random policy (how the env decodes its action is the env's ``allocation``); the values are
    in conf/agent/<name>.yaml."""

    name: str = MISSING
    kind: str = MISSING  # fixed | random
    principles: list[int] = MISSING  # per resource (beds, masks)
    factors: list[float] = MISSING

    def validate(self) -> "BaselineAgentConfig":
        if self.kind not in ("fixed", "random"):
            raise EpictlError(f"agent.kind={self.kind!r}; choose fixed or random")
        return self


class FixedPolicy(Agent):
    """Always the same principle and factor per resource (Expert seriousness / population, blank control)."""

    def __init__(self, config: BaselineAgentConfig, observation_space: gym.Space, action_space: gym.spaces.Dict,
                 seed: int = 0):
        if not isinstance(action_space, gym.spaces.Dict):
            raise EpictlError(f"agent {config.name}: needs the city's (principle, factor) action, got {action_space}")
        n = action_space["principle"].nvec
        principles = np.asarray(config.principles, dtype=np.int64)
        if principles.shape != n.shape or np.any(principles < 0) or np.any(principles >= n):
            raise EpictlError(f"agent.principles={list(config.principles)} needs one of 0..{n[0] - 1} per resource")
        if len(config.factors) != len(n) or not all(0.0 <= f <= 1.0 for f in config.factors):
            raise EpictlError(f"agent.factors={list(config.factors)} needs one value in [0, 1] per resource")
        self._action = {"principle": principles, "factor": np.asarray(config.factors, dtype=np.float32)}

    def act(self, observation, explore: bool = False):
        return {key: value.copy() for key, value in self._action.items()}


class RandomPolicy(Agent):
    """Uniform principle and factor each day, from its own seeded stream."""

    def __init__(self, config: BaselineAgentConfig, observation_space: gym.Space, action_space: gym.spaces.Dict,
                 seed: int = 0):
        self._space = action_space

    def reset(self, seed: int, info: dict | None = None) -> None:
        self._space.seed(seed)

    def act(self, observation, explore: bool = False):
        return self._space.sample()

