"""Epidemic curves: daily compartment totals, mean over episodes with a min-max band."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from epictl.atomic import write_atomic


def plot_curves(curves: pd.DataFrame, compartments: list[str], first_controlled_day: int | None,
                title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    grouped = curves.groupby("day")[compartments]
    mean, low, high = grouped.mean(), grouped.min(), grouped.max()
    for name in compartments:
        ax.plot(mean.index, mean[name], label=name)
        ax.fill_between(mean.index, low[name], high[name], alpha=0.2)
    if first_controlled_day is not None:
        ax.axvline(first_controlled_day, color="grey", linestyle="--", linewidth=1, label="decisions start")
    ax.set_xlabel("day")
    ax.set_ylabel("people")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_title(title)
    ax.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
