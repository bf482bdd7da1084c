"""A series of confirmed cases made by the model itself from known parameters: the calibration's own check.

If `epictl calibrate` cannot find the parameters that made a series, it cannot be trusted with a
real one. The series is the rounded mean of many runs on seeds the fit never uses, so it carries
the model's own noise but not the luck of one run.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from epictl.calibration.ensemble import ConfirmedEnsemble
from epictl.calibration.objective import on_calendar
from epictl.report.files import write_csv


def synthetic_daily(ensemble: ConfirmedEnsemble, truth: dict[str, float], days: int) -> np.ndarray:
    """[G, days] daily confirmed cases, read on the calendar exactly as the fit reads the model.

    ``truth`` holds R0, test_delay, seed_cases and seed_day; cases confirmed before the first day
    are counted on it, so the cumulative series starts at the model's cumulative count.
    """
    runs = ensemble.cumulative(truth, math.ceil(truth["seed_day"]) + days + 1)
    cumulative = np.rint(on_calendar(runs, truth["seed_day"], days).mean(axis=0)).astype(np.int64)
    return np.diff(cumulative, axis=-1, prepend=0)


def write_series(path: Path, first_date: dt.date, daily: np.ndarray) -> None:
    """A city-wide series as the CSV `epictl calibrate target=<path>` reads."""
    dates = [str(first_date + dt.timedelta(days=d)) for d in range(len(daily))]
    write_csv(path, pd.DataFrame({"date": dates, "new_confirmed": np.asarray(daily, dtype=np.int64)}))
