"""The KDD'21 tables' units (spec §12): column name in metrics.csv, label, factor from a fraction."""

PAPER_METRICS = {
    "infected": ("infected_pct", "Infected (%)", 1e2),
    "deaths": ("deaths_permille", "Deaths (‰)", 1e3),
    "max_daily_infection": ("max_daily_infection_permille", "Max daily infection (‰)", 1e3),
    "max_daily_death": ("max_daily_death_per10k", "Max daily death (1e-4)", 1e4),
}
METRIC_COLUMNS = [column for column, _, _ in PAPER_METRICS.values()]
METRIC_LABELS = {column: label for column, label, _ in PAPER_METRICS.values()}


def in_paper_units(fractions: dict[str, float]) -> dict[str, float]:
    return {column: fractions[key] * factor for key, (column, _, factor) in PAPER_METRICS.items()}
