"""The metapopulation model's params: disease parameters (and the per-tick probabilities they imply)
and the simulation options.

Constants are the authors' code values (KDD'21 spec §2, tagged [code]); the paper cites medical
literature without printing numbers. The derived formulas define the calibrated model, including
the unusual recovery formula p_IR (spec §15.21), and are kept exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop.compartments import TICKS_PER_DAY

# Index of each probability in the array handed to the kernels.
P_BETA, P_EI, P_EA, P_TEST, P_ID, P_IR, P_AR, P_HD, P_HR, R_A, R_E, GAMMA_MASK = range(12)
# Exits from one compartment that the kernels draw as one multinomial split (kernels._split3), and
# what to change when they sum above 1 (the split would stop being a distribution). Iu -> It is
# drawn on its own before the death/recovery split of Iu, so it is a group of its own.
COMPETING_EXITS = (
    ("leaving E", (P_EI, P_EA), "raise env.disease.eps_ticks to at least 1"),
    ("testing (Iu to It)", (P_TEST,), "raise env.disease.theta_ticks to at least 1"),
    ("dying or recovering from Iu and It", (P_ID, P_IR), "raise env.disease.t_ticks or env.disease.t_days"),
    ("recovering from Ia", (P_AR,), "raise env.disease.t_ticks to at least 1"),
    ("leaving hospital (Ih)", (P_HD, P_HR), "raise env.disease.th_ticks or env.disease.th_days"),
)


@dataclass
class DiseaseParams:
    """Every number of the disease model, with its meaning and source."""

    R0: float = 2.68  # basic reproduction number [code]
    Pa: float = 0.018  # share of E that becomes Ia (false-negative test) [code]
    eps_ticks: float = 250.0  # mean incubation in ticks [code]
    eps_days: float = 5.2  # mean incubation in days, used in beta_day [code]
    d: float = 0.15  # death probability of non-hospitalised infected [code]
    t_ticks: float = 672.0  # mean recovery time, not hospitalised, ticks [code]
    t_days: float = 14.0  # same in days [code]
    d_h: float = 0.04  # death probability in hospital [code]
    th_ticks: float = 614.0  # mean hospital stay, ticks [code]
    th_days: float = 12.8  # same in days [code]
    r_a: float = 0.6  # relative infectiousness of Ia [code]
    r_E: float = 1.0  # relative infectiousness of E [code]
    theta_ticks: float = 48.0  # testing delay, ticks (Iu -> It) [code]
    gamma_mask: float = 0.9  # mask efficacy [paper eq. 1-2]

    def validate(self) -> "DiseaseParams":
        for item in fields(self):
            value = getattr(self, item.name)
            if not math.isfinite(value):
                raise EpictlError(f"env.disease.{item.name}={value} must be a finite number")
        for name in ("Pa", "d", "d_h", "gamma_mask"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise EpictlError(f"env.disease.{name}={value} must lie in [0, 1]")
        for name in ("R0", "r_a", "r_E"):
            if getattr(self, name) < 0:
                raise EpictlError(f"env.disease.{name}={getattr(self, name)} must be >= 0")
        for name in ("eps_ticks", "eps_days", "t_ticks", "t_days", "th_ticks", "th_days", "theta_ticks"):
            if getattr(self, name) <= 0:
                raise EpictlError(f"env.disease.{name}={getattr(self, name)} must be > 0")
        if self.t_days <= self.d or self.th_days <= self.d_h:
            raise EpictlError("env.disease: t_days must exceed d and th_days must exceed d_h (recovery formula)")
        if self._beta_denominator() <= 0:
            raise EpictlError("env.disease: with r_E=0 and Pa=1, r_a must be > 0 (no one would be infectious)")
        self._check_tick_probabilities()
        return self

    def _check_tick_probabilities(self) -> None:
        """Every per-tick probability, and every group of competing exits, must lie in [0, 1]."""
        p = self.tick_probabilities()
        # The infectious weight per present person reaches max(1, r_a, r_E) when everyone is E or Ia.
        # `not <=` also catches NaN, which tiny durations can produce (inf * 0).
        worst_infection = p[P_BETA] * max(1.0, self.r_a, self.r_E)
        if not worst_infection <= 1.0:
            raise EpictlError(f"env.disease: the per-tick infection probability reaches {worst_infection:.6g}, above 1; "
                              "lower env.disease.R0 (or r_a, r_E)")
        for what, indices, advice in COMPETING_EXITS:
            total = float(sum(p[i] for i in indices))
            if not total <= 1.0:
                raise EpictlError(f"env.disease: the per-tick probability of {what} is {total:.6g}, not in [0, 1]; {advice}")

    def _beta_denominator(self) -> float:
        return self.r_E * self.eps_days + (self.Pa * self.r_a + (1 - self.Pa)) * self.t_days

    @property
    def beta_day(self) -> float:
        return self.R0 / self._beta_denominator()

    def tick_probabilities(self) -> np.ndarray:
        """The kernel's parameter vector, indexed by the P_* constants above (spec §2 table)."""
        p = np.zeros(12)
        p[P_BETA] = (1.0 + self.beta_day) ** (1.0 / TICKS_PER_DAY) - 1.0
        p[P_EI] = (1.0 / self.eps_ticks) * (1.0 - self.Pa)
        p[P_EA] = (1.0 / self.eps_ticks) * self.Pa
        p[P_TEST] = 1.0 / self.theta_ticks
        p[P_ID] = self.d / self.t_ticks
        p[P_IR] = ((1.0 - self.d) / (self.t_days - self.d)) / TICKS_PER_DAY
        p[P_AR] = 1.0 / self.t_ticks
        p[P_HD] = self.d_h / self.th_ticks
        p[P_HR] = ((1.0 - self.d_h) / (self.th_days - self.d_h)) / TICKS_PER_DAY
        p[R_A] = self.r_a
        p[R_E] = self.r_E
        p[GAMMA_MASK] = self.gamma_mask
        return p


MOBILITY_MODES = ("fast", "exact")  # expected flows for large groups | per-origin multinomial everywhere
# The simulation options' choices; the simulator maps each to its kernel constant.
OPTION_CHOICES = {
    "mobility": MOBILITY_MODES,
    "bed_rounding": ("stochastic", "floor", "ceil"),
    "mask_coverage_base": ("static", "present"),
    "mobility_slots": ("weekly", "first_day_only"),
}


@dataclass
class SimOptions:
    """How the model is simulated; [code] marks the original code's behaviour kept as an option."""

    mobility: str = "fast"  # exact: per-origin multinomial; fast: expected flows for large groups
    fast_threshold: int = 1000  # fast mode samples groups smaller than this exactly
    it_moves: bool = False  # tested cases waiting for a bed travel too
    bed_rounding: str = "stochastic"  # round(f * It_i): stochastic (unbiased) | floor [code] | ceil
    mask_coverage_base: str = "static"  # masks / static population [paper] | / present population [code]
    mobility_slots: str = "weekly"  # weekly: all 336 slots | first_day_only: replays slots 0-47 [code defect]
    start_weekday: int = 0  # weekday of day 0 (0 = Monday)

    def validate(self) -> "SimOptions":
        for name, choices in OPTION_CHOICES.items():
            if getattr(self, name) not in choices:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)!r}; choose one of {', '.join(choices)}")
        if self.fast_threshold < 1:
            raise EpictlError(f"env.sim.fast_threshold={self.fast_threshold} must be >= 1")
        if not 0 <= self.start_weekday <= 6:
            raise EpictlError(f"env.sim.start_weekday={self.start_weekday} must be 0..6")
        return self
