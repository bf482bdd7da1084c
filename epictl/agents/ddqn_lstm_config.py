"""Hyper-parameters of the memory DQN of Ohi et al. 2020 (kept free of torch so configs load instantly).

[paper] the paper, [released] the authors' code, [epictl] our choice where both are silent or
defective (spec §11, §13.9-§13.11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from epictl.agents.base import require_at_least, require_positive
from epictl.errors import EpictlError

TARGETS = ("double", "dqn")
SCHEDULE_UNITS = ("episode", "step")


@dataclass
class DdqnLstmConfig:
    name: str = "ddqn_lstm"
    kind: str = "ddqn_lstm"
    memory: int = 30  # L, days in the agent's window: M30 [paper's chosen agent]; M7, M15, M45, M60
    lstm_units: list[int] = field(default_factory=lambda: [128, 64, 64])  # bidirectional layers [paper Fig. 6]
    dense_units: list[int] = field(default_factory=lambda: [128, 64, 32])  # ReLU, then 3 linear Q-values [paper]
    dropout: float = 0.1  # inside the LSTMs and after each hidden dense layer [released]
    target: str = "double"  # online argmax, target evaluation [paper "DDQN"] | dqn: max of the target [released]
    discount: float = 0.9  # gamma [paper]
    lr: float = 1e-3  # Adam [released]
    batch_size: int = 16  # transitions per gradient step [released fit batch]; one step per env step [epictl]
    replay_capacity: int = 4000  # transitions [released deque]; only real ones, sampled uniformly [epictl]
    epsilon_start: float = 1.0  # [paper]
    epsilon_min: float = 0.1  # [paper]
    epsilon_decay: float = 6000.0  # epsilon <- max(epsilon - epsilon / decay, min) [paper]
    epsilon_decay_per: str = "episode"  # the paper's rule once per episode | step
    target_sync_every: int = 4  # hard copy online -> target [released: every 4 episodes]
    target_sync_per: str = "episode"  # episode | step
    init_from: Optional[str] = None  # run folder of a trained ddqn_lstm: start from its weights [paper: M7-M60 from M30]
    updates: int = 50_000  # training steps: one simulated day and one gradient step each
    checkpoint_every: int = 1000
    device: str = "auto"  # auto | cpu | cuda
    # CPU threads for torch (process-wide); 0 keeps torch's default. One thread is fastest for these
    # small recurrent batches: 10 ms per training step against 200 ms with 2 on a busy 2-core machine.
    torch_threads: int = 1

    @property
    def trainable(self) -> bool:
        return True

    def validate(self) -> "DdqnLstmConfig":
        if self.kind != "ddqn_lstm":
            raise EpictlError(f"agent.kind={self.kind!r}; a ddqn_lstm config builds only kind ddqn_lstm")
        require_at_least(self, 1, "memory", "batch_size", "updates", "checkpoint_every", "target_sync_every")
        require_at_least(self, 0, "torch_threads")
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
        if self.device not in ("auto", "cpu", "cuda"):
            raise EpictlError(f"agent.device={self.device!r}; choose auto, cpu or cuda")
        return self
