"""`epictl calibrate` to published table rows: the blank control is the env's, the fit finds what made the rows,
the paper's rows and experiments are read right, and a bad row is one line."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from epictl.budgets.daily import DailyBudget
from epictl.calibration.settings import resolve
from epictl.calibration.blank_control import blank_control_totals, scaled_spec, table_metrics
from epictl.calibration.table_row import Choice, resolve_rows, row_target_path
from epictl.cli import main
from epictl.config import register
from epictl.envs.metapop import MetapopEnv
from epictl.envs.metapop_family import Scenario
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR
from epictl.report.units import METRIC_COLUMNS
from epictl.rewards.kdd21 import Kdd21Reward
from epictl.runners.calibrate_row import run
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import MetapopSimulator
from epictl.sim.metapop.synthetic import build_synthetic

# The test city's layout with 100 times the people and 1000 seeds in one region: outcomes vary little between
# runs, so the mobility intensity shows through (at 20,000 people run-to-run noise hides it). Its move shares
# matter only scaled far down (above about 0.1 x the defaults the town mixes fully within days), and the gravity
# range not at all on a town 4 km wide, so the fit searches move_scale in [0.002, 0.2] and fixes gravity.
TOWN = ["env=tiny", "runs=4", "env.disease.R0=5", "env.scenario.initial_regions=1", "env.scenario.initial_cases=1000",
        "env.city.synthetic.districts=[{name: Northtown, population: 1200000, area_km2: 6.0, lon: 100.0, lat: 30.03},"
        "{name: Southvale, population: 800000, area_km2: 10.0, lon: 100.01, lat: 30.0}]",
        "table_rows.gravity_scale_km.free=false", "table_rows.gravity_scale_km.value=3",
        "table_rows.move_scale.low=0.002", "table_rows.move_scale.high=0.2"]
TRUTH = Choice("E", 0)  # seeds in E, every run from seed 0's free phase
TRUE_SCALE, TRUE_GRAVITY = 0.02, 3.0
ROW = {"table": "t", "experiment": "town_exp", "agent": "no_medical"}


def composed(overrides: list[str]):
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="calibrate", overrides=overrides)


def write_target(folder, rows: list[dict], published: pd.DataFrame):
    published.to_csv(folder / "published.csv", index=False)
    (folder / "rows.yaml").write_text(yaml.safe_dump({"description": "made from known values",
                                                      "published": "published.csv", "rows": rows}))
    return folder / "rows.yaml"


@pytest.fixture(scope="module")
def town_target(tmp_path_factory):
    """A row target whose published row is the town's blank control at the known values, seeds 0..3."""
    folder = tmp_path_factory.mktemp("rows")
    env = OmegaConf.to_object(composed(TOWN).env)
    city = build_synthetic(scaled_spec(env.city.synthetic, TRUE_SCALE, TRUE_GRAVITY))
    scenario = replace(env.scenario, initial_compartment=TRUTH.initial_compartment,
                       free_phase_seed=TRUTH.free_phase_seed)
    runs = pd.DataFrame(table_metrics(blank_control_totals(MetapopSimulator(city, env.disease, env.sim), scenario,
                                                           [0, 1, 2, 3]), city, 0))
    published = pd.DataFrame([{**ROW, "metric": metric, "mean": runs[metric].mean(), "std": runs[metric].std(ddof=1)}
                              for metric in METRIC_COLUMNS])
    return write_target(folder, [ROW], published)


def test_blank_control_is_the_envs_no_medical_episode(tiny_city):
    """The simulator-only blank control gives the env's episodes seed by seed, with and without a shared free phase."""
    for shared in (None, 1):
        scenario = Scenario(initial_cases=20, initial_regions=2, regions=[], initial_compartment="Iu",
                            use_city_start=False, free_days=6, controlled_days=4, free_phase_seed=shared)
        simulator = MetapopSimulator(tiny_city, DiseaseParams(), SimOptions())
        totals = blank_control_totals(simulator, scenario, [0, 2])
        env = MetapopEnv(tiny_city, MetapopSimulator(tiny_city, DiseaseParams(), SimOptions()), scenario,
                         DailyBudget("none", 0, 0), Kdd21Reward(), allocation="none")
        for run_totals, seed in zip(totals, [0, 2]):
            env.reset(seed=seed)
            done = False
            while not done:
                done = env.step(env.action_space.sample())[2]
            assert (run_totals == [record.totals for record in env.history]).all(), (shared, seed)


def test_fit_picks_the_choice_that_made_the_row_and_writes_an_env_ready_for_conf(town_target, tmp_path):
    """Mobility fixed at the known values: only the true choice replays the row exactly (common random numbers)."""
    cfg = composed([*TOWN, f"target={town_target}", "table_rows.move_scale.free=false",
                    f"table_rows.move_scale.value={TRUE_SCALE}", "progress=false"])
    run(cfg, tmp_path, {"env": "tiny"})
    fit = yaml.safe_load((tmp_path / "fit.yaml").read_text())
    assert (fit["fitted"]["initial_compartment"], fit["fitted"]["free_phase_seed"]) == ("E", 0)
    assert fit["fitted"]["loss"] < 1e-9 and fit["evaluations"] == 4
    assert all(choice["loss"] > 1e-3 for choice in fit["choices"] if choice["loss"] != fit["fitted"]["loss"])
    rows = pd.read_csv(tmp_path / "rows.csv")
    best = rows[rows["best"]]
    assert len(best) == 4 and (best["ours_mean"] - best["paper_mean"]).abs().max() < 1e-6
    # fitted_env.yaml composes as conf/env/tiny_t.yaml would, with the fitted city and seeding
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "tiny_t.yaml").write_text((tmp_path / "fitted_env.yaml").read_text())
    env = composed([f"hydra.searchpath=[file://{tmp_path}]", "env=tiny_t"]).env
    assert env.name == "tiny_t" and env.scenario.initial_compartment == "E" and env.scenario.free_phase_seed == 0
    expected = scaled_spec(OmegaConf.to_object(cfg.env).city.synthetic, TRUE_SCALE, TRUE_GRAVITY)
    for name, value in fit["city"].items():
        assert env.city.synthetic[name] == value == getattr(expected, name), name


@pytest.mark.smoke  # about 5 s: 4 choices x 18 evaluations
def test_fit_recovers_the_mobility_intensity_and_the_choice(town_target, tmp_path):
    cfg = composed([*TOWN, f"target={town_target}", "table_rows.search_points=6", "table_rows.max_evaluations=12",
                    "progress=false"])
    run(cfg, tmp_path, {"env": "tiny"})
    fit = yaml.safe_load((tmp_path / "fit.yaml").read_text())
    assert (fit["fitted"]["initial_compartment"], fit["fitted"]["free_phase_seed"]) == ("E", 0)
    assert fit["fitted"]["move_scale"] == pytest.approx(TRUE_SCALE, rel=0.15)
    assert fit["fitted"]["gravity_scale_km"] == TRUE_GRAVITY and fit["free"] == ["move_scale"]
    history = pd.read_csv(tmp_path / "loss_history.csv")
    assert len(history) == fit["evaluations"] and history["loss"].min() == pytest.approx(fit["fitted"]["loss"], rel=1e-5)


def test_the_kdd21_targets_read_the_papers_rows_and_each_experiments_scenario():
    cfg = composed(["env=beijing", "target=kdd21_beijing_no_medical"])
    settings = resolve_rows(cfg, row_target_path(cfg.target))
    assert [row.experiment for row in settings.target.rows] == ["kdd21_exp1", "kdd21_exp2"]
    assert settings.target.rows[0].paper.at["infected_pct", "mean"] == 43.99
    assert settings.target.rows[0].paper.at["infected_pct", "std"] == 0.12
    assert [env.scenario.initial_regions for env in settings.row_envs] == [4, 40]  # Exp 2: 80 cases in 40 regions
    assert len(settings.choices) == 4 and settings.space.free == ("move_scale", "gravity_scale_km")
    shanghai = composed(["env=shanghai", "target=kdd21_shanghai_no_medical"])
    assert resolve_rows(shanghai, row_target_path(shanghai.target)).target.rows[0].paper.at["infected_pct", "mean"] == 29.21
    with pytest.raises(EpictlError, match="the paper ran kdd21_exp1 on beijing; env 'shanghai' simulates shanghai"):
        resolve_rows(shanghai, row_target_path("kdd21_beijing_no_medical"))


PUBLISHED = pd.DataFrame([{"table": "t", "experiment": "town_exp", "agent": agent, "metric": metric, "mean": 1.0,
                           "std": 0.1} for agent in ("no_medical", "hrl") for metric in METRIC_COLUMNS])


@pytest.mark.parametrize("row, message", [
    ({**ROW, "experiment": "nowhere"}, "no row with experiment 'nowhere' (for t nowhere no_medical); it has town_exp"),
    ({**ROW, "agent": "ghost"}, "no row with agent 'ghost' (for t town_exp ghost); it has hrl, no_medical"),
    ({**ROW, "table": "table9"}, "no row with table 'table9'"),
    ({**ROW, "agent": "hrl"}, "row t town_exp hrl: calibrate simulates the blank control"),
])
def test_a_bad_row_is_a_one_line_error(capsys, tmp_path, row, message):
    target = write_target(tmp_path, [row], PUBLISHED)
    assert main(["calibrate", "env=tiny", f"target={target}", f"hydra.run.dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("epictl: error:") and "\n" not in err
    assert message in err
    assert not (tmp_path / "run").exists()


def test_an_unknown_target_lists_the_series_and_the_row_targets():
    with pytest.raises(EpictlError, match=r"not a named target \(xinfadi\) or table rows \(kdd21_beijing_no_medical, "
                                          r"kdd21_shanghai_no_medical\)"):
        resolve(composed(["env=tiny", "target=nowhere"]))


@pytest.mark.parametrize("override, message", [
    ("table_rows.move_scale.low=0", "table_rows.move_scale: bounds [0, 4] need 0 < low < high"),
    ("table_rows.move_scale.high=10", "10 x env.city.synthetic.commute_share=0.2 exceeds 1"),
    ("table_rows.initial_compartments=[Q]", "table_rows.initial_compartments: 'Q'; choose from S, E, Iu"),
    ("table_rows.free_phase_seeds=[]", "each need at least one value"),
])
def test_bad_table_row_settings_are_one_line_errors(override, message):
    cfg = composed(["env=beijing", "target=kdd21_beijing_no_medical", override])
    with pytest.raises(EpictlError, match=message.replace("[", r"\[").replace("]", r"\]")):
        resolve_rows(cfg, row_target_path(cfg.target))
