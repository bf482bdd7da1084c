"""A city: regions, their populations and features, and a weekly mobility schedule.

Mobility is stored sparsely. The original format is a dense ``prob[336][M][M+1]`` (1.2 GB as
float64 for M = 673); most slots repeat (a synthetic city has one weekday and one weekend day
cycle), so the schedule keeps U unique matrices and a map ``slot -> matrix``. Each matrix keeps,
per origin, the probability of staying (self entry plus stay column) and its off-diagonal
destinations in CSR form, sorted by descending probability so samplers can stop early.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from epictl.atomic import write_atomic
from epictl.errors import EpictlError
from epictl.sim.metapop.compartments import N_COMPARTMENTS, SLOTS_PER_WEEK

ROW_SUM_TOLERANCE = 1e-9
# Counts above 2^53 are no longer exact in the float64 arithmetic of the kernels and the metrics.
MAX_PEOPLE = 2**53


@dataclass(frozen=True)
class Mobility:
    """Weekly half-hour Markov mobility: ``slot_matrix[s]`` picks one of U matrices.

    Row ``r = u * M + k`` (matrix u, origin k) holds destinations ``dest[indptr[r]:indptr[r+1]]``
    with probabilities ``prob[...]``; ``stay[u, k]`` is the probability of remaining in k.
    """

    slot_matrix: np.ndarray  # int64 [336]
    stay: np.ndarray  # float64 [U, M]
    indptr: np.ndarray  # int64 [U*M + 1]
    dest: np.ndarray  # int64 [nnz]
    prob: np.ndarray  # float64 [nnz]

    @property
    def n_regions(self) -> int:
        return self.stay.shape[1]

    @property
    def n_matrices(self) -> int:
        return self.stay.shape[0]

    def dense(self, slot: int) -> np.ndarray:
        """The original format's ``prob[slot]``: [M, M+1], stay probability in the last column."""
        m = self.n_regions
        u = int(self.slot_matrix[slot])
        out = np.zeros((m, m + 1))
        out[:, m] = self.stay[u]
        for k in range(m):
            lo, hi = self.indptr[u * m + k], self.indptr[u * m + k + 1]
            out[k, self.dest[lo:hi]] += self.prob[lo:hi]
        return out

    def expected_exchange(self, population: np.ndarray) -> np.ndarray:
        """Weekly mean number of people leaving plus arriving per region, for ``population`` in place."""
        m = self.n_regions
        moved = np.zeros(m)
        counts = np.bincount(self.slot_matrix, minlength=self.n_matrices)
        rows = np.repeat(np.arange(self.n_matrices * m), np.diff(self.indptr))
        origin = rows % m
        weight = counts[rows // m] * population[origin] * self.prob
        np.add.at(moved, origin, weight)
        np.add.at(moved, self.dest, weight)
        return moved / SLOTS_PER_WEEK


def mobility_from_dense(dense: np.ndarray, source: str) -> Mobility:
    """Build the sparse schedule from ``[336][M][M+1]`` (or ``[336][M][M]``, stay = 1 - row sum).

    Identical slots share one matrix. Raises :class:`EpictlError` naming ``source`` on bad input.
    """
    dense = np.asarray(dense, dtype=np.float64)
    if dense.ndim != 3 or dense.shape[0] != SLOTS_PER_WEEK:
        raise EpictlError(f"{source}: expected shape [336][M][M+1] or [336][M][M], got {list(dense.shape)}")
    _, m, cols = dense.shape
    if cols not in (m, m + 1):
        raise EpictlError(f"{source}: expected {m} or {m + 1} columns per row for {m} regions, got {cols}")
    check_finite_nonnegative(dense, source)
    if cols == m:
        moving = dense.sum(axis=2, keepdims=True)
        _check_row_sums(moving[:, :, 0] <= 1.0 + ROW_SUM_TOLERANCE, moving[:, :, 0], source,
                        "above 1 (in the [336][M][M] form the stay probability is 1 - row sum)")
        # rows that sum to 1 up to rounding would leave a stay probability of about -1e-16
        dense = np.concatenate([dense, np.maximum(1.0 - moving, 0.0)], axis=2)
    sums = dense.sum(axis=2)
    _check_row_sums(np.abs(sums - 1.0) <= ROW_SUM_TOLERANCE, sums, source, "not 1")
    unique, slot_matrix = np.unique(dense.reshape(SLOTS_PER_WEEK, -1), axis=0, return_inverse=True)
    unique = unique.reshape(-1, m, m + 1)
    stay = unique[:, :, m] + unique[:, np.arange(m), np.arange(m)]
    indptr = [0]
    dest_parts, prob_parts = [], []
    for u in range(unique.shape[0]):
        for k in range(m):
            row = unique[u, k, :m].copy()
            row[k] = 0.0
            nz = np.flatnonzero(row)
            order = nz[np.argsort(-row[nz], kind="stable")]
            dest_parts.append(order)
            prob_parts.append(row[order])
            indptr.append(indptr[-1] + len(order))
    return Mobility(
        slot_matrix=slot_matrix.reshape(-1).astype(np.int64),
        stay=stay,
        indptr=np.asarray(indptr, dtype=np.int64),
        dest=np.concatenate(dest_parts).astype(np.int64),
        prob=np.concatenate(prob_parts),
    )


def _check_row_sums(good: np.ndarray, sums: np.ndarray, source: str, problem: str) -> None:
    bad = np.argwhere(~good)
    if len(bad):
        s, k = bad[0]
        raise EpictlError(f"{source}: row [slot {s}][region {k}] sums to {sums[s, k]:.12g}, {problem}")


def entry_label(index) -> str:
    """``[2][0]``: the JSON-style position of one entry of a nested list."""
    return "".join(f"[{int(i)}]" for i in np.atleast_1d(index))


def check_finite_nonnegative(values: np.ndarray, source: str) -> None:
    """Raise naming the first NaN, infinite or negative entry."""
    bad = np.argwhere(~np.isfinite(values) | (values < 0))
    if len(bad):
        index = tuple(bad[0])
        value = values[index]
        what = "NaN" if np.isnan(value) else "infinite" if np.isinf(value) else f"negative ({value:g})"
        raise EpictlError(f"{source}: entry {entry_label(index)} is {what}")


def check_start_state(start: np.ndarray, population: np.ndarray, source: str) -> None:
    """A start state places every region's static population: anything else breaks conservation
    and every metric (they divide by the population)."""
    totals = start.sum(axis=1)
    differs = np.flatnonzero(totals != population)
    if len(differs):
        k = differs[0]
        raise EpictlError(f"{source}: region {k} holds {totals[k]} people in its 8 compartments, "
                          f"its population is {population[k]}")


@dataclass(frozen=True)
class City:
    """Static description of a metapopulation city (no epidemic state)."""

    name: str
    population: np.ndarray  # int64 [M], static region populations N_i
    flow: np.ndarray  # float64 [M], relative flow strength, mean 1
    density: np.ndarray  # float64 [M], relative population density, mean 1
    mobility: Mobility
    district: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # int64 [M]
    district_names: tuple[str, ...] = ()
    start_state: np.ndarray | None = None  # int64 [M, 8], optional supplied start

    @property
    def n_regions(self) -> int:
        return len(self.population)

    @property
    def total_population(self) -> int:
        return int(self.population.sum())

    def validate(self, source: str) -> "City":
        m = self.n_regions
        if self.population.ndim != 1 or m == 0:
            raise EpictlError(f"{source}: population must be a non-empty [M] vector")
        if self.population.dtype.kind not in "iu":
            raise EpictlError(f"{source}: population must hold whole numbers, got {self.population.dtype}")
        check_finite_nonnegative(self.population, f"{source}: population")
        check_population_total(self.population, f"{source}: population")
        for label, values in (("flow", self.flow), ("density", self.density)):
            if values.shape != (m,):
                raise EpictlError(f"{source}: {label} has {values.shape[0] if values.ndim else 0} regions, population has {m}")
            check_finite_nonnegative(values, f"{source}: {label}")
        if self.mobility.n_regions != m:
            raise EpictlError(f"{source}: mobility has {self.mobility.n_regions} regions, population has {m}")
        if self.start_state is not None and self.start_state.shape != (m, N_COMPARTMENTS):
            raise EpictlError(f"{source}: start state must be [{m}][8], got {list(self.start_state.shape)}")
        if self.start_state is not None:
            check_finite_nonnegative(self.start_state, f"{source}: start state")
            check_start_state(self.start_state, self.population, f"{source}: start state")
        if len(self.district) not in (0, m):
            raise EpictlError(f"{source}: district has {len(self.district)} entries, population has {m}")
        named = len(self.district_names)
        if named and len(self.district) and not 0 <= self.district.min() <= self.district.max() < named:
            raise EpictlError(f"{source}: district indices must be 0..{named - 1} (one per district name)")
        return self


def check_population_total(population: np.ndarray, source: str) -> None:
    """A city needs people (the outbreak is drawn by population share) and no more than the kernels count exactly."""
    total = float(population.astype(np.float64).sum())
    if total == 0:
        raise EpictlError(f"{source}: every region has 0 people")
    if total > MAX_PEOPLE:
        raise EpictlError(f"{source}: {total:.4g} people in all, too large (at most 2^53)")


def normalise_to_mean_one(values: np.ndarray) -> np.ndarray:
    mean = float(np.mean(values))
    return np.asarray(values, dtype=np.float64) / mean if mean > 0 else np.zeros(len(values))


_NPZ_ARRAYS = ("population", "flow", "density", "district")
_NPZ_MOBILITY = ("slot_matrix", "stay", "indptr", "dest", "prob")


def save_npz(city: City, path: Path) -> None:
    """Write the compact binary form atomically (a killed write never leaves a half file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {key: getattr(city, key) for key in _NPZ_ARRAYS}
    arrays.update({key: getattr(city.mobility, key) for key in _NPZ_MOBILITY})
    arrays["name"] = np.array(city.name)
    arrays["district_names"] = np.array(city.district_names, dtype=str)
    if city.start_state is not None:
        arrays["start_state"] = city.start_state

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle: np.savez would append .npz to a path
            np.savez(handle, **arrays)

    # A temporary file of its own per writer: jobs of a sweep may build the same city at once.
    write_atomic(path, write)


# Kinds of number ("iu": whole numbers) and dimensions of every array save_npz writes.
_NPZ_LAYOUT = {
    "population": ("iu", 1), "flow": ("iuf", 1), "density": ("iuf", 1), "district": ("iu", 1),
    "slot_matrix": ("iu", 1), "stay": ("iuf", 2), "indptr": ("iu", 1), "dest": ("iu", 1), "prob": ("iuf", 1),
    "start_state": ("iu", 2), "name": ("U", 0), "district_names": ("U", 1),
}


def load_npz(path: Path) -> City:
    """Read and validate the compact binary form."""
    path = Path(path)
    if not path.is_file():
        raise EpictlError(f"{path}: city file not found")
    if not zipfile.is_zipfile(path):
        raise EpictlError(f"{path}: not an npz file (a zip archive of arrays, as convert_original_to_npz writes)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in (*_NPZ_ARRAYS, *_NPZ_MOBILITY, "name") if key not in data]
            if missing:
                raise EpictlError(f"{path}: missing arrays {', '.join(missing)}")
            arrays = {key: _npz_array(data[key], key, path) for key in _NPZ_LAYOUT if key in data}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).split("\n")[0] or type(exc).__name__
        raise EpictlError(f"{path}: not a readable city npz ({reason})") from None
    mobility = Mobility(**{key: arrays[key] for key in _NPZ_MOBILITY})
    city = City(
        name=str(arrays["name"]),
        mobility=mobility,
        district_names=tuple(str(x) for x in arrays.get("district_names", ())),
        start_state=arrays.get("start_state"),
        **{key: arrays[key] for key in _NPZ_ARRAYS},
    )
    city.validate(str(path))
    validate_mobility(mobility, str(path))
    return city


def _npz_array(values: np.ndarray, key: str, path: Path) -> np.ndarray:
    kinds, ndim = _NPZ_LAYOUT[key]
    if values.dtype.kind not in kinds or values.ndim != ndim:
        wanted = {"iu": "whole numbers", "iuf": "numbers", "U": "text"}[kinds]
        raise EpictlError(f"{path}: array {key!r} must be {ndim}-D {wanted}, got {values.ndim}-D {values.dtype}")
    if kinds == "iu":
        if values.size and values.max() > np.iinfo(np.int64).max:
            raise EpictlError(f"{path}: array {key!r} holds {values.max()}, too large")
        return values.astype(np.int64)
    return values.astype(np.float64) if kinds == "iuf" else values


def validate_mobility(mobility: Mobility, source: str) -> None:
    m, u = mobility.n_regions, mobility.n_matrices
    if mobility.slot_matrix.shape != (SLOTS_PER_WEEK,) or mobility.slot_matrix.min() < 0 or mobility.slot_matrix.max() >= u:
        raise EpictlError(f"{source}: slot_matrix must map 336 slots to {u} matrices")
    if mobility.indptr.shape != (u * m + 1,) or np.any(np.diff(mobility.indptr) < 0) or mobility.indptr[-1] != len(mobility.dest):
        raise EpictlError(f"{source}: mobility indptr is inconsistent")
    if len(mobility.dest) and (mobility.dest.min() < 0 or mobility.dest.max() >= m):
        raise EpictlError(f"{source}: mobility destination outside 0..{m - 1}")
    if len(mobility.prob) != len(mobility.dest):
        raise EpictlError(f"{source}: mobility has {len(mobility.prob)} probabilities for {len(mobility.dest)} destinations")
    check_finite_nonnegative(mobility.prob, f"{source}: mobility prob")
    check_finite_nonnegative(mobility.stay, f"{source}: mobility stay")
    sums = mobility.stay.reshape(-1).copy()
    np.add.at(sums, np.repeat(np.arange(u * m), np.diff(mobility.indptr)), mobility.prob)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if len(bad):
        raise EpictlError(f"{source}: mobility row [matrix {bad[0] // m}][region {bad[0] % m}] sums to {sums[bad[0]]:.12g}, not 1")
