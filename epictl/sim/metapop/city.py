"""A city: regions, their populations and features, and a weekly mobility schedule.

Mobility is stored sparsely. The original format is a dense ``prob[336][M][M+1]`` (1.2 GB as
float64 for M = 673); most slots repeat (a synthetic city has one weekday and one weekend day
cycle), so the schedule keeps U unique matrices and a map ``slot -> matrix``. Each matrix keeps,
per origin, the probability of staying (self entry plus stay column) and its off-diagonal
destinations in CSR form, sorted by descending probability so samplers can stop early.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop.compartments import N_COMPARTMENTS, SLOTS_PER_WEEK

ROW_SUM_TOLERANCE = 1e-9


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
    if cols == m:
        dense = np.concatenate([dense, 1.0 - dense.sum(axis=2, keepdims=True)], axis=2)
    elif cols != m + 1:
        raise EpictlError(f"{source}: expected {m} or {m + 1} columns per row for {m} regions, got {cols}")
    check_finite_nonnegative(dense, source)
    sums = dense.sum(axis=2)
    bad = np.argwhere(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if len(bad):
        s, k = bad[0]
        raise EpictlError(f"{source}: row [slot {s}][region {k}] sums to {sums[s, k]:.12g}, not 1")
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


def check_finite_nonnegative(values: np.ndarray, source: str) -> None:
    if not np.all(np.isfinite(values)):
        raise EpictlError(f"{source}: contains NaN or infinite values")
    if np.any(values < 0):
        raise EpictlError(f"{source}: contains negative entries")


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
        check_finite_nonnegative(self.population, f"{source}: population")
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
        if len(self.district) not in (0, m):
            raise EpictlError(f"{source}: district has {len(self.district)} entries, population has {m}")
        return self


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
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    tmp.replace(path)


def load_npz(path: Path) -> City:
    """Read and validate the compact binary form."""
    path = Path(path)
    if not path.is_file():
        raise EpictlError(f"{path}: city file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in (*_NPZ_ARRAYS, *_NPZ_MOBILITY, "name") if key not in data]
            if missing:
                raise EpictlError(f"{path}: missing arrays {', '.join(missing)}")
            mobility = Mobility(**{key: data[key] for key in _NPZ_MOBILITY})
            city = City(
                name=str(data["name"]),
                mobility=mobility,
                district_names=tuple(str(x) for x in data["district_names"]) if "district_names" in data else (),
                start_state=data["start_state"] if "start_state" in data else None,
                **{key: data[key] for key in _NPZ_ARRAYS},
            )
    except (OSError, ValueError) as exc:
        raise EpictlError(f"{path}: not a readable city npz ({exc})") from None
    validate_mobility(mobility, str(path))
    return city.validate(str(path))


def validate_mobility(mobility: Mobility, source: str) -> None:
    m, u = mobility.n_regions, mobility.n_matrices
    if mobility.slot_matrix.shape != (SLOTS_PER_WEEK,) or mobility.slot_matrix.min() < 0 or mobility.slot_matrix.max() >= u:
        raise EpictlError(f"{source}: slot_matrix must map 336 slots to {u} matrices")
    if mobility.indptr.shape != (u * m + 1,) or np.any(np.diff(mobility.indptr) < 0) or mobility.indptr[-1] != len(mobility.dest):
        raise EpictlError(f"{source}: mobility indptr is inconsistent")
    if len(mobility.dest) and (mobility.dest.min() < 0 or mobility.dest.max() >= m):
        raise EpictlError(f"{source}: mobility destination outside 0..{m - 1}")
    check_finite_nonnegative(mobility.prob, f"{source}: mobility prob")
    check_finite_nonnegative(mobility.stay, f"{source}: mobility stay")
    sums = mobility.stay.reshape(-1).copy()
    np.add.at(sums, np.repeat(np.arange(u * m), np.diff(mobility.indptr)), mobility.prob)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if len(bad):
        raise EpictlError(f"{source}: mobility row [matrix {bad[0] // m}][region {bad[0] % m}] sums to {sums[bad[0]]:.12g}, not 1")
