"""Published results (KDD'21 Tables 3-4) and the paper's headline: gain over the strongest baseline.

The numbers live in `conf/published/kdd21_tables.csv` (columns table, experiment, agent, metric,
mean, std; metric names as in metrics.csv), found through epictl.paths.CONF_DIR.

Gain (paper §4.4: "averaging the four metrics relative to the strongest baseline, DQN expert = 1.0"):
gain = 1 - mean over the (experiment, metric) cells of reference / baseline. The paper does not
define "strongest"; epictl takes the non-reference agent with the lowest mean over cells of
value / (largest value of any agent in that cell), so every metric weighs the same whatever its
scale. On the published tables that is dqn_expert (Table 3: 0.342 vs expert_seriousness 0.382;
Table 4: 0.354 vs expert_population 0.544) and the gains are 11.00 % and 14.25 %, as published.
Only cells where every agent has a value and the largest value is positive count; cells where the
chosen baseline is 0 are left out of the gain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from epictl.errors import EpictlError
from epictl.paths import CONF_DIR
from epictl.report.units import METRIC_COLUMNS

PUBLISHED_CSV = CONF_DIR / "published" / "kdd21_tables.csv"
COLUMNS = ["table", "experiment", "agent", "metric", "mean", "std"]
KEYS = ["table", "experiment", "agent", "metric"]
# The paper's column order, and the city each experiment used (Table 2).
AGENT_ORDER = ["no_medical", "expert_seriousness", "expert_population", "dqn_greedy", "dqn_expert", "hrl"]
PAPER_CITY = {"kdd21_exp1": "beijing", "kdd21_exp2": "beijing", "kdd21_exp3": "shanghai"}


def load_published(path: Path | str | None = None) -> pd.DataFrame:
    """Every published cell: table, experiment, agent, metric, mean, std (`#` lines are comments)."""
    path = Path(path) if path is not None else PUBLISHED_CSV
    if not path.is_file():
        raise EpictlError(f"{path}: published results table not found")
    try:
        frame = pd.read_csv(path, comment="#", skipinitialspace=True)
    except (OSError, ValueError) as exc:
        raise EpictlError(f"{path}: unreadable published table ({' '.join(str(exc).split())})") from None
    if list(frame.columns) != COLUMNS:
        raise EpictlError(f"{path}: columns {list(frame.columns)}, expected {COLUMNS}")
    for column in KEYS:
        frame[column] = frame[column].astype(str).str.strip()
    numbers = frame[["mean", "std"]].apply(pd.to_numeric, errors="coerce")
    if frame.empty or numbers.isna().any().any() or (numbers < 0).any().any():
        raise EpictlError(f"{path}: every row needs a non-negative numeric mean and std")
    frame[["mean", "std"]] = numbers
    unknown = sorted(set(frame["metric"]) - set(METRIC_COLUMNS))
    if unknown:
        raise EpictlError(f"{path}: unknown metric {unknown[0]!r}; use {', '.join(METRIC_COLUMNS)}")
    duplicated = frame.duplicated(KEYS)
    if duplicated.any():
        raise EpictlError(f"{path}: duplicate row {', '.join(frame.loc[duplicated.idxmax(), KEYS])}")
    return frame


def published_table(name: str, path: Path | str | None = None) -> pd.DataFrame:
    """One published table (e.g. table3): experiment, agent, metric, mean, std."""
    frame = load_published(path)
    names = list(dict.fromkeys(frame["table"]))
    if name not in names:
        raise EpictlError(f"compare={name!r}: no such published table; choose one of {', '.join(names)}")
    return frame[frame["table"] == name].drop(columns="table").reset_index(drop=True)


def agent_order(agents) -> list[str]:
    """The paper's column order first, then any other agents as they come."""
    agents = list(dict.fromkeys(agents))
    return [a for a in AGENT_ORDER if a in agents] + [a for a in agents if a not in AGENT_ORDER]


@dataclass
class Gain:
    gain: float  # 1 - mean(reference / baseline): 0.11 = 11 % lower on average
    baseline: str  # the strongest baseline
    cells: int  # cells averaged
    scores: dict[str, float]  # each candidate's mean of value / worst value in the cell


def relative_gain(cells: pd.DataFrame, reference: str) -> Gain | None:
    """`cells`: one row per (experiment, metric) cell, one column per agent, mean values.

    None when the reference or any other agent is missing, or no cell is complete.
    """
    if reference not in cells.columns or len(cells.columns) < 2:
        return None
    complete = cells.dropna()
    complete = complete[complete.max(axis=1) > 0]
    if complete.empty:
        return None
    normalised = complete.div(complete.max(axis=1), axis=0)
    scores = {agent: float(normalised[agent].mean()) for agent in complete.columns if agent != reference}
    baseline = min(scores, key=scores.get)
    usable = complete[complete[baseline] > 0]
    if usable.empty:
        return None
    ratio = usable[reference] / usable[baseline]
    return Gain(1.0 - float(ratio.mean()), baseline, len(usable), scores)


def published_gain(name: str, reference: str = "hrl", path: Path | str | None = None) -> Gain | None:
    """The headline gain computed from a published table alone."""
    table = published_table(name, path)
    return relative_gain(table.pivot_table(index=["experiment", "metric"], columns="agent", values="mean"), reference)
