"""Restoring an agent from a training checkpoint (`checkpoints/last.pt`), and what may change on resume."""

from __future__ import annotations

from pathlib import Path

from epictl.agents.torch_files import checkpoint_path, load_checkpoint
from epictl.errors import EpictlError, reason

# Must match between a run and its resumption (the agent config too, except the length of training).
RESUME_KEYS = ("env", "budget", "reward", "seed", "train_seed_offset", "rebuild_from")


def restore_agent(agent, agent_config, run_dir: Path | str, pick: str = "last") -> int | None:
    """Load a trained agent (`epictl eval ... checkpoint=<run>`, checkpoints/<pick>.pt), refusing a checkpoint it
    does not fit; returns the training run's seed (None when the file does not say)."""
    path = checkpoint_path(run_dir, pick)
    state = load_checkpoint(run_dir, pick=pick)
    saved_agent = state["config"].get("agent") if isinstance(state.get("config"), dict) else None
    saved_kind = saved_agent.get("kind") if isinstance(saved_agent, dict) else None
    if saved_kind is not None and saved_kind != agent_config.kind:
        raise EpictlError(f"{path}: trained as agent.kind={saved_kind}, but agent={agent_config.name} has "
                          f"agent.kind={agent_config.kind}")
    load_agent_state(agent, agent_config, state["agent"], path)
    seed = state["config"].get("seed") if isinstance(state.get("config"), dict) else None
    return seed if isinstance(seed, int) else None


def load_agent_state(agent, agent_config, state, path: Path) -> None:
    try:
        agent.load_state_dict(state, str(path))
    except EpictlError:
        raise
    except Exception as exc:  # another layout: missing entries, other tensor shapes, wrong types
        raise EpictlError(f"{path}: does not fit agent={agent_config.name} ({reason(exc)})") from None


def check_resumable(state: dict, current: dict, path: Path, group: str, length_key: str) -> None:
    """A resumed run keeps every setting of the original except how long it trains (``<group>.<length_key>``:
    agent.updates, rebuild.epochs)."""
    saved = state["config"]
    if not isinstance(saved, dict) or not isinstance(saved.get(group), dict):
        raise EpictlError(f"{path}: not a checkpoint of this command (no {group} config)")
    for key in RESUME_KEYS:
        if saved.get(key) != current.get(key):
            raise EpictlError(f"{path}: trained with a different {key!r}; resume with the same settings")
    if {k: v for k, v in saved[group].items() if k != length_key} != \
            {k: v for k, v in current[group].items() if k != length_key}:
        raise EpictlError(f"{path}: trained with a different {group} config (only {group}.{length_key} may change)")
