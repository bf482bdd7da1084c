"""The four outcome metrics of KDD'21 §2.3 (spec §12), as fractions of the city population."""

from __future__ import annotations

import numpy as np

from epictl.sim.metapop.compartments import D, S


def epidemic_metrics(daily_totals: np.ndarray, population: int, window_start: int = 0) -> dict[str, float]:
    """``daily_totals`` is [days + 1, 8]: row 0 the initial state, row t the state after day t.

    C(t) = N - S(t) counts everyone ever infected. Daily increases are taken over days after
    ``window_start`` (0 = the whole run, the paper's definition; free_days = the code's window).
    """
    ever_infected = population - daily_totals[:, S]
    daily_infections = np.diff(ever_infected)[window_start:]
    daily_deaths = np.diff(daily_totals[:, D])[window_start:]
    return {
        "infected": float(ever_infected[-1] / population),
        "deaths": float(daily_totals[-1, D] / population),
        "max_daily_infection": float(daily_infections.max(initial=0) / population),
        "max_daily_death": float(daily_deaths.max(initial=0) / population),
    }
