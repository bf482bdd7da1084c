"""Reward of IDRLECA (Feng et al. 2021, spec papw-contact-tracing.md §11.5): the day's share of the challenge Score,
r_t = -(exp(dI_t / theta_i) + exp(Q_t / theta_q))."""

from __future__ import annotations

import math
from dataclasses import dataclass

from epictl.errors import EpictlError

NEW_INFECTED = ("infections", "onsets")


@dataclass
class ContactReward:
    """``new_infected`` is what dI_t counts: new infections [paper] or new symptom onsets [idr]."""

    name: str = "feng2021"
    theta_infected: float = 500.0  # theta_I [paper, doc final round]
    theta_cost: float = 10_000.0  # theta_Q [paper, doc final round]
    new_infected: str = "infections"

    def validate(self) -> "ContactReward":
        for key in ("theta_infected", "theta_cost"):
            value = getattr(self, key)
            if not 0.0 < value < math.inf:
                raise EpictlError(f"reward.{key}={value} must be a finite number > 0")
        if self.new_infected not in NEW_INFECTED:
            raise EpictlError(f"reward.new_infected={self.new_infected!r}; choose one of {', '.join(NEW_INFECTED)}")
        return self

    def daily(self, new_infected: float, cost: float) -> float:
        """The reward of one day with ``new_infected`` dI_t and intervention cost Q_t (person-days, weighted)."""
        return -(exp_or_inf(new_infected / self.theta_infected) + exp_or_inf(cost / self.theta_cost))


def exp_or_inf(x: float) -> float:
    """exp(x), inf past the float range (a million-person city can reach exp(I / 500) > 1e308)."""
    return math.exp(x) if x < 709.0 else math.inf
