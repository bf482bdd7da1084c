"""The contact-tracing city table (IDRLECA, Feng et al.; PAPW 2020 rules): every policy in every scenario, and the
paper's stated claims checked on our numbers (its Tables 2-4 are lost from the available text, spec §13).

Input: one row per evaluation episode with the columns scenario, agent, seed and metrics.csv's (score, infected,
cost, mobility_retained_pct, peak_hospitalised). Mean ± s.e. over evaluation episodes.
"""

from __future__ import annotations

import math

import pandas as pd

from epictl.envs.contacts_family import ScoreSettings

POLICIES = ["none", "lockdown", "trace_contacts", "prob_threshold", "idrleca", "idrleca_nograph", "idrleca_noep"]
# Context, outside the claims: no intervention and no hospital rule either (the epidemic the rule prevents).
UNTREATED = "none_no_hospital_rule"
LABELS = {UNTREATED: "No intervention, no hospital rule", "none": "No intervention", "lockdown": "Lockdown",
          "trace_contacts": "Contact tracing",
          "prob_threshold": "Probability threshold", "idrleca": "IDRLECA", "idrleca_nograph": "RL-NoGraph",
          "idrleca_noep": "RL-NoEP"}
HEURISTICS = ("none", "lockdown", "trace_contacts", "prob_threshold")
COLUMNS = {"score": "Score", "infected": "Infected I", "cost": "Cost Q", "mobility_retained_pct": "Mobility retained (%)",
           "peak_hospitalised": "Peak hospitalised"}


def episode_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and agent: mean and s.e. over episodes of every table column, and the episodes counted."""
    rows = []
    for (scenario, agent), block in frame.groupby(["scenario", "agent"], sort=False):
        row = {"scenario": scenario, "agent": agent, "episodes": len(block)}
        for column in COLUMNS:
            values = block[column].astype(float)
            row[column] = float(values.mean())
            row[f"{column}_se"] = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def claims(stats: pd.DataFrame) -> list[str]:
    """The paper's stated claims (spec §13) for each scenario, as 'holds' / 'does not hold' with our numbers."""
    lines = []
    for scenario, block in stats[stats["agent"] != UNTREATED].groupby("scenario", sort=False):
        at = block.set_index("agent")
        lines.append(f"**{scenario}**")
        if "idrleca" in at.index:
            best = at["score"].idxmin()
            lines.append(f"- IDRLECA has the best Score: {verdict(best == 'idrleca')} (best: {LABELS.get(best, best)}, "
                         f"{at.loc[best, 'score']:.4g}; IDRLECA {at.loc['idrleca', 'score']:.4g})")
            mobility = at.loc["idrleca", "mobility_retained_pct"]
            lines.append(f"- IDRLECA keeps > 95 % of mobility: {verdict(mobility > 95.0)} ({mobility:.2f} %)")
            heuristics = at[at.index.isin(HEURISTICS)]
            if len(heuristics):
                rival = heuristics["score"].idxmin()
                fewer = at.loc["idrleca", "infected"] < at.loc[rival, "infected"]
                cheaper = at.loc["idrleca", "cost"] < at.loc[rival, "cost"]
                lines.append(f"- vs the best heuristic ({LABELS[rival]}), fewer infections and lower cost: "
                             f"{verdict(fewer and cheaper)} (I {at.loc['idrleca', 'infected']:.1f} vs "
                             f"{at.loc[rival, 'infected']:.1f}; Q {at.loc['idrleca', 'cost']:.1f} vs {at.loc[rival, 'cost']:.1f})")
        if "lockdown" in at.index:
            fewest, dearest = at["infected"].idxmin(), at["cost"].idxmax()
            lines.append(f"- Lockdown has the fewest infections and the highest cost: "
                         f"{verdict(fewest == 'lockdown' and dearest == 'lockdown')} (fewest: {LABELS.get(fewest, fewest)}; "
                         f"highest cost: {LABELS.get(dearest, dearest)})")
        if "none" in at.index:
            peak = at["peak_hospitalised"].idxmax()
            lines.append(f"- No intervention overwhelms hospitals, read as the highest peak of hospitalised people: "
                         f"{verdict(peak == 'none')} (none: {at.loc['none', 'peak_hospitalised']:.0f}; highest: "
                         f"{LABELS.get(peak, peak)} {at.loc[peak, 'peak_hospitalised']:.0f})")
        lines.append("")
    return lines


def verdict(holds: bool) -> str:
    return "holds" if holds else "**does not hold**"


def papw_table(frame: pd.DataFrame, score: ScoreSettings, notes: list[str]) -> tuple[pd.DataFrame, str]:
    """Long table and markdown: per scenario, every policy's Score, I, Q, mobility and peak hospitalised."""
    scenarios = list(dict.fromkeys(frame["scenario"]))
    stats = episode_stats(frame)
    rank = {agent: i for i, agent in enumerate([UNTREATED, *POLICIES])}
    stats = (stats.assign(scenario_rank=stats["scenario"].map(scenarios.index),
                          agent_rank=stats["agent"].map(lambda agent: rank.get(agent, len(rank))))
             .sort_values(["scenario_rank", "agent_rank"], kind="stable")
             .drop(columns=["scenario_rank", "agent_rank"]).reset_index(drop=True))
    # the official script over several plays: I and Q averaged first, then the Score (spec §9)
    stats["challenge_score"] = [score.of(i, q) for i, q in zip(stats["infected"], stats["cost"])]
    lines = ["# Contact tracing and intervention in the PAPW city (IDRLECA)", "", *notes, "",
             "Mean ± s.e. over evaluation episodes. Score = exp(I/θ_I) + exp(Q/θ_Q), lower is better; "
             "'Score of means' combines the mean I and Q as the challenge's script does over plays.", ""]
    for scenario in scenarios:
        block = stats[stats["scenario"] == scenario]
        lines += [f"## {scenario}", "", "| policy | " + " | ".join(COLUMNS.values()) + " | Score of means | episodes |",
                  "|---|" + "---|" * (len(COLUMNS) + 2)]
        for row in block.itertuples(index=False):
            row = row._asdict()
            cells = [f"{row[c]:.4g} ± {row[f'{c}_se']:.2g}" for c in COLUMNS]
            lines.append(f"| {LABELS.get(row['agent'], row['agent'])} | " + " | ".join(cells)
                         + f" | {row['challenge_score']:.4g} | {row['episodes']} |")
        lines.append("")
    lines += ["## The paper's stated claims on our numbers", "", *claims(stats)]
    return stats, "\n".join(lines) + "\n"
