"""The training checkpoint, `checkpoints/last.pt` in a run folder: written atomically, read back with
one-line errors whatever the file holds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from epictl.atomic import write_atomic
from epictl.errors import EpictlError
from epictl.paths import CHECKPOINT

# Must match between a run and its resumption (the agent config too, except the length of training).
RESUME_KEYS = ("env", "budget", "reward", "seed", "train_seed_offset")


def checkpoint_path(run_dir: Path | str) -> Path:
    return Path(run_dir).expanduser() / CHECKPOINT


def save_checkpoint(run_dir: Path, state: dict) -> None:
    write_atomic(Path(run_dir) / CHECKPOINT, lambda tmp: torch.save(state, tmp))


def load_checkpoint(run_dir: Path | str, required: Iterable[str] = ("agent",)) -> dict:
    """Loaded onto the CPU; agents move their tensors to their own device when they load them."""
    path = checkpoint_path(run_dir)
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


def reason(exc: BaseException) -> str:
    """An exception as a short single line (torch's messages span lines; some are empty)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def restore_agent(agent, agent_config, run_dir: Path | str) -> None:
    """Load a trained agent (`epictl eval ... checkpoint=<run>`), refusing a checkpoint it does not fit."""
    path = checkpoint_path(run_dir)
    state = load_checkpoint(run_dir)
    saved_agent = state["config"].get("agent") if isinstance(state.get("config"), dict) else None
    saved_kind = saved_agent.get("kind") if isinstance(saved_agent, dict) else None
    if saved_kind is not None and saved_kind != agent_config.kind:
        raise EpictlError(f"{path}: trained as agent.kind={saved_kind}, but agent={agent_config.name} has "
                          f"agent.kind={agent_config.kind}")
    load_agent_state(agent, agent_config, state["agent"], path)


def load_agent_state(agent, agent_config, state, path: Path) -> None:
    try:
        agent.load_state_dict(state, str(path))
    except EpictlError:
        raise
    except Exception as exc:  # another layout: missing entries, other tensor shapes, wrong types
        raise EpictlError(f"{path}: does not fit agent={agent_config.name} ({reason(exc)})") from None


def check_resumable(state: dict, current: dict, path: Path, length_key: str) -> None:
    """A resumed run keeps every setting of the original except how long it trains (``agent.<length_key>``)."""
    saved = state["config"]
    if not isinstance(saved, dict) or not isinstance(saved.get("agent"), dict):
        raise EpictlError(f"{path}: not an epictl training checkpoint (no run config)")
    for key in RESUME_KEYS:
        if saved.get(key) != current.get(key):
            raise EpictlError(f"{path}: trained with a different {key!r}; resume with the same settings")
    if {k: v for k, v in saved["agent"].items() if k != length_key} != \
            {k: v for k, v in current["agent"].items() if k != length_key}:
        raise EpictlError(f"{path}: trained with a different agent config (only agent.{length_key} may change)")
