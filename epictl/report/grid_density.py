"""Grid world against density (Ohi et al. 2020, Table 1 and Fig. 8): no-lockdown runs per density,
their reproduction rates, and their mean curves beside the paper's SEIR-D ODE.

Inputs are plain tables: ``metrics`` (one row per episode: world, density, metrics.csv columns),
``curves`` (world, density, seed, day, S, E, I, R, D in people) and the ODE's daily S..D arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from epictl.atomic import write_atomic
from epictl.report.summary import mean_std, mean_std_long
from epictl.report.units import label

COLUMNS = ["peak_active_pct", "peak_day", "days", "infected_pct", "deaths_pct", "reproduction_mean",
           "reproduction_median", "reproduction_released_mean", "reproduction_released_median",
           "initial_case_secondary"]
COMPARED = ("I", "R", "D")  # the paper's Fig. 8 leaves the exposed out
KEYS = ["world", "density"]


def mean_curves(curves: pd.DataFrame, days: int) -> pd.DataFrame:
    """Mean over seeds of S..D per (world, density, day) for days 0..days, each episode held at its
    last day after it ended (E = I = 0 then, so the totals stay put)."""
    frames = []
    for (world, density, seed), run in curves.groupby([*KEYS, "seed"], sort=False):
        run = run.set_index("day")[["S", "E", "I", "R", "D"]].reindex(range(days + 1)).ffill()
        frames.append(run.assign(world=world, density=density, seed=seed).reset_index())
    return pd.concat(frames).groupby([*KEYS, "day"], sort=False)[["S", "E", "I", "R", "D"]].mean().reset_index()


def ode_summary(ode: dict[str, np.ndarray], population: int) -> dict[str, float]:
    """The ODE's peak of I, its day, the last day with at least half a person in E + I, and final shares."""
    active = ode["E"] + ode["I"]
    going = np.flatnonzero(active >= 0.5)
    return {"peak_active_pct": float(100 * ode["I"].max() / population), "peak_day": float(ode["I"].argmax()),
            "days": float(going[-1] + 1) if len(going) else 0.0,
            "infected_pct": float(100 * (population - ode["S"][-1]) / population),
            "deaths_pct": float(100 * ode["D"][-1] / population)}


def curve_errors(means: pd.DataFrame, ode: dict[str, np.ndarray], population: int) -> pd.DataFrame:
    """Root mean square distance (percent of N, over the ODE's days) between mean curves and the ODE."""
    rows = []
    for (world, density), block in means.groupby(KEYS, sort=False):
        block = block.set_index("day")
        row = {"world": world, "density": density}
        for name in COMPARED:
            ours = block[name].reindex(range(len(ode[name]))).ffill().to_numpy()
            row[f"rmse_{name}_pct"] = float(np.sqrt(np.mean((ours - ode[name]) ** 2)) * 100 / population)
        rows.append(row)
    return pd.DataFrame(rows)


def density_table(metrics: pd.DataFrame, means: pd.DataFrame, ode: dict[str, np.ndarray], population: int,
                  ode_label: str, paper: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Long table (world, density, metric, mean, std, episodes, paper) and its markdown."""
    errors = curve_errors(means, ode, population)
    summary = ode_summary(ode, population)
    stated = paper[paper["figure"].isin(["Table 1", "Fig. 8"])]
    notes = {(float(key), metric): text for key, metric, text in stated[["key", "metric", "paper"]].itertuples(index=False)}
    long = pd.concat([
        mean_std_long(metrics, KEYS, COLUMNS),
        errors.melt(id_vars=KEYS, var_name="metric", value_name="mean"),
        pd.DataFrame([{"world": "ode", "metric": key, "mean": value} for key, value in summary.items()]),
    ], ignore_index=True)
    long["paper"] = [notes.get((density, metric), "") for density, metric in long[["density", "metric"]].itertuples(index=False)]

    lines = ["# Grid world against density (Ohi et al. 2020, Table 1 and Fig. 8)", "",
             f"No-lockdown episodes, mean (std) over seeds; {ode_label}.", ""]
    for world, block in metrics.groupby("world", sort=False):
        densities = list(dict.fromkeys(block["density"]))
        by_density = [block[block["density"] == d] for d in densities]
        world_errors = errors[errors["world"] == world].set_index("density")
        lines += [f"## World `{world}`", "", "| Metric | " + " | ".join(f"density {d:g}" for d in densities) + " |",
                  "|---|" + "---|" * len(densities)]
        lines += [f"| {label(c)} | " + " | ".join(mean_std(b[c].dropna()) for b in by_density) + " |" for c in COLUMNS]
        lines += [f"| RMS distance of mean {name} from the ODE (% of N) | "
                  + " | ".join(f"{world_errors.at[d, f'rmse_{name}_pct']:.2f}" for d in densities) + " |"
                  for name in COMPARED]
        lines += ["| Episodes | " + " | ".join(str(len(b)) for b in by_density) + " |", ""]
    lines += ["## The paper's SEIR-D ODE (eq. 5)", "", "| Metric | ODE |", "|---|---|"]
    lines += [f"| {label(key)} | {value:.2f} |" for key, value in summary.items()]
    lines += ["", "## What the paper states", "", "| Source | Density | Metric | Paper | Note |", "|---|---|---|---|---|"]
    lines += [f"| {f} | {k} | {label(m)} | {p} | {n} |" for f, k, m, p, n in stated.itertuples(index=False)]
    return long, "\n".join(lines) + "\n"


def density_figure(means: pd.DataFrame, ode: dict[str, np.ndarray], population: int, path: Path) -> None:
    """One panel per density: mean I, R, D (percent of N) of each world, the ODE dotted (paper Fig. 8)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    densities = list(dict.fromkeys(means["density"]))
    columns = min(3, len(densities))
    rows = -(-len(densities) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False, sharey=True)
    colours = {"I": "tab:red", "R": "tab:green", "D": "tab:grey"}
    styles = ["-", "--", "-."]
    for ax, density in zip(axes.flat, densities):
        for k, (world, block) in enumerate(means[means["density"] == density].groupby("world", sort=False)):
            for name in COMPARED:
                ax.plot(block["day"], 100 * block[name] / population, styles[k % 3], color=colours[name],
                        label=f"{name} {world}")
        for name in COMPARED:
            ax.plot(np.arange(len(ode[name])), 100 * ode[name] / population, ":", color="black", linewidth=1)
        ax.set_title(f"density {density:g} (ODE dotted)")
        ax.set_xlabel("day")
        ax.set_xlim(0, len(ode["I"]) - 1)
    for ax in axes[:, 0]:
        ax.set_ylabel("% of the population")
    for ax in list(axes.flat)[len(densities):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
