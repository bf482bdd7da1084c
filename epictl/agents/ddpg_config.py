"""Hyper-parameters of the DDPG learner of Deshkar et al. 2023 (kept free of torch so configs load instantly)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from omegaconf import MISSING

from epictl.agents.base import LearnerConfig, require_at_least, require_positive
from epictl.errors import EpictlError


@dataclass
class DdpgConfig(LearnerConfig):
    """The values, with their sources, are in conf/agent/ddpg.yaml; validated here."""

    name: str = MISSING
    kind: str = MISSING
    hidden: list[int] = MISSING  # ReLU layers of the actor and of the critic
    actor_lr: float = MISSING  # Adam
    critic_lr: float = MISSING  # Adam
    gamma: float = MISSING  # discount of the bootstrapped value (no effect on one-step episodes)
    tau: float = MISSING  # Polyak step of the target networks after every update
    exploration_noise: float = MISSING  # std of the Gaussian noise on the actor's tanh output in [-1, 1]
    batch_size: int = MISSING  # transitions per update, drawn with replacement
    burn_in: int = MISSING  # training steps of uniform random actions before the first update
    updates_per_step: int = MISSING  # gradient updates per training step once burn-in is over
    replay_capacity: int = MISSING  # transitions kept (a FIFO ring)
    reward_scale: float = MISSING  # the critic learns reward x reward_scale

    def validate(self) -> "DdpgConfig":
        if self.kind != "ddpg":
            raise EpictlError(f"agent.kind={self.kind!r}; a ddpg config builds only kind ddpg")
        if not self.hidden or any(not units >= 1 for units in self.hidden):
            raise EpictlError(f"agent.hidden={list(self.hidden)} needs at least one layer, each of >= 1 unit")
        require_positive(self, "actor_lr", "critic_lr", "reward_scale")
        if not 0.0 <= self.gamma < 1.0:
            raise EpictlError(f"agent.gamma={self.gamma} must be in [0, 1)")
        if not 0.0 < self.tau <= 1.0:
            raise EpictlError(f"agent.tau={self.tau} must be in (0, 1]")
        if not 0.0 <= self.exploration_noise < math.inf:
            raise EpictlError(f"agent.exploration_noise={self.exploration_noise} must be a finite number >= 0")
        require_at_least(self, 1, "batch_size", "updates_per_step", "replay_capacity")
        require_at_least(self, 0, "burn_in")
        self.check_training()
        return self
