"""Read a city in the original KDD'21 code's JSON format (spec §4) into a validated :class:`City`.

A folder holds ``prob.json`` [336][M][M+1] (or [336][M][M]), ``pop_region.json`` [M],
``flow.json`` [M], ``dense.json`` [M] and optionally ``start.json`` [M][8]. Every problem is
reported as one :class:`EpictlError` line naming the file, so users can fix their data quickly.

Reading a full-size ``prob.json`` (M = 673: ~150 million numbers) through ``json`` needs several GB
of memory; convert it once with :func:`epictl.sim.metapop.sources.convert_original_to_npz`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop.city import City, check_finite_nonnegative, mobility_from_dense, normalise_to_mean_one
from epictl.sim.metapop.compartments import N_COMPARTMENTS

POPULATION_FILE = "pop_region.json"
FLOW_FILE = "flow.json"
DENSITY_FILE = "dense.json"
PROB_FILE = "prob.json"
START_FILE = "start.json"
# Counts stored as floats (e.g. 1234.0000001) are accepted; anything further from an integer is not.
INTEGER_TOLERANCE = 1e-6


def load_original(folder: Path) -> City:
    """Load and validate one original-format city folder; the city is named after the folder."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise EpictlError(f"{folder}: city folder not found")
    population = _integer_valued(_read_vector(folder, POPULATION_FILE), str(folder / POPULATION_FILE))
    m = len(population)
    flow = _read_vector(folder, FLOW_FILE, m)
    density = _read_vector(folder, DENSITY_FILE, m)
    start_state = None
    if (folder / START_FILE).exists():
        start_path = str(folder / START_FILE)
        start = _read_numbers(folder, START_FILE)
        if start.shape != (m, N_COMPARTMENTS):
            raise EpictlError(f"{start_path}: expected [{m}][{N_COMPARTMENTS}] numbers, got shape {list(start.shape)}")
        start_state = _integer_valued(start, start_path)
    prob_path = str(folder / PROB_FILE)
    prob = _read_numbers(folder, PROB_FILE)
    if prob.ndim == 3 and prob.shape[1] != m:
        raise EpictlError(f"{prob_path}: {prob.shape[1]} regions, {POPULATION_FILE} has {m}")
    mobility = mobility_from_dense(prob, prob_path)
    city = City(
        name=folder.resolve().name,
        population=population,
        flow=normalise_to_mean_one(flow),
        density=normalise_to_mean_one(density),
        mobility=mobility,
        start_state=start_state,
    )
    return city.validate(str(folder))


def _read_json(folder: Path, name: str) -> object:
    path = folder / name
    if not path.is_file():
        raise EpictlError(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EpictlError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise EpictlError(f"{path}: cannot read ({exc.strerror})") from None


def _read_numbers(folder: Path, name: str) -> np.ndarray:
    """A JSON nested list of numbers as a float64 array; ragged lists and non-numbers are errors."""
    path = folder / name
    try:
        values = np.asarray(_read_json(folder, name))
    except ValueError:
        raise EpictlError(f"{path}: nested lists of unequal length") from None
    if values.dtype.kind not in "iuf":
        raise EpictlError(f"{path}: expected only numbers, found {_describe_non_number(values)}")
    values = values.astype(np.float64)
    check_finite_nonnegative(values, str(path))
    return values


def _read_vector(folder: Path, name: str, expected_regions: int | None = None) -> np.ndarray:
    path = folder / name
    values = _read_numbers(folder, name)
    if values.ndim != 1 or len(values) == 0:
        raise EpictlError(f"{path}: expected [M] numbers, got shape {list(values.shape)}")
    if expected_regions is not None and len(values) != expected_regions:
        raise EpictlError(f"{path}: {len(values)} regions, {POPULATION_FILE} has {expected_regions}")
    return values


def _integer_valued(values: np.ndarray, source: str) -> np.ndarray:
    rounded = np.round(values)
    off = np.abs(values - rounded)
    if np.any(off > INTEGER_TOLERANCE):
        index = np.unravel_index(int(np.argmax(off)), values.shape)
        raise EpictlError(f"{source}: entry {list(map(int, index))} = {values[index]!r} is not a whole number of people")
    return rounded.astype(np.int64)


def _describe_non_number(values: np.ndarray) -> str:
    if values.dtype.kind == "b":
        return "true/false"
    for item in values.reshape(-1):
        if not isinstance(item, (int, float)) or isinstance(item, bool):
            return repr(item)[:40]
    return str(values.dtype)
