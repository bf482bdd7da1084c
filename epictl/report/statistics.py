"""Statistics for the results tables: bootstrap confidence intervals and paired sign-flip tests.

A metrics table holds one row per evaluation episode. A learner has several training runs (column
`train_seed`), each evaluated on the same evaluation seeds; a fixed policy has no train_seed and counts
as one training run. Every policy meets the same outbreak on the same evaluation seed (common random
numbers), so comparisons are paired on the seed:

- a cell's 95 % CI: two-level (cluster) percentile bootstrap, training runs drawn with replacement, then
  each drawn run's episodes with replacement;
- a difference between two agents: per seed, each agent's mean over its training runs; the differences
  are tested with an exact two-sided sign-flip randomisation test, and a paired bootstrap draws the seeds
  once for both agents (and each agent's training runs independently).

Every draw comes from a generator with a fixed seed, so a table is the same every time it is built.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from epictl.report.published import Gain, relative_gain

REPLICATES = 2000
RANDOM_SEED = 16
LEVEL = 0.95
EXACT_SIGN_FLIPS = 16  # up to this many pairs every sign vector is enumerated
RANDOM_SIGN_FLIPS = 2**16  # above it, this many random sign vectors
TRAIN_SEED = "train_seed"
CI_NOTE = "mean ± 95 % CI over training runs x evaluation seeds (two-level bootstrap)"  # what mean_ci shows
CELL_KEYS = ["experiment", "env"]  # one experiment unit: its evaluation seeds are drawn together


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class SignFlip:
    mean: float  # mean paired difference
    p_value: float  # two-sided
    pairs: int


@dataclass(frozen=True)
class GainInterval:
    gain: Gain  # published.relative_gain on the cell means
    low: float  # 95 % paired bootstrap interval of gain.gain; NaN when the agents share no evaluation seed
    high: float


@dataclass(frozen=True)
class Comparison:
    cells: pd.DataFrame  # experiment, env, metric, difference (reference - baseline), p_value, seeds
    overall: SignFlip | None  # pairs: (experiment, seed); difference: mean over metrics of difference / cell scale


def generator() -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(RANDOM_SEED))


def percentiles(replicates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 95 % percentile interval along axis 0, NaN replicates left out (none left: NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": that interval is NaN
        low, high = np.nanquantile(replicates, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
    return low, high


def training_runs(rows: pd.DataFrame) -> np.ndarray:
    """Each row's training run as a code 0..R-1: its train_seed; rows without one are a single run."""
    if TRAIN_SEED not in rows.columns:
        return np.zeros(len(rows), dtype=int)
    return pd.factorize(rows[TRAIN_SEED], use_na_sentinel=False)[0]


def cluster_bootstrap(values: np.ndarray, runs: np.ndarray | None = None) -> list[Interval]:
    """Mean and 95 % CI of each column of `values` (episodes x metrics; NaN: no value) by the two-level
    bootstrap; `runs` labels each episode's training run (None: all one run).

    The estimate is the mean over all episodes; a replicate draws as many training runs as there are,
    with replacement, then in each drawn run as many of its episodes as it has, with replacement.
    """
    values = np.asarray(values, dtype=float).reshape(len(values), -1)
    runs = np.zeros(len(values), dtype=int) if runs is None else runs
    codes = pd.factorize(np.asarray(runs), use_na_sentinel=False)[0]
    order = np.argsort(codes, kind="stable")
    values, codes = values[order], codes[order]
    sizes = np.bincount(codes)
    starts = np.cumsum(sizes) - sizes
    rng = generator()
    drawn = rng.integers(len(sizes), size=(REPLICATES, len(sizes)))
    drawn_sizes = sizes[drawn][..., None]  # (replicates, runs, 1)
    rows = starts[drawn][..., None] + (rng.random((*drawn.shape, sizes.max())) * drawn_sizes).astype(int)
    used = np.arange(sizes.max()) < drawn_sizes  # a run shorter than the longest fills only its own places
    replicates = np.empty((REPLICATES, values.shape[1]))
    with np.errstate(invalid="ignore"):  # no value drawn (or none at all): NaN
        for column, (filled, present) in enumerate(zip(np.nan_to_num(values).T, ~np.isnan(values).T)):
            counted = present[rows] & used
            replicates[:, column] = np.where(counted, filled[rows], 0.0).sum(axis=(1, 2)) / counted.sum(axis=(1, 2))
        means = np.nansum(values, axis=0) / (~np.isnan(values)).sum(axis=0)
    low, high = percentiles(replicates)
    return [Interval(float(mean), float(a), float(b)) for mean, a, b in zip(means, low, high)]


def cell_statistics(metrics: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """keys..., metric, mean, std, episodes, ci_low, ci_high, train_runs: one row per group and metric column.

    std is over episodes; the CI is the two-level bootstrap over training runs x evaluation seeds.
    """
    rows = []
    for key, group in metrics.groupby(keys, sort=False):
        runs = training_runs(group)
        intervals = cluster_bootstrap(group[columns].to_numpy(dtype=float), runs)
        for column, interval in zip(columns, intervals):
            values = group[column].dropna()
            rows.append({**dict(zip(keys, key)), "metric": column, "mean": interval.mean,
                         "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "episodes": len(values),
                         "ci_low": interval.low, "ci_high": interval.high, "train_runs": int(runs.max()) + 1})
    return pd.DataFrame(rows, columns=[*keys, "metric", "mean", "std", "episodes", "ci_low", "ci_high", "train_runs"])


def mean_ci(mean: float, low: float, high: float) -> str:
    """`mean ± h`, h half the width of the 95 % CI; "-" without a value."""
    if np.isnan(mean):
        return "-"
    return f"{mean:.2f} ± {(high - low) / 2:.2f}"


def sign_flip_test(differences) -> SignFlip | None:
    """Exact two-sided sign-flip randomisation test of mean(differences) = 0 (None without pairs).

    Up to EXACT_SIGN_FLIPS pairs every sign vector is enumerated (p = share of them at least as extreme,
    the observed one included); above, RANDOM_SIGN_FLIPS random ones with the +1 correction.
    """
    d = np.asarray(differences, dtype=float)
    if d.size == 0:
        return None
    observed = abs(d.sum()) - 1e-9 * np.abs(d).sum()  # ties in floating point count as extreme
    if d.size <= EXACT_SIGN_FLIPS:
        signs = 1 - 2 * ((np.arange(2**d.size)[:, None] >> np.arange(d.size)) & 1)
        p = float(np.mean(np.abs(signs @ d) >= observed))
    else:
        rng, extreme, left = generator(), 0, RANDOM_SIGN_FLIPS
        while left:  # in chunks of a few million signs
            count = min(left, max(1, 2**22 // d.size))
            signs = 1 - 2 * rng.integers(0, 2, size=(count, d.size))
            extreme += int(np.sum(np.abs(signs @ d) >= observed))
            left -= count
        p = (1 + extreme) / (1 + RANDOM_SIGN_FLIPS)
    return SignFlip(float(d.mean()), p, int(d.size))


def shared_seeds(rows: pd.DataFrame) -> set:
    """The evaluation seeds every training run in `rows` was evaluated on."""
    runs = training_runs(rows)
    return set.intersection(*(set(rows["seed"].to_numpy()[runs == run]) for run in range(runs.max() + 1)))


def by_run_and_seed(rows: pd.DataFrame, columns: list[str], seeds: list) -> np.ndarray:
    """(training runs, seeds, columns): each run's value on each seed (mean if it was evaluated twice)."""
    runs = training_runs(rows)
    table = rows[columns].assign(_run=runs).groupby(["_run", rows["seed"].to_numpy()])[columns].mean()
    index = pd.MultiIndex.from_product([range(runs.max() + 1), seeds])
    return table.reindex(index).to_numpy(dtype=float).reshape(runs.max() + 1, len(seeds), len(columns))


def resampled_means(by_run: np.ndarray, seed_draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(replicates, columns): per replicate, the training runs drawn with replacement, on the drawn seeds."""
    run_draws = rng.integers(by_run.shape[0], size=(len(seed_draws), by_run.shape[0]))
    return by_run[run_draws[:, :, None], seed_draws[:, None, :]].mean(axis=(1, 2))


def cell_means(metrics: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per (experiment, env, metric) cell, one column per agent: mean over its episodes."""
    means = metrics.groupby([*CELL_KEYS, "agent"], sort=False)[columns].mean().stack()
    return means.rename_axis([*CELL_KEYS, "agent", "metric"]).unstack("agent")


def comparable(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells relative_gain uses: every agent has a value and the largest is positive."""
    complete = cells.dropna()
    return complete[complete.max(axis=1) > 0]


def unit_rows(metrics: pd.DataFrame, unit: tuple, agent: str) -> pd.DataFrame:
    experiment, env = unit
    return metrics[(metrics["experiment"] == experiment) & (metrics["env"] == env) & (metrics["agent"] == agent)]


def gain_interval(metrics: pd.DataFrame, reference: str, columns: list[str]) -> GainInterval | None:
    """published.relative_gain on the cell means, with a 95 % paired bootstrap CI (None without a gain).

    In each replicate, per experiment, one draw of the evaluation seeds that the reference and the
    baseline share is applied to both, and each agent's training runs are drawn independently; the gain
    is recomputed on the same cells with the baseline fixed to the full-data choice (a cell where the
    baseline's replicate mean is 0 is left out, as in relative_gain). With the baseline fixed only its
    and the reference's cell means enter the gain, so only those two are redrawn.
    """
    cells = cell_means(metrics, columns)
    gain = relative_gain(cells, reference)
    if gain is None:
        return None
    usable = comparable(cells)
    usable = usable[usable[gain.baseline] > 0]
    rng, ratios = generator(), []
    for unit, block in usable.groupby(level=CELL_KEYS, sort=False):
        names = list(block.index.get_level_values("metric"))
        ours, theirs = unit_rows(metrics, unit, reference), unit_rows(metrics, unit, gain.baseline)
        seeds = sorted(shared_seeds(ours) & shared_seeds(theirs))
        if not seeds:
            return GainInterval(gain, np.nan, np.nan)
        seed_draws = rng.integers(len(seeds), size=(REPLICATES, len(seeds)))
        reference_means = resampled_means(by_run_and_seed(ours, names, seeds), seed_draws, rng)
        baseline_means = resampled_means(by_run_and_seed(theirs, names, seeds), seed_draws, rng)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(np.where(baseline_means > 0, reference_means / baseline_means, np.nan))
    ratios = np.concatenate(ratios, axis=1)
    counted = (~np.isnan(ratios)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        replicates = 1.0 - np.nansum(ratios, axis=1) / counted
    low, high = percentiles(replicates)
    return GainInterval(gain, float(low), float(high))


def paired_comparison(metrics: pd.DataFrame, reference: str, baseline: str, columns: list[str]) -> Comparison:
    """reference - baseline per (experiment, metric) cell on the evaluation seeds both have, each agent
    averaged over its training runs per seed, with a sign-flip test per cell; and an overall test whose
    pairs are (experiment, seed), each the mean over metrics of the difference / the largest agent mean
    in the cell (every metric weighs the same, as in relative_gain).
    """
    rows, overall = [], []
    for unit, block in comparable(cell_means(metrics, columns)).groupby(level=CELL_KEYS, sort=False):
        names = list(block.index.get_level_values("metric"))
        ours, theirs = unit_rows(metrics, unit, reference), unit_rows(metrics, unit, baseline)
        seeds = sorted(shared_seeds(ours) & shared_seeds(theirs))
        # (seeds, metrics): per seed, each agent's mean over its training runs
        differences = by_run_and_seed(ours, names, seeds).mean(axis=0) - by_run_and_seed(theirs, names, seeds).mean(axis=0)
        for name, column in zip(names, differences.T):
            test = sign_flip_test(column)
            rows.append({**dict(zip(CELL_KEYS, unit)), "metric": name, "difference": test.mean if test else np.nan,
                         "p_value": test.p_value if test else np.nan, "seeds": len(seeds)})
        overall.append((differences / block.max(axis=1).to_numpy()).mean(axis=1))
    cells = pd.DataFrame(rows, columns=[*CELL_KEYS, "metric", "difference", "p_value", "seeds"])
    return Comparison(cells, sign_flip_test(np.concatenate(overall)) if overall else None)


def paired_difference(reference_rows: pd.DataFrame, other_rows: pd.DataFrame,
                      column: str) -> tuple[Interval, SignFlip] | None:
    """reference - other in `column` on the evaluation seeds both have (each averaged over its training runs
    per seed): 95 % paired two-level bootstrap CI and sign-flip test. None without a shared seed. Neither
    direction is assumed better: the sign is reference minus other.
    """
    seeds = sorted(shared_seeds(reference_rows) & shared_seeds(other_rows))
    if not seeds:
        return None
    ours, theirs = by_run_and_seed(reference_rows, [column], seeds), by_run_and_seed(other_rows, [column], seeds)
    rng = generator()
    seed_draws = rng.integers(len(seeds), size=(REPLICATES, len(seeds)))
    replicates = resampled_means(ours, seed_draws, rng) - resampled_means(theirs, seed_draws, rng)
    test = sign_flip_test((ours.mean(axis=0) - theirs.mean(axis=0))[:, 0])
    low, high = percentiles(replicates)
    return Interval(test.mean, float(low[0]), float(high[0])), test
