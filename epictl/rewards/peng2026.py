"""Reward of Peng & Perrault (Hier-PPO), eq. 1: R_{n,t} = -(S1 + alpha2 S2 + alpha3 S3) / N_n (spec §4)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from epictl.errors import EpictlError


@dataclass
class ClusterReward:
    """Weights of the three daily costs of a cluster; a missed infectious person-day (S1) weighs 1 [paper]."""

    name: str = "peng2026"
    alpha2: float = 0.1  # an unnecessary quarantine day [spec R; predecessor 0.01-0.7]
    alpha3: float = 0.03  # one test, the true cost alpha3_true [spec R; Table 2 hints 0.02-0.03]

    def validate(self) -> "ClusterReward":
        for key in ("alpha2", "alpha3"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise EpictlError(f"reward.{key}={value} must be a finite number >= 0")
        return self

    def quarantine_threshold(self) -> float:
        """Quarantine iff belief > alpha2 / (1 + alpha2): the cheaper of b (release) and (1 - b) alpha2 (spec §6)."""
        return self.alpha2 / (1.0 + self.alpha2)
