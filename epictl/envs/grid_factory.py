"""Build the grid env (Ohi et al. 2020) from validated config objects; `conf/env/grid*.yaml` fill them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from epictl.envs.grid import GridEnv, check_initial_share
from epictl.errors import EpictlError
from epictl.rewards.ohi2020 import Ohi2020Reward
from epictl.sim.grid.params import GridParams


@dataclass
class GridEnvConfig:
    """The world and disease (``sim``, spec §1-§8) and the outbreak of each episode (spec §10)."""

    family: str = "grid"
    name: str = "grid"
    sim: GridParams = field(default_factory=GridParams)  # evaluation starts with sim.initial_infectious
    # Training episodes (`epictl train`) start with a uniform share of N infectious [paper: 1-20 %;
    # released: 0.4-4 %]; None: the evaluation count every time.
    train_initial_share: Optional[list[float]] = field(default_factory=lambda: [0.01, 0.2])

    def validate(self) -> "GridEnvConfig":
        if self.family != "grid":
            raise EpictlError(f"env.family={self.family!r}: a grid env config builds only family grid")
        check_initial_share(self.train_initial_share)
        self.sim.validate()
        return self


def build_grid_env(config: GridEnvConfig, budget, reward, agent_config) -> GridEnv:
    """The registry's builder. The grid world allocates no resources, so only an empty budget fits."""
    config.validate()
    if not isinstance(reward, Ohi2020Reward):
        raise EpictlError(f"env {config.name} needs reward=ohi2020 (paper eq. 1), got reward={getattr(reward, 'name', reward)}")
    if getattr(budget, "beds", 0) or getattr(budget, "masks_per_day", 0):
        raise EpictlError(f"env {config.name} allocates no beds or masks; use budget=none")
    return GridEnv(config.sim, reward, config.train_initial_share)
