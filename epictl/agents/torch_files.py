"""Torch files in a run folder (the training checkpoint `checkpoints/last.pt`, saved models): written
atomically, read back with one-line errors whatever the file holds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from epictl.atomic import write_atomic
from epictl.errors import EpictlError, reason
from epictl.paths import CHECKPOINTS


def checkpoint_path(run_dir: Path | str, pick: str = "last") -> Path:
    """``pick``: last (where training stopped) or best (the best held-out evaluation)."""
    return Path(run_dir).expanduser() / CHECKPOINTS[pick]


def save_checkpoint(run_dir: Path, state: dict, pick: str = "last") -> None:
    write_atomic(checkpoint_path(run_dir, pick), lambda tmp: torch.save(state, tmp))


def load_checkpoint(run_dir: Path | str, required: Iterable[str] = ("agent",), pick: str = "last") -> dict:
    """Loaded onto the CPU; agents move their tensors to their own device when they load them."""
    path = checkpoint_path(run_dir, pick)
    if not path.is_file():
        raise EpictlError(f"{path}: no checkpoint (train first, or check the run folder)")
    return require_keys(load_torch_file(path, "checkpoint"), required, path, "an epictl training checkpoint")


def load_torch_file(path: Path, what: str):
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # garbage, empty, truncated or unreadable files fail in many ways (pickle, zip, OS)
        raise EpictlError(f"{path}: unreadable {what} ({reason(exc)})") from None


def require_keys(state, keys: Iterable[str], path: Path, what: str) -> dict:
    missing = [key for key in keys if not isinstance(state, dict) or key not in state]
    if missing:
        found = f"a {type(state).__name__}" if not isinstance(state, dict) else f"a dict without {', '.join(missing)}"
        raise EpictlError(f"{path}: not {what} ({found})")
    return state
