"""`epictl train`: the training loop for learning agents."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from epictl.errors import EpictlError


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    agent_config = OmegaConf.to_object(cfg.agent)
    if not getattr(agent_config, "trainable", False):
        raise EpictlError(f"agent {cfg.agent.name!r} is a fixed policy with nothing to train; use `epictl eval agent={cfg.agent.name}`")
