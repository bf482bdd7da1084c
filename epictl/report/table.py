"""Paper-style tables: (experiment, metric) rows, one column per agent, mean ± 95 % CI.

The CI is over training runs x evaluation seeds (epictl.report.statistics: two-level bootstrap). With a
published table (`epictl table compare=table3`) every agent gets two cells, ours and the paper's (mean
(std) as published), and the markdown ends with the gain of the reference agent over the strongest
baseline, ours with its paired bootstrap CI and the paper's (see epictl.report.published for the
definition), and paired sign-flip tests of the reference against that baseline.
"""

from __future__ import annotations

import pandas as pd

from epictl.report.published import PAPER_CITY, Gain, agent_order, relative_gain
from epictl.report.statistics import (CI_NOTE, Comparison, GainInterval, cell_statistics, gain_interval,
                                      mean_ci, paired_comparison)
from epictl.report.units import label, table_metrics

MATCH = ["experiment", "agent", "metric"]


def long_table(metrics: pd.DataFrame, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """experiment, env, agent, metric, mean, std, episodes, ci_low, ci_high, train_runs (+ paper_mean,
    paper_std): machine-readable."""
    table = cell_statistics(metrics, ["experiment", "env", "agent"], table_metrics(metrics.columns))
    if published is None:
        return table
    paper = published[[*MATCH, "mean", "std"]].rename(columns={"mean": "paper_mean", "std": "paper_std"})
    return table.merge(paper, on=MATCH, how="left")


def markdown_table(metrics: pd.DataFrame, title: str, published: pd.DataFrame | None = None,
                   compare: str | None = None, reference_agent: str = "hrl") -> str:
    agents = list(dict.fromkeys(metrics["agent"])) if published is None else agent_order(metrics["agent"])
    if published is None:
        header, note = " | ".join(agents), f"Ours: {CI_NOTE}."
    else:
        header = " | ".join(f"{a} (ours) | {a} (paper)" for a in agents)
        note = f"Ours: {CI_NOTE}; paper: mean (std) as published."
    columns = len(agents) * (1 if published is None else 2)
    lines = [f"# {title}", "", note, "", f"| Exp | City | Metric | {header} |", "|---|---|---|" + "---|" * columns]
    stats = long_table(metrics).set_index(["experiment", "env", "agent", "metric"])
    paper = None if published is None else published.set_index(MATCH)
    for experiment, env in metrics[["experiment", "env"]].drop_duplicates().itertuples(index=False):
        for column in table_metrics(metrics.columns):
            cells = []
            for agent in agents:
                key = (experiment, env, agent, column)
                cells.append(mean_ci(*stats.loc[key, ["mean", "ci_low", "ci_high"]]) if key in stats.index else "-")
                if paper is not None:
                    key = (experiment, agent, column)
                    cells.append(f"{paper.at[key, 'mean']:.2f} ({paper.at[key, 'std']:.2f})" if key in paper.index else "-")
            lines.append(f"| {experiment} | {env} | {label(column)} | " + " | ".join(cells) + " |")
    runs = stats.groupby(level="agent")["train_runs"].agg(["min", "max"])
    counts = metrics.groupby("agent")["seed"].count()
    lines += ["", "Training runs per agent: " + ", ".join(f"{a} {span(*runs.loc[a])}" for a in agents),
              "Episodes per agent: " + ", ".join(f"{a} {counts[a]}" for a in agents)]
    if published is not None:
        lines += ["", *comparison_notes(metrics, published, compare or "published", reference_agent)]
    return "\n".join(lines) + "\n"


def span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def comparison_notes(metrics: pd.DataFrame, published: pd.DataFrame, compare: str, reference: str) -> list[str]:
    """The gain of `reference` over the strongest baseline, ours (with its CI) and the paper's, then the
    paired tests of the reference against that baseline, as markdown lines."""
    columns = table_metrics(metrics.columns)
    ours = gain_interval(metrics, reference, columns)
    paper_cells = published.pivot_table(index=["experiment", "metric"], columns="agent", values="mean")
    lines = [f"Gain of {reference} over the strongest baseline: 1 - mean over (experiment, metric) cells of "
             f"{reference} / baseline; the strongest baseline is the other agent with the lowest mean of "
             "value / largest value in the cell.", "",
             f"- ours: {describe(ours.gain if ours else None, reference)}{interval(ours)}",
             f"- paper ({compare}, all its cells): {describe(relative_gain(paper_cells, reference), reference)}"]
    if ours is not None:
        baseline = ours.gain.baseline
        lines += ["", *paired_notes(paired_comparison(metrics, reference, baseline, columns), reference, baseline)]
    elsewhere = sorted({f"{e} on {c}" for e, c in metrics[["experiment", "env"]].itertuples(index=False)
                        if e in PAPER_CITY and c != PAPER_CITY[e] and not c.startswith(f"{PAPER_CITY[e]}_")})
    if elsewhere:
        lines += ["", f"Note: not on the paper's city: {', '.join(elsewhere)}; there the paper's numbers only fill the layout."]
    return lines


def describe(gain: Gain | None, reference: str) -> str:
    if gain is None:
        return f"- (needs {reference} and at least one other agent in the same cells)"
    return f"{100 * gain.gain:.2f} % over {gain.baseline} ({gain.cells} cells)"


def interval(gain: GainInterval | None) -> str:
    if gain is None:
        return ""
    if pd.isna(gain.low):
        return ", no CI (the two agents share no evaluation seed)"
    return (f", 95 % CI [{100 * gain.low:.2f}, {100 * gain.high:.2f}] % (paired bootstrap: evaluation seeds "
            "drawn once for both agents, training runs per agent)")


def paired_notes(comparison: Comparison, reference: str, baseline: str) -> list[str]:
    """A table of the paired tests per cell and the overall line."""
    lines = [f"Paired comparison per cell: {reference} - {baseline} on the evaluation seeds both have, each "
             "averaged over its training runs per seed; exact two-sided sign-flip test.", "",
             f"| Exp | City | Metric | {reference} - {baseline} | p |", "|---|---|---|---|---|"]
    for experiment, env, metric, difference, p_value, _ in comparison.cells.itertuples(index=False):
        shown = ("-", "-") if pd.isna(difference) else (f"{difference:.2f}", f"{p_value:.3g}")
        lines.append(f"| {experiment} | {env} | {label(metric)} | {shown[0]} | {shown[1]} |")
    tested = comparison.cells["difference"].dropna()
    overall = comparison.overall
    summary = f"{reference} lower than {baseline} on {int((tested < 0).sum())} of {len(tested)} cells"
    if overall is None:
        return [*lines, "", f"{summary}."]
    return [*lines, "", f"{summary}; overall sign-flip p = {overall.p_value:.3g} ({overall.pairs} (experiment, seed) "
            "pairs, each the mean over metrics of the difference / the largest agent mean in the cell)."]
