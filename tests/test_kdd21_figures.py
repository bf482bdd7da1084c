"""Per-region allocations in the metapopulation env's records, KDD'21 Figure 7 ratios and the Figure 8 map."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from omegaconf import OmegaConf

from epictl.budgets.daily import DailyBudget
from epictl.envs.metapop import REGION_COLUMNS, MetapopEnv
from epictl.envs.metapop_family import Scenario
from epictl.errors import EpictlError
from epictl.report.kdd21_figures import draw_figure7, draw_figure8, figure7_ratios, figure8_values
from epictl.rewards.kdd21 import Kdd21Reward
from epictl.sim.metapop.compartments import IH
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import MetapopSimulator
from epictl.sim.metapop.sources import as_city_config
from epictl.sim.metapop.synthetic import region_centres

FREE_DAYS, CONTROLLED_DAYS = 15, 5
MASKS, BEDS = 3000, 30


def played(city, record_regions: bool, allocation: str):
    """One episode (seed 4) under the same sampled actions; the env and its report."""
    scenario = Scenario(initial_cases=60, initial_regions=3, regions=[], initial_compartment="Iu", use_city_start=False,
                        free_days=FREE_DAYS, controlled_days=CONTROLLED_DAYS, free_phase_seed=None)
    env = MetapopEnv(city, MetapopSimulator(city, DiseaseParams(R0=4.0), SimOptions()), scenario,
                     DailyBudget("test", BEDS, MASKS), Kdd21Reward(), allocation=allocation,
                     record_regions=record_regions)
    env.action_space.seed(0)
    env.reset(seed=4)
    done = False
    while not done:
        done = env.step(env.action_space.sample())[2]
    return env, env.episode_report()


@pytest.mark.parametrize("allocation", ["ranked", "proportional"])
def test_region_records_hold_the_days_masks_and_beds(tiny_city, allocation):
    env, report = played(tiny_city, True, allocation)
    regions = report.region_curves  # [days, regions, columns]
    column = {name: k for k, name in enumerate(report.region_columns)}
    assert report.region_columns == REGION_COLUMNS and regions.shape == (1 + FREE_DAYS + CONTROLLED_DAYS,
                                                                          tiny_city.n_regions, len(REGION_COLUMNS))
    masks, beds = regions[:, :, column["masks"]], regions[:, :, column["beds"]]
    np.testing.assert_array_equal(masks.sum(axis=1), [record.masks for record in env.history])
    np.testing.assert_array_equal(beds.sum(axis=1), [record.totals[IH] for record in env.history])
    np.testing.assert_array_equal(beds, regions[:, :, column["Ih"]])
    controlled = report.curves["controlled"]
    assert not masks[~controlled].any(), "the free phase gives no masks"
    assert masks[controlled].sum(axis=1).max() > 0 and beds[controlled].sum(axis=1).max() > 0
    assert masks.sum(axis=1).max() <= MASKS


def test_recording_regions_changes_no_number(tiny_city):
    (_, recorded), (_, plain) = played(tiny_city, True, "ranked"), played(tiny_city, False, "ranked")
    assert plain.region_curves is None
    assert recorded.metrics == plain.metrics
    for name, curve in plain.curves.items():
        np.testing.assert_array_equal(recorded.curves[name], curve)


def long_table(with_paper: bool = True) -> pd.DataFrame:
    """Two experiments x three agents x two metrics, dqn_expert's values 2 and 4."""
    rows = []
    for experiment, scale in (("exp_a", 1.0), ("exp_b", 10.0)):
        for agent, factor in (("hrl", 0.5), ("dqn_expert", 1.0), ("no_medical", 3.0)):
            for metric, base in (("infected_pct", 2.0), ("deaths_permille", 4.0)):
                row = {"experiment": experiment, "env": "tiny", "agent": agent, "metric": metric,
                       "mean": scale * base * factor, "std": 0.1, "episodes": 2}
                if with_paper:
                    row["paper_mean"] = base * (factor if agent != "hrl" else 0.8)
                rows.append(row)
    return pd.DataFrame(rows)


def test_figure7_ratios_divide_by_dqn_expert_in_each_cell(tmp_path):
    ratios = figure7_ratios(long_table()).set_index(["experiment", "agent", "metric"])
    for experiment in ("exp_a", "exp_b"):
        for metric in ("infected_pct", "deaths_permille", "mean"):
            assert ratios.at[(experiment, "dqn_expert", metric), "ours"] == pytest.approx(1.0)
            assert ratios.at[(experiment, "hrl", metric), "ours"] == pytest.approx(0.5)
            assert ratios.at[(experiment, "no_medical", metric), "ours"] == pytest.approx(3.0)
            assert ratios.at[(experiment, "hrl", metric), "paper"] == pytest.approx(0.8)
    assert ratios["env"].eq("tiny").all()
    draw_figure7(figure7_ratios(long_table()), "t", tmp_path / "figure7.png")
    assert (tmp_path / "figure7.png").stat().st_size > 0


def test_figure7_mean_averages_the_metrics_and_paper_columns_are_optional():
    table = long_table(with_paper=False)
    table.loc[(table["agent"] == "hrl") & (table["metric"] == "deaths_permille"), "mean"] *= 2  # ratio 1.0 there
    ratios = figure7_ratios(table)
    assert "paper" not in ratios.columns
    mean = ratios[(ratios["agent"] == "hrl") & (ratios["metric"] == "mean")]
    np.testing.assert_allclose(mean["ours"], [0.75, 0.75])
    assert list(ratios["agent"].iloc[:3]) == ["no_medical", "dqn_expert", "hrl"], "the paper's column order"


def test_figure7_without_dqn_expert_names_it():
    table = long_table()
    table = table[~((table["agent"] == "dqn_expert") & (table["experiment"] == "exp_b"))]
    with pytest.raises(EpictlError, match="no dqn_expert rows for exp_b on tiny"):
        figure7_ratios(table)


def regions_frame(n_regions: int, free_days: int, controlled_days: int) -> pd.DataFrame:
    """A hand-made curves_regions table: masks = 100 * controlled day + region, beds = controlled day."""
    days = np.arange(free_days + controlled_days + 1)
    day, region = (grid.reshape(-1) for grid in np.meshgrid(days, np.arange(n_regions), indexing="ij"))
    controlled_day = np.maximum(day - free_days, 0)
    masks = np.where(controlled_day > 0, 100 * controlled_day + region, 0)
    return pd.DataFrame({"seed": 7, "day": day, "region": region, "Ih": controlled_day, "masks": masks,
                         "beds": controlled_day})


def test_figure8_maps_the_controlled_days_allocations(tmp_path):
    centres = np.column_stack([np.arange(4.0), -np.arange(4.0)])
    values = figure8_values(regions_frame(4, free_days=3, controlled_days=30), centres, free_days=3)
    assert sorted(set(values["day"])) == [10, 30] and values["seed"].eq(7).all()
    day_30 = values[values["day"] == 30]
    np.testing.assert_array_equal(day_30["masks"], 3000 + np.arange(4))
    np.testing.assert_array_equal(day_30["beds"], [30] * 4)
    np.testing.assert_array_equal(day_30[["x_km", "y_km"]], centres)
    draw_figure8(values, "hrl on tiny, seed 7", tmp_path / "figure8.png")
    assert (tmp_path / "figure8.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("frame, message", [
    (regions_frame(4, 3, 20), "controlled day 30 is not in the run"),
    (regions_frame(4, 3, 30).drop(columns="masks"), "no masks column; evaluate with env.record_regions=true"),
    (regions_frame(5, 3, 30), "5 regions in the table, 4 region centres"),
])
def test_figure8_says_what_the_table_lacks(frame, message):
    with pytest.raises(EpictlError, match=message):
        figure8_values(frame, np.zeros((4, 2)), free_days=3)


def test_region_centres_lie_in_their_districts_discs(tiny_city):
    spec = as_city_config(OmegaConf.load(REPO / "conf" / "env" / "city" / "tiny.yaml")).synthetic
    centres = region_centres(spec)
    assert centres.shape == (tiny_city.n_regions, 2)
    lon0, lat0 = np.mean([d.lon for d in spec.districts]), np.mean([d.lat for d in spec.districts])
    km_per_degree = 6371.0 * np.pi / 180
    for k, d in enumerate(spec.districts):
        middle = np.array([(d.lon - lon0) * np.cos(np.radians(lat0)), d.lat - lat0]) * km_per_degree
        distance = np.linalg.norm(centres[tiny_city.district == k] - middle, axis=1)
        assert len(distance) and distance.max() <= np.sqrt(d.area_km2 / np.pi)


@pytest.mark.smoke
def test_figure_scripts_draw_from_a_smoke_eval_and_a_table(tmp_path):
    def script(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(REPO / "scripts" / "kdd21_figures.py"), *args],
                              capture_output=True, text=True, cwd=REPO, timeout=600)

    result = script("figure8", "--smoke", "--root", str(tmp_path / "runs"), "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    values = pd.read_csv(tmp_path / "figure8-smoke.csv")
    assert (tmp_path / "figure8-smoke.png").is_file() and sorted(set(values["day"])) == [5, 10]
    assert values.groupby("day")["masks"].sum().gt(0).all()
    long_table().to_csv(tmp_path / "table.csv", index=False)
    result = script("figure7", "--table", str(tmp_path / "table.csv"), "--output", str(tmp_path / "figure7.png"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "figure7.png").is_file() and len(pd.read_csv(tmp_path / "figure7.csv")) == 2 * 3 * 3
    missing = script("figure7", "--table", str(tmp_path / "absent.csv"))
    assert missing.returncode == 2 and "absent.csv: no such table" in missing.stdout
