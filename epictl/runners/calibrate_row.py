"""`epictl calibrate` to published table rows: fit a synthetic city's unstated properties to blank-control outcomes.

Every discrete choice (the seeds' compartment x shared free phase or not) gets its own fit of the continuous
parameters (mobility intensity and range); the best of them is the answer (epictl/calibration/table_row.py).
Writes fit.yaml (each choice's fitted values and loss, and the best), loss_history.csv, rows.csv (each row metric:
the paper's mean and std beside ours, for every choice's best), summary.md and fitted_env.yaml (an env ready to
copy into conf/env/) to the run folder.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from epictl.calibration.blank_control import scaled_spec
from epictl.calibration.row_config import MOVE_SHARES
from epictl.calibration.row_objective import RowEvaluation, RowObjective
from epictl.calibration.search import minimise
from epictl.calibration.table_row import RowSettings, resolve_rows, row_target_path
from epictl.report.calibration import row_summary_markdown, yaml_text
from epictl.report.files import write_csv, write_text
from epictl.runners.progress import progress_bar

OPTIMISER = ("per discrete choice: a seeded Latin-hypercube search, then Nelder-Mead (scipy.optimize), of the "
             "continuous parameters on a log scale")
LOSS = ("sum over rows and metrics of ((ours_mean - paper_mean) / paper_mean)^2 + ((ours_std - paper_std) / "
        "paper_mean)^2, means and stds (ddof 1) over the runs")


def significant(value: float) -> float:
    """Six significant digits, for fit.yaml (small losses keep their precision)."""
    return float(f"{value:.6g}")


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    began = time.perf_counter()
    settings = resolve_rows(cfg, row_target_path(cfg.target))
    fit, dimensions = settings.fit, len(settings.space.free)
    per_choice = fit.search_points + fit.max_evaluations if dimensions else 1
    objectives = []
    with progress_bar(cfg.progress) as bar:
        task = bar.add_task(f"fitting {settings.env.name} to {settings.target.name}",
                            total=per_choice * len(settings.choices))
        for done, choice in enumerate(settings.choices, start=1):
            objective = RowObjective(settings, choice, lambda evaluation: bar.advance(task))
            minimise(objective, dimensions, fit.search_points, fit.max_evaluations, cfg.seed)
            objectives.append(objective)
            bar.update(task, completed=done * per_choice)
    bests = [objective.best for objective in objectives]
    best = min(bests, key=lambda evaluation: evaluation.loss)
    env_file = choices.get("env") or settings.env.name
    fitted_name = f"{env_file}_{fitted_suffix(settings)}"
    document = fit_document(cfg, settings, objectives, best, env_file, time.perf_counter() - began)
    rows = rows_frame(bests, best)

    write_csv(out_dir / "loss_history.csv", history_frame(objectives))
    write_csv(out_dir / "rows.csv", rows)
    write_text(out_dir / "fit.yaml", yaml_text(document, f"epictl calibrate: {env_file} fitted to {settings.target.name}"))
    write_text(out_dir / "fitted_env.yaml", fitted_env(document, env_file, fitted_name))
    write_text(out_dir / "summary.md", row_summary_markdown(document, rows[rows["best"]]))
    print_fit(Console(), document, rows[rows["best"]])
    print(f"wrote {out_dir}")


def fitted_suffix(settings: RowSettings) -> str:
    """The published table when every row comes from one (beijing_table3), else the target's name."""
    tables = {row.table for row in settings.target.rows}
    return tables.pop() if len(tables) == 1 else settings.target.name


def city_fields(settings: RowSettings, evaluation: RowEvaluation) -> dict[str, float]:
    """The synthetic city's fields at ``evaluation``, as the simulated cities had them."""
    spec = scaled_spec(settings.env.city.synthetic, evaluation.values["move_scale"],
                       evaluation.values["gravity_scale_km"])
    return {name: getattr(spec, name) for name in ("gravity_scale_km", *MOVE_SHARES)}


def choice_document(settings: RowSettings, objective: RowObjective) -> dict:
    best = objective.best
    return {
        "initial_compartment": best.choice.initial_compartment, "free_phase_seed": best.choice.free_phase_seed,
        **{name: significant(value) for name, value in best.values.items()},
        "loss": significant(best.loss), "evaluations": len(objective.history),
        "at_bound": settings.space.at_bound(best.values),
    }


def fit_document(cfg: DictConfig, settings: RowSettings, objectives: list[RowObjective], best: RowEvaluation,
                 env_file: str, seconds: float) -> dict:
    target, space = settings.target, settings.space
    history = [evaluation for objective in objectives for evaluation in objective.history]
    return {
        "env": env_file,
        "target": {"name": target.name, "spec": str(cfg.target), "description": target.description, "file": str(target.path),
                   "published": str(target.published), "rows": [row.label for row in target.rows]},
        "fitted": {"initial_compartment": best.choice.initial_compartment,
                   "free_phase_seed": best.choice.free_phase_seed,
                   **{name: significant(value) for name, value in best.values.items()},
                   "loss": significant(best.loss), "at_bound": space.at_bound(best.values)},
        "city": city_fields(settings, best),
        "choices": [choice_document(settings, objective) for objective in objectives],
        "free": list(space.free),
        "bounds": {name: list(bounds) for name, bounds in space.bounds.items()},
        "fixed": dict(space.fixed),
        "scenarios": [{"row": row.label, "initial_cases": env.scenario.initial_cases,
                       "initial_regions": env.scenario.initial_regions, "free_days": env.scenario.free_days,
                       "controlled_days": env.scenario.controlled_days, "metric_window": env.metric_window}
                      for row, env in zip(target.rows, settings.row_envs)],
        "loss": {"formula": LOSS, "value": significant(best.loss)},
        "runs": int(cfg.runs), "seeds": list(settings.seeds),
        "optimiser": OPTIMISER, "evaluations": len(history),
        "seconds": round(seconds, 2),
        "seconds_per_evaluation": round(float(np.mean([e.seconds for e in history])), 4),
        "assumptions": [
            "Only what the paper does not state is fitted: the synthetic city's mobility intensity (move_scale "
            "multiplies every move share) and range (gravity_scale_km), the seeds' compartment and whether the "
            "runs share one free phase; disease, budgets and the scenario's cases, regions and days are the paper's.",
            "Each row is its experiment's scenario (the env: block of conf/experiment/<experiment>.yaml on this env) "
            "under the blank control: no beds, no masks, every day.",
            f"Every candidate replays seeds {settings.seeds[0]}..{settings.seeds[-1]} (common random numbers).",
        ],
    }


def history_frame(objectives: list[RowObjective]) -> pd.DataFrame:
    frames = []
    for objective in objectives:
        frame = pd.DataFrame([{"initial_compartment": e.choice.initial_compartment,
                               "free_phase_seed": e.choice.free_phase_seed, "evaluation": e.number, "stage": e.stage,
                               **e.values, "loss": e.loss, "seconds": e.seconds} for e in objective.history])
        frame["best_loss"] = frame["loss"].cummin()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def rows_frame(bests: list[RowEvaluation], best: RowEvaluation) -> pd.DataFrame:
    """Every choice's best evaluation, row by row and metric by metric; ``best`` marks the overall best."""
    frames = [evaluation.rows.assign(initial_compartment=evaluation.choice.initial_compartment,
                                     free_phase_seed=evaluation.choice.free_phase_seed, best=evaluation is best,
                                     **evaluation.values) for evaluation in bests]
    frame = pd.concat(frames, ignore_index=True)
    first = ["initial_compartment", "free_phase_seed", "best", *bests[0].values]
    return frame[first + [column for column in frame.columns if column not in first]]


def fitted_env(fit: dict, env_file: str, fitted_name: str) -> str:
    """An env config with the fitted city and scenario on top of the calibrated env (copy it to conf/env/)."""
    fitted = fit["fitted"]
    header = (f"{env_file} with what the paper leaves unstated fitted to its rows {', '.join(fit['target']['rows'])}\n"
              f"by `epictl calibrate env={env_file} target={fit['target']['spec']}` on {dt.date.today()}: loss "
              f"{fitted['loss']:.6g} over {fit['runs']} runs a row\n"
              "(the run folder's rows.csv and summary.md set each metric beside the paper's). Fitted, and nothing "
              "else:\n"
              f"mobility intensity (move_scale {fitted['move_scale']:g} on every move share), mobility range "
              "(gravity_scale_km),\n"
              "the seeds' compartment and the shared free phase; disease, budgets and the scenario's cases, regions "
              "and days\n"
              "stay the paper's.\n"
              f"Copy to conf/env/{fitted_name}.yaml and run e.g. epictl eval env={fitted_name} agent=no_medical.")
    document = {
        "defaults": [env_file, "_self_"],
        "name": fitted_name,
        "city": {"synthetic": fit["city"]},
        "scenario": {"initial_compartment": fitted["initial_compartment"], "free_phase_seed": fitted["free_phase_seed"]},
    }
    return yaml_text(document, header)


def print_fit(console: Console, fit: dict, rows: pd.DataFrame) -> None:
    fitted = fit["fitted"]
    table = Table(title=f"{fit['env']} fitted to {fit['target']['name']} (loss {fitted['loss']:.4g}): "
                        f"seeds in {fitted['initial_compartment']}, free_phase_seed {fitted['free_phase_seed']}, "
                        f"move_scale {fitted['move_scale']:.4g}, gravity_scale_km {fitted['gravity_scale_km']:.4g}")
    for column in ("experiment", "metric", "paper mean (std)", "ours mean (std)"):
        table.add_column(column, justify="right" if "mean" in column else "left")
    for line in rows.itertuples(index=False):
        table.add_row(line.experiment, line.metric, f"{line.paper_mean:.2f} ({line.paper_std:.2f})",
                      f"{line.ours_mean:.2f} ({line.ours_std:.2f})")
    console.print(table)
