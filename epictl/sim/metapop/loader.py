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
from epictl.sim.metapop.city import (
    MAX_PEOPLE,
    City,
    check_finite_nonnegative,
    check_population_total,
    check_start_state,
    entry_label,
    mobility_from_dense,
    normalise_to_mean_one,
)
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
    population_path = str(folder / POPULATION_FILE)
    population = _integer_valued(_read_vector(folder, POPULATION_FILE), population_path)
    check_population_total(population, population_path)
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
        check_start_state(start_state, population, f"{start_path} vs {POPULATION_FILE}")
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


# JSON tokens that are not numbers: numpy would turn true/false into 1/0 silently, and a string
# such as "1" may hide in a list of numbers.
NON_NUMBER_TOKENS = ('"', "{", "true", "false", "null")


def _read_json(folder: Path, name: str) -> tuple[object, str]:
    """The parsed file and its text."""
    path = folder / name
    if not path.is_file():
        raise EpictlError(f"{path}: file not found")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EpictlError(f"{path}: cannot read ({exc.strerror})") from None
    if not raw.strip():
        raise EpictlError(f"{path}: empty file")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is harmless
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise EpictlError(f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 text; "
                          "expected JSON (is it a binary file?)") from None
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise EpictlError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise EpictlError(f"{path}: lists nested too deeply to be a city file") from None


def _read_numbers(folder: Path, name: str) -> np.ndarray:
    """A JSON nested list of numbers as a float64 array; ragged lists and non-numbers are errors."""
    path = folder / name
    data, text = _read_json(folder, name)
    if any(token in text for token in NON_NUMBER_TOKENS):  # searching the text is fast, walking the lists is not
        _reject_non_number(data, path)
    try:
        values = np.asarray(data)
    except ValueError:
        raise EpictlError(f"{path}: nested lists of unequal length") from None
    if values.dtype.kind not in "iuf":
        values = np.asarray(data, dtype=np.float64)  # whole numbers beyond int64 (rejected later where counted)
    values = values.astype(np.float64)
    check_finite_nonnegative(values, str(path))
    return values


def _reject_non_number(data: object, path: Path) -> None:
    """Raise naming the first entry of ``data`` that is not a JSON number, if there is one."""
    found = _first_non_number(data)
    if found is None:
        return
    index, item = found
    if isinstance(item, bool):
        what = "true" if item else "false"
    elif item is None:
        what = "null"
    elif isinstance(item, str):
        what = f"the string {json.dumps(item[:40])}"
    else:
        what = "an object {...}"
    if not index:
        raise EpictlError(f"{path}: expected a list of numbers, found {what}")
    raise EpictlError(f"{path}: entry {entry_label(index)} is {what}, expected a number")


def _first_non_number(data: object) -> tuple[tuple[int, ...], object] | None:
    """(index, item) of the first leaf that is not a number, depth first; iterative, as JSON nests deep."""
    stack: list[tuple[tuple[int, ...], object]] = [((), data)]
    while stack:
        index, item = stack.pop()
        if isinstance(item, list):
            stack.extend(((*index, i), child) for i, child in reversed(list(enumerate(item))))
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            return index, item
    return None


def _read_vector(folder: Path, name: str, expected_regions: int | None = None) -> np.ndarray:
    path = folder / name
    values = _read_numbers(folder, name)
    if values.ndim != 1 or len(values) == 0:
        raise EpictlError(f"{path}: expected [M] numbers, got shape {list(values.shape)}")
    if expected_regions is not None and len(values) != expected_regions:
        raise EpictlError(f"{path}: {len(values)} regions, {POPULATION_FILE} has {expected_regions}")
    return values


def _integer_valued(values: np.ndarray, source: str) -> np.ndarray:
    """Whole numbers of people as int64; too large ones are named (a cast would wrap them negative)."""
    too_large = np.argwhere(values > MAX_PEOPLE)
    if len(too_large):
        index = tuple(too_large[0])
        raise EpictlError(f"{source}: entry {entry_label(index)} = {values[index]:.6g} people is too large (at most 2^53)")
    rounded = np.round(values)
    off = np.abs(values - rounded)
    if np.any(off > INTEGER_TOLERANCE):
        index = np.unravel_index(int(np.argmax(off)), values.shape)
        raise EpictlError(f"{source}: entry {entry_label(index)} = {values[index]:.10g} is not a whole number of people")
    return rounded.astype(np.int64)
