"""Every number of the cluster simulator (spec multi-cluster-npi.md §2-§3, §11), with its source tag.

[paper] the 2026 paper, [pred] the predecessor's code (Covid-RLSL), [S] secondary summaries, [spec R] the spec's
recommended default where the paper is silent. Every open choice of spec §11 that concerns the simulator is here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from epictl.errors import EpictlError

MAX_ACTIVE = 40  # "up to 40 concurrently active clusters" [paper]
MAX_MEMBERS = 39  # UniformInt{2..39}: the predecessor's exclusive upper bound 40 [pred]
CHOICES = {
    "activation": ("async", "sync"),
    "infectious_window": ("seven_day", "predecessor"),
}


@dataclass
class ClusterParams:
    """Clusters, disease course, tests and the cluster clock."""

    n_clusters: int = 20  # #C clusters per episode [S: 10, 20, 40]
    activation: str = "async"  # async: staggered starts [S main setting] | sync: all start on global day 0
    max_start_offset: int = 14  # async starts on global days UniformInt{0..max} [spec R]; no replacement
    size_min: int = 2  # contacts per cluster, UniformInt{min..max} [pred]
    size_max: int = MAX_MEMBERS
    p_high_transmission: float = 0.109  # the index case is highly transmissive [pred]
    p_infection: float = 0.03  # per contact, all on local day 0 [pred]
    high_transmission_factor: float = 24.4  # 0.03 x 24.4 = 0.732 [pred]
    p_symptomatic: float = 0.8  # given infection [pred]
    onset_log_mean: float = 1.57  # onset day floor(X), ln X ~ Normal(1.57, 0.65^2) [pred; paper Table A.1]
    onset_log_sd: float = 0.65
    symptom_log_mean: float = 2.70  # symptom days floor(Y), ln Y ~ Normal(2.70, 0.15^2) [pred]
    symptom_log_sd: float = 0.15
    infectious_window: str = "seven_day"  # onset-2..onset+4 [paper] | predecessor: lognormal days from onset-2 [pred, regression only]
    infectious_before_onset: int = 2  # [paper]
    infectious_after_onset: int = 4  # [paper]
    predecessor_log_mean: float = 6.67  # infectious days ~ lognormal, median ~790: infectious to the horizon [pred]
    predecessor_log_sd: float = 2.0
    background_symptom_p: float = 0.01  # any contact, any day [pred]
    test_sensitivity: float = 0.708  # predecessor RL env (34/48) [pred]; the SL data generator used 0.95
    test_specificity: float = 0.988  # (1869/1891) [pred]; the SL data generator used 0.98
    result_delay_days: int = 1  # a test on day t informs decisions from t+1 [spec R]; 0: same-day conditional quarantine [pred]
    horizon_days: int = 30  # a cluster's local days 0..29 [pred]
    first_decision_day: int = 3  # decisions on local days 3..26 [pred, S]
    last_decision_day: int = 26

    def validate(self) -> "ClusterParams":
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise EpictlError(f"env.sim.{item.name}={value} must be finite")
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)!r}; choose one of {', '.join(choices)}")
        if not 1 <= self.n_clusters <= MAX_ACTIVE:
            raise EpictlError(f"env.sim.n_clusters={self.n_clusters} must lie in 1..{MAX_ACTIVE}")
        if not 1 <= self.size_min <= self.size_max <= MAX_MEMBERS:
            raise EpictlError(f"env.sim: cluster sizes {self.size_min}..{self.size_max} must lie in 1..{MAX_MEMBERS}")
        for name in ("p_high_transmission", "p_infection", "p_symptomatic", "background_symptom_p",
                     "test_sensitivity", "test_specificity"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must lie in [0, 1]")
        if not 0.0 <= self.p_infection * self.high_transmission_factor <= 1.0:
            raise EpictlError(f"env.sim: p_infection x high_transmission_factor = "
                              f"{self.p_infection * self.high_transmission_factor:g} must lie in [0, 1]")
        for name in ("onset_log_sd", "symptom_log_sd", "predecessor_log_sd"):
            if getattr(self, name) < 0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must be >= 0")
        for name in ("max_start_offset", "infectious_before_onset", "infectious_after_onset", "result_delay_days"):
            if getattr(self, name) < 0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must be >= 0")
        if not 1 <= self.horizon_days <= 365:
            raise EpictlError(f"env.sim.horizon_days={self.horizon_days} must lie in 1..365")
        if not 0 <= self.first_decision_day <= self.last_decision_day < self.horizon_days:
            raise EpictlError(f"env.sim: decision days {self.first_decision_day}..{self.last_decision_day} must lie "
                              f"in 0..horizon_days-1={self.horizon_days - 1}")
        return self

    @property
    def decision_days(self) -> int:
        return self.last_decision_day - self.first_decision_day + 1
