"""Table units of each family's outcome metrics (declared by the family: envs/<family>_family.py).

Metrics a family does not list go to metrics.csv unchanged, under their own name.
"""

from __future__ import annotations

from epictl.envs.registry import FAMILIES
from epictl.errors import EpictlError

LABELS = {metric.column: metric.label for family in FAMILIES.values() for metric in family.metrics.values()}
METRIC_COLUMNS = list(FAMILIES["metapop"].table_metrics)  # KDD'21 Tables 3 and 4 (conf/published/)
ID_COLUMNS = ("agent", "env", "experiment", "seed")


def in_table_units(family: str, metrics: dict[str, float]) -> dict[str, float]:
    units = FAMILIES[family].metrics
    row = {}
    for key, value in metrics.items():
        metric = units.get(key)
        row[metric.column if metric else key] = value * (metric.factor if metric else 1)
    return row


def label(column: str) -> str:
    return LABELS.get(column, column)


def table_metrics(columns) -> list[str]:
    """The headline metric columns of the family whose metrics these columns hold."""
    present = set(columns)
    for family in FAMILIES.values():
        if set(family.table_metrics) <= present:
            return list(family.table_metrics)
    raise EpictlError(f"metrics tables hold none of the known metric sets ({sorted(present)})")
