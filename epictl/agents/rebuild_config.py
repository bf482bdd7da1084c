"""Settings of the information-rebuilding network (KDD'21 §3.2, spec §8), free of torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from epictl.agents.base import require_at_least, require_positive
from epictl.errors import EpictlError

INPUT_MODES = ("paper", "code")
ARTIFACT = "rebuild.pt"  # the trained network in its run folder (the best epoch on validation)


@dataclass
class RebuildConfig:
    """GRU branches that estimate hidden E, Iu, R per region from the observed It, Ih, D series."""

    name: str = "rebuild"
    kind: str = "rebuild"
    hidden: int = 1024  # GRU units per layer [paper §3.2]
    layers: int = 4  # GRU layers per branch [paper Fig. 6]
    inputs: str = "paper"  # paper: It, Ih, D into every branch | code: It->E, It->Iu, D->R
    scale: float = 1000.0  # the 1:1000 rescale layers after the input and before the output [paper]
    lr: float = 1e-3  # Adam [paper]
    epochs: int = 100  # passes over the training trajectories [code]
    batch_size: int = 8  # trajectories per gradient step
    # Training data: one trajectory per (seed, policy), the whole episode of the run's scenario, daily.
    train_episodes: int = 40
    validation_episodes: int = 8  # unseen seeds of the training policies: picks the best epoch
    test_episodes: int = 10  # unseen seeds and the test policies: the reported accuracy
    train_policies: list[str] = field(default_factory=lambda: ["no_medical", "expert_population", "random"])
    test_policies: list[str] = field(default_factory=lambda: ["expert_seriousness", "proportional"])
    dataset: Optional[str] = None  # dataset.npz of an earlier rebuild run to reuse (same env and seeds)
    accuracy_tolerance: float = 0.3  # paper Fig. 6: share of outputs with relative error below 30 %
    checkpoint_every: int = 5  # epochs
    device: str = "auto"  # auto | cpu | cuda
    # CPU threads (process-wide); 0: torch's default. One even at the paper's size: on 2 shared cores a
    # gradient step of 4 GRU layers of 1024 units took 1.2 s with 1 thread and 5.6-8.9 s with 2. On an
    # idle many-core machine more threads may pay for hidden=1024; measure before raising it.
    torch_threads: int = 1

    @property
    def trainable(self) -> bool:
        return True

    def validate(self) -> "RebuildConfig":
        if self.inputs not in INPUT_MODES:
            raise EpictlError(f"agent.inputs={self.inputs!r}; choose one of {', '.join(INPUT_MODES)}")
        require_at_least(self, 1, "hidden", "layers", "epochs", "batch_size", "train_episodes", "validation_episodes",
                         "test_episodes", "checkpoint_every")
        require_at_least(self, 0, "torch_threads")
        require_positive(self, "scale", "lr")
        if not 0 < self.accuracy_tolerance < 1:
            raise EpictlError(f"agent.accuracy_tolerance={self.accuracy_tolerance} must be in (0, 1)")
        if not self.train_policies or not self.test_policies:
            raise EpictlError("agent.train_policies and agent.test_policies need at least one policy each")
        if self.device not in ("auto", "cpu", "cuda"):
            raise EpictlError(f"agent.device={self.device!r}; choose auto, cpu or cuda")
        return self
