"""Goodness of fit: R^2 of the mean simulated series against the data, in and out of the fitted window."""

from __future__ import annotations

import numpy as np


def r_squared(observed: np.ndarray, predicted: np.ndarray) -> float:
    """1 - SS_res / SS_tot (the coefficient of determination the paper reports); NaN if the data are constant."""
    observed, predicted = np.asarray(observed, dtype=np.float64).ravel(), np.asarray(predicted, dtype=np.float64).ravel()
    total = float(((observed - observed.mean()) ** 2).sum())
    return float("nan") if total == 0 else 1.0 - float(((observed - predicted) ** 2).sum()) / total


def fit_scores(observed_daily: np.ndarray, mean_daily: np.ndarray, mean_cumulative: np.ndarray,
               window: int) -> dict[str, float | None]:
    """R^2 on cumulative and daily cases, over the fitted window and over the days after it.

    Arrays are [groups, days]; ``mean_cumulative`` counts from the seed time (as the loss does).
    Out-of-sample scores are None when the series has no days after the window.
    """
    observed_cumulative = np.cumsum(observed_daily, axis=-1)
    scores: dict[str, float | None] = {
        "window_cumulative": r_squared(observed_cumulative[:, :window], mean_cumulative[:, :window]),
        "window_daily": r_squared(observed_daily[:, :window], mean_daily[:, :window]),
    }
    later = observed_daily.shape[1] > window
    scores["out_of_sample_cumulative"] = (
        r_squared(observed_cumulative[:, window:], mean_cumulative[:, window:]) if later else None)
    scores["out_of_sample_daily"] = r_squared(observed_daily[:, window:], mean_daily[:, window:]) if later else None
    scores["all_days_cumulative"] = r_squared(observed_cumulative, mean_cumulative)
    return scores
