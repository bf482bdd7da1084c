"""The paper's Tables 3-4 as data, the headline gains recomputed from them, ours beside the paper's."""

from __future__ import annotations

import pandas as pd
import pytest

from epictl.errors import EpictlError
from epictl.report.published import PUBLISHED_CSV, load_published, published_gain, published_table, relative_gain
from epictl.report.table import long_table, markdown_table
from epictl.report.units import METRIC_COLUMNS

EXPERIMENTS = ["kdd21_exp1", "kdd21_exp2", "kdd21_exp3"]
AGENTS = ["no_medical", "expert_seriousness", "expert_population", "dqn_greedy", "dqn_expert", "hrl"]


def test_csv_has_every_cell_and_a_comment_line():
    assert PUBLISHED_CSV.read_text(encoding="utf-8").startswith("# KDD'21")
    frame = load_published()
    assert set(frame["table"]) == {"table3", "table4"}
    for table, agents in (("table3", AGENTS), ("table4", [a for a in AGENTS if a != "expert_seriousness"])):
        part = frame[frame["table"] == table]
        assert len(part) == 3 * len(agents) * 4
        assert set(part["experiment"]) == set(EXPERIMENTS)
        assert set(part["agent"]) == set(agents)
        assert set(part["metric"]) == set(METRIC_COLUMNS)
    assert (frame["mean"] > 0).all() and (frame["std"] > 0).all()


def test_spot_values_and_information_free_baselines_equal_in_both_tables():
    frame = load_published().set_index(["table", "experiment", "agent", "metric"])
    assert frame.loc[("table3", "kdd21_exp1", "hrl", "infected_pct"), "mean"] == 15.71
    assert frame.loc[("table4", "kdd21_exp3", "dqn_expert", "max_daily_death_per10k"), "std"] == 0.09
    assert frame.loc[("table3", "kdd21_exp2", "expert_seriousness", "deaths_permille"), "mean"] == 4.97
    for agent in ("no_medical", "expert_population"):  # spec §14: they do not depend on information
        pd.testing.assert_frame_equal(frame.loc["table3"].loc[[*EXPERIMENTS]].xs(agent, level="agent"),
                                      frame.loc["table4"].loc[[*EXPERIMENTS]].xs(agent, level="agent"))


@pytest.mark.parametrize("table, expected", [("table3", 11.00), ("table4", 14.25)])
def test_headline_gain_over_strongest_baseline(table, expected):
    gain = published_gain(table, "hrl")
    assert gain.baseline == "dqn_expert"
    assert gain.cells == 12
    assert 100 * gain.gain == pytest.approx(expected, abs=0.05)


def test_gain_picks_lowest_normalised_baseline():
    cells = pd.DataFrame({"hrl": [1.0, 10.0], "a": [2.0, 20.0], "b": [4.0, 11.0], "c": [8.0, 40.0]})
    gain = relative_gain(cells, "hrl")  # scores: a (0.25+0.5)/2, b (0.5+0.275)/2, c 1
    assert gain.baseline == "a" and gain.gain == pytest.approx(0.5)
    assert relative_gain(cells[["hrl"]], "hrl") is None and relative_gain(cells[["a", "b"]], "hrl") is None


def test_missing_or_malformed_csv_is_one_line_error(tmp_path):
    with pytest.raises(EpictlError, match="not found"):
        load_published(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("# x\ntable,experiment,agent,metric,mean,std\ntable3,kdd21_exp1,hrl,infected_pct,abc,0.1\n")
    with pytest.raises(EpictlError, match="numeric") as info:
        load_published(bad)
    assert "\n" not in str(info.value)
    bad.write_text("table,experiment,agent,metric,mean\n")
    with pytest.raises(EpictlError, match="columns"):
        load_published(bad)
    with pytest.raises(EpictlError, match="table9"):
        published_table("table9")


def synthetic_metrics() -> pd.DataFrame:
    rows = []
    for agent, level in (("no_medical", 4.0), ("dqn_expert", 2.0), ("hrl", 1.5), ("random", 3.0)):
        for seed in range(3):
            value = level + 0.1 * seed
            rows.append({"agent": agent, "env": "beijing", "experiment": "kdd21_exp1", "seed": seed,
                         **{column: value for column in METRIC_COLUMNS}})
    rows.append({"agent": "hrl", "env": "tiny", "experiment": "-", "seed": 0, **{c: 1.0 for c in METRIC_COLUMNS}})
    return pd.DataFrame(rows)


def test_comparison_table_sets_ours_beside_the_paper():
    metrics, paper = synthetic_metrics(), published_table("table3")
    text = markdown_table(metrics, "cmp", paper, "table3", "hrl")
    header = next(line for line in text.splitlines() if line.startswith("| Exp"))
    assert "| no_medical (ours) | no_medical (paper) |" in header
    assert header.index("dqn_expert (ours)") < header.index("hrl (ours)") < header.index("random (ours)")
    row = next(line for line in text.splitlines() if line.startswith("| kdd21_exp1 | beijing | Infected"))
    assert "| 1.60 ± 0.10 | 15.71 (0.13) |" in row  # hrl: ours (mean ± 95 % CI half-width), then the paper's
    assert row.endswith("| 3.10 ± 0.10 | - |")  # random is not in the paper
    unknown = next(line for line in text.splitlines() if line.startswith("| - | tiny | Infected"))
    assert unknown.count("| - ") >= 7  # experiment not in the paper: every paper cell is "-"
    assert "- ours: 23.81 % over dqn_expert (4 cells), 95 % CI [" in text  # 1 - 1.6/2.1 on every cell
    assert "| kdd21_exp1 | beijing | Infected (%) | -0.50 | 0.25 |" in text  # hrl - dqn_expert, paired on 3 seeds
    assert "- paper (table3, all its cells): 11.00 % over dqn_expert (12 cells)" in text

    csv = long_table(metrics, paper)
    assert {"paper_mean", "paper_std", "ci_low", "ci_high", "train_runs"} <= set(csv.columns)
    hrl = csv[(csv["agent"] == "hrl") & (csv["experiment"] == "kdd21_exp1") & (csv["metric"] == "deaths_permille")]
    assert hrl[["mean", "paper_mean", "paper_std"]].iloc[0].tolist() == pytest.approx([1.6, 8.62, 0.09])
    assert csv.loc[csv["agent"] == "random", "paper_mean"].isna().all()
    assert "paper_mean" not in long_table(metrics).columns
