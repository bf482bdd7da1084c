"""mean (std) tables in the papers' units, as markdown."""

from __future__ import annotations

import pandas as pd

from epictl.report.units import ID_COLUMNS, label


def mean_std(values: pd.Series) -> str:
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.2f} ({std:.2f})"


def summary_markdown(metrics: pd.DataFrame, title: str) -> str:
    """One line per metric column (paper units first, then totals), mean (std) over episodes."""
    lines = [f"# {title}", "", f"Episodes: {len(metrics)} (seeds {', '.join(map(str, metrics['seed']))})", ""]
    lines += ["| metric | mean (std) |", "|---|---|"]
    numeric = [c for c in metrics.columns if c not in ID_COLUMNS and pd.api.types.is_numeric_dtype(metrics[c])]
    for column in numeric:
        lines.append(f"| {label(column)} | {mean_std(metrics[column])} |")
    return "\n".join(lines) + "\n"
