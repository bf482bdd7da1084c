"""Malformed data files through the CLI: each is refused with one line naming the file (and the
entry or line), exit code 2, no traceback and no run folder.

City folders are a small valid random city in the original JSON format with one thing broken;
npz cities and calibration CSVs likewise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import random_city
from fuzz_harness import assert_clean_rejection, run_cli

from epictl.sim.metapop.city import save_npz
from epictl.sim.metapop.compartments import SLOTS_PER_WEEK

M = 3
CITY = random_city(M, np.random.default_rng(1))
PROB = np.stack([CITY.mobility.dense(s) for s in range(SLOTS_PER_WEEK)])  # [336][M][M+1], stay column last
START = np.zeros((M, 8), np.int64)
START[:, 0] = CITY.population
VALID = {
    "prob.json": PROB.tolist(),
    "pop_region.json": CITY.population.tolist(),
    "flow.json": [1.0, 2.0, 3.0],
    "dense.json": [10.0, 30.0, 20.0],
    "start.json": START.tolist(),
}
RANDOM_BYTES = np.random.default_rng(0).integers(0, 256, size=1 << 20, dtype=np.uint8).tobytes()
RANDOM_BYTES = b"\x89" + RANDOM_BYTES  # the first byte is never UTF-8, wherever the seed leaves it


def _prob(edit) -> list:
    prob = PROB.copy()
    edit(prob)
    return prob.tolist()


def _square_prob_over_one(prob: np.ndarray) -> np.ndarray:
    square = prob[:, :, :M].copy()
    square[:, np.arange(M), np.arange(M)] += prob[:, :, M]
    square[0, 0, 1] += 0.2
    return square


def _row_off(prob: np.ndarray) -> None:
    prob[7, 1, M] += 0.01


def _start(edit) -> list:
    start = START.copy().astype(object)
    edit(start)
    return start.tolist()


def _double(start) -> None:
    start *= 2


# (case id, file name, content: JSON-able, text, bytes or None to delete, expected substring)
CITY_CASES = [
    ("population_missing", "pop_region.json", None, "pop_region.json: file not found"),
    ("prob_empty_file", "prob.json", "", "prob.json: empty file"),
    ("dense_binary", "dense.json", RANDOM_BYTES[:4096], "dense.json: line 1: byte 0x89 is not UTF-8 text"),
    ("flow_binary_10mb", "flow.json", b"[1.0, 2.0,\n3.0]" + RANDOM_BYTES * 10, "flow.json: line 2: byte 0x89 is not UTF-8"),
    ("dense_string_entry", "dense.json", [10.0, "1", 20.0], 'dense.json: entry [1] is the string "1", expected a number'),
    ("flow_null_entry", "flow.json", [1.0, 2.0, None], "flow.json: entry [2] is null, expected a number"),
    ("population_bool_entry", "pop_region.json", [True, 2000, 3000], "pop_region.json: entry [0] is true, expected a number"),
    ("dense_is_an_object", "dense.json", {"regions": [1, 2, 3]}, "dense.json: expected a list of numbers, found an object"),
    ("population_2_pow_63", "pop_region.json", f"[1000, {2**63}, 3000]", "pop_region.json: entry [1] = 9.22337e+18 people is too large"),
    ("population_float_1e19", "pop_region.json", "[1000, 1e19, 3000]", "pop_region.json: entry [1] = 1e+19 people is too large"),
    ("population_total_overflow", "pop_region.json", [2**52, 2**52, 2**52], "pop_region.json: 1.351e+16 people in all, too large"),
    ("population_negative", "pop_region.json", [1000, 2000, -5], "pop_region.json: entry [2] is negative (-5)"),
    ("population_not_whole", "pop_region.json", [1000.5, 2000, 3000], "pop_region.json: entry [0] = 1000.5 is not a whole number"),
    ("population_all_zero", "pop_region.json", [0, 0, 0], "pop_region.json: every region has 0 people"),
    ("dense_nan", "dense.json", "[NaN, 1.0, 2.0]", "dense.json: entry [0] is NaN"),
    ("flow_too_short", "flow.json", [1.0, 2.0], "flow.json: 2 regions, pop_region.json has 3"),
    ("prob_ragged", "prob.json", PROB.tolist()[:335] + [PROB[0, :2].tolist()], "prob.json: nested lists of unequal length"),
    ("prob_300_slots", "prob.json", PROB[:300].tolist(), "prob.json: expected shape [336][M][M+1] or [336][M][M], got [300, 3, 4]"),
    ("prob_two_regions", "prob.json", PROB[:, :2, :3].tolist(), "prob.json: 2 regions, pop_region.json has 3"),
    ("prob_row_not_one", "prob.json", _prob(_row_off), "prob.json: row [slot 7][region 1] sums to 1.01"),
    ("prob_square_over_one", "prob.json", _square_prob_over_one(PROB).tolist(),
     "prob.json: row [slot 0][region 0] sums to 1.2, above 1 (in the [336][M][M] form"),
    ("prob_truncated_json", "prob.json", json.dumps(PROB.tolist())[:5000], "prob.json: line 1, column 5001: not valid JSON"),
    ("start_doubled", "start.json", _start(_double), "start.json vs pop_region.json: region 0 holds"),
    ("start_wrong_shape", "start.json", START[:, :5].tolist(), "start.json: expected [3][8] numbers, got shape [3, 5]"),
]


@pytest.fixture(scope="module")
def valid_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("valid") / "city"
    folder.mkdir()
    for name, content in VALID.items():
        (folder / name).write_text(json.dumps(content))
    return folder


def eval_city(tmp_path: Path, source: str, path: Path, *extra: str):
    run_dir = tmp_path / "run"
    result = run_cli("eval", "env=tiny", f"env.city.source={source}", f"env.city.path={path}", "seeds=1",
                     "progress=false", "plots=false", f"hydra.run.dir={run_dir}", f"env.city.cache_dir={tmp_path / 'cache'}",
                     *extra)
    return result, run_dir


# Every other case runs in `make test` (each kind of damage has neighbours there); all of them in `make test-smoke`.
@pytest.mark.parametrize("name, content, expected", [
    pytest.param(*case[1:], id=case[0], marks=[pytest.mark.smoke] if k % 2 else []) for k, case in enumerate(CITY_CASES)])
def test_malformed_city_folder(tmp_path, valid_folder, name, content, expected):
    folder = tmp_path / "city"
    shutil.copytree(valid_folder, folder)
    target = folder / name
    if content is None:
        target.unlink()
    elif isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content if isinstance(content, str) else json.dumps(content))
    result, run_dir = eval_city(tmp_path, "original", folder, "env.scenario.use_city_start=true")
    assert_clean_rejection(result, expected, run_dir)


def test_seeding_more_regions_than_have_people(tmp_path, valid_folder):
    folder = tmp_path / "city"
    shutil.copytree(valid_folder, folder)
    (folder / "pop_region.json").write_text("[5000, 0, 0]")
    (folder / "start.json").unlink()
    result, run_dir = eval_city(tmp_path, "original", folder, "env.scenario.initial_regions=2")
    assert_clean_rejection(result, "scenario.initial_regions=2 must be 1..1 (regions of city with people)", run_dir)


# -- npz cities ----------------------------------------------------------------------------------
def _saved(tmp_path: Path, **changes) -> Path:
    """CITY saved by save_npz, then its arrays changed (None removes one)."""
    path = tmp_path / "city.npz"
    save_npz(CITY, path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    np.savez(path, **arrays)
    return path


def _valid_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "valid.npz"
    save_npz(CITY, path)
    return path.read_bytes()


def _flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64]) + data[middle + 64:]


NPZ_CASES = [
    ("garbage", lambda tmp: RANDOM_BYTES[:5000], "city.npz: not an npz file"),
    ("empty", lambda tmp: b"", "city.npz: not an npz file"),
    ("corrupt_member", lambda tmp: _flip_middle(_valid_bytes(tmp)), "city.npz: not a readable city npz"),
    ("missing_prob", lambda tmp: _saved(tmp, prob=None), "city.npz: missing arrays prob"),
    ("object_array", lambda tmp: _saved(tmp, flow=np.array([1.0, "x", None], dtype=object)), "city.npz: not a readable city npz"),
    ("float_population", lambda tmp: _saved(tmp, population=CITY.population + 0.5),
     "city.npz: array 'population' must be 1-D whole numbers, got 1-D float64"),
    ("flat_stay", lambda tmp: _saved(tmp, stay=CITY.mobility.stay.ravel()), "city.npz: array 'stay' must be 2-D numbers"),
    ("zero_population", lambda tmp: _saved(tmp, population=np.zeros(M, np.int64)), "city.npz: population: every region has 0 people"),
    ("start_doubled", lambda tmp: _saved(tmp, start_state=2 * START), "city.npz: start state: region 0 holds"),
    ("destination_out_of_range", lambda tmp: _saved(tmp, dest=CITY.mobility.dest + M), "city.npz: mobility destination outside 0..2"),
]


@pytest.mark.parametrize("make, expected", [case[1:] for case in NPZ_CASES], ids=[case[0] for case in NPZ_CASES])
def test_malformed_npz_city(tmp_path, make, expected):
    made = make(tmp_path)
    path = tmp_path / "city.npz"
    if isinstance(made, bytes):
        path.write_bytes(made)
    result, run_dir = eval_city(tmp_path, "npz", path)
    assert_clean_rejection(result, expected, run_dir)


# -- calibration CSVs ------------------------------------------------------------------------------
HEADER = "date,new_confirmed\n"
GOOD_ROWS = "2021-03-01,3\n2021-03-02,5\n2021-03-03,8\n"

CSV_CASES = [
    ("empty", "", "cases.csv: empty file"),
    ("blank_lines", "\n  \n\n", "cases.csv: empty file"),
    ("header_only", HEADER, "cases.csv: no data rows after the header"),
    ("no_header", GOOD_ROWS, "cases.csv, line 1: unknown column '2021-03-01'"),
    ("missing_column", "date\n2021-03-01\n", "cases.csv, line 1: missing column 'new_confirmed'"),
    ("unknown_column", "date,new_confirmed,deaths\n2021-03-01,3,0\n", "cases.csv, line 1: unknown column 'deaths'"),
    ("column_twice", "date,new_confirmed,date\n", "cases.csv, line 1: a column appears twice"),
    ("extra_field", HEADER + "2021-03-01,3\n2021-03-02,5,9\n", "cases.csv, line 3: 3 fields, expected 2"),
    ("missing_field", HEADER + "2021-03-01\n", "cases.csv, line 2: 1 fields, expected 2"),
    ("bad_date", HEADER + "2021-03-01,3\n2021-02-30,5\n", "cases.csv, line 3: date '2021-02-30' is not a YYYY-MM-DD date"),
    ("duplicate_date", HEADER + GOOD_ROWS + "2021-03-02,1\n", "cases.csv, line 5: duplicate date 2021-03-02"),
    ("gap", HEADER + "2021-03-01,3\n2021-03-04,5\n", "cases.csv, line 3: date 2021-03-04 skips days after 2021-03-01"),
    ("unsorted", HEADER + "2021-03-02,3\n2021-03-01,5\n", "cases.csv, line 3: date 2021-03-01 comes after 2021-03-02"),
    ("negative", HEADER + "2021-03-01,-1\n", "cases.csv, line 2: new_confirmed -1 is negative"),
    ("not_whole", HEADER + "2021-03-01,2.5\n", "cases.csv, line 2: new_confirmed '2.5' is not a whole number"),
    ("nan", HEADER + "2021-03-01,3\n2021-03-02,nan\n", "cases.csv, line 3: new_confirmed 'nan' is not a finite number"),
    ("inf", HEADER + "2021-03-01,inf\n", "cases.csv, line 2: new_confirmed 'inf' is not a finite number"),
    ("two_pow_63", HEADER + f"2021-03-01,{2**63}\n", f"cases.csv, line 2: new_confirmed {2**63} is too large"),
    ("float_1e30", HEADER + "2021-03-01,1e30\n", "cases.csv, line 2: new_confirmed 1e30 is too large"),
    ("text_count", HEADER + "2021-03-01,many\n", "cases.csv, line 2: new_confirmed 'many' is not a number"),
    ("empty_count", HEADER + "2021-03-01,\n", "cases.csv, line 2: new_confirmed '' is not a number"),
    ("latin1", "date,new_confirmed,region\n2021-03-01,1,Northtown\n2021-03-01,1,Sa\xefnt\n".encode("latin-1"),
     "cases.csv, line 3: byte 0xef is not UTF-8 text"),
    ("binary_10mb", RANDOM_BYTES * 10, "cases.csv, line 1: byte 0x89 is not UTF-8 text"),
    ("nul_byte", (HEADER + "2021-03-01,3\x00\n").encode(), "cases.csv, line 2: a NUL character"),
    ("field_too_large", HEADER + "2021-03-01," + "9" * 200_000 + "\n", "cases.csv, line 2: not a readable CSV row"),
    ("all_zero", HEADER + "2021-03-01,0\n2021-03-02,0\n2021-03-03,0\n", "cases.csv: every new_confirmed count is 0"),
    ("one_day", HEADER + "2021-03-01,7\n", "cases.csv: only one day (2021-03-01)"),
    ("empty_region", "date,new_confirmed,region\n2021-03-01,1, \n", "cases.csv, line 2: empty region"),
    ("region_days_differ", "date,new_confirmed,region\n2021-03-01,1,Northtown\n2021-03-02,1,Northtown\n"
     "2021-03-02,1,Southvale\n2021-03-03,1,Southvale\n", "cases.csv, line 4: region 'Southvale' covers 2021-03-02..2021-03-03"),
    ("region_duplicate_date", "date,new_confirmed,region\n2021-03-01,1,Northtown\n2021-03-01,1,Northtown\n",
     "cases.csv, line 3: duplicate date 2021-03-01 in region Northtown"),
    ("bom_crlf_then_negative", ("\ufeff" + HEADER + "2021-03-01,3\n2021-03-02,-4\n").replace("\n", "\r\n").encode(),
     "cases.csv, line 3: new_confirmed -4 is negative"),
    ("region_unknown", "date,new_confirmed,region\n2021-03-01,1,Northtown\n2021-03-02,2,Northtown\n"
     "2021-03-01,1,Atlantis\n2021-03-02,1,Atlantis\n", "cases.csv, line 4: region 'Atlantis' is neither a district of tiny"),
]


@pytest.mark.parametrize("content, expected", [  # every other case in `make test`, all in `make test-smoke`
    pytest.param(*case[1:], id=case[0], marks=[pytest.mark.smoke] if k % 2 else []) for k, case in enumerate(CSV_CASES)])
def test_malformed_calibration_csv(tmp_path, content, expected):
    csv = tmp_path / "cases.csv"
    if isinstance(content, bytes):
        csv.write_bytes(content)
    else:
        csv.write_text(content)
    run_dir = tmp_path / "run"
    result = run_cli("calibrate", "env=tiny", f"target={csv}", "runs=1", "search_points=2", "max_evaluations=2",
                     "progress=false", "plots=false", f"hydra.run.dir={run_dir}", f"env.city.cache_dir={tmp_path / 'cache'}")
    assert_clean_rejection(result, expected, run_dir)
