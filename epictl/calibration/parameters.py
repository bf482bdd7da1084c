"""The parameters a calibration can fit, their bounds, and the unit box the optimiser searches.

Three parameters need a new simulation when they change (R0, test_delay, seed_cases); two only
change how a simulated curve is read against the calendar (seed_day shifts it, ascertainment
scales it), so they are fitted exactly inside each evaluation (objective.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop.compartments import TICKS_PER_DAY

SIMULATED = ("R0", "test_delay", "seed_cases")
READOUT = ("seed_day", "ascertainment")
NAMES = SIMULATED + READOUT
LOG_SCALE = ("test_delay", "seed_cases")  # searched on a log scale: their plausible ranges span decades
POSITIVE = LOG_SCALE + ("ascertainment",)


@dataclass
class ParameterSpec:
    """Free within [low, high], or fixed at ``value`` (None: the env's own value, where it has one)."""

    free: bool = True
    value: Optional[float] = None
    low: float = 0.0
    high: float = 1.0


@dataclass
class FitParameters:
    R0: ParameterSpec = field(default_factory=lambda: ParameterSpec(True, None, 0.5, 6.0))
    """The model's basic reproduction number (env.disease.R0)."""
    test_delay: ParameterSpec = field(default_factory=lambda: ParameterSpec(True, None, 0.25, 4.0))
    """Mean days from Iu to It, i.e. from infectious to confirmed (env.disease.theta_ticks / 48)."""
    seed_cases: ParameterSpec = field(default_factory=lambda: ParameterSpec(True, None, 1.0, 1000.0))
    """People infected at the seed time (env.scenario.initial_cases)."""
    seed_day: ParameterSpec = field(default_factory=lambda: ParameterSpec(True, None, 0.0, 21.0))
    """Days from the seed time to the start (00:00) of the series' first day."""
    ascertainment: ParameterSpec = field(default_factory=lambda: ParameterSpec(False, 1.0, 0.05, 1.0))
    """Share of the model's confirmed cases (Iu -> It moves) that appear in the series."""


@dataclass(frozen=True)
class Space:
    """Free parameters with bounds, fixed values for the rest; maps the optimiser's unit box to values."""

    free: tuple[str, ...]
    bounds: dict[str, tuple[float, float]]
    fixed: dict[str, float]

    @property
    def searched(self) -> tuple[str, ...]:
        """Free parameters the optimiser moves (each move needs a new simulation)."""
        return tuple(name for name in self.free if name in SIMULATED)

    def values(self, unit: np.ndarray) -> dict[str, float]:
        """Simulated parameters at a point of the unit box (free ones) plus the fixed ones."""
        values = {name: self.fixed[name] for name in SIMULATED if name in self.fixed}
        for name, u in zip(self.searched, np.clip(unit, 0.0, 1.0)):
            low, high = self.bounds[name]
            values[name] = math.exp(math.log(low) + u * math.log(high / low)) if name in LOG_SCALE else low + u * (high - low)
        values["seed_cases"] = float(round(values["seed_cases"]))
        return values

    def at_bound(self, fitted: dict[str, float], tolerance: float = 1e-3) -> list[str]:
        """Free parameters that ended within ``tolerance`` (of the range) of a bound: the data push past it."""
        hits = []
        for name in self.free:
            low, high = self.bounds[name]
            if min(fitted[name] - low, high - fitted[name]) <= tolerance * (high - low):
                hits.append(name)
        return hits


def env_values(env) -> dict[str, float]:
    """The values a metapop env config already holds for the simulated parameters (used when fixed)."""
    return {"R0": env.disease.R0, "test_delay": env.disease.theta_ticks / TICKS_PER_DAY,
            "seed_cases": float(env.scenario.initial_cases)}


def build_space(parameters: FitParameters, env_defaults: dict[str, float]) -> Space:
    """Check the specs and resolve fixed values (``env_defaults``: the env's R0, test_delay, seed_cases)."""
    free, bounds, fixed = [], {}, {}
    for name in NAMES:
        spec: ParameterSpec = getattr(parameters, name)
        low, high = float(spec.low), float(spec.high)
        if spec.free:
            if not (math.isfinite(high) and 0 <= low < high) or (name in POSITIVE and low <= 0):
                raise EpictlError(f"parameters.{name}: bounds [{low:g}, {high:g}] need 0 <= low < high"
                                  + (" and low > 0" if name in POSITIVE else "") + ", both finite")
            free.append(name)
            bounds[name] = (low, high)
            continue
        value = spec.value if spec.value is not None else env_defaults.get(name)
        if value is None or not math.isfinite(value) or value < 0 or (name in POSITIVE and value <= 0):
            raise EpictlError(f"parameters.{name} is fixed: set parameters.{name}.value to a number "
                              + ("> 0" if name in POSITIVE else ">= 0"))
        fixed[name] = float(value)
    if "seed_cases" in free and "ascertainment" in free:
        raise EpictlError("parameters: seed_cases and ascertainment scale the mean curve alike and cannot both be "
                          "fitted; fix one (parameters.<name>.free=false parameters.<name>.value=...)")
    return Space(tuple(free), bounds, fixed)
