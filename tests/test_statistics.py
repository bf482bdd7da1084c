"""Bootstrap intervals, sign-flip tests, the gain's paired CI and the tables built on them (hand-made data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epictl.report.grid_agents import agents_table
from epictl.report.published import published_table, relative_gain
from epictl.report.statistics import (RANDOM_SIGN_FLIPS, cell_means, cluster_bootstrap, gain_interval,
                                      paired_comparison, paired_difference, sign_flip_test)
from epictl.report.table import long_table, markdown_table
from epictl.report.units import METRIC_COLUMNS


def width(interval) -> float:
    return interval.high - interval.low


def test_sign_flip_p_is_exact_on_small_cases():
    test = sign_flip_test([1.0, 2.0, 3.0])  # sums over the 8 sign vectors: +-6 are the only ones as extreme
    assert (test.mean, test.p_value, test.pairs) == (2.0, 0.25, 3)
    assert sign_flip_test([-1.0, -2.0, -3.0]).p_value == 0.25  # two-sided: no direction assumed
    assert sign_flip_test([1.0, 2.0, 3.0, -3.0]).p_value == 0.75  # |sum| >= 3: 12 of the 16 sign vectors
    assert sign_flip_test([1.0, -1.0, 2.0, -2.0]).p_value == 1.0  # symmetric: every vector is as extreme
    assert sign_flip_test([0.1] * 3 + [-0.1] * 3).p_value == 1.0  # a float tie still counts
    assert sign_flip_test([]) is None


def test_sign_flip_above_sixteen_pairs_draws_signs_with_the_plus_one_correction():
    d = np.arange(1.0, 18.0) * np.where(np.arange(17) % 3 == 0, -1, 1)
    signs = 1 - 2 * ((np.arange(2**17)[:, None] >> np.arange(17)) & 1)
    exact = np.mean(np.abs(signs @ d) >= abs(d.sum()))
    test = sign_flip_test(d)
    assert test.p_value == pytest.approx(exact, abs=0.01) and test.p_value == sign_flip_test(d).p_value
    assert 1 / (1 + RANDOM_SIGN_FLIPS) <= sign_flip_test(np.ones(20)).p_value < 1e-4  # exact 2^-19: never 0
    assert sign_flip_test([1.0, -1.0] * 10).p_value == 1.0


def test_bootstrap_interval_contains_the_mean_is_deterministic_and_scales_with_spread():
    values = np.random.default_rng(3).normal(5.0, 1.0, 40)
    (interval,) = cluster_bootstrap(values)
    assert interval.low < values.mean() < interval.high and interval.mean == pytest.approx(values.mean())
    assert cluster_bootstrap(values) == [interval]
    (wider,) = cluster_bootstrap(5.0 + 3 * (values - 5.0))  # same draws, three times the spread
    assert width(wider) == pytest.approx(3 * width(interval))
    (flat,) = cluster_bootstrap(np.full(10, 0.3))
    assert (flat.low, flat.high) == pytest.approx((0.3, 0.3))
    assert cluster_bootstrap([7.0]) == cluster_bootstrap([7.0], [0])
    (single,) = cluster_bootstrap([7.0])
    assert (single.mean, single.low, single.high) == (7.0, 7.0, 7.0)


def test_two_level_interval_is_wider_when_training_runs_disagree():
    episodes = np.tile(np.linspace(-1.0, 1.0, 10), 3)  # the same spread of episodes in each of 3 runs
    runs = np.repeat([0, 1, 2], 10)
    (agree,) = cluster_bootstrap(episodes, runs)
    (disagree,) = cluster_bootstrap(episodes + np.repeat([-2.0, 0.0, 2.0], 10), runs)
    assert agree.mean == pytest.approx(disagree.mean) and width(disagree) > 3 * width(agree)


def test_bootstrap_columns_skip_missing_values_and_runs_may_differ_in_size():
    values = np.c_[np.arange(6.0), [1.0, np.nan, 3.0, np.nan, 5.0, np.nan]]
    low_runs, high_runs = cluster_bootstrap(values, [0, 0, 1, 1, 1, 1])
    assert low_runs.mean == pytest.approx(2.5) and high_runs.mean == pytest.approx(3.0)
    assert low_runs.low >= 0.0 and low_runs.high <= 5.0
    (empty,) = cluster_bootstrap(np.full((3, 1), np.nan))
    assert np.isnan([empty.mean, empty.low, empty.high]).all()


def paired_frame(seeds: int, shuffle_reference: bool = False) -> pd.DataFrame:
    """ref (two training runs) and base share a large per-seed noise; other is far behind."""
    rng = np.random.default_rng(7)
    noise = 3.0 * rng.normal(size=seeds)
    reference = {run: 8.0 + run * 0.2 + noise + 0.1 * rng.normal(size=seeds) for run in (0, 1)}
    if shuffle_reference:  # the same values on other seeds: the pairing is gone, the means are not
        order = rng.permutation(seeds)
        reference = {run: values[order] for run, values in reference.items()}
    rows = [{"agent": "base", "seed": s, "x": 10.0 + noise[s], "y": 20.0 + 2 * noise[s]} for s in range(seeds)]
    rows += [{"agent": "other", "seed": s, "x": 15.0, "y": 30.0} for s in range(seeds)]
    rows += [{"agent": "ref", "seed": s, "train_seed": run, "x": values[s], "y": 2 * values[s]}
             for run, values in reference.items() for s in range(seeds)]
    return pd.DataFrame(rows).assign(experiment="e", env="c")


def test_gain_interval_contains_the_published_definition_and_pairing_narrows_it():
    paired = gain_interval(paired_frame(30), "ref", ["x", "y"])
    expected = relative_gain(cell_means(paired_frame(30), ["x", "y"]), "ref")
    assert paired.gain == expected and paired.gain.baseline == "base"
    assert paired.low < paired.gain.gain < paired.high
    unpaired = gain_interval(paired_frame(30, shuffle_reference=True), "ref", ["x", "y"])
    assert unpaired.gain.gain == pytest.approx(paired.gain.gain)
    assert unpaired.high - unpaired.low > 3 * (paired.high - paired.low)
    assert gain_interval(paired_frame(30), "ref", ["x", "y"]) == paired


def test_paired_comparison_per_cell_and_overall():
    comparison = paired_comparison(paired_frame(6), "ref", "base", ["x", "y"])
    cells = comparison.cells.set_index("metric")
    assert list(cells.index) == ["x", "y"] and (cells["seeds"] == 6).all()
    assert (cells["difference"] < 0).all() and (cells["p_value"] == 2 / 2**6).all()  # every seed lower
    assert cells.at["y", "difference"] == pytest.approx(2 * cells.at["x", "difference"])
    assert comparison.overall.pairs == 6 and comparison.overall.p_value == 2 / 2**6


def test_paired_difference_keeps_the_sign_and_uses_common_seeds():
    frame = paired_frame(8)
    reference, base = frame[frame["agent"] == "ref"], frame[frame["agent"] == "base"]
    interval, test = paired_difference(reference, base, "x")
    assert interval.mean == pytest.approx(reference["x"].mean() - base["x"].mean())
    assert interval.low < interval.mean < interval.high < 0 and test.pairs == 8
    flipped, _ = paired_difference(base, reference, "x")
    assert flipped.mean == pytest.approx(-interval.mean)
    assert paired_difference(reference, base.assign(seed=base["seed"] + 100), "x") is None


def table_frame() -> pd.DataFrame:
    """hrl: two training runs on seeds 0-2; no_medical: a fixed policy (no train_seed)."""
    rows = [{"agent": "no_medical", "env": "beijing", "experiment": "kdd21_exp1", "seed": s,
             **{c: 4.0 + s for c in METRIC_COLUMNS}} for s in range(3)]
    rows += [{"agent": "hrl", "env": "beijing", "experiment": "kdd21_exp1", "seed": s, "train_seed": run,
              **{c: 1.0 + s + run for c in METRIC_COLUMNS}} for run in (0, 1) for s in range(3)]
    return pd.DataFrame(rows)


def test_long_and_markdown_tables_show_the_interval_and_the_training_runs():
    metrics = table_frame()
    long = long_table(metrics).set_index(["agent", "metric"])
    hrl, fixed = long.loc[("hrl", "infected_pct")], long.loc[("no_medical", "infected_pct")]
    assert (hrl["mean"], hrl["episodes"], hrl["train_runs"], fixed["train_runs"]) == (2.5, 6, 2, 1)
    assert hrl["ci_low"] < 2.5 < hrl["ci_high"] and fixed["std"] == 1.0
    text = markdown_table(metrics, "t")
    assert "mean ± 95 % CI over training runs x evaluation seeds (two-level bootstrap)" in text
    row = next(line for line in text.splitlines() if line.startswith("| kdd21_exp1 | beijing | Infected"))
    half = (fixed["ci_high"] - fixed["ci_low"]) / 2, (hrl["ci_high"] - hrl["ci_low"]) / 2
    assert row.endswith(f"| 5.00 ± {half[0]:.2f} | 2.50 ± {half[1]:.2f} |")
    assert "Training runs per agent: no_medical 1, hrl 2" in text and "Episodes per agent: no_medical 3, hrl 6" in text


def test_comparison_table_adds_the_gain_interval_and_the_paired_tests():
    metrics, paper = table_frame(), published_table("table3")
    text = markdown_table(metrics, "cmp", paper, "table3", "hrl")
    gain = gain_interval(metrics, "hrl", METRIC_COLUMNS)
    assert f"- ours: 50.00 % over no_medical (4 cells), 95 % CI [{100 * gain.low:.2f}, {100 * gain.high:.2f}] %" in text
    assert "| no_medical (ours) | no_medical (paper) |" in text and "| 43.99 (0.12) |" in text
    assert "| kdd21_exp1 | beijing | Deaths (‰) | -2.50 | 0.25 |" in text  # hrl lower on every one of 3 seeds
    assert "hrl lower than no_medical on 4 of 4 cells; overall sign-flip p = 0.25 (3 (experiment, seed) pairs" in text
    csv = long_table(metrics, paper)
    assert {"ci_low", "ci_high", "train_runs", "paper_mean", "paper_std"} <= set(csv.columns)


def test_grid_agents_table_compares_the_trained_agent_with_the_best_schedule():
    rows = [{"agent": agent, "seed": s, "infected_pct": 50.0, "reward_total": level + s}
            for agent, level in (("no_lockdown", -50.0), ("full_lockdown", -20.0)) for s in range(4)]
    rows += [{"agent": "ddqn_lstm", "seed": s, "train_seed": run, "infected_pct": 10.0 + run,
              "reward_total": -10.0 + s + 2 * run} for run in (0, 1, 2) for s in range(4)]
    paper = pd.DataFrame(columns=["figure", "key", "metric", "paper", "note"])
    long, text = agents_table(pd.DataFrame(rows), paper, "grid", [])
    assert "| Training runs | 1 | 1 | 3 |" in text and "| Infected (%) | 50.00 ± 0.00 | 50.00 ± 0.00 | 11.00 ± " in text
    line = next(line for line in text.splitlines() if line.startswith("- ddqn_lstm - full_lockdown: "))
    assert line.startswith("- ddqn_lstm - full_lockdown: 12.00 (95 % CI [") and "p = 0.125 (4 seeds, 3 training runs)" in line
    assert {"ci_low", "ci_high", "train_runs", "paper"} <= set(long.columns)
