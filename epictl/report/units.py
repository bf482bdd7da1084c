"""Table units of each family's outcome metrics: key from the env -> (column in metrics.csv, label, factor).

Metrics a family does not list go to metrics.csv unchanged, under their own name.
"""

from __future__ import annotations

from epictl.errors import EpictlError

# KDD'21 tables (spec §12), from fractions of the city population.
KDD21_METRICS = {
    "infected": ("infected_pct", "Infected (%)", 1e2),
    "deaths": ("deaths_permille", "Deaths (‰)", 1e3),
    "max_daily_infection": ("max_daily_infection_permille", "Max daily infection (‰)", 1e3),
    "max_daily_death": ("max_daily_death_per10k", "Max daily death (1e-4)", 1e4),
}
UNITS = {"metapop": KDD21_METRICS}
METRIC_COLUMNS = [column for column, _, _ in KDD21_METRICS.values()]
# The headline metrics of each family's paper tables, in table order.
TABLE_METRICS = {"metapop": METRIC_COLUMNS}
LABELS = {column: label for units in UNITS.values() for column, label, _ in units.values()}
ID_COLUMNS = ("agent", "env", "experiment", "seed")


def in_table_units(family: str, metrics: dict[str, float]) -> dict[str, float]:
    units = UNITS.get(family, {})
    row = {}
    for key, value in metrics.items():
        column, _, factor = units.get(key, (key, key, 1))
        row[column] = value * factor
    return row


def label(column: str) -> str:
    return LABELS.get(column, column)


def table_metrics(columns) -> list[str]:
    """The headline metric columns of the family whose metrics these columns hold."""
    present = set(columns)
    for metrics in TABLE_METRICS.values():
        if set(metrics) <= present:
            return list(metrics)
    raise EpictlError(f"metrics tables hold none of the known metric sets ({sorted(present)})")
