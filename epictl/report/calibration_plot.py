"""The validation figure (KDD'21 Fig. 5): observed vs simulated daily and cumulative confirmed cases."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from epictl.atomic import write_atomic

BAND = "5-95 % of runs"


def plot_fit(series: pd.DataFrame, window_last: str, title: str, path: Path) -> None:
    """``series``: one group of simulated.csv (date, observed_*, *_mean, *_p05, *_p95 for daily and cumulative)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    dates = pd.to_datetime(series["date"])
    boundary = pd.Timestamp(window_last) + pd.Timedelta(hours=12)  # between the last fitted day and the next
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, kind in zip(axes, ("daily", "cumulative")):
        ax.fill_between(dates, series[f"{kind}_p05"], series[f"{kind}_p95"], color="tab:blue", alpha=0.2, label=BAND)
        ax.plot(dates, series[f"{kind}_mean"], color="tab:blue", label="simulated, mean of runs")
        ax.plot(dates, series[f"observed_{kind}"], "o", color="black", markersize=4, label="observed")
        ax.axvline(boundary, color="grey", linestyle="--", linewidth=1, label="end of fitted window")
        ax.set_title(f"{kind} confirmed cases")
        ax.set_ylabel("cases")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
        ax.tick_params(axis="x", labelrotation=45)
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
