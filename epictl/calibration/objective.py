"""The loss of a calibration: simulated confirmed cases read on the target's calendar vs the data.

Calendar: the seeds start ``seed_day`` days before 00:00 of the series' first day, so the model's
cumulative count at the end of series day i is C(seed_day + i + 1), C being the mean over runs of
the cumulative confirmed cases since the seed time (linear between whole simulated days). It counts
cases confirmed before the series starts too: a series that begins with its outbreak reported none.

Loss: the sum of squared errors over the fitted window between the data and ascertainment * the
model, on cumulative counts (``cumulative``, what the paper's R^2 scores) or daily counts (``daily``).
seed_day and ascertainment need no new simulation: each evaluation fits them exactly, seed_day on
a one-tick grid, ascertainment in closed form (least squares clipped to its bounds).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from epictl.calibration.parameters import Space
from epictl.errors import EpictlError
from epictl.sim.metapop.compartments import TICKS_PER_DAY

LOSSES = ("cumulative", "daily")
SEED_DAY_STEP = 1.0 / TICKS_PER_DAY  # one tick: the data (whole days) cannot tell finer shifts apart


def at_times(cumulative: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cumulative counts ``[..., T + 1]`` (at whole simulated days) at days ``t``, linear in between."""
    t = np.asarray(t, dtype=np.float64)
    whole = np.floor(t).astype(np.int64)
    if whole.size and whole.max() + 1 >= cumulative.shape[-1]:
        raise EpictlError(f"simulated {cumulative.shape[-1] - 1} days, the calendar needs {whole.max() + 1}")
    fraction = t - whole
    return cumulative[..., whole] * (1.0 - fraction) + cumulative[..., whole + 1] * fraction


def on_calendar(cumulative: np.ndarray, seed_day: np.ndarray | float, days: int) -> np.ndarray:
    """Cumulative counts at the end of each series day: ``[..., days]``, or ``[..., S, days]`` for S shifts."""
    return at_times(cumulative, np.asarray(seed_day, dtype=np.float64)[..., None] + np.arange(1, days + 1))


def daily_on_calendar(cumulative: np.ndarray, seed_day: np.ndarray | float, days: int) -> np.ndarray:
    """New cases per series day (the first day counts from its own 00:00, not from the seed time)."""
    start = at_times(cumulative, np.asarray(seed_day, dtype=np.float64))
    return np.diff(on_calendar(cumulative, seed_day, days), axis=-1, prepend=start[..., None])


@dataclass(frozen=True)
class Readout:
    """How a simulated curve is best read against the data, and the loss it leaves."""

    seed_day: float
    ascertainment: float
    loss: float


def best_readout(mean_cumulative: np.ndarray, observed_daily: np.ndarray, space: Space, kind: str) -> Readout:
    """The seed_day and ascertainment (free ones fitted, fixed ones as given) with the smallest loss.

    ``mean_cumulative``: [G, T + 1] mean over runs; ``observed_daily``: [G, W] the fitted window.
    """
    days = observed_daily.shape[1]
    if "seed_day" in space.free:
        low, high = space.bounds["seed_day"]
        shifts = np.arange(low, high + SEED_DAY_STEP / 2, SEED_DAY_STEP)
    else:
        shifts = np.array([space.fixed["seed_day"]])
    observed = observed_daily.astype(np.float64)
    if kind == "daily":
        model = daily_on_calendar(mean_cumulative, shifts, days)  # [G, S, W]
    else:
        model = on_calendar(mean_cumulative, shifts, days)
        observed = np.cumsum(observed, axis=-1)
    model = np.moveaxis(model, 1, 0).reshape(len(shifts), -1)  # [S, G * W]
    observed = observed.reshape(-1)
    if "ascertainment" in space.free:
        low, high = space.bounds["ascertainment"]
        power = (model**2).sum(axis=1)
        scale = np.divide(model @ observed, power, out=np.full(len(shifts), high), where=power > 0)
        scale = np.clip(scale, low, high)
    else:
        scale = np.full(len(shifts), space.fixed["ascertainment"])
    losses = ((scale[:, None] * model - observed) ** 2).sum(axis=1)
    best = int(np.argmin(losses))
    return Readout(float(shifts[best]), float(scale[best]), float(losses[best]))


@dataclass
class Evaluation:
    number: int
    stage: str
    values: dict[str, float]  # every parameter, fitted or fixed
    loss: float
    seconds: float


class Objective:
    """loss(unit point): simulate, read out, record. The optimiser sees the loss over its scale
    (the observed window's total sum of squares), so tolerances mean the same for every target."""

    def __init__(self, simulate: Callable[[dict[str, float], int], np.ndarray], observed_daily: np.ndarray,
                 space: Space, kind: str, on_evaluation: Callable[[Evaluation], None] = lambda e: None):
        if kind not in LOSSES:
            raise EpictlError(f"loss={kind!r}; choose one of {', '.join(LOSSES)}")
        self.simulate, self.observed, self.space, self.kind = simulate, observed_daily, space, kind
        self.on_evaluation = on_evaluation
        reach = space.bounds["seed_day"][1] if "seed_day" in space.free else space.fixed["seed_day"]
        self.horizon = math.ceil(reach) + observed_daily.shape[1] + 1  # simulated days that cover every shift
        shown = np.cumsum(observed_daily, axis=-1) if kind == "cumulative" else observed_daily
        self.scale = max(float(((shown - shown.mean()) ** 2).sum()), 1.0)
        self.history: list[Evaluation] = []
        self.stage = "search"

    def __call__(self, unit: np.ndarray) -> float:
        began = time.perf_counter()
        values = self.space.values(np.asarray(unit, dtype=np.float64))
        mean = self.simulate(values, self.horizon).mean(axis=0)
        readout = best_readout(mean, self.observed, self.space, self.kind)
        values.update(seed_day=readout.seed_day, ascertainment=readout.ascertainment)
        evaluation = Evaluation(len(self.history) + 1, self.stage, values, readout.loss, time.perf_counter() - began)
        self.history.append(evaluation)
        self.on_evaluation(evaluation)
        return readout.loss / self.scale

    @property
    def best(self) -> Evaluation:
        return min(self.history, key=lambda e: (e.loss, e.number))
