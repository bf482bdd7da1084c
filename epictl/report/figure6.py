"""KDD'21 Figure 6: rebuild accuracy and training time per number of GRU layers, one panel per city."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from epictl.atomic import write_atomic
from epictl.report.files import write_csv, write_text


def write_figure6(frame: pd.DataFrame, stem: Path) -> None:
    """``frame``: city, layers, accuracy, accuracy_E/Iu/R, training_seconds -> stem.{png,csv,md}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cities = list(dict.fromkeys(frame["city"]))
    fig, axes = plt.subplots(1, len(cities), figsize=(5 * len(cities), 3.8), squeeze=False)
    for ax, city in zip(axes[0], cities):
        rows = frame[frame["city"] == city]
        ax.bar(rows["layers"], rows["accuracy"], color="tab:blue", alpha=0.7, label="accuracy")
        ax.set_ylim(0, 1)
        ax.set_xlabel("GRU layers")
        ax.set_ylabel("accuracy (relative error < 30 %)")
        ax.set_title(city)
        time_axis = ax.twinx()
        time_axis.plot(rows["layers"], rows["training_seconds"], color="tab:red", marker="o", label="training time")
        time_axis.set_ylabel("training time (s)")
    fig.tight_layout()
    write_atomic(stem.with_suffix(".png"), lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    write_csv(stem.with_suffix(".csv"), frame)
    lines = ["# Figure 6: rebuild accuracy and training time vs GRU layers", "",
             "| city | layers | accuracy | E | Iu | R | training (s) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.city} | {r.layers} | {r.accuracy:.3f} | {r.accuracy_E:.3f} | {r.accuracy_Iu:.3f} | "
              f"{r.accuracy_R:.3f} | {r.training_seconds:.1f} |" for r in frame.itertuples()]
    write_text(stem.with_suffix(".md"), "\n".join(lines) + "\n")
