"""Hyper-parameters of the hierarchical agent (kept free of torch so configs load instantly)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from omegaconf import MISSING

from epictl.agents.base import LearnerConfig, require_at_least, require_positive
from epictl.errors import EpictlError


@dataclass
class HRLAgentConfig(LearnerConfig):
    """Hyper-parameters of the full method and its DQN baselines; the values, with their sources, are in
    conf/agent/hrl.yaml (dqn_greedy and dqn_expert change only the factors). Validated here."""

    name: str = MISSING
    kind: str = MISSING
    learn_factors: list[bool] = MISSING  # per resource (beds, masks)
    fixed_factors: list[float] = MISSING  # used where not learned
    # Network inputs by compartment name, with a fixed scale; the agent uses those the observation
    # offers (imperfect information: It, Ih, D only; with `rebuild_from=`: all six).
    input_scale: dict[str, float] = MISSING
    hidden: int = MISSING
    leaky_slope: float = MISSING
    lr_q: float = MISSING
    lr_actor: float = MISSING
    lr_critic: float = MISSING
    discount: float = MISSING  # kappa
    batch_size: int = MISSING
    replay_capacity: int = MISSING
    epsilon: float = MISSING  # random principle probability
    actor_noise: float = MISSING  # std of the Gaussian exploration noise on the factor
    tau: float = MISSING  # soft target update after every gradient step
    def validate(self) -> "HRLAgentConfig":
        if len(self.learn_factors) != 2 or len(self.fixed_factors) != 2:
            raise EpictlError("agent.learn_factors and agent.fixed_factors need one entry per resource (beds, masks)")
        if not self.input_scale:
            raise EpictlError("agent.input_scale needs at least one compartment, e.g. {It: 0.01}")
        if not 0.0 <= self.epsilon <= 1.0 or not 0.0 < self.tau <= 1.0 or not 0.0 <= self.discount < 1.0:
            raise EpictlError("agent: epsilon in [0, 1], tau in (0, 1], discount in [0, 1) required")
        require_at_least(self, 1, "hidden", "batch_size")
        require_positive(self, "lr_q", "lr_actor", "lr_critic")
        if self.replay_capacity < self.batch_size:
            raise EpictlError(f"agent.replay_capacity={self.replay_capacity} must be >= agent.batch_size={self.batch_size}")
        if not 0.0 <= self.actor_noise < math.inf:
            raise EpictlError(f"agent.actor_noise={self.actor_noise} must be a finite number >= 0")
        for name, scale in self.input_scale.items():
            if not 0.0 < scale < math.inf:
                raise EpictlError(f"agent.input_scale.{name}={scale} must be a finite number > 0")
        self.check_training()
        return self
