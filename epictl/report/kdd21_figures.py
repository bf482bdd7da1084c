"""KDD'21 Figure 7 (damage relative to DQN expert, per method) and Figure 8 (where beds and masks went on two
controlled days), from plain tables: the long table of `epictl table` and one run's curves_regions.parquet.

Figure 7 (paper §4.4): each method's value divided by DQN expert's in the same experiment and metric, so DQN
expert is 1.0; "mean" is the average over the four metrics, the bar the paper draws. Figure 8: region centres
on a map, darker and larger where a region held more beds (its patients in hospital, Ih) or got more masks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from epictl.atomic import write_atomic
from epictl.errors import EpictlError
from epictl.report.published import agent_order
from epictl.report.units import label

BASELINE = "dqn_expert"
MEAN_OF_METRICS = "mean"  # Figure 7's bar: the average of a method's ratios over the metrics
SOURCES = {"ours": "mean", "paper": "paper_mean"}  # ratio column -> the long table's column it divides
FIGURE8_DAYS = (10, 30)  # controlled days the paper maps
RESOURCES = ("beds", "masks")


def figure7_ratios(long: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """experiment (env), agent, metric, ours (and paper, when the table has published means): value / baseline's
    value in the same experiment and metric; per experiment and agent a ``mean`` row averages the metrics."""
    missing = sorted({"experiment", "agent", "metric", "mean"} - set(long.columns))
    if missing:
        raise EpictlError(f"figure 7: the table has no column {', '.join(missing)} (use the long csv of epictl table)")
    cell = _cell_columns(long)
    sources = {name: column for name, column in SOURCES.items()
               if column in long.columns and long[column].notna().any()}
    with_baseline = set(long.loc[long["agent"] == baseline, cell].itertuples(index=False, name=None))
    lacking = [key for key in dict.fromkeys(long[cell].itertuples(index=False, name=None)) if key not in with_baseline]
    if lacking:
        where = ", ".join(" on ".join(map(str, key)) for key in lacking)
        raise EpictlError(f"figure 7: no {baseline} rows for {where}; the ratios divide by {baseline}'s values")
    keys = [*cell, "metric"]
    base = long.loc[long["agent"] == baseline, [*keys, *sources.values()]]
    joined = long.merge(base, on=keys, how="left", suffixes=("", "_baseline"))
    ratios = joined[[*cell, "agent", "metric"]].copy()
    for name, column in sources.items():
        divisor = joined[f"{column}_baseline"]
        ratios[name] = joined[column] / divisor.where(divisor > 0)  # a baseline of 0 gives no ratio
    averages = ratios.groupby([*cell, "agent"], sort=False)[list(sources)].mean().reset_index()
    averages.insert(len(cell) + 1, "metric", MEAN_OF_METRICS)
    ratios = pd.concat([ratios, averages], ignore_index=True)
    ranks = {column: {value: k for k, value in enumerate(dict.fromkeys(ratios[column]))} for column in cell}
    ranks["metric"] = {value: k for k, value in enumerate(dict.fromkeys(ratios["metric"]))}
    ranks["agent"] = {value: k for k, value in enumerate(agent_order(ratios["agent"]))}
    ordered = ratios.sort_values(list(ranks), key=lambda column: column.map(ranks[column.name]))
    return ordered.reset_index(drop=True)


def draw_figure7(ratios: pd.DataFrame, title: str, path: Path) -> None:
    """Grouped bars (metrics x methods), one panel per experiment; a second row of panels for the paper's ratios."""
    plt = _pyplot()
    cell = _cell_columns(ratios)
    sources = [name for name in SOURCES if name in ratios.columns]
    blocks = list(ratios.groupby(cell, sort=False))
    agents = agent_order(ratios["agent"])
    fig, axes = plt.subplots(len(sources), len(blocks), figsize=(5.5 * len(blocks), 3.8 * len(sources)),
                             squeeze=False, sharey="row", layout="constrained")
    width = 0.8 / len(agents)
    for row, source in zip(axes, sources):
        for ax, (key, block) in zip(row, blocks):
            metrics = list(dict.fromkeys(block["metric"]))
            table = block.pivot(index="metric", columns="agent", values=source).reindex(index=metrics, columns=agents)
            for k, agent in enumerate(agents):
                ax.bar(np.arange(len(metrics)) + (k - (len(agents) - 1) / 2) * width, table[agent], width, label=agent)
            ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
            names = ["mean of the metrics" if m == MEAN_OF_METRICS else label(m) for m in metrics]
            ax.set_xticks(np.arange(len(metrics)), names, rotation=20, ha="right", fontsize=8)
            place = " on ".join(map(str, key)) if source == "ours" else key[0]  # the paper's own city, not ours
            ax.set_title(f"{place} ({source})", fontsize=10)
            ax.set_ylabel(f"damage relative to {BASELINE}")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle(title)
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)


def _cell_columns(table: pd.DataFrame) -> list[str]:
    """What one experiment's bars share: the experiment, and its city when the table names one."""
    return ["experiment", "env"] if "env" in table.columns else ["experiment"]


def figure8_values(regions: pd.DataFrame, centres: np.ndarray, free_days: int, days=FIGURE8_DAYS,
                   seed: int | None = None) -> pd.DataFrame:
    """seed, day (controlled day), region, x_km, y_km, beds, masks: one episode's allocation on ``days``.

    ``regions``: curves_regions.parquet (its ``day`` counts from the outbreak, so controlled day k is row day
    ``free_days + k``); ``centres``: [M, 2] region centres in km; ``seed``: the episode (default: the first).
    """
    lacking = [column for column in ("seed", "day", "region", *RESOURCES) if column not in regions.columns]
    if lacking:
        raise EpictlError(f"figure 8: the per-region table has no {', '.join(lacking)} column; evaluate with "
                          "env.record_regions=true")
    seed = int(regions["seed"].iloc[0]) if seed is None else seed
    episode = regions[regions["seed"] == seed]
    if episode.empty:
        raise EpictlError(f"figure 8: no episode with seed {seed} in the per-region table")
    last = int(episode["day"].max()) - free_days
    frames = []
    for day in days:
        if not 1 <= day <= last:
            raise EpictlError(f"figure 8: controlled day {day} is not in the run ({last} controlled days)")
        rows = episode[episode["day"] == free_days + day].sort_values("region")
        if len(rows) != len(centres):
            raise EpictlError(f"figure 8: {len(rows)} regions in the table, {len(centres)} region centres")
        frames.append(pd.DataFrame({"seed": seed, "day": day, "region": rows["region"].to_numpy(),
                                    "x_km": centres[:, 0], "y_km": centres[:, 1],
                                    **{resource: rows[resource].to_numpy() for resource in RESOURCES}}))
    return pd.concat(frames, ignore_index=True)


def draw_figure8(values: pd.DataFrame, title: str, path: Path) -> None:
    """A 2 x 2 map: beds and masks (rows) on each controlled day (columns), one colour scale per resource."""
    plt = _pyplot()
    days = list(dict.fromkeys(values["day"]))
    fig, axes = plt.subplots(len(RESOURCES), len(days), figsize=(5.2 * len(days), 4.2 * len(RESOURCES)),
                             squeeze=False, layout="constrained")
    for row, resource in zip(axes, RESOURCES):
        top = max(float(values[resource].max()), 1.0)  # both days on one scale, so they compare
        for ax, day in zip(row, days):
            rows = values[values["day"] == day]
            amount = rows[resource].to_numpy(dtype=np.float64)
            points = ax.scatter(rows["x_km"], rows["y_km"], c=amount, s=8 + 120 * amount / top, cmap="Reds",
                                vmin=0.0, vmax=top, edgecolors="grey", linewidths=0.3)
            ax.set_title(f"{resource}, controlled day {day} (total {int(amount.sum()):,})", fontsize=9)
            ax.set_aspect("equal")
            ax.set_xlabel("km east")
            ax.set_ylabel("km north")
        fig.colorbar(points, ax=list(row), label=resource, shrink=0.85)
    fig.suptitle(title)
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
