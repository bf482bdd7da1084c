"""Regressions of issue 10 (reliability): impossible parameters, inconsistent cities, racing cache
writers and degenerate calibration targets are refused with one line, before they corrupt a run."""

from __future__ import annotations

import json
import math
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, random_city
from fuzz_harness import assert_clean_rejection, run_cli
from omegaconf import OmegaConf

from epictl.calibration.parameters import FitParameters, ParameterSpec, build_space
from epictl.calibration.settings import check_disease_at_extremes
from epictl.envs.metapop_family import Scenario
from epictl.errors import EpictlError
from epictl.sim.grid.params import GridParams
from epictl.sim.metapop.city import City, load_npz, mobility_from_dense, save_npz
from epictl.sim.metapop.compartments import SLOTS_PER_WEEK
from epictl.sim.metapop.loader import load_original
from epictl.sim.metapop.params import DiseaseParams
from epictl.sim.metapop.simulator import outbreak_counts
from epictl.sim.metapop.sources import CityConfig, load_city, synthetic_cache_path


# -- 1. parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["R0", "eps_ticks", "theta_ticks", "r_a", "r_E", "t_days"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_disease_parameters_are_refused_by_name(key, value):
    with pytest.raises(EpictlError, match=rf"env\.disease\.{key}=(nan|inf|-inf) must be a finite number"):
        DiseaseParams(**{key: value}).validate()


@pytest.mark.parametrize("overrides, message", [
    ({"theta_ticks": 0.5}, "testing (Iu to It) is 2, not in [0, 1]; raise env.disease.theta_ticks"),
    ({"eps_ticks": 0.1}, "leaving E is 10, not in [0, 1]; raise env.disease.eps_ticks"),
    ({"t_ticks": 0.5}, "recovering from Ia is 2"),
    ({"t_days": 0.16}, "dying or recovering from Iu and It"),
    ({"th_days": 0.05}, "leaving hospital (Ih)"),
    ({"R0": 1e300}, "per-tick infection probability reaches"),
    ({"eps_ticks": 5e-324, "Pa": 1.0}, "leaving E is nan"),  # 1/eps = inf, times 1 - Pa = 0
])
def test_per_tick_probabilities_above_one_are_refused(overrides, message):
    with pytest.raises(EpictlError) as info:
        DiseaseParams(**overrides).validate()
    assert message in str(info.value)


def test_default_and_shipped_parameters_stay_valid():
    DiseaseParams().validate()
    for name in ("beijing", "shanghai", "tiny", "beijing_xinfadi"):
        node = OmegaConf.load(REPO / "conf" / "env" / f"{name}.yaml")
        DiseaseParams(**node.get("disease", {})).validate()


def test_no_infectiousness_at_all_is_refused_not_divided_by_zero():
    with pytest.raises(EpictlError, match="r_a must be > 0"):
        DiseaseParams(r_E=0.0, Pa=1.0, r_a=0.0).validate()


@pytest.mark.parametrize("overrides, message", [
    ({"economy_high": math.inf}, r"env\.sim\.economy_high=inf must be finite"),
    ({"moves_per_day": 0}, r"env\.sim\.moves_per_day=0 must be >= 1"),  # was a ZeroDivisionError in every day
    ({"economy_low": 0.0, "economy_high": 0.0}, r"env\.sim\.economy_high=0: economy_norm=epictl divides"),
])
def test_grid_numbers_that_break_a_day_are_refused(overrides, message):
    with pytest.raises(EpictlError, match=message):
        GridParams(**overrides).validate()


@pytest.mark.parametrize("change, message", [
    ({"initial_regions": 0}, "scenario.initial_regions=0 must be >= 1"),
    ({"regions": [1, 1]}, "lists a region twice"),
    ({"regions": [-1]}, "region indices start at 0"),
])
def test_impossible_scenarios_are_refused_before_the_run(change, message):
    tiny = OmegaConf.load(REPO / "conf" / "env" / "tiny.yaml").scenario
    with pytest.raises(EpictlError, match=message):
        Scenario(**{**tiny, **change}).validate()


def test_nan_action_bound_is_refused_at_composition(tmp_path):
    result = run_cli("eval", "env=tiny", "env.delta=[nan,0.1]", f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, "env.delta=[nan, 0.1]", tmp_path / "run")


def test_nan_calibration_values_are_refused():
    with pytest.raises(EpictlError, match="parameters.R0 is fixed"):
        build_space(FitParameters(R0=ParameterSpec(False, math.nan)), {"test_delay": 1.0, "seed_cases": 1.0})
    with pytest.raises(EpictlError, match=r"parameters.R0: bounds \[0.5, inf\]"):
        build_space(FitParameters(R0=ParameterSpec(True, None, 0.5, math.inf)), {})


def test_a_test_delay_shorter_than_a_tick_is_refused_before_the_fit():
    space = build_space(FitParameters(test_delay=ParameterSpec(True, None, 0.01, 4.0)), {})
    with pytest.raises(EpictlError, match=r"parameters: R0=6 with test_delay=0.01 days: .*theta_ticks"):
        check_disease_at_extremes(DiseaseParams(), space)


# -- 2. start state and population ---------------------------------------------------------------
def write_original(folder: Path, city: City, **files) -> Path:
    """``city`` in the original JSON format, with ``files`` replacing some of its files."""
    folder.mkdir(parents=True, exist_ok=True)
    content = {
        "prob.json": np.stack([city.mobility.dense(s) for s in range(SLOTS_PER_WEEK)]).tolist(),
        "pop_region.json": city.population.tolist(), "flow.json": city.flow.tolist(), "dense.json": city.density.tolist(),
    }
    content.update(files)
    for name, value in content.items():
        (folder / name).write_text(value if isinstance(value, str) else json.dumps(value))
    return folder


def start_of(city: City) -> np.ndarray:
    start = np.zeros((city.n_regions, 8), np.int64)
    start[:, 0] = city.population
    return start


def test_start_state_must_place_each_regions_population(tmp_path):
    city = random_city(3, np.random.default_rng(0))
    folder = write_original(tmp_path / "c", city, **{"start.json": (2 * start_of(city)).tolist()})
    with pytest.raises(EpictlError, match=r"start\.json vs pop_region\.json: region 0 holds"):
        load_original(folder)
    city_with_start = load_original(write_original(tmp_path / "ok", city, **{"start.json": start_of(city).tolist()}))
    np.testing.assert_array_equal(city_with_start.start_state, start_of(city))


def test_start_state_in_an_npz_must_match_its_population(tmp_path):
    city = random_city(3, np.random.default_rng(0))
    doubled = City(city.name, city.population, city.flow, city.density, city.mobility, start_state=2 * start_of(city))
    save_npz(doubled, tmp_path / "c.npz")
    with pytest.raises(EpictlError, match=r"c\.npz: start state: region 0 holds"):
        load_npz(tmp_path / "c.npz")


def test_a_city_without_people_is_refused_by_file(tmp_path):
    city = random_city(3, np.random.default_rng(0))
    folder = write_original(tmp_path / "c", city, **{"pop_region.json": [0, 0, 0]})
    with pytest.raises(EpictlError, match=r"pop_region\.json: every region has 0 people"):
        load_original(folder)


def test_seeding_more_regions_than_have_people_is_a_clear_error():
    city = random_city(3, np.random.default_rng(0))
    city = City(city.name, np.array([100, 0, 0]), city.flow, city.density, city.mobility)
    with pytest.raises(EpictlError, match=r"scenario.initial_regions=2 must be 1..1 \(regions of random with people\)"):
        outbreak_counts(city, 10, 2, np.random.default_rng(0))


# -- 3. two jobs building one city into one cache ---------------------------------------------------
def _build(cache: str, start, failures) -> None:
    node = OmegaConf.load(REPO / "conf" / "env" / "city" / "tiny.yaml")
    node.cache_dir = cache
    start.wait()
    try:
        load_city(OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(CityConfig), node)))
    except Exception as exc:  # noqa: BLE001 - any failure of either job is the bug
        failures.put(f"writer: {exc}")


def _read_while_written(path: str, start, done, failures) -> None:
    start.wait()
    while not done.is_set():
        if Path(path).is_file():
            try:
                load_npz(Path(path))
            except Exception as exc:  # noqa: BLE001 - a half-written file seen by a reader
                failures.put(f"reader: {exc}")
                return


# Child epictl processes signalled or raced (a few seconds each): with the interrupted trainings in `make test-smoke`,
# so the fast suite keeps its 5 minutes.
@pytest.mark.smoke
def test_concurrent_builds_of_one_city_never_collide(tmp_path):
    """Two jobs of a sweep build the tiny city into the same empty cache while a third reads it."""
    context = multiprocessing.get_context("fork")
    node = OmegaConf.load(REPO / "conf" / "env" / "city" / "tiny.yaml")
    spec = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(CityConfig), node)).synthetic
    failures = context.Queue()
    for attempt in range(25):
        cache = tmp_path / f"cache{attempt}"
        path = synthetic_cache_path(spec, cache)
        start, done = context.Barrier(3), context.Event()
        reader = context.Process(target=_read_while_written, args=(str(path), start, done, failures))
        writers = [context.Process(target=_build, args=(str(cache), start, failures)) for _ in range(2)]
        for process in (reader, *writers):
            process.start()
        for writer in writers:
            writer.join(30)
        done.set()
        reader.join(30)
        assert failures.empty(), failures.get()
        assert [p.name for p in cache.iterdir() if p.suffix == ".tmp"] == []
        load_npz(path)


# -- 4. calibration targets -------------------------------------------------------------------------
def test_window_days_zero_is_an_error_like_minus_five(tmp_path):
    for value in (0, -5):
        result = run_cli("calibrate", "env=tiny", f"window_days={value}", f"hydra.run.dir={tmp_path / 'run'}")
        assert_clean_rejection(result, f"window_days={value} must be >= 1", tmp_path / "run")


def test_a_window_whose_cumulative_cases_never_change_is_refused(tmp_path):
    csv = tmp_path / "late.csv"
    csv.write_text("date,new_confirmed\n2021-03-01,4\n2021-03-02,0\n2021-03-03,0\n2021-03-04,7\n")
    result = run_cli("calibrate", "env=tiny", f"target={csv}", "window_days=3", f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, "window_days=3: the cumulative cases of target late do not change", tmp_path / "run")


def test_square_prob_rows_summing_to_one_up_to_rounding_are_accepted():
    row = [0.46335848984461653, 0.3373961461805628, 0.1992453639748208]  # a normalised random row
    assert np.sum(row) == 1.0000000000000002  # so the stay probability 1 - sum would be -2e-16
    dense = np.tile(np.array([[row, [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]), (SLOTS_PER_WEEK, 1, 1))
    mobility = mobility_from_dense(dense, "prob.json")
    assert mobility.stay[0, 0] == row[0] and np.all(mobility.stay >= 0)
