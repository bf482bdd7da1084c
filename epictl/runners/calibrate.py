"""`epictl calibrate`: fit R0, the testing delay and the seeding to a daily series of confirmed cases
(a target listing rows of a published table goes to calibrate_row.py instead).

Writes fit.yaml (fitted values, loss, R^2 in and out of the window, seeds), loss_history.csv,
simulated.csv (observed vs simulated mean and 5-95 % band per day), fitted_env.yaml (an env
config with the fitted values), summary.md and plots/figure5.png to the run folder.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from epictl.calibration.ensemble import ConfirmedEnsemble, Seeding, choose_seed_regions
from epictl.calibration.objective import Evaluation, Objective, at_times, daily_on_calendar, on_calendar
from epictl.calibration.parameters import NAMES
from epictl.calibration.scores import fit_scores
from epictl.calibration.search import minimise
from epictl.calibration.settings import Settings, resolve
from epictl.calibration.table_row import row_target_path
from epictl.report.calibration import R2_LABELS, simulated_frame, summary_markdown, yaml_text
from epictl.report.calibration_plot import plot_fit
from epictl.report.files import write_csv, write_text
from epictl.runners.progress import progress_bar
from epictl.sim.metapop.compartments import NAMES as COMPARTMENTS
from epictl.sim.metapop.compartments import TICKS_PER_DAY
from epictl.sim.metapop.sources import load_city

OPTIMISER = "seeded Latin-hypercube search, then Nelder-Mead (scipy.optimize); seed_day and ascertainment fitted exactly per evaluation"


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    if row_target_path(cfg.target) is not None:  # rows of a published table, not a daily series
        from epictl.runners.calibrate_row import run as run_rows

        return run_rows(cfg, out_dir, choices)
    began = time.perf_counter()
    settings = resolve(cfg)
    env, target = settings.env, settings.target
    city = load_city(env.city)
    seeding = Seeding(choose_seed_regions(city, settings.seed_district, cfg.seed_regions, np.random.default_rng(cfg.seed)),
                      settings.seed_compartment)
    ensemble = ConfirmedEnsemble(city, env.disease, env.sim, seeding, target.group_matrix(city), cfg.beds, cfg.runs, cfg.seed)
    space = settings.space
    budget = cfg.search_points + cfg.max_evaluations if space.searched else 1
    with progress_bar(cfg.progress) as bar:
        task = bar.add_task(f"calibrating {city.name} to {target.name}", total=budget)
        objective = Objective(ensemble.cumulative, target.daily[:, :settings.window], space, cfg.loss,
                              lambda evaluation: bar.advance(task))
        best = minimise(objective, len(space.searched), cfg.search_points, cfg.max_evaluations, cfg.seed)
        bar.update(task, completed=budget)

    fitted = best.values
    runs = ensemble.cumulative(fitted, math.ceil(fitted["seed_day"]) + target.days + 1)
    cumulative = fitted["ascertainment"] * on_calendar(runs, fitted["seed_day"], target.days)
    daily = fitted["ascertainment"] * daily_on_calendar(runs, fitted["seed_day"], target.days)
    scores = fit_scores(target.daily, daily.mean(axis=0), cumulative.mean(axis=0), settings.window)
    cases_before = fitted["ascertainment"] * float(at_times(runs, np.array(fitted["seed_day"])).mean(axis=0).sum())
    fit = fit_document(cfg, choices, settings, seeding, objective, best, scores, cases_before, time.perf_counter() - began)

    frame = simulated_frame(target.first_date, target.groups, target.daily, daily, cumulative, settings.window)
    write_csv(out_dir / "simulated.csv", frame)
    write_csv(out_dir / "loss_history.csv", history_frame(objective.history))
    write_text(out_dir / "fit.yaml", yaml_text(fit, f"epictl calibrate: {fit['env']} fitted to {target.name}"))
    write_text(out_dir / "fitted_env.yaml", fitted_env(fit, choices.get("env") or env.name, target.name))
    write_text(out_dir / "summary.md", summary_markdown(fit))
    if cfg.plots:
        window_last = fit["target"]["window"][1]
        title = (f"{city.name} vs {target.name}: R² cumulative {scores['window_cumulative']:.3f} "
                 f"(window to {window_last}), mean of {cfg.runs} runs")
        plot_fit(frame[frame["group"] == "all"], window_last, title, out_dir / "plots" / "figure5.png")
    print_fit(Console(), fit)
    print(f"wrote {out_dir}")


def fit_document(cfg: DictConfig, choices: dict, settings: Settings, seeding: Seeding, objective: Objective,
                 best: Evaluation, scores: dict, cases_before: float, seconds: float) -> dict:
    target, space, fitted = settings.target, settings.space, best.values
    first = dt.datetime.combine(target.first_date, dt.time())
    seed_time = first - dt.timedelta(minutes=round(fitted["seed_day"] * TICKS_PER_DAY) * 30)
    compartment = COMPARTMENTS[seeding.compartment]
    later = target.days > settings.window
    return {
        "env": choices.get("env") or settings.env.name,
        "target": {
            "name": target.name, "description": target.description,
            "source": target.source, "first_date": str(target.first_date), "last_date": str(target.date(target.days - 1)),
            "window": [str(target.first_date), str(target.date(settings.window - 1))],
            "out_of_sample": [str(target.date(settings.window)), str(target.date(target.days - 1))] if later else None,
            "groups": list(target.groups),
        },
        "fitted": {name: round(float(fitted[name]), 6) for name in NAMES},
        "free": list(space.free),
        "bounds": {name: list(bounds) for name, bounds in space.bounds.items()},
        "at_bound": space.at_bound(fitted),
        "seed_time": seed_time.isoformat(timespec="minutes"),
        "seeding": {"district": settings.seed_district, "regions": seeding.regions.tolist(), "compartment": compartment},
        "beds": int(cfg.beds),
        "loss": {"kind": cfg.loss, "value": round(best.loss, 6)},
        "r2": {key: None if value is None else round(float(value), 6) for key, value in scores.items()},
        "model_cases_before_first_day": round(cases_before, 3),
        "runs": int(cfg.runs), "seeds": list(range(cfg.seed, cfg.seed + cfg.runs)),
        "optimiser": OPTIMISER, "evaluations": len(objective.history),
        "seconds": round(seconds, 2),
        "seconds_per_evaluation": round(float(np.mean([e.seconds for e in objective.history])), 4),
        "assumptions": [
            "One constant transmission rate for the whole period: R0 absorbs every measure taken meanwhile "
            "(closures, lockdowns, mass testing, masks, which are not modelled separately).",
            f"Every confirmed case is isolated in hospital at once while beds last ({cfg.beds} beds).",
            f"All {int(fitted['seed_cases'])} seeds start at the seed time in {compartment}, split evenly over "
            f"{len(seeding.regions)} regions of {settings.seed_district or 'the city'} drawn by population (seed {cfg.seed}).",
            "Confirmed cases are the model's Iu -> It moves times the ascertainment, counted on the day they happen.",
        ],
    }


def history_frame(history: list[Evaluation]) -> pd.DataFrame:
    rows = [{"evaluation": e.number, "stage": e.stage, **e.values, "loss": e.loss, "seconds": e.seconds} for e in history]
    frame = pd.DataFrame(rows)
    frame["best_loss"] = frame["loss"].cummin()
    return frame


def fitted_env(fit: dict, env_name: str, target_name: str) -> str:
    """An env config with the fitted values on top of the calibrated env (copy it to conf/env/)."""
    fitted, seeding = fit["fitted"], fit["seeding"]
    header = (f"{env_name} with parameters fitted to {target_name} by `epictl calibrate` on {dt.date.today()}.\n"
              f"R² cumulative in the window {fit['r2']['window_cumulative']:.4f}; see fit.yaml for every score.\n"
              f"Sim day 0 is the seed time, {fit['seed_time']}. Reporting: ascertainment {fitted['ascertainment']:g}.\n"
              f"Copy to conf/env/{env_name}_{target_name}.yaml and run e.g. "
              f"epictl eval env={env_name}_{target_name} budget={env_name} (or add conf/budget/{env_name}_{target_name}.yaml).")
    document = {
        "defaults": [env_name, "_self_"],
        "name": f"{env_name}_{target_name}",
        "disease": {"R0": fitted["R0"], "theta_ticks": round(fitted["test_delay"] * TICKS_PER_DAY, 3)},
        "scenario": {"initial_cases": int(fitted["seed_cases"]), "initial_regions": len(seeding["regions"]),
                     "regions": seeding["regions"], "initial_compartment": seeding["compartment"]},
    }
    return yaml_text(document, header)


def print_fit(console: Console, fit: dict) -> None:
    table = Table(title=f"{fit['env']} fitted to {fit['target']['name']} (loss {fit['loss']['value']:.6g})")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    table.add_column("free / bounds")
    for name, value in fit["fitted"].items():
        bounds = fit["bounds"].get(name)
        note = f"[{bounds[0]:g}, {bounds[1]:g}]" + (" at bound" if name in fit["at_bound"] else "") if bounds else "fixed"
        table.add_row(name, f"{value:g}", note)
    table.add_row("seed time", fit["seed_time"], "sim day 0")
    for key, value in fit["r2"].items():
        table.add_row(f"R² {R2_LABELS[key]}", "-" if value is None else f"{value:.4f}", "")
    console.print(table)
