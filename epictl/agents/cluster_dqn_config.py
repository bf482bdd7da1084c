"""Hyper-parameters of the multi-cluster family's learned local parts (spec §7.1-§7.2, §8): the SL belief
encoder pre-trained on random testing, and the generalized Transformer DQN (kept free of torch so configs
load instantly)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from epictl.agents.base import LearnerConfig, require_at_least, require_positive
from epictl.errors import EpictlError

PENALTY_INPUTS = ("alpha3", "log_alpha3")
PENALTY_OUTPUTS = ("delta_q", "q_test")


@dataclass
class SlEncoderConfig(LearnerConfig):
    """The values, with their sources, are in conf/agent/sl_encoder.yaml; validated here."""

    name: str = MISSING
    kind: str = MISSING
    encoder_hidden: int = MISSING  # GRU units of the causal belief encoder
    test_probability: float = MISSING  # each member is tested on a day with this probability
    lr: float = MISSING  # Adam
    batch_size: int = MISSING  # finished clusters per gradient step
    dataset_clusters: int = MISSING  # finished clusters kept for training, oldest dropped first
    train_every: int = MISSING  # env steps (cluster-days) per gradient step
    def validate(self) -> "SlEncoderConfig":
        if self.kind != "sl_encoder":
            raise EpictlError(f"agent.kind={self.kind!r}; an sl_encoder config builds only kind sl_encoder")
        require_at_least(self, 1, "encoder_hidden", "batch_size", "train_every")
        require_positive(self, "lr")
        if not 0.0 <= self.test_probability <= 1.0:
            raise EpictlError(f"agent.test_probability={self.test_probability} must be in [0, 1]")
        if self.dataset_clusters < self.batch_size:
            raise EpictlError(f"agent.dataset_clusters={self.dataset_clusters} must be >= "
                              f"agent.batch_size={self.batch_size}")
        self.check_training()
        return self


@dataclass
class ClusterDqnConfig(LearnerConfig):
    """The values, with their sources, are in conf/agent/cluster_dqn.yaml; validated here."""

    name: str = MISSING
    kind: str = MISSING
    encoder_hidden: int = MISSING  # GRU units of the causal belief encoder
    d_model: int = MISSING  # Transformer width
    layers: int = MISSING  # Transformer encoder layers
    heads: int = MISSING  # attention heads
    feedforward: int = MISSING  # feed-forward width inside each layer
    head_hidden: int = MISSING  # ReLU layer of the MLP head, then (Q_none, Q_test)
    discount: float = MISSING  # gamma
    lr: float = MISSING  # Adam, the schedule's peak
    lr_warmup_steps: int = MISSING  # env steps of linear warm-up from 0, then cosine decay to 0 at the end of training
    grad_clip: float = MISSING  # global gradient-norm clip
    batch_size: int = MISSING  # replayed cluster-days per gradient step
    replay_capacity: int = MISSING  # cluster-days
    learning_starts: int = MISSING  # env steps before the first gradient step
    train_every: int = MISSING  # env steps per gradient step
    target_update_every: int = MISSING  # gradient steps per hard copy online -> target
    epsilon_start: float = MISSING
    epsilon_end: float = MISSING
    exploration_fraction: float = MISSING  # share of `updates` over which epsilon falls linearly
    gradient_penalty: float = MISSING  # lambda_grad; 0 trains without the cost-sensitivity regularizer
    gradient_target: float = MISSING  # g_target: d(dQ)/d(alpha3) above it is penalized
    penalty_input: str = MISSING  # alpha3 | log_alpha3: what the derivative is taken with respect to
    penalty_output: str = MISSING  # delta_q | q_test: whose slope is penalized
    sl_weight: float = MISSING  # lambda_SL; 0 freezes the encoder
    sl_batch_size: int = MISSING  # replayed clusters per gradient step whose histories train the encoder
    encoder_from: Optional[str] = MISSING  # run folder of an sl_encoder (or cluster_dqn) run: start from its encoder
    def validate(self) -> "ClusterDqnConfig":
        if self.kind != "cluster_dqn":
            raise EpictlError(f"agent.kind={self.kind!r}; a cluster_dqn config builds only kind cluster_dqn")
        require_at_least(self, 1, "encoder_hidden", "d_model", "layers", "heads", "feedforward", "head_hidden",
                         "batch_size", "sl_batch_size", "train_every", "target_update_every")
        require_at_least(self, 0, "lr_warmup_steps", "learning_starts")
        require_positive(self, "lr", "grad_clip")
        if self.d_model % self.heads:
            raise EpictlError(f"agent.d_model={self.d_model} must be a multiple of agent.heads={self.heads}")
        if not 0.0 <= self.discount < 1.0:
            raise EpictlError(f"agent.discount={self.discount} must be in [0, 1)")
        if not 0.0 <= self.epsilon_end <= self.epsilon_start <= 1.0:
            raise EpictlError("agent: need 0 <= epsilon_end <= epsilon_start <= 1")
        if not 0.0 < self.exploration_fraction <= 1.0:
            raise EpictlError(f"agent.exploration_fraction={self.exploration_fraction} must be in (0, 1]")
        for name in ("gradient_penalty", "sl_weight"):
            if not 0.0 <= getattr(self, name) < math.inf:
                raise EpictlError(f"agent.{name}={getattr(self, name)} must be a finite number >= 0")
        if not math.isfinite(self.gradient_target):
            raise EpictlError(f"agent.gradient_target={self.gradient_target} must be finite")
        if self.penalty_input not in PENALTY_INPUTS:
            raise EpictlError(f"agent.penalty_input={self.penalty_input!r}; choose one of {', '.join(PENALTY_INPUTS)}")
        if self.penalty_output not in PENALTY_OUTPUTS:
            raise EpictlError(f"agent.penalty_output={self.penalty_output!r}; choose one of {', '.join(PENALTY_OUTPUTS)}")
        if self.sl_batch_size > self.batch_size:
            raise EpictlError(f"agent.sl_batch_size={self.sl_batch_size} must be <= agent.batch_size={self.batch_size}")
        if self.replay_capacity < self.batch_size:
            raise EpictlError(f"agent.replay_capacity={self.replay_capacity} must be >= "
                              f"agent.batch_size={self.batch_size}")
        self.check_training()
        return self
