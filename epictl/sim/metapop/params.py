"""Disease parameters of the metapopulation model and the per-tick probabilities they imply.

Constants are the authors' code values (KDD'21 spec §2, tagged [code]); the paper cites medical
literature without printing numbers. The derived formulas define the calibrated model, including
the unusual recovery formula p_IR (spec §15.21), and are kept exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop.compartments import TICKS_PER_DAY

# Index of each probability in the array handed to the kernels.
P_BETA, P_EI, P_EA, P_TEST, P_ID, P_IR, P_AR, P_HD, P_HR, R_A, R_E, GAMMA_MASK = range(12)


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
        return self

    @property
    def beta_day(self) -> float:
        return self.R0 / (self.r_E * self.eps_days + (self.Pa * self.r_a + (1 - self.Pa)) * self.t_days)

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
