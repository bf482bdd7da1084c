"""Memory agents against lockdown schedules on the paper's evaluation scenario (Ohi et al. 2020,
Table 2 and Figs. 16-22): one column per agent, and the paper's stated numbers beside ours.

Inputs are plain tables: ``metrics`` (one row per episode: agent, metrics.csv columns), ``curves``
(agent, seed, day, I, ...) and the paper's statements (conf/published/ohi2020.csv).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from epictl.atomic import write_atomic
from epictl.paths import CONF_DIR
from epictl.report.statistics import CI_NOTE, TRAIN_SEED, cell_statistics, mean_ci, paired_difference
from epictl.report.units import label

PAPER_CSV = CONF_DIR / "published" / "ohi2020.csv"
COLUMNS = ["days", "infected_pct", "deaths_pct", "peak_active_pct", "peak_day", "economy_mean", "economy_total",
           "reward_mean", "reward_total", "level0_pct", "level1_pct", "level2_pct"]
TABLE2_NOTE = ("The paper's Table 2 (its memory agents M7-M60 compared) is an image without numbers in the "
               "text we have, so no paper column can be set beside ours for it.")


def load_paper(path: Path | str = PAPER_CSV) -> pd.DataFrame:
    """figure, key, metric, paper, note: what the paper's text states, as text ("> 80", "34.5")."""
    return pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)


def agents_table(metrics: pd.DataFrame, paper: pd.DataFrame, title: str, notes: list[str]) -> tuple[pd.DataFrame, str]:
    """Long table (agent, metric, mean, std, episodes, ci_low, ci_high, train_runs, paper) and its markdown."""
    agents = list(dict.fromkeys(metrics["agent"]))
    columns = [c for c in COLUMNS if c in metrics.columns]
    long = cell_statistics(metrics, ["agent"], columns)
    stated = paper[paper["figure"].str.startswith("Fig. 1") | paper["figure"].str.startswith("Fig. 2")]
    lookup = {(key, metric): text for key, metric, text in stated[["key", "metric", "paper"]].itertuples(index=False)}
    long["paper"] = [lookup.get((a, m), "") for a, m in long[["agent", "metric"]].itertuples(index=False)]
    stats = long.set_index(["agent", "metric"])

    def ours(agent: str, metric: str) -> str:
        if (agent, metric) not in stats.index:
            return "not run"
        return mean_ci(*stats.loc[(agent, metric), ["mean", "ci_low", "ci_high"]])

    lines = [f"# {title}", "", *notes, "", f"Cells: {CI_NOTE}.", "",
             "| Metric | " + " | ".join(agents) + " |", "|---|" + "---|" * len(agents)]
    for column in columns:
        lines.append(f"| {label(column)} | " + " | ".join(ours(agent, column) for agent in agents) + " |")
    lines.append("| Episodes | " + " | ".join(str(int((metrics["agent"] == a).sum())) for a in agents) + " |")
    lines.append("| Training runs | " + " | ".join(str(stats.loc[a, "train_runs"].iloc[0]) for a in agents) + " |")
    lines += memory_against_schedules(metrics)
    lines += ["", "## Beside the paper", "", "| Agent | Metric | Ours | Paper | Source | Note |", "|---|---|---|---|---|---|"]
    for figure, key, metric, text, note in stated.itertuples(index=False):
        lines.append(f"| {key} | {label(metric)} | {ours(key, metric)} | {text} | {figure} | {note} |")
    lines += ["", TABLE2_NOTE]
    return long, "\n".join(lines) + "\n"


def memory_against_schedules(metrics: pd.DataFrame) -> list[str]:
    """Each trained agent (rows with a train_seed) minus the schedule with the best mean total reward, paired
    on the evaluation seeds; none without trained agents or schedules."""
    if TRAIN_SEED not in metrics.columns or "reward_total" not in metrics.columns:
        return []
    trained = metrics[TRAIN_SEED].notna()
    if not trained.any() or trained.all():
        return []
    best = metrics[~trained].groupby("agent", sort=False)["reward_total"].mean().idxmax()
    lines = ["", f"## Trained agents against the best schedule ({best}, highest mean total reward)", "",
             "Difference in total reward (higher is better) on the evaluation seeds both have, each agent averaged "
             "over its training runs per seed; 95 % CI: paired two-level bootstrap; p: exact two-sided sign-flip test.",
             ""]
    for agent in dict.fromkeys(metrics.loc[trained, "agent"]):
        rows = metrics[trained & (metrics["agent"] == agent)]
        result = paired_difference(rows, metrics[metrics["agent"] == best], "reward_total")
        if result is None:
            lines.append(f"- {agent} - {best}: no evaluation seed in common")
            continue
        interval, test = result
        lines.append(f"- {agent} - {best}: {interval.mean:.2f} (95 % CI [{interval.low:.2f}, {interval.high:.2f}]), "
                     f"sign-flip p = {test.p_value:.3g} ({test.pairs} seeds, {rows[TRAIN_SEED].nunique()} training runs)")
    return lines


def active_figure(curves: pd.DataFrame, population: int, path: Path, title: str) -> None:
    """Mean active cases (percent of N) per agent over days, each episode held at 0 after it ended (Fig. 22)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    last = int(curves["day"].max())
    for agent, block in curves.groupby("agent", sort=False):
        active = block.pivot_table(index="day", columns="seed", values="I").reindex(range(last + 1)).fillna(0.0)
        ax.plot(active.index, 100 * active.mean(axis=1) / population, label=agent)
    ax.set_xlabel("day")
    ax.set_ylabel("active cases (% of the population)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)

