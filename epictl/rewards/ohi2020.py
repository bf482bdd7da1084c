"""Reward of Ohi et al. 2020, eq. (1): R = E · exp(−r · A) − s · D, with A in percent (spec §9)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from epictl.errors import EpictlError

DEATH_TERMS = ("cumulative", "daily")


@dataclass
class Ohi2020Reward:
    """E_t · exp(−r · A_t) − s · D_t with A_t = 100 · active / N [paper eq. 1].

    D_t is cumulative deaths / N [paper] or today's deaths / N [released, spec §13.6]. With r = 8
    the levels' rewards (E ≈ 1, 0.75, 0.25) differ by less than 0.001 beyond ~0.83 % active cases.
    """

    name: str = "ohi2020"
    r: float = 8.0  # weight of active cases [paper]
    s: float = 5.0  # weight of deaths [paper]
    death_term: str = "cumulative"  # cumulative [paper] | daily [released]

    def validate(self) -> "Ohi2020Reward":
        if self.death_term not in DEATH_TERMS:
            raise EpictlError(f"reward.death_term={self.death_term!r}; choose one of {', '.join(DEATH_TERMS)}")
        for key in ("r", "s"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise EpictlError(f"reward.{key}={value} must be a finite number >= 0")
        return self

    def __call__(self, economy: float, active_share: float, deaths_cumulative_share: float,
                 deaths_today_share: float) -> float:
        """Shares are fractions of the population (0..1); ``economy`` is E_t."""
        deaths = deaths_cumulative_share if self.death_term == "cumulative" else deaths_today_share
        return float(economy * math.exp(-self.r * 100.0 * active_share) - self.s * deaths)
