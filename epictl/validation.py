"""Semantic checks of a composed run config (types and keys are checked by the schemas)."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from epictl.envs.metapop import ALLOCATIONS
from epictl.errors import EpictlError


def validate_run_config(command: str, cfg: DictConfig) -> None:
    if "env" in cfg:
        OmegaConf.to_object(cfg.env).validate()
    if "budget" in cfg:
        OmegaConf.to_object(cfg.budget).validate()
    if "agent" in cfg:
        agent = OmegaConf.to_object(cfg.agent).validate()
        if getattr(agent, "allocation", ALLOCATIONS[0]) not in ALLOCATIONS:
            raise EpictlError(f"agent.allocation={agent.allocation!r}; choose one of {', '.join(ALLOCATIONS)}")
    if "seeds" in cfg and cfg.seeds < 1:
        raise EpictlError(f"seeds={cfg.seeds} must be >= 1")
    if command == "calibrate":
        from epictl.calibration.settings import resolve

        resolve(cfg)
    if command == "table" and not cfg.runs:
        raise EpictlError("table needs run folders: epictl table runs='[outputs/2026-11-24/*]'")
