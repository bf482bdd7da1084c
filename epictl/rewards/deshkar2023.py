"""Reward of Deshkar et al. 2023 (spec abm-ddpg-lockdown-vaccination.md §9): TRew = HRew + kappa ERew over a run, with
HRew = -(max_t H_t + mean_t H_t) for H_t = mild + hospitalised agents, and ERew = -(max_t B_t + mean_t B_t) for B_t
= agents below the poverty line. Max and mean together: mean alone rewarded short sharp peaks, max alone long
epidemics [paper]."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from epictl.errors import EpictlError


@dataclass
class ScheduleReward:
    """``kappa`` weighs the economy against health: 1 balanced (Sc1), 0.2 health first (Sc2), 5 economy first (Sc3)."""

    name: str = "deshkar2023"
    kappa: float = 1.0  # [paper §4.2, Sc1]

    def validate(self) -> "ScheduleReward":
        if not 0.0 <= self.kappa < math.inf:
            raise EpictlError(f"reward.kappa={self.kappa} must be a finite number >= 0")
        return self

    def parts(self, harmed: np.ndarray, poor: np.ndarray) -> tuple[float, float, float]:
        """(TRew, HRew, ERew) of one run from its daily samples of H_t (mild + hospitalised) and B_t (below the
        poverty line), in agents."""
        health = -(float(np.max(harmed)) + float(np.mean(harmed)))
        economy = -(float(np.max(poor)) + float(np.mean(poor)))
        return health + self.kappa * economy, health, economy
