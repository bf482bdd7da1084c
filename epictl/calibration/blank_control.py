"""The model side of a table-row calibration: the blank control (no beds, no masks) of ``runs`` episodes.

With nothing allocated an episode of the metapop env is one free-spreading run of free_days + controlled_days,
so the simulator runs it directly, all runs in one kernel call a day (``step_many``), and a shared free phase
(``scenario.free_phase_seed``) is simulated once instead of once per run. The episode is the env's
(envs/metapop.py: its outbreak_start, the same random streams and reseeding after a shared free phase, so the
metrics equal `epictl eval agent=no_medical` seed by seed; tests/test_calibrate_row.py checks it).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from epictl.calibration.row_config import MOVE_SHARES
from epictl.envs.metapop import outbreak_start
from epictl.report.units import in_table_units
from epictl.sim.metapop.city import City
from epictl.sim.metapop.compartments import NAMES
from epictl.sim.metapop.metrics import epidemic_metrics
from epictl.sim.metapop.simulator import DayPlan, MetapopSimulator, State
from epictl.sim.metapop.synthetic import SyntheticCitySpec

SIGNIFICANT_DIGITS = 9  # scaled shares are rounded so fitted_env.yaml writes exactly the values that were simulated


def scaled_spec(spec: SyntheticCitySpec, move_scale: float, gravity_scale_km: float) -> SyntheticCitySpec:
    """``spec`` with every move share times ``move_scale`` and the gravity model's distance scale replaced."""
    shares = {name: float(f"{getattr(spec, name) * move_scale:.{SIGNIFICANT_DIGITS}g}") for name in MOVE_SHARES}
    return replace(spec, gravity_scale_km=float(f"{gravity_scale_km:.{SIGNIFICANT_DIGITS}g}"), **shares)


def blank_control_totals(simulator: MetapopSimulator, scenario, seeds: list[int]) -> np.ndarray:
    """City totals [runs, days + 1, 8] of the no-medical episodes of ``seeds`` (day 0: the outbreak)."""
    shared = scenario.free_phase_seed
    starts = [outbreak_start(simulator, scenario, seed) for seed in (seeds if shared is None else [shared])]
    free = simulate_days(simulator, starts, scenario.free_days)
    if shared is None:
        states = starts
    else:  # every run continues the one snapshot with its own streams, as MetapopEnv.reset_days does
        states = [starts[0].copy() for _ in seeds]
        for state, seed in zip(states, seeds):
            if seed != shared:
                state.reseed(seed)
        free = np.repeat(free, len(seeds), axis=0)
    controlled = simulate_days(simulator, states, scenario.controlled_days)
    return np.concatenate([free, controlled[:, 1:]], axis=1)


def simulate_days(simulator: MetapopSimulator, states: list[State], days: int) -> np.ndarray:
    """Advance ``states`` by ``days`` blank days in place; their totals [states, days + 1, 8], the start first."""
    blank = [DayPlan.no_resources(simulator.city.n_regions)] * len(states)
    totals = np.zeros((len(states), days + 1, len(NAMES)), dtype=np.int64)
    totals[:, 0] = [state.counts.sum(axis=0) for state in states]
    for day in range(1, days + 1):
        simulator.step_many(states, blank)
        totals[:, day] = [state.counts.sum(axis=0) for state in states]
    return totals


def table_metrics(totals: np.ndarray, city: City, window_start: int) -> list[dict[str, float]]:
    """Each run's KDD'21 metrics in the published tables' units (infected_pct, deaths_permille, ...)."""
    return [in_table_units("metapop", epidemic_metrics(run, city.total_population, window_start)) for run in totals]
