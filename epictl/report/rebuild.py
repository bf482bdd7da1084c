"""How well rebuilt compartments match the truth (KDD'21 Fig. 6 accuracy, plus errors), and a plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from epictl.atomic import write_atomic


def rebuild_accuracy(estimate: np.ndarray, truth: np.ndarray, names: tuple[str, ...], tolerance: float) -> pd.DataFrame:
    """Per compartment (last axis) and overall: accuracy = share of outputs with |est - true| / max(true, 1)
    below ``tolerance`` (spec §8), mean absolute error in people, mean relative error, and the relative
    error of the city-wide daily totals."""
    relative = np.abs(estimate - truth) / np.maximum(truth, 1.0)
    city_estimate, city_truth = estimate.sum(axis=-2), truth.sum(axis=-2)  # [..., compartments]
    city_relative = np.abs(city_estimate - city_truth) / np.maximum(city_truth, 1.0)
    rows = []
    for k, name in enumerate(names):
        rows.append({"compartment": name, "accuracy": float((relative[..., k] < tolerance).mean()),
                     "mae": float(np.abs(estimate[..., k] - truth[..., k]).mean()),
                     "relative_error": float(relative[..., k].mean()),
                     "city_total_relative_error": float(city_relative[..., k].mean())})
    rows.append({"compartment": "all", "accuracy": float((relative < tolerance).mean()),
                 "mae": float(np.abs(estimate - truth).mean()), "relative_error": float(relative.mean()),
                 "city_total_relative_error": float(city_relative.mean())})
    return pd.DataFrame(rows)


def plot_rebuild(estimate: np.ndarray, truth: np.ndarray, names: tuple[str, ...], title: str, path: Path) -> None:
    """City-wide totals per day, truth against rebuilt, one panel per compartment ([T, M, K] inputs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.5))
    for ax, k, name in zip(np.atleast_1d(axes), range(len(names)), names):
        ax.plot(truth[..., k].sum(axis=-1), label="true", color="black")
        ax.plot(estimate[..., k].sum(axis=-1), label="rebuilt", linestyle="--")
        ax.set_title(name)
        ax.set_xlabel("day")
    np.atleast_1d(axes)[0].set_ylabel("people")
    np.atleast_1d(axes)[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
