"""A composed `epictl calibrate` config, checked and resolved into what the fit needs.

Runs before anything is simulated (also at composition, through epictl.validation), so a bad
value, a malformed CSV or impossible bounds stop with one line and exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

from epictl.calibration.objective import LOSSES
from epictl.calibration.parameters import Space, build_space, env_values
from epictl.calibration.target import Target, load_target
from epictl.errors import EpictlError
from epictl.sim.metapop.compartments import NAMES


@dataclass(frozen=True)
class Settings:
    env: object  # the validated metapop env config
    target: Target
    window: int  # days fitted, from the first day of the series
    seed_district: str | None
    seed_compartment: int
    space: Space


def resolve(cfg: DictConfig) -> Settings:
    env = OmegaConf.to_object(cfg.env).validate()
    if getattr(env, "family", None) != "metapop":
        raise EpictlError(f"calibrate needs a metapopulation env (env.family=metapop), got {getattr(env, 'family', '?')}")
    if cfg.loss not in LOSSES:
        raise EpictlError(f"loss={cfg.loss!r}; choose one of {', '.join(LOSSES)}")
    if cfg.seed_compartment not in NAMES:
        raise EpictlError(f"seed_compartment={cfg.seed_compartment!r}; choose one of {', '.join(NAMES)}")
    for name, least in (("runs", 1), ("beds", 0), ("seed_regions", 1), ("search_points", 1), ("max_evaluations", 0)):
        if cfg[name] < least:
            raise EpictlError(f"{name}={cfg[name]} must be >= {least}")
    target = load_target(cfg.target)
    window = cfg.window_days or target.window_days or target.days
    if not 1 <= window <= target.days:
        raise EpictlError(f"window_days={window} must be 1..{target.days} (the days of target {target.name})")
    space = build_space(OmegaConf.to_object(cfg.parameters), env_values(env))
    return Settings(env, target, window, cfg.seed_district or target.seed_district,
                    NAMES.index(cfg.seed_compartment), space)
