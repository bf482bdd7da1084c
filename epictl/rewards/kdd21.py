"""Reward of KDD'21 eq. (3): C + ln of the mean of 1/(growth + 1) for exposed and infected totals."""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from epictl.errors import EpictlError


@dataclass
class Kdd21Reward:
    """G = C + ln(((1/(max(dE,0)+1)) + 1/(max(dI,0)+1)) / 2), with dI on Iu + It [paper eq. 3]."""

    name: str = "kdd21"
    constant: float = 10.0  # C [code]

    def validate(self) -> "Kdd21Reward":
        if not math.isfinite(self.constant):
            raise EpictlError(f"reward.constant={self.constant} must be a finite number")
        return self

    def __call__(self, exposed: tuple[float, float], infected: tuple[float, float]) -> float:
        d_exposed = max(exposed[1] - exposed[0], 0.0)
        d_infected = max(infected[1] - infected[0], 0.0)
        return float(self.constant + np.log((1.0 / (d_exposed + 1.0) + 1.0 / (d_infected + 1.0)) / 2.0))
