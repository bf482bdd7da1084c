"""Hyper-parameters of IDRLECA (spec papw-contact-tracing.md §11) and its ablations RL-NoGraph (`encoder: mlp`) and
RL-NoEP (`stop_new_infections: null`), kept free of torch so configs load instantly. The values, with their
sources, are in conf/agent/idrleca.yaml, idrleca_nograph.yaml and idrleca_noep.yaml."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from epictl.agents.base import LearnerConfig, require_at_least, require_positive
from epictl.agents.contact_risk import check_estimator
from epictl.errors import EpictlError

ENCODERS = ("graph", "mlp")
FEATURE_SETS = ("epictl", "idr")
PERSON_AGGREGATIONS = ("transpose", "row_softmax")
LOG_PROBS = ("sum", "mean")
MAX_SLICES = 10  # 7-hour slices of the 5-day visit history (spec §11.2)


@dataclass
class IdrlecaConfig(LearnerConfig):
    """One PPO policy for everybody: a GNN over people and areas sets each person's ordered thresholds, the
    estimated infection probability picks the level between them (spec §11)."""

    name: str = MISSING
    kind: str = MISSING
    encoder: str = MISSING  # graph: Individual Contact GNN | mlp: per-person MLP (RL-NoGraph)
    features: str = MISSING  # epictl: code (4) + level (5) one-hot + p_inf | idr: code 1, code 3/4, code 5, p_inf
    slices: int = MISSING  # 7-hour slices of the visit history, most recent last (2: yesterday's two halves)
    person_aggregation: str = MISSING  # transpose: areas -> people with the areas' softmax | row_softmax: per person
    hidden: int = MISSING  # width of every Dense layer of the encoders and of the critic's head
    sigma: float = MISSING  # exploration: u = sigmoid(logit(p_inf) + N(0, sigma^2)) in training; 0 at test
    log_prob: str = MISSING  # sum | mean of log q_{i,a_i} over the people the agent acts on
    p_acquaintance: float = MISSING  # p_c of the infection-probability estimator (§11.1; not the simulator's)
    p_stranger: float = MISSING  # p_s of the estimator
    terms: str = MISSING  # idr: acquaintance factor where they met, stranger factor elsewhere | stranger only
    history_days: int = MISSING  # days of the visit history the estimate reads
    lr: float = MISSING  # Adam
    weight_decay: float = MISSING  # L2 on every parameter (Adam's weight_decay)
    gamma: float = MISSING
    gae_lambda: float = MISSING
    clip_coef: float = MISSING
    entropy_coef: float = MISSING  # maximised: loss = -(surrogate + entropy_coef * entropy) + value term
    value_coef: float = MISSING
    max_grad_norm: float = MISSING  # applied to the actor and to the critic separately
    rollout: int = MISSING  # days per PPO update
    minibatch: int = MISSING  # days per gradient step
    epochs: int = MISSING  # passes over a rollout
    stop_new_infections: Optional[int] = MISSING  # extreme-experience rule: stop on more new infections; null: off
    stop_penalty_factor: float = MISSING  # the stop's reward = factor x the worst daily reward seen
    def validate(self) -> "IdrlecaConfig":
        if self.kind != "idrleca":
            raise EpictlError(f"agent.kind={self.kind!r}; an idrleca config builds only kind idrleca")
        for name, choices in (("encoder", ENCODERS), ("features", FEATURE_SETS),
                              ("person_aggregation", PERSON_AGGREGATIONS), ("log_prob", LOG_PROBS)):
            if getattr(self, name) not in choices:
                raise EpictlError(f"agent.{name}={getattr(self, name)!r}; choose one of {', '.join(choices)}")
        if not 1 <= self.slices <= MAX_SLICES:
            raise EpictlError(f"agent.slices={self.slices} must lie in 1..{MAX_SLICES} (7-hour slices of 5 days)")
        require_at_least(self, 1, "hidden", "rollout", "minibatch", "epochs")
        if self.minibatch > self.rollout:
            raise EpictlError(f"agent.minibatch={self.minibatch} must be <= agent.rollout={self.rollout}")
        require_positive(self, "lr", "max_grad_norm", "clip_coef")
        check_estimator(self.p_acquaintance, self.p_stranger, self.terms, self.history_days)
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise EpictlError(f"agent.{name}={getattr(self, name)} must lie in [0, 1]")
        for name in ("sigma", "weight_decay", "entropy_coef", "value_coef", "stop_penalty_factor"):
            if not 0.0 <= getattr(self, name) < math.inf:
                raise EpictlError(f"agent.{name}={getattr(self, name)} must be a finite number >= 0")
        if self.stop_new_infections is not None and self.stop_new_infections < 0:
            raise EpictlError(f"agent.stop_new_infections={self.stop_new_infections} must be >= 0, or null (no rule)")
        self.check_training()
        return self
