"""The age-stratified city table (Deshkar et al. 2023): for every experiment and kappa scenario, the schedule DDPG
chooses beside the paper's finding, and the outcomes of every policy (mean ± s.e. over evaluation episodes); the
figure of daily curves per experiment like the paper's.

Input: one row per evaluation episode with the columns experiment, scenario, agent, seed and metrics.csv's; for the
figure, the curves of those episodes (experiment, scenario, agent, seed, day and the log's columns).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from epictl.atomic import write_atomic
from epictl.envs.abm_schedule import INTERVENTIONS

LEARNER = "ddpg"
BASELINES = ["abm_nothing", "abm_full_lockdown", "abm_vaccinate", "abm_partial_lockdown"]
PAPER_POLICY = "abm_paper_schedule"  # the paper's DDPG schedule, evaluated as a fixed policy
POLICIES = [LEARNER, PAPER_POLICY, *BASELINES]
LABELS = {LEARNER: "DDPG (ours)", PAPER_POLICY: "Paper's DDPG schedule", "abm_nothing": "1: nothing",
          "abm_full_lockdown": "2: full lockdown + vaccination", "abm_vaccinate": "3: vaccination only",
          "abm_partial_lockdown": "4: 30-day lockdown + vaccination"}
SCENARIOS = {"balanced": "Sc1 (κ = 1)", "health": "Sc2 (κ = 0.2)", "economy": "Sc3 (κ = 5)"}
COLUMNS = {"below_poverty_pct": "Below poverty line, day 100 (%)", "deceased_pct": "Deceased (%)",
           "hospitalised_pct": "Ever hospitalised (%)", "infected_pct": "Infected (%)", "total_reward": "TRew"}
# The paper's finding, the same in all 4 experiments and 3 scenarios [paper §4]: (start, end) in days, None = never.
PAPER_SCHEDULE = {"lockdown": None, "vaccination_0-17": None, "vaccination_18-59": (0.0, 41.0),
                  "vaccination_60-99": (0.0, 100.0)}
AGREE_DAYS = 5.0  # a window agrees with the paper's when both ends are within this many days [epictl]
FIGURE_CURVES = {"below_poverty": "Below poverty line", "deceased": "Deceased", "hospitalised": "Hospitalised",
                 "cumulative_infected": "Total infected"}


def window(row, name: str) -> tuple[float, float] | None:
    start, end = float(row[f"{name}_start"]), float(row[f"{name}_end"])
    return None if end <= start else (start, end)


def shown(span: tuple[float, float] | None) -> str:
    return "never" if span is None else f"{span[0]:g}–{span[1]:g}"


def agrees(ours: tuple[float, float] | None, paper: tuple[float, float] | None) -> bool:
    if ours is None or paper is None:
        return ours is paper
    return abs(ours[0] - paper[0]) <= AGREE_DAYS and abs(ours[1] - paper[1]) <= AGREE_DAYS


def schedules(frame: pd.DataFrame) -> pd.DataFrame:
    """DDPG's schedule per experiment and scenario (a deterministic policy: the same on every episode), and whether
    each window agrees with the paper's finding."""
    rows = []
    for (experiment, scenario), block in frame[frame["agent"] == LEARNER].groupby(["experiment", "scenario"], sort=False):
        first = block.iloc[0]
        row = {"experiment": experiment, "scenario": scenario}
        for name in INTERVENTIONS:
            ours = window(first, name)
            row[name] = shown(ours)
            row[f"{name}_as_paper"] = agrees(ours, PAPER_SCHEDULE[name])
        rows.append(row)
    return pd.DataFrame(rows)


def outcome_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Per experiment, scenario and policy: mean and s.e. over episodes of every table column."""
    rows = []
    for (experiment, scenario, agent), block in frame.groupby(["experiment", "scenario", "agent"], sort=False):
        row = {"experiment": experiment, "scenario": scenario, "agent": agent, "episodes": len(block)}
        for column in COLUMNS:
            values = block[column].astype(float)
            row[column] = float(values.mean())
            row[f"{column}_se"] = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
        rows.append(row)
    order = {agent: i for i, agent in enumerate(POLICIES)}
    stats = pd.DataFrame(rows)
    return (stats.assign(agent_rank=stats["agent"].map(lambda agent: order.get(agent, len(order))))
            .sort_values(["experiment", "scenario", "agent_rank"], kind="stable", key=scenario_order)
            .drop(columns="agent_rank").reset_index(drop=True))


def scenario_order(values: pd.Series) -> pd.Series:
    return values.map(list(SCENARIOS).index) if values.name == "scenario" else values


def abm_table(frame: pd.DataFrame, notes: list[str]) -> tuple[pd.DataFrame, str]:
    """Long table (the outcome statistics) and markdown: DDPG's schedules against the paper's, then the outcomes."""
    chosen = schedules(frame)
    stats = outcome_stats(frame)
    lines = ["# Lockdown and vaccination schedules in the age-stratified city (Deshkar et al. 2023)", "", *notes, "",
             "## The schedule DDPG chooses", "",
             f"Windows in days [start, end); 'never' = duration 0. ✓ = within {AGREE_DAYS:g} days of the paper's finding "
             "(the same in every experiment and scenario).", "",
             "| experiment | scenario | " + " | ".join(INTERVENTIONS) + " |", "|---|---|" + "---|" * len(INTERVENTIONS),
             "| paper | all | " + " | ".join(shown(PAPER_SCHEDULE[name]) for name in INTERVENTIONS) + " |"]
    for row in chosen.to_dict("records"):
        cells = [f"{row[name]} {'✓' if row[f'{name}_as_paper'] else '✗'}" for name in INTERVENTIONS]
        lines.append(f"| {row['experiment']} | {SCENARIOS.get(row['scenario'], row['scenario'])} | " + " | ".join(cells) + " |")
    if len(chosen):
        agreement = {name: int(chosen[f"{name}_as_paper"].sum()) for name in INTERVENTIONS}
        lines += ["", "Agreement with the paper, cells out of " + f"{len(chosen)}: "
                  + ", ".join(f"{name} {count}" for name, count in agreement.items()) + "."]
    lines += ["", "## Outcomes", "", "Mean ± s.e. over evaluation episodes; TRew = HRew + κ·ERew in agents "
              "(higher is better).", ""]
    for (experiment, scenario), block in stats.groupby(["experiment", "scenario"], sort=False):
        lines += [f"### {experiment}, {SCENARIOS.get(scenario, scenario)}", "",
                  "| policy | " + " | ".join(COLUMNS.values()) + " | episodes |", "|---|" + "---|" * (len(COLUMNS) + 1)]
        for row in block.to_dict("records"):
            cells = [f"{row[c]:.4g} ± {row[f'{c}_se']:.2g}" for c in COLUMNS]
            lines.append(f"| {LABELS.get(row['agent'], row['agent'])} | " + " | ".join(cells) + f" | {row['episodes']} |")
        lines.append("")
    return stats, "\n".join(lines) + "\n"


def curves_figure(curves: pd.DataFrame, path: Path, title: str) -> None:
    """One row per experiment, one column per outcome (FIGURE_CURVES), a line per policy: the mean over episodes of
    the daily counts, as in the paper's figures. ``curves`` holds the balanced scenario's curves of every policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    experiments = list(dict.fromkeys(curves["experiment"]))
    fig, axes = plt.subplots(len(experiments), len(FIGURE_CURVES), figsize=(4 * len(FIGURE_CURVES), 3 * len(experiments)),
                             squeeze=False, sharex=True)
    for row, experiment in zip(axes, experiments):
        block = curves[curves["experiment"] == experiment]
        for ax, (column, label) in zip(row, FIGURE_CURVES.items()):
            for agent, lines in block.groupby("agent", sort=False):
                mean = lines.groupby("day")[column].mean()
                ax.plot(mean.index, mean.values, label=LABELS.get(agent, agent))
            ax.set_title(f"{experiment}: {label}", fontsize=9)
            ax.set_xlabel("day")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def mean_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """The figure's data: per experiment, policy and day, the mean over episodes of each plotted column."""
    return (curves.groupby(["experiment", "agent", "day"], sort=False)[list(FIGURE_CURVES)]
            .agg(np.mean).reset_index())


def tuning_table(frame: pd.DataFrame, notes: list[str]) -> tuple[pd.DataFrame, str]:
    """The sanity case (spec §9): per DDPG variant and training seed, the greedy schedule and its TRew (mean ± s.e.
    over evaluation episodes), beside fixed schedules (training_seed -1). Long table: one row per variant and seed."""
    rows = []
    for (variant, seed), block in frame.groupby(["variant", "training_seed"], sort=False):
        first = block.iloc[0]
        values = block["total_reward"].astype(float)
        row = {"variant": variant, "training_seed": int(seed), "episodes": len(block),
               "total_reward": float(values.mean()),
               "total_reward_se": float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan,
               "vaccinated_pct": float(block["vaccinated_pct"].mean()), "infected_pct": float(block["infected_pct"].mean())}
        row.update({name: shown(window(first, name)) for name in INTERVENTIONS})
        rows.append(row)
    stats = pd.DataFrame(rows)
    lines = ["# DDPG on the sanity case (free lockdown, perfect vaccines)", "", *notes, "",
             "| schedule | training seed | " + " | ".join(INTERVENTIONS) + " | Vaccinated (%) | Infected (%) | TRew |",
             "|---|---|" + "---|" * (len(INTERVENTIONS) + 3)]
    for row in rows:
        seed = "fixed" if row["training_seed"] < 0 else str(row["training_seed"])
        lines.append(f"| {row['variant']} | {seed} | " + " | ".join(row[name] for name in INTERVENTIONS)
                     + f" | {row['vaccinated_pct']:.1f} | {row['infected_pct']:.1f} | "
                       f"{row['total_reward']:.1f} ± {row['total_reward_se']:.2g} |")
    learned = stats[stats["training_seed"] >= 0]
    lines += ["", "| DDPG settings | TRew, mean over training seeds | seeds locking down from day 0 |", "|---|---|---|"]
    for variant, block in learned.groupby("variant", sort=False):
        early = sum(text != "never" and float(text.split("–")[0]) == 0.0 for text in block["lockdown"])
        lines.append(f"| {variant} | {block['total_reward'].mean():.1f} | {early} of {len(block)} |")
    return stats, "\n".join(lines) + "\n"
