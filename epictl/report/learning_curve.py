"""A training run's learning curve: its episodes' returns and its held-out evaluations against training steps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from epictl.atomic import write_atomic

SMOOTHING_EPISODES = 20  # rolling mean of the noisy training returns


def plot_learning_curve(train_log: pd.DataFrame, validation: pd.DataFrame, path: Path, title: str) -> None:
    """``train_log``: train_log.csv rows (step, episode_return where an episode ended); ``validation``:
    validation_log.csv rows (step, mean_return, std_return, best), possibly empty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    if "episode_return" in train_log:
        ended = train_log.dropna(subset=["episode_return"])
        ax.plot(ended["step"], ended["episode_return"], ".", color="tab:blue", alpha=0.25, markersize=3,
                label="training episode")
        smooth = ended["episode_return"].rolling(SMOOTHING_EPISODES, min_periods=1).mean()
        ax.plot(ended["step"], smooth, color="tab:blue", label=f"training, mean of {SMOOTHING_EPISODES} episodes")
    if not validation.empty:
        ax.errorbar(validation["step"], validation["mean_return"], yerr=validation["std_return"], color="tab:orange",
                    marker="o", capsize=3, label="held-out evaluation (mean, std)")
        best = validation[validation["best"]].iloc[-1]
        ax.plot(best["step"], best["mean_return"], "*", color="tab:red", markersize=14,
                label=f"best (step {int(best['step'])}): checkpoints/best.pt")
    ax.set_xlabel("training step")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
