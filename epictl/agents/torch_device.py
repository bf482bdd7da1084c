"""Where and how torch runs: `device=auto` picks CUDA when present, else the CPU; `torch_threads`
sets the CPU threads of every torch agent (and the rebuild network) in one place."""

from __future__ import annotations

import torch

from epictl.errors import EpictlError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise EpictlError("device=cuda but no CUDA device is available; use device=auto or device=cpu")
    if name not in ("cpu", "cuda"):
        raise EpictlError(f"device={name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def use_torch_threads(threads: int) -> None:
    """Process-wide CPU threads for torch (``agent.torch_threads``); 0 keeps torch's default, one per core.

    Small networks must not spread over the cores: their matrix products are too short to share, so
    the threads mostly wait on each other and on whatever else runs (on 2 shared cores `epictl train
    env=tiny agent=hrl` took 486 s with torch's default and 19.8 s with one thread)."""
    if threads:
        torch.set_num_threads(threads)
