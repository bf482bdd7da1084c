"""Hyper-parameters of the memory DQN of Ohi et al. 2020 (kept free of torch so configs load instantly)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from epictl.agents.base import LearnerConfig, require_at_least, require_positive
from epictl.errors import EpictlError

TARGETS = ("double", "dqn")
SCHEDULE_UNITS = ("episode", "step")


@dataclass
class DdqnLstmConfig(LearnerConfig):
    """The values, with their sources, are in conf/agent/ddqn_lstm.yaml (ddqn_lstm_m7 ... _m60 change the
    window); validated here."""

    name: str = MISSING
    kind: str = MISSING
    memory: int = MISSING  # L, days in the agent's window
    lstm_units: list[int] = MISSING  # bidirectional LSTM layers
    dense_units: list[int] = MISSING  # ReLU layers, then 3 linear Q-values (may be empty)
    dropout: float = MISSING  # inside the LSTMs and after each hidden dense layer
    target: str = MISSING  # double: online argmax, target evaluation | dqn: max of the target
    discount: float = MISSING  # gamma
    lr: float = MISSING  # Adam
    batch_size: int = MISSING  # transitions per gradient step
    replay_capacity: int = MISSING  # transitions
    epsilon_start: float = MISSING
    epsilon_min: float = MISSING
    epsilon_decay: float = MISSING  # epsilon <- max(epsilon - epsilon / decay, min)
    epsilon_decay_per: str = MISSING  # episode | step
    target_sync_every: int = MISSING  # hard copy online -> target
    target_sync_per: str = MISSING  # episode | step
    init_from: Optional[str] = MISSING  # run folder of a trained ddqn_lstm: start from its weights
    def validate(self) -> "DdqnLstmConfig":
        if self.kind != "ddqn_lstm":
            raise EpictlError(f"agent.kind={self.kind!r}; a ddqn_lstm config builds only kind ddqn_lstm")
        require_at_least(self, 1, "memory", "batch_size", "target_sync_every")
        require_positive(self, "lr")
        if not self.lstm_units:
            raise EpictlError("agent.lstm_units=[] needs at least one layer")
        for name in ("lstm_units", "dense_units"):  # dense_units may be empty: the LSTMs feed the Q-values directly
            if any(not units >= 1 for units in getattr(self, name)):
                raise EpictlError(f"agent.{name}={list(getattr(self, name))}: every layer needs >= 1 unit")
        if self.target not in TARGETS:
            raise EpictlError(f"agent.target={self.target!r}; choose one of {', '.join(TARGETS)}")
        for name in ("epsilon_decay_per", "target_sync_per"):
            if getattr(self, name) not in SCHEDULE_UNITS:
                raise EpictlError(f"agent.{name}={getattr(self, name)!r}; choose one of {', '.join(SCHEDULE_UNITS)}")
        if not 0.0 <= self.epsilon_min <= self.epsilon_start <= 1.0:
            raise EpictlError("agent: need 0 <= epsilon_min <= epsilon_start <= 1")
        if not 1.0 <= self.epsilon_decay < math.inf:
            raise EpictlError(f"agent.epsilon_decay={self.epsilon_decay} must be a finite number >= 1")
        if not 0.0 <= self.discount < 1.0 or not 0.0 <= self.dropout < 1.0:
            raise EpictlError("agent: discount and dropout in [0, 1) required")
        if self.replay_capacity < self.batch_size:
            raise EpictlError(f"agent.replay_capacity={self.replay_capacity} must be >= agent.batch_size={self.batch_size}")
        self.check_training()
        return self
