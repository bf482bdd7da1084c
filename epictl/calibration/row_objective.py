"""The loss of a table-row calibration at one point: simulate every row's blank control, compare with the paper.

Loss per row and metric, in units of the paper's mean so every metric weighs the same:
((ours_mean - paper_mean) / paper_mean)^2 + ((ours_std - paper_std) / paper_mean)^2 (table_row.py says why).
Every candidate replays the same run seeds (common random numbers). Candidate cities are built in memory, not
cached: a Beijing build takes half a second, its cache file 30 MB.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from epictl.calibration.blank_control import blank_control_totals, scaled_spec, table_metrics
from epictl.calibration.table_row import Choice, RowSettings
from epictl.report.units import METRIC_COLUMNS
from epictl.sim.metapop.simulator import MetapopSimulator
from epictl.sim.metapop.synthetic import build_synthetic


def simulate_rows(settings: RowSettings, choice: Choice, values: dict[str, float]) -> pd.DataFrame:
    """One line per row and metric: the paper's mean and std beside ours over the runs, and the loss term."""
    cities = {}  # rows on one city (Beijing's Exp 1 and 2) share its build
    lines = []
    for row, env in zip(settings.target.rows, settings.row_envs):
        spec = scaled_spec(env.city.synthetic, values["move_scale"], values["gravity_scale_km"])
        if repr(spec) not in cities:
            cities[repr(spec)] = build_synthetic(spec)
        city = cities[repr(spec)]
        scenario = replace(env.scenario, initial_compartment=choice.initial_compartment,
                           free_phase_seed=choice.free_phase_seed)
        totals = blank_control_totals(MetapopSimulator(city, env.disease, env.sim), scenario, list(settings.seeds))
        runs = pd.DataFrame(table_metrics(totals, city, env.metric_window_start))[METRIC_COLUMNS]
        for metric in METRIC_COLUMNS:
            lines.append({"table": row.table, "experiment": row.experiment, "agent": row.agent, "metric": metric,
                          "paper_mean": row.paper.at[metric, "mean"], "paper_std": row.paper.at[metric, "std"],
                          "ours_mean": runs[metric].mean(),
                          "ours_std": runs[metric].std(ddof=1) if len(runs) > 1 else 0.0})
    frame = pd.DataFrame(lines)
    frame["loss"] = (((frame.ours_mean - frame.paper_mean) / frame.paper_mean) ** 2
                     + ((frame.ours_std - frame.paper_std) / frame.paper_mean) ** 2)
    return frame


@dataclass
class RowEvaluation:
    number: int
    stage: str
    choice: Choice
    values: dict[str, float]  # every continuous parameter, fitted or fixed
    loss: float
    seconds: float
    rows: pd.DataFrame  # simulate_rows' table at these values


class RowObjective:
    """loss(unit point) of one discrete choice: simulate every row, compare, record (calibration.search.minimise
    calls it as it calls the daily-series Objective)."""

    def __init__(self, settings: RowSettings, choice: Choice,
                 on_evaluation: Callable[[RowEvaluation], None] = lambda evaluation: None):
        self.settings, self.choice, self.on_evaluation = settings, choice, on_evaluation
        self.history: list[RowEvaluation] = []
        self.stage = "search"

    def __call__(self, unit: np.ndarray) -> float:
        began = time.perf_counter()
        values = self.settings.space.values(np.asarray(unit, dtype=np.float64))
        rows = simulate_rows(self.settings, self.choice, values)
        evaluation = RowEvaluation(len(self.history) + 1, self.stage, self.choice, values, float(rows["loss"].sum()),
                                   time.perf_counter() - began, rows)
        self.history.append(evaluation)
        self.on_evaluation(evaluation)
        return evaluation.loss

    @property
    def best(self) -> RowEvaluation:
        return min(self.history, key=lambda e: (e.loss, e.number))
