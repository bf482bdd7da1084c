"""Hyper-parameters of the hierarchical agent (kept free of torch so configs load instantly)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from epictl.agents.base import require_at_least, require_positive
from epictl.errors import EpictlError


@dataclass
class HRLAgentConfig:
    """Hyper-parameters: [code] values of the authors' implementation unless noted (spec §10)."""

    name: str = "hrl"
    kind: str = "hrl"
    allocation: str = "ranked"
    learn_factors: list[bool] = field(default_factory=lambda: [True, True])  # per resource (beds, masks)
    fixed_factors: list[float] = field(default_factory=lambda: [1.0, 1.0])  # used where not learned
    # Network inputs by compartment name, with the paper's fixed scale; the agent uses those the
    # observation offers (imperfect information without rebuilding: It, Ih, D only).
    input_scale: dict[str, float] = field(default_factory=lambda: {
        "E": 0.01, "Iu": 0.05, "It": 0.01, "Ih": 0.05, "R": 0.01, "D": 0.05})
    rebuild: Optional[str] = None  # run folder of `epictl train agent=rebuild`: act on rebuilt E, Iu, R
    hidden: int = 128
    leaky_slope: float = 0.2
    lr_q: float = 1e-3
    lr_actor: float = 1e-3
    lr_critic: float = 2e-3
    discount: float = 0.5  # kappa
    batch_size: int = 8
    replay_capacity: int = 128
    epsilon: float = 0.5  # random principle probability, constant [code]
    actor_noise: float = 0.05  # std of the Gaussian exploration noise on the factor
    tau: float = 0.1  # soft target update after every gradient step
    updates: int = 150  # training steps: one simulated day and one gradient update each
    checkpoint_every: int = 10
    device: str = "auto"  # auto | cpu | cuda
    torch_threads: int = 1  # CPU threads (process-wide); 0: torch's default. These networks are small: 1 is fastest

    @property
    def trainable(self) -> bool:
        return True

    def validate(self) -> "HRLAgentConfig":
        if len(self.learn_factors) != 2 or len(self.fixed_factors) != 2:
            raise EpictlError("agent.learn_factors and agent.fixed_factors need one entry per resource (beds, masks)")
        if not self.input_scale:
            raise EpictlError("agent.input_scale needs at least one compartment, e.g. {It: 0.01}")
        if not 0.0 <= self.epsilon <= 1.0 or not 0.0 < self.tau <= 1.0 or not 0.0 <= self.discount < 1.0:
            raise EpictlError("agent: epsilon in [0, 1], tau in (0, 1], discount in [0, 1) required")
        require_at_least(self, 1, "hidden", "batch_size", "updates", "checkpoint_every")
        require_at_least(self, 0, "torch_threads")
        require_positive(self, "lr_q", "lr_actor", "lr_critic")
        if self.replay_capacity < self.batch_size:
            raise EpictlError(f"agent.replay_capacity={self.replay_capacity} must be >= agent.batch_size={self.batch_size}")
        if not 0.0 <= self.actor_noise < math.inf:
            raise EpictlError(f"agent.actor_noise={self.actor_noise} must be a finite number >= 0")
        for name, scale in self.input_scale.items():
            if not 0.0 < scale < math.inf:
                raise EpictlError(f"agent.input_scale.{name}={scale} must be a finite number > 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise EpictlError(f"agent.device={self.device!r}; choose auto, cpu or cuda")
        return self
