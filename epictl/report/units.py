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
# Ohi et al. 2020 grid world (Table 1, Table 2, Fig. 22), from fractions of the initial population.
GRID_METRICS = {
    "days": ("days", "Epidemic length (days)", 1),
    "infected": ("infected_pct", "Infected (%)", 1e2),
    "deaths": ("deaths_pct", "Deaths (%)", 1e2),
    "peak_active": ("peak_active_pct", "Peak active cases (%)", 1e2),
    "peak_day": ("peak_day", "Day of the peak", 1),
    "economy_mean": ("economy_mean", "Economy per day (E_t)", 1),
    "economy_total": ("economy_total", "Economy per episode (sum of E_t)", 1),
    "reward_mean": ("reward_mean", "Reward per day", 1),
    "reward_total": ("reward_total", "Reward per episode", 1),
    "reproduction_mean": ("reproduction_mean", "Reproduction rate, mean (paper's definition)", 1),
    "reproduction_median": ("reproduction_median", "Reproduction rate, median (paper's definition)", 1),
    "reproduction_released_mean": ("reproduction_released_mean", "Reproduction rate, mean (released code's)", 1),
    "reproduction_released_median": ("reproduction_released_median", "Reproduction rate, median (released code's)", 1),
    "initial_case_secondary": ("initial_case_secondary", "Secondary cases per initial case", 1),
    **{f"level{k}": (f"level{k}_pct", f"Days at level {k} (%)", 1e2) for k in range(3)},
}
UNITS = {"metapop": KDD21_METRICS, "grid": GRID_METRICS}
METRIC_COLUMNS = [column for column, _, _ in KDD21_METRICS.values()]
# The headline metrics of each family's paper tables, in table order.
TABLE_METRICS = {"metapop": METRIC_COLUMNS,
                 "grid": ["days", "infected_pct", "deaths_pct", "peak_active_pct", "economy_mean", "reward_total"]}
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
