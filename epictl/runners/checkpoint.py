"""The training checkpoint, `checkpoints/last.pt` in a run folder, written atomically."""

from __future__ import annotations

from pathlib import Path

import torch

from epictl.errors import EpictlError
from epictl.report.files import write_atomic

CHECKPOINT = Path("checkpoints") / "last.pt"


def save_checkpoint(run_dir: Path, state: dict) -> None:
    write_atomic(Path(run_dir) / CHECKPOINT, lambda tmp: torch.save(state, tmp))


def load_checkpoint(run_dir: Path | str) -> dict:
    """Loaded onto the CPU; agents move their tensors to their own device when they load them."""
    path = Path(run_dir).expanduser() / CHECKPOINT
    if not path.is_file():
        raise EpictlError(f"{path}: no checkpoint (train first, or check the run folder)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as exc:
        raise EpictlError(f"{path}: unreadable checkpoint ({exc})") from None
