"""Original-format city folders: a valid one loads and round-trips; each malformed one fails clearly."""

import json
from pathlib import Path

import numpy as np
import pytest

from epictl.errors import EpictlError
from epictl.sim.metapop.city import load_npz, save_npz
from epictl.sim.metapop.loader import load_original
from epictl.sim.metapop.sources import CityConfig, convert_original_to_npz, load_city

M = 4


def valid_prob(columns: int = M + 1) -> np.ndarray:
    """Weekday nights quiet, daytime busy; every row sums to 1 (stay column last)."""
    prob = np.zeros((336, M, M + 1))
    for s in range(336):
        move = 0.02 if s % 48 < 14 else 0.1
        for k in range(M):
            prob[s, k, (k + 1) % M] = move
            prob[s, k, (k + 2) % M] = move / 2
            prob[s, k, M] = 1.0 - 1.5 * move
    if columns == M:  # fold the stay column into the self entry
        prob[:, np.arange(M), np.arange(M)] += prob[:, :, M]
        prob = prob[:, :, :M]
    return prob


def write_city(folder: Path, **overrides) -> Path:
    files = {
        "prob.json": valid_prob().tolist(),
        "pop_region.json": [1000, 2000, 1500, 500],
        "flow.json": [1.0, 2.0, 3.0, 2.0],
        "dense.json": [10.0, 30.0, 20.0, 20.0],
        "start.json": [[990, 0, 10, 0, 0, 0, 0, 0], [2000, 0, 0, 0, 0, 0, 0, 0],
                       [1500, 0, 0, 0, 0, 0, 0, 0], [500, 0, 0, 0, 0, 0, 0, 0]],
    }
    files.update(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if content is None:
            continue
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
            continue
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / name).write_text(text)
    return folder


def assert_fails(folder: Path, *fragments: str) -> str:
    with pytest.raises(EpictlError) as info:
        load_original(folder)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_valid_folder_loads(tmp_path):
    city = load_original(write_city(tmp_path / "toytown"))
    assert city.name == "toytown"
    assert city.population.tolist() == [1000, 2000, 1500, 500]
    assert city.population.dtype == np.int64
    np.testing.assert_allclose(city.flow.mean(), 1.0)
    np.testing.assert_allclose(city.density.mean(), 1.0)
    np.testing.assert_allclose(city.flow, [0.5, 1.0, 1.5, 1.0])
    assert city.start_state.shape == (M, 8) and city.start_state[0, 2] == 10
    assert city.mobility.n_matrices == 2
    np.testing.assert_allclose(city.mobility.dense(0), valid_prob()[0])
    np.testing.assert_allclose(city.mobility.dense(20), valid_prob()[20])


def test_start_file_is_optional(tmp_path):
    assert load_original(write_city(tmp_path / "c", **{"start.json": None})).start_state is None


def test_square_prob_accepted(tmp_path):
    city = load_original(write_city(tmp_path / "c", **{"prob.json": valid_prob(columns=M).tolist()}))
    np.testing.assert_allclose(city.mobility.stay[city.mobility.slot_matrix[0]], 0.97)


def test_npz_round_trip(tmp_path):
    city = load_original(write_city(tmp_path / "c"))
    save_npz(city, tmp_path / "c.npz")
    again = load_npz(tmp_path / "c.npz")
    assert again.name == city.name and again.district_names == city.district_names
    for key in ("population", "flow", "density", "district", "start_state"):
        np.testing.assert_array_equal(getattr(again, key), getattr(city, key))
    for key in ("slot_matrix", "stay", "indptr", "dest", "prob"):
        np.testing.assert_array_equal(getattr(again.mobility, key), getattr(city.mobility, key))


def test_convert_and_load_via_config(tmp_path):
    folder = write_city(tmp_path / "c")
    convert_original_to_npz(folder, tmp_path / "out" / "c.npz")
    via_npz = load_city(CityConfig(source="npz", path=str(tmp_path / "out" / "c.npz")))
    via_json = load_city(CityConfig(source="original", path=str(folder)))
    np.testing.assert_array_equal(via_npz.mobility.prob, via_json.mobility.prob)


def test_missing_file(tmp_path):
    assert_fails(write_city(tmp_path / "c", **{"flow.json": None}), "flow.json", "not found")


def test_missing_folder(tmp_path):
    assert_fails(tmp_path / "nowhere", "nowhere", "not found")


def test_bad_json(tmp_path):
    assert_fails(write_city(tmp_path / "c", **{"dense.json": "[1.0, 2.0,"}), "dense.json", "not valid JSON")


def test_population_wrong_shape(tmp_path):
    message = assert_fails(write_city(tmp_path / "c", **{"pop_region.json": [[1, 2], [3, 4], [5, 6]]}), "pop_region.json")
    assert message.endswith("pop_region.json: expected [M] numbers, got shape [3, 2]")


def test_population_not_whole(tmp_path):
    assert_fails(write_city(tmp_path / "c", **{"pop_region.json": [1000, 2000.5, 1500, 500]}), "pop_region.json", "whole number")


def test_population_nearly_whole_is_rounded(tmp_path):
    city = load_original(write_city(tmp_path / "c", **{"pop_region.json": [1000.0000001, 2000, 1500, 500]}))
    assert city.population[0] == 1000


def test_non_numeric_entry(tmp_path):
    assert_fails(write_city(tmp_path / "c", **{"flow.json": [1.0, None, 3.0, 2.0]}), "flow.json: entry [1] is null, expected a number")


def test_prob_wrong_shape(tmp_path):
    assert_fails(write_city(tmp_path / "c", **{"prob.json": valid_prob()[:300].tolist()}), "prob.json", "[300, 4, 5]")


def test_prob_ragged(tmp_path):
    prob = valid_prob().tolist()
    prob[3][1] = prob[3][1][:2]
    assert_fails(write_city(tmp_path / "c", **{"prob.json": prob}), "prob.json", "unequal length")


def test_prob_row_not_summing_to_one(tmp_path):
    prob = valid_prob()
    prob[7, 2, M] += 0.01
    assert_fails(write_city(tmp_path / "c", **{"prob.json": prob.tolist()}), "prob.json", "[slot 7][region 2]", "not 1")


def test_prob_negative_entry(tmp_path):
    prob = valid_prob()
    prob[5, 1, 3] = -0.05
    prob[5, 1, M] += 0.05
    assert_fails(write_city(tmp_path / "c", **{"prob.json": prob.tolist()}), "prob.json", "negative")


def test_nan_entry(tmp_path):
    assert_fails(write_city(tmp_path / "c", **{"dense.json": "[1.0, NaN, 2.0, 3.0]"}), "dense.json", "NaN")


def test_region_count_mismatch(tmp_path):
    message = assert_fails(write_city(tmp_path / "c", **{"flow.json": [1.0, 2.0, 3.0]}), "flow.json")
    assert message.endswith("flow.json: 3 regions, pop_region.json has 4")


def test_prob_region_count_mismatch(tmp_path):
    three = {"pop_region.json": [1000, 2000, 1500], "flow.json": [1, 2, 3], "dense.json": [1, 2, 3], "start.json": None}
    assert_fails(write_city(tmp_path / "c", **three), "prob.json", "4 regions, pop_region.json has 3")


def test_start_wrong_shape(tmp_path):
    assert_fails(write_city(tmp_path / "c", **{"start.json": [[1, 2, 3]] * M}), "start.json", "expected [4][8]", "[4, 3]")


def test_unknown_source():
    with pytest.raises(EpictlError, match="unknown source 'csv'"):
        load_city(CityConfig(source="csv", path="x"))


@pytest.mark.parametrize("name, content, expected", [
    ("prob.json", "  \n\n ", "prob.json: empty file"),
    ("flow.json", "[1.0, 2.0, 3.0, 2.0] // caf\xe9".encode("latin-1"), "flow.json: line 1: byte 0xe9 is not UTF-8 text"),
    ("flow.json", [1.0, {"x": 1}, 3.0, 2.0], "flow.json: entry [1] is an object {...}, expected a number"),
    ("dense.json", '"abc"', 'dense.json: expected a list of numbers, found the string "abc"'),
    ("pop_region.json", f"[1000, {2**64}, 1500, 500]", "pop_region.json: entry [1] = 1.84467e+19 people is too large"),
    ("flow.json", "[1.0, Infinity, 2.0, 3.0]", "flow.json: entry [1] is infinite"),
    ("prob.json", "[" * 100_000 + "]" * 100_000, "prob.json: lists nested too deeply"),
    ("prob.json", "[[[0.5, 0.5, 0, 0, 0]]", "prob.json: line 1, column 23: not valid JSON"),
    ("start.json", [[989.5, 0, 10.5, 0, 0, 0, 0, 0]] + [[p] + [0] * 7 for p in (2000, 1500, 500)],
     "start.json: entry [0][0] = 989.5 is not a whole number of people"),
    ("start.json", [[991, -1, 10, 0, 0, 0, 0, 0]] + [[p] + [0] * 7 for p in (2000, 1500, 500)],
     "start.json: entry [0][1] is negative (-1)"),
    ("start.json", [[990, 0, 10, 0, 0, 0, 0, 1]] + [[p] + [0] * 7 for p in (2000, 1500, 500)],
     "start.json vs pop_region.json: region 0 holds 1001 people in its 8 compartments, its population is 1000"),
])
def test_each_malformed_file_is_named_with_the_entry(tmp_path, name, content, expected):
    assert_fails(write_city(tmp_path / "c", **{name: content}), expected)


def test_byte_order_mark_is_harmless(tmp_path):
    city = load_original(write_city(tmp_path / "c", **{"pop_region.json": "\ufeff[1000, 2000, 1500, 500]".encode()}))
    assert city.population.tolist() == [1000, 2000, 1500, 500]


def test_square_prob_rows_above_one_are_named(tmp_path):
    prob = valid_prob(columns=M)
    prob[3, 2, 0] += 0.5
    assert_fails(write_city(tmp_path / "c", **{"prob.json": prob.tolist()}),
                 "prob.json: row [slot 3][region 2] sums to 1.5, above 1 (in the [336][M][M] form")


def _npz_with(tmp_path: Path, **changes) -> Path:
    """The valid test city as npz, then some arrays replaced."""
    path = tmp_path / "c.npz"
    save_npz(load_original(write_city(tmp_path / "c")), path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays.update(changes)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("changes, expected", [
    ({"population": np.array([2**63, 1, 1, 1], dtype=np.uint64)}, "c.npz: array 'population' holds 9223372036854775808, too large"),
    ({"population": np.array([100, -1, 100, 100])}, "c.npz: population: entry [1] is negative (-1)"),
    ({"flow": np.array([1.0, np.nan, 1.0, 1.0])}, "c.npz: flow: entry [1] is NaN"),
    ({"prob": np.zeros(3)}, "c.npz: mobility has 3 probabilities for"),
    ({"name": np.array([1, 2])}, "c.npz: array 'name' must be 0-D text"),
    ({"district": np.array([0, 0, 1, 1]), "district_names": np.array(["A"])}, "c.npz: district indices must be 0..0"),
])
def test_each_malformed_npz_array_is_named(tmp_path, changes, expected):
    with pytest.raises(EpictlError) as info:
        load_npz(_npz_with(tmp_path, **changes))
    assert expected in str(info.value)


def test_truncated_npz_is_not_an_npz(tmp_path):
    path = _npz_with(tmp_path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(EpictlError, match="c.npz: not an npz file"):
        load_npz(path)
