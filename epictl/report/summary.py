"""mean (std) tables in the papers' units, as markdown."""

from __future__ import annotations

import pandas as pd

from epictl.report.units import ID_COLUMNS, label


def mean_std(values: pd.Series) -> str:
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.2f} ({std:.2f})"


def mean_std_long(metrics: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """keys..., metric, mean, std, episodes: one row per group and metric column (machine-readable)."""
    melted = metrics.melt(id_vars=keys, value_vars=columns, var_name="metric")
    grouped = melted.groupby([*keys, "metric"], sort=False)["value"]
    return grouped.agg(mean="mean", std=lambda v: v.std(ddof=1) if len(v) > 1 else 0.0, episodes="count").reset_index()


def summary_markdown(metrics: pd.DataFrame, title: str) -> str:
    """One line per metric column (paper units first, then totals), mean (std) over episodes."""
    lines = [f"# {title}", "", f"Episodes: {len(metrics)} (seeds {', '.join(map(str, metrics['seed']))})", ""]
    lines += ["| metric | mean (std) |", "|---|---|"]
    numeric = [c for c in metrics.columns if c not in ID_COLUMNS and pd.api.types.is_numeric_dtype(metrics[c])]
    for column in numeric:
        lines.append(f"| {label(column)} | {mean_std(metrics[column])} |")
    return "\n".join(lines) + "\n"
