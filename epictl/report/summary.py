"""mean (std) tables in the paper's units, as markdown."""

from __future__ import annotations

import pandas as pd

from epictl.report.units import METRIC_COLUMNS, METRIC_LABELS


def mean_std(values: pd.Series) -> str:
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.2f} ({std:.2f})"


def summary_markdown(metrics: pd.DataFrame, title: str, extra: list[str] | None = None) -> str:
    """One column per metric in paper units, plus allocation totals, mean (std) over episodes."""
    lines = [f"# {title}", "", f"Episodes: {len(metrics)} (seeds {', '.join(map(str, metrics['seed']))})", ""]
    lines += ["| metric | mean (std) |", "|---|---|"]
    for column in METRIC_COLUMNS:
        lines.append(f"| {METRIC_LABELS[column]} | {mean_std(metrics[column])} |")
    for column in extra or []:
        lines.append(f"| {column} | {mean_std(metrics[column])} |")
    return "\n".join(lines) + "\n"
