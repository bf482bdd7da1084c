"""The GRU information-rebuilding network (KDD'21 §3.2, Fig. 3; spec §8) and its saved form.

Three branches, one per hidden compartment (E, Iu, R); each is a stack of GRU layers (tanh) and a
linear projection hidden -> M, with 1:scale rescaling after the input and before the output.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from epictl.agents.torch_files import load_torch_file, require_keys
from epictl.atomic import write_atomic
from epictl.errors import EpictlError, reason
from epictl.rebuild.config import ARTIFACT, RebuildConfig

OBSERVED = ("It", "Ih", "D")  # what the agent sees under imperfect information
REBUILT = ("E", "Iu", "R")  # what the branches estimate
AGENT_INPUTS = ("E", "Iu", "It", "Ih", "R", "D")  # the agent's input after rebuilding [paper §3.2]
CODE_BRANCH_INPUT = (0, 0, 2)  # inputs=code: E and Iu from It, R from D [authors' code]


class RebuildNet(nn.Module):
    def __init__(self, n_regions: int, config: RebuildConfig):
        super().__init__()
        self.n_regions, self.inputs, self.scale = n_regions, config.inputs, config.scale
        width = len(OBSERVED) * n_regions if config.inputs == "paper" else n_regions
        self.branches = nn.ModuleList(nn.GRU(width, config.hidden, config.layers, batch_first=True) for _ in REBUILT)
        self.heads = nn.ModuleList(nn.Linear(config.hidden, n_regions) for _ in REBUILT)

    def forward(self, observed: torch.Tensor, hidden: list[torch.Tensor] | None = None):
        """observed [B, T, M, 3] (It, Ih, D) -> scaled estimates [B, T, M, 3] (E, Iu, R), new hidden states."""
        x = observed / self.scale
        outputs, states = [], []
        for k, (gru, head) in enumerate(zip(self.branches, self.heads)):
            branch_input = x.flatten(2) if self.inputs == "paper" else x[..., CODE_BRANCH_INPUT[k]]
            sequence, state = gru(branch_input, None if hidden is None else hidden[k])
            outputs.append(head(sequence))
            states.append(state)
        return torch.stack(outputs, dim=-1), states

    def counts(self, scaled: torch.Tensor) -> torch.Tensor:
        """Scaled outputs back to people: multiply, clamp at 0, then round (spec §15.9: in that order)."""
        return torch.round(torch.clamp(scaled * self.scale, min=0.0))


def save_artifact(path: Path, net: RebuildNet, config: RebuildConfig, metadata: dict) -> None:
    state = {"config": vars(config).copy(), "n_regions": net.n_regions, "weights": net.state_dict(), **metadata}
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def load_artifact(run_dir: str | Path, n_regions: int, device: torch.device) -> tuple[RebuildNet, str]:
    """The trained network of a rebuild run folder, refused for a city with another region count."""
    path = Path(run_dir).expanduser() / ARTIFACT
    if not path.is_file():
        raise EpictlError(f"{path}: no rebuild model (run `epictl rebuild` first)")
    state = require_keys(load_torch_file(path, "rebuild model"), ("config", "n_regions", "weights"), path,
                         "a rebuild model")
    if state["n_regions"] != n_regions:
        raise EpictlError(f"{path}: trained for a city of {state['n_regions']} regions, this city has {n_regions}")
    try:
        net = RebuildNet(n_regions, RebuildConfig(**state["config"]).validate())
        net.load_state_dict(state["weights"])
    except EpictlError as exc:
        raise EpictlError(f"{path}: saved with an invalid config ({exc})") from None
    except Exception as exc:  # unknown config keys, other layer sizes, missing weights
        raise EpictlError(f"{path}: not a rebuild model of this layout ({reason(exc)})") from None
    fingerprint = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return net.to(device).eval(), fingerprint


class Rebuilder:
    """Carries the GRU state from day to day and turns each observation into the agent's six inputs."""

    def __init__(self, net: RebuildNet, channels: tuple[str, ...], device: torch.device):
        missing = [c for c in OBSERVED if c not in channels]
        if missing:
            raise EpictlError(f"rebuilding needs the observed {', '.join(OBSERVED)}; the observation lacks {missing}")
        self.net, self.device = net, device
        self.observed_index = [channels.index(c) for c in OBSERVED]
        self.hidden: list[torch.Tensor] | None = None

    def start(self, earlier: np.ndarray | None) -> None:
        """Run through the days before the current one ([T, M, channels]; None or empty: no history)."""
        self.hidden = None
        if earlier is not None and len(earlier):
            self._advance(np.asarray(earlier)[None])

    @torch.no_grad()
    def step(self, observation: np.ndarray) -> np.ndarray:
        """One new day [M, channels] -> [M, 6] in AGENT_INPUTS order (E, Iu, R rebuilt)."""
        observed = np.asarray(observation)[:, self.observed_index]
        rebuilt = self._advance(np.asarray(observation)[None, None])[0, -1].cpu().numpy()
        it, ih, d = observed.T
        return np.stack([rebuilt[:, 0], rebuilt[:, 1], it, ih, rebuilt[:, 2], d], axis=1).astype(np.float32)

    @torch.no_grad()
    def _advance(self, sequence: np.ndarray) -> torch.Tensor:
        observed = torch.as_tensor(sequence[..., self.observed_index], dtype=torch.float32, device=self.device)
        scaled, self.hidden = self.net(observed, self.hidden)
        return self.net.counts(scaled)

    def state_dict(self) -> dict:
        return {"hidden": None if self.hidden is None else [h.cpu() for h in self.hidden]}

    def load_state_dict(self, state: dict) -> None:
        hidden = state["hidden"]
        self.hidden = None if hidden is None else [h.to(self.device) for h in hidden]
