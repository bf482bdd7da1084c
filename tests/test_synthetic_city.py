"""Synthetic cities: deterministic, census-exact, valid mobility that returns everyone home each day."""

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from epictl.errors import EpictlError
from epictl.sim.metapop.city import Mobility
from epictl.sim.metapop.sources import CityConfig, as_city_config, load_city, synthetic_cache_path
from epictl.sim.metapop.synthetic import SyntheticCitySpec, build_synthetic, split_largest_remainder

CONF = Path(__file__).resolve().parents[1] / "conf" / "env" / "city"
MOBILITY_ARRAYS = ("slot_matrix", "stay", "indptr", "dest", "prob")


@pytest.fixture(scope="module")
def tiny():
    return build_synthetic(SyntheticCitySpec())


def expected_day(mobility: Mobility, population: np.ndarray, first_matrix: int, n_matrices: int = 48) -> np.ndarray:
    """Push expected (real-valued) head counts through consecutive matrices of one day."""
    m = mobility.n_regions
    n = population.astype(np.float64)
    for u in range(first_matrix, first_matrix + n_matrices):
        lo, hi = mobility.indptr[u * m], mobility.indptr[(u + 1) * m]
        origin = np.repeat(np.arange(m), np.diff(mobility.indptr[u * m:(u + 1) * m + 1]))
        moved = n * mobility.stay[u]
        np.add.at(moved, mobility.dest[lo:hi], n[origin] * mobility.prob[lo:hi])
        n = moved
    return n


def test_deterministic_from_seed(tiny):
    again = build_synthetic(SyntheticCitySpec())
    for key in ("population", "flow", "density", "district"):
        np.testing.assert_array_equal(getattr(again, key), getattr(tiny, key))
    for key in MOBILITY_ARRAYS:
        np.testing.assert_array_equal(getattr(again.mobility, key), getattr(tiny.mobility, key))


def test_different_seed_differs(tiny):
    other = build_synthetic(SyntheticCitySpec(seed=1))
    assert not np.array_equal(other.population, tiny.population)
    assert not np.array_equal(other.mobility.prob, tiny.mobility.prob)


def test_census_totals_exact(tiny):
    spec = SyntheticCitySpec()
    assert tiny.n_regions == spec.n_regions
    assert tiny.district_names == ("Northtown", "Southvale")
    for index, district in enumerate(spec.districts):
        assert tiny.population[tiny.district == index].sum() == district.population
        assert np.count_nonzero(tiny.district == index) >= 1
    assert tiny.total_population == 20_000


def test_largest_remainder_sums_exactly():
    counts = split_largest_remainder(10, np.array([1.0, 1.0, 1.0]))
    assert counts.sum() == 10 and sorted(counts.tolist()) == [3, 3, 4]
    rng = np.random.default_rng(3)
    assert split_largest_remainder(1_234_567, rng.lognormal(0, 1, 97)).sum() == 1_234_567


def test_rows_sum_to_one_and_sorted(tiny):
    mobility = tiny.mobility
    sums = mobility.stay.reshape(-1).copy()
    np.add.at(sums, np.repeat(np.arange(len(sums)), np.diff(mobility.indptr)), mobility.prob)
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    for row in range(len(sums)):
        probs = mobility.prob[mobility.indptr[row]:mobility.indptr[row + 1]]
        assert np.all(np.diff(probs) <= 0)
    assert (1.0 - mobility.stay).max() <= SyntheticCitySpec().max_leave_share


def test_slot_matrix_weekdays_and_weekend(tiny):
    slots = tiny.mobility.slot_matrix
    assert tiny.mobility.n_matrices == 96 and slots.shape == (336,)
    for day in range(7):
        expected = np.arange(48) + (0 if day < 5 else 48)
        np.testing.assert_array_equal(slots[day * 48:(day + 1) * 48], expected)


def test_daily_profile_shape(tiny):
    share = ((1.0 - tiny.mobility.stay) * tiny.population).sum(axis=1) / tiny.total_population
    weekday, weekend = share[:48], share[48:]
    assert 0.001 <= weekday[6] <= 0.005  # 03:00, night
    assert weekday[16] > 5 * weekday[6] and weekday[36] > 5 * weekday[6]  # 08:00 and 18:00 peaks
    assert weekend.max() < weekday.max()


def test_flow_and_density_mean_one(tiny):
    np.testing.assert_allclose(tiny.flow.mean(), 1.0)
    np.testing.assert_allclose(tiny.density.mean(), 1.0)
    assert np.all(tiny.flow > 0) and np.all(tiny.density > 0)


@pytest.mark.parametrize("first_matrix", [0, 48])
def test_expected_day_returns_to_census(tiny, first_matrix):
    after = expected_day(tiny.mobility, tiny.population, first_matrix)
    np.testing.assert_allclose(after, tiny.population, rtol=1e-3)


def test_weekday_commute_moves_people_by_noon(tiny):
    noon = expected_day(tiny.mobility, tiny.population, 0, n_matrices=24)
    assert np.abs(noon - tiny.population).max() > 10  # the directed morning commute shifts people


def test_bad_spec_is_one_line_error():
    with pytest.raises(EpictlError, match="fewer than the 2 districts"):
        build_synthetic(SyntheticCitySpec(n_regions=1))


def test_yaml_configs_fit_the_schema():
    for name, regions, people in (("beijing", 673, 10_988_587), ("shanghai", 657, 24_870_895), ("tiny", 12, 20_000)):
        spec = as_city_config(OmegaConf.load(CONF / f"{name}.yaml")).synthetic
        assert spec.name == name and spec.n_regions == regions
        assert sum(d.population for d in spec.districts) == people


def test_cache_second_load_equals_first(tmp_path):
    cfg = OmegaConf.merge(OmegaConf.load(CONF / "tiny.yaml"), {"cache_dir": str(tmp_path)})
    first = load_city(cfg)
    cached = synthetic_cache_path(as_city_config(cfg).synthetic, tmp_path)
    assert cached.is_file() and "tiny" in cached.name
    second = load_city(cfg)
    assert second.name == first.name and second.district_names == first.district_names
    for key in ("population", "flow", "density", "district"):
        np.testing.assert_array_equal(getattr(second, key), getattr(first, key))
    for key in MOBILITY_ARRAYS:
        np.testing.assert_array_equal(getattr(second.mobility, key), getattr(first.mobility, key))


def test_cache_key_changes_with_any_knob(tmp_path):
    spec = SyntheticCitySpec()
    assert synthetic_cache_path(spec, tmp_path) == synthetic_cache_path(SyntheticCitySpec(), tmp_path)
    assert synthetic_cache_path(spec, tmp_path) != synthetic_cache_path(dataclasses.replace(spec, gravity_scale_km=4.0), tmp_path)
    load_city(CityConfig(synthetic=dataclasses.replace(spec, commute_share=0.1), cache_dir=str(tmp_path)))
    load_city(CityConfig(synthetic=spec, cache_dir=str(tmp_path)))
    assert len(list(tmp_path.glob("tiny-*.npz"))) == 2


@pytest.mark.slow
def test_beijing_core6_builds_fast():
    spec = as_city_config(OmegaConf.load(CONF / "beijing.yaml")).synthetic
    start = time.perf_counter()
    city = build_synthetic(spec)
    assert time.perf_counter() - start < 60
    assert city.n_regions == 673 and city.total_population == 10_988_587
    assert len(city.district_names) == 6
    after = expected_day(city.mobility, city.population, 0)
    np.testing.assert_allclose(after, city.population, rtol=1e-3)
