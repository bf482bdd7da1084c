"""The SEIR-D ODE the paper compares its grid world with (Ohi et al. 2020, eq. 5; spec §10).

dS = −βSI/N, dE = βSI/N − αE, dI = αE − (γ + μ)I, dR = γI, dD = μI; R0 = β/γ = 3.24.
Integrated by classic fixed-step Runge-Kutta 4 in NumPy (SciPy is only a test dependency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epictl.errors import EpictlError

COMPARTMENTS = ("S", "E", "I", "R", "D")


@dataclass
class SeirdOde:
    """Rates per day and the initial state of paper eq. (5)."""

    beta: float = 0.12  # transmission rate [paper eq. 5]
    alpha: float = 1.0  # incubation rate [paper eq. 5]
    gamma: float = 1.0 / 27.0  # recovery rate [paper eq. 5]
    mu: float = 0.009  # death rate [paper eq. 5]
    population: int = 10_000  # N [paper eq. 5]
    initial_infectious: int = 70  # I0; S0 = N − I0 = 9,930 [paper eq. 5]

    def derivative(self, y: np.ndarray) -> np.ndarray:
        s, e, i, _, _ = y
        infections = self.beta * s * i / self.population
        return np.array([-infections, infections - self.alpha * e, self.alpha * e - (self.gamma + self.mu) * i,
                         self.gamma * i, self.mu * i])

    def solve(self, days: int, steps_per_day: int = 24) -> dict[str, np.ndarray]:
        """S, E, I, R, D at days 0..``days`` (arrays of length days + 1) by RK4 with step 1/steps_per_day."""
        if days < 0 or steps_per_day < 1:
            raise EpictlError(f"ODE needs days >= 0 and steps_per_day >= 1, got {days} and {steps_per_day}")
        if not 0 <= self.initial_infectious <= self.population:
            raise EpictlError(f"ODE initial_infectious={self.initial_infectious} outside 0..{self.population}")
        h = 1.0 / steps_per_day
        y = np.array([self.population - self.initial_infectious, 0.0, self.initial_infectious, 0.0, 0.0], dtype=float)
        daily = np.empty((days + 1, 5))
        daily[0] = y
        for day in range(1, days + 1):
            for _ in range(steps_per_day):
                k1 = self.derivative(y)
                k2 = self.derivative(y + h / 2 * k1)
                k3 = self.derivative(y + h / 2 * k2)
                k4 = self.derivative(y + h * k3)
                y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            daily[day] = y
        return dict(zip(COMPARTMENTS, daily.T))
