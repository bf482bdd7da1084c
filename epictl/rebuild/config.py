"""Settings of the information-rebuilding network (KDD'21 §3.2, spec §8), free of torch.

`conf/rebuild/gru.yaml` lists every field with its source; overrides read `rebuild.<field>=...`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from epictl.errors import EpictlError

INPUT_MODES = ("paper", "code")
DEVICES = ("auto", "cpu", "cuda")
ARTIFACT = "rebuild.pt"  # the trained network in its run folder (the best epoch on validation)


@dataclass
class RebuildConfig:
    """GRU branches that estimate hidden E, Iu, R per region from the observed It, Ih, D series; the values,
    with their sources, are in conf/rebuild/gru.yaml. Validated here."""

    hidden: int = MISSING  # GRU units per layer
    layers: int = MISSING  # GRU layers per branch
    inputs: str = MISSING  # paper: It, Ih, D into every branch | code: It->E, It->Iu, D->R
    scale: float = MISSING  # people per unit: the rescale after the input and before the output
    lr: float = MISSING  # Adam
    epochs: int = MISSING  # passes over the training trajectories
    batch_size: int = MISSING  # trajectories per gradient step
    # Data: one trajectory per (seed, policy), the whole episode of the run's scenario, daily.
    train_episodes: int = MISSING
    validation_episodes: int = MISSING  # unseen seeds of the training policies: picks the best epoch
    test_episodes: int = MISSING  # unseen seeds under the test policies: the reported accuracy
    train_policies: list[str] = MISSING  # conf/agent baselines
    test_policies: list[str] = MISSING
    dataset: Optional[str] = MISSING  # dataset.npz of an earlier rebuild run to reuse (None: simulate)
    accuracy_tolerance: float = MISSING  # accuracy: share of outputs with a relative error below this
    checkpoint_every: int = MISSING  # epochs
    device: str = MISSING  # auto | cpu | cuda
    torch_threads: int = MISSING  # CPU threads (process-wide); 0: torch's default

    def validate(self) -> "RebuildConfig":
        if self.inputs not in INPUT_MODES:
            raise EpictlError(f"rebuild.inputs={self.inputs!r}; choose one of {', '.join(INPUT_MODES)}")
        for minimum, names in ((1, ("hidden", "layers", "epochs", "batch_size", "train_episodes",
                                    "validation_episodes", "test_episodes", "checkpoint_every")),
                               (0, ("torch_threads",))):
            for name in names:
                if not getattr(self, name) >= minimum:
                    raise EpictlError(f"rebuild.{name}={getattr(self, name)} must be >= {minimum}")
        for name in ("scale", "lr"):  # NaN and inf fail too
            if not 0.0 < getattr(self, name) < math.inf:
                raise EpictlError(f"rebuild.{name}={getattr(self, name)} must be a finite number > 0")
        if not 0 < self.accuracy_tolerance < 1:
            raise EpictlError(f"rebuild.accuracy_tolerance={self.accuracy_tolerance} must be in (0, 1)")
        if not self.train_policies or not self.test_policies:
            raise EpictlError("rebuild.train_policies and rebuild.test_policies need at least one policy each")
        if self.device not in DEVICES:
            raise EpictlError(f"rebuild.device={self.device!r}; choose one of {', '.join(DEVICES)}")
        return self
