"""`device=auto` picks CUDA when present, else the CPU."""

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
