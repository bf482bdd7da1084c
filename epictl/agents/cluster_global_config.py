"""Hyper-parameters of the global controllers of the multi-cluster family (spec §7.3, §7.4, §8, §9): the
Q-ranking baselines Fixed-M-QR / Bin-M-QR and the Hier-PPO controller (kept free of torch so configs load
instantly). The values, with their sources, are in conf/agent/fixed_m_qr.yaml, bin_m_qr.yaml, hier_ppo.yaml."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from epictl.agents.base import LearnerConfig, require_at_least, require_device, require_positive
from epictl.errors import EpictlError

MULTIPLIERS = ("fixed", "bisect")
TIE_BREAKS = ("random", "age")
POOLINGS = ("deepsets", "flat")
SQUASHES = ("sigmoid", "lognormal")
PPO_REWARDS = ("sum", "mean")


def check_common(config, kind: str) -> None:
    """What both global agents share: the kind, the multiplier range, the ranking's tie-break, where torch runs."""
    if config.kind != kind:
        raise EpictlError(f"agent.kind={config.kind!r}; a {kind} config builds only kind {kind}")
    if not 1.0 <= config.m_max < math.inf:
        raise EpictlError(f"agent.m_max={config.m_max} must be a finite number >= 1")
    if config.tie_break not in TIE_BREAKS:
        raise EpictlError(f"agent.tie_break={config.tie_break!r}; choose one of {', '.join(TIE_BREAKS)}")
    require_device(config)
    require_at_least(config, 0, "torch_threads")


@dataclass
class QRankingConfig:
    """Fixed-M-QR (multiplier fixed) and Bin-M-QR (multiplier bisect): the frozen local DQN at
    alpha3_active = m * alpha3_true, then Global Q-ranking under the budget (spec §9)."""

    name: str = MISSING
    kind: str = MISSING
    multiplier: str = MISSING  # fixed: m = fixed_m every day | bisect: the smallest m whose demand fits B
    fixed_m: float = MISSING  # m of `fixed` (1.0: the true test cost)
    probes: int = MISSING  # bisection steps of `bisect` on [1, m_max]
    m_max: float = MISSING
    dqn_from: Optional[str] = MISSING  # run folder of a cluster_dqn training (its frozen local policy)
    tie_break: str = MISSING  # random | age (older clusters first), between equal dQ
    device: str = MISSING  # auto | cpu | cuda
    torch_threads: int = MISSING  # CPU threads for torch (process-wide); 0 keeps torch's default

    def validate(self) -> "QRankingConfig":
        check_common(self, "q_ranking")
        if self.multiplier not in MULTIPLIERS:
            raise EpictlError(f"agent.multiplier={self.multiplier!r}; choose one of {', '.join(MULTIPLIERS)}")
        if not 1.0 <= self.fixed_m <= self.m_max:
            raise EpictlError(f"agent.fixed_m={self.fixed_m} must lie in [1, agent.m_max={self.m_max}]")
        require_at_least(self, 1, "probes")
        return self


@dataclass
class HierPpoConfig(LearnerConfig):
    """Hier-PPO: a PPO controller picks m_t from the global observation, then Global Q-ranking (spec §7.3)."""

    name: str = MISSING
    kind: str = MISSING
    dqn_from: Optional[str] = MISSING  # run folder of a cluster_dqn training (frozen during PPO)
    m_max: float = MISSING
    squash: str = MISSING  # sigmoid: m = 1 + (m_max-1) sigmoid(z) | lognormal: m = min(1 + exp(z), m_max)
    tie_break: str = MISSING  # random | age (older clusters first), between equal dQ
    reward: str = MISSING  # sum | mean of R_{n,t}(alpha3_true) over the active clusters
    pooling: str = MISSING  # deepsets: per-cluster MLP, masked mean and max | flat: the padded [K, 11] table
    cluster_units: list[int] = MISSING  # tanh layers of the per-cluster MLP (deepsets)
    hidden: list[int] = MISSING  # tanh layers of the actor and of the critic
    log_std_init: float = MISSING  # initial learned log-std of z
    gamma: float = MISSING  # discount of the global return
    gae_lambda: float = MISSING
    lr: float = MISSING  # AdamW
    weight_decay: float = MISSING
    max_grad_norm: float = MISSING
    clip_coef: float = MISSING
    rollout: int = MISSING  # global days per PPO update
    epochs: int = MISSING  # passes over a rollout
    minibatches: int = MISSING  # per pass
    entropy_coef: float = MISSING
    value_coef: float = MISSING
    def validate(self) -> "HierPpoConfig":
        check_common(self, "hier_ppo")
        for name, choices in (("squash", SQUASHES), ("reward", PPO_REWARDS), ("pooling", POOLINGS)):
            if getattr(self, name) not in choices:
                raise EpictlError(f"agent.{name}={getattr(self, name)!r}; choose one of {', '.join(choices)}")
        for name in ("cluster_units", "hidden"):
            if not getattr(self, name) or any(not units >= 1 for units in getattr(self, name)):
                raise EpictlError(f"agent.{name}={list(getattr(self, name))} needs at least one layer of >= 1 unit")
        require_at_least(self, 1, "rollout", "epochs", "minibatches")
        self.check_training()
        if self.minibatches > self.rollout:
            raise EpictlError(f"agent.minibatches={self.minibatches} must be <= agent.rollout={self.rollout}")
        require_positive(self, "lr", "max_grad_norm", "clip_coef")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.gae_lambda <= 1.0:
            raise EpictlError("agent: gamma and gae_lambda in [0, 1] required")
        for name in ("weight_decay", "entropy_coef", "value_coef"):
            if not 0.0 <= getattr(self, name) < math.inf:
                raise EpictlError(f"agent.{name}={getattr(self, name)} must be a finite number >= 0")
        if not -math.inf < self.log_std_init < math.inf:
            raise EpictlError(f"agent.log_std_init={self.log_std_init} must be finite")
        return self
