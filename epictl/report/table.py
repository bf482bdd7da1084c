"""Paper-style tables: (experiment, metric) rows, one column per agent, mean (std) over episodes.

With a published table (`epictl table compare=table3`) every agent gets two cells, ours and the
paper's, and the markdown ends with the gain of the reference agent over the strongest baseline,
for ours and for the paper (see epictl.report.published for the definition).
"""

from __future__ import annotations

import pandas as pd

from epictl.report.published import PAPER_CITY, Gain, agent_order, relative_gain
from epictl.report.summary import mean_std, mean_std_long
from epictl.report.units import label, table_metrics

MATCH = ["experiment", "agent", "metric"]


def long_table(metrics: pd.DataFrame, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """experiment, env, agent, metric, mean, std, episodes (+ paper_mean, paper_std): machine-readable."""
    table = mean_std_long(metrics, ["experiment", "env", "agent"], table_metrics(metrics.columns))
    if published is None:
        return table
    paper = published[[*MATCH, "mean", "std"]].rename(columns={"mean": "paper_mean", "std": "paper_std"})
    return table.merge(paper, on=MATCH, how="left")


def markdown_table(metrics: pd.DataFrame, title: str, published: pd.DataFrame | None = None,
                   compare: str | None = None, reference_agent: str = "hrl") -> str:
    agents = list(dict.fromkeys(metrics["agent"])) if published is None else agent_order(metrics["agent"])
    if published is None:
        header = " | ".join(agents)
    else:
        header = " | ".join(f"{a} (ours) | {a} (paper)" for a in agents)
    columns = len(agents) * (1 if published is None else 2)
    lines = [f"# {title}", "", f"| Exp | City | Metric | {header} |", "|---|---|---|" + "---|" * columns]
    paper = None if published is None else published.set_index(MATCH)
    for (experiment, env), block in metrics.groupby(["experiment", "env"], sort=False):
        for column in table_metrics(metrics.columns):
            cells = []
            for agent in agents:
                rows = block.loc[block["agent"] == agent, column]
                cells.append(mean_std(rows) if len(rows) else "-")
                if paper is not None:
                    key = (experiment, agent, column)
                    cells.append(f"{paper.at[key, 'mean']:.2f} ({paper.at[key, 'std']:.2f})" if key in paper.index else "-")
            lines.append(f"| {experiment} | {env} | {label(column)} | " + " | ".join(cells) + " |")
    counts = metrics.groupby("agent")["seed"].count()
    lines += ["", "Episodes per agent: " + ", ".join(f"{a} {counts[a]}" for a in agents)]
    if published is not None:
        lines += ["", *comparison_notes(metrics, published, compare or "published", reference_agent)]
    return "\n".join(lines) + "\n"


def comparison_notes(metrics: pd.DataFrame, published: pd.DataFrame, compare: str, reference: str) -> list[str]:
    """The gain of `reference` over the strongest baseline, ours and the paper's, as markdown lines."""
    columns = table_metrics(metrics.columns)
    ours_cells = metrics.groupby(["experiment", "env", "agent"], sort=False)[columns].mean().stack()
    ours_cells = ours_cells.unstack("agent")  # rows (experiment, env, metric), one column per agent
    paper_cells = published.pivot_table(index=["experiment", "metric"], columns="agent", values="mean")
    lines = [f"Gain of {reference} over the strongest baseline: 1 - mean over (experiment, metric) cells of "
             f"{reference} / baseline; the strongest baseline is the other agent with the lowest mean of "
             "value / largest value in the cell.", "",
             f"- ours: {describe(relative_gain(ours_cells, reference), reference)}",
             f"- paper ({compare}, all its cells): {describe(relative_gain(paper_cells, reference), reference)}"]
    elsewhere = sorted({f"{e} on {c}" for e, c in metrics[["experiment", "env"]].itertuples(index=False)
                        if e in PAPER_CITY and c != PAPER_CITY[e]})
    if elsewhere:
        lines += ["", f"Note: not on the paper's city: {', '.join(elsewhere)}; there the paper's numbers only fill the layout."]
    return lines


def describe(gain: Gain | None, reference: str) -> str:
    if gain is None:
        return f"- (needs {reference} and at least one other agent in the same cells)"
    return f"{100 * gain.gain:.2f} % over {gain.baseline} ({gain.cells} cells)"
