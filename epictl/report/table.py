"""Paper-style tables: (experiment, metric) rows, one column per agent, mean (std) over episodes."""

from __future__ import annotations

import pandas as pd

from epictl.report.summary import mean_std
from epictl.report.units import METRIC_COLUMNS, METRIC_LABELS


def long_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """experiment, env, agent, metric, mean, std, episodes: the machine-readable form."""
    melted = metrics.melt(id_vars=["experiment", "env", "agent"], value_vars=METRIC_COLUMNS, var_name="metric")
    grouped = melted.groupby(["experiment", "env", "agent", "metric"], sort=False)["value"]
    return grouped.agg(mean="mean", std=lambda v: v.std(ddof=1) if len(v) > 1 else 0.0, episodes="count").reset_index()


def markdown_table(metrics: pd.DataFrame, title: str) -> str:
    agents = list(dict.fromkeys(metrics["agent"]))
    lines = [f"# {title}", "", "| Exp | City | Metric | " + " | ".join(agents) + " |",
             "|---|---|---|" + "---|" * len(agents)]
    for (experiment, env), block in metrics.groupby(["experiment", "env"], sort=False):
        for column in METRIC_COLUMNS:
            cells = [mean_std(block.loc[block["agent"] == a, column]) if (block["agent"] == a).any() else "-"
                     for a in agents]
            lines.append(f"| {experiment} | {env} | {METRIC_LABELS[column]} | " + " | ".join(cells) + " |")
    counts = metrics.groupby("agent")["seed"].count()
    lines += ["", "Episodes per agent: " + ", ".join(f"{a} {counts[a]}" for a in agents)]
    return "\n".join(lines) + "\n"
