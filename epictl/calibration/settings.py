"""A composed `epictl calibrate` config, checked and resolved into what the fit needs.

Runs before anything is simulated (also at composition, through epictl.validation), so a bad
value, a malformed CSV or impossible bounds stop with one line and exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from omegaconf import DictConfig, OmegaConf

from epictl.calibration.objective import LOSSES
from epictl.calibration.parameters import Space, build_space, env_values
from epictl.calibration.table_row import RowSettings, check_target_known, resolve_rows, row_target_path
from epictl.calibration.target import Target, load_target
from epictl.errors import EpictlError
from epictl.sim.metapop.compartments import NAMES, TICKS_PER_DAY
from epictl.sim.metapop.params import DiseaseParams


@dataclass(frozen=True)
class Settings:
    env: object  # the validated metapop env config
    target: Target
    window: int  # days fitted, from the first day of the series
    seed_district: str | None
    seed_compartment: int
    space: Space


def resolve(cfg: DictConfig) -> Settings | RowSettings:
    """A daily-series fit's settings, or a table-row fit's when the target lists table rows (table_row.py)."""
    rows = row_target_path(cfg.target)
    if rows is not None:
        return resolve_rows(cfg, rows)
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
    if cfg.window_days is not None and cfg.window_days < 1:
        raise EpictlError(f"window_days={cfg.window_days} must be >= 1 (leave it unset for the target's window or all days)")
    check_target_known(cfg.target)
    target = load_target(cfg.target)
    window = cfg.window_days if cfg.window_days is not None else target.window_days or target.days
    if not 1 <= window <= target.days:
        raise EpictlError(f"window_days={window} must be 1..{target.days} (the days of target {target.name})")
    cumulative = np.cumsum(target.daily[:, :window], axis=-1)
    if np.ptp(cumulative) == 0:  # R² divides by the spread of the fitted cumulative counts
        raise EpictlError(f"window_days={window}: the cumulative cases of target {target.name} do not change "
                          f"over the fitted {target.first_date}..{target.date(window - 1)}; fit more days")
    space = build_space(OmegaConf.to_object(cfg.parameters), env_values(env))
    check_disease_at_extremes(env.disease, space)
    return Settings(env, target, window, cfg.seed_district or target.seed_district,
                    NAMES.index(cfg.seed_compartment), space)


def check_disease_at_extremes(disease: DiseaseParams, space: Space) -> None:
    """The fit moves R0 and test_delay within their bounds: the model must stay valid at the riskiest
    corner (per-tick probabilities grow with R0 and shrink with test_delay)."""
    r0 = space.bounds["R0"][1] if "R0" in space.free else space.fixed["R0"]
    delay = space.bounds["test_delay"][0] if "test_delay" in space.free else space.fixed["test_delay"]
    try:
        replace(disease, R0=r0, theta_ticks=delay * TICKS_PER_DAY).validate()
    except EpictlError as exc:
        raise EpictlError(f"parameters: R0={r0:g} with test_delay={delay:g} days: {exc}") from None
