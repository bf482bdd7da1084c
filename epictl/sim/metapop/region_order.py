"""The paper's reorder layer: a fixed sequence of regions in which neighbours exchange much flow.

The policy networks convolve over regions in a fixed order, so regions that trade many people
should sit next to each other. We maximise ``sum_i C(r_i, r_{i+1})`` over Hamiltonian paths (a
TSP-path problem; the paper random-searches 10^8 permutations) with ``C(i, j)`` the weekly expected
number of people moving i -> j plus j -> i. Heuristic: greedy nearest-neighbour paths from a few
starts (grown at both ends), each polished by 2-opt, best kept. Computed once per city and cached as a small .npy.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import numba
import numpy as np

from epictl.sim.metapop.city import City

# Bump whenever flow_path_order gives a different order for the same city and seed: stale caches
# are then ignored (their file name changes).
ORDER_FORMAT_VERSION = 1
DEFAULT_STARTS = 16
DEFAULT_MAX_ROUNDS = 200


def pairwise_flow(city: City) -> np.ndarray:
    """Dense symmetric ``C[M, M]`` (float64, zero diagonal): weekly expected people i -> j plus j -> i.

    Dense is 3.6 MB at M = 673 and gives the 2-opt loop O(1) lookups; mobility is summed per unique
    matrix weighted by how many of the 336 slots use it, as ``Mobility.expected_exchange`` does.
    """
    mobility, m = city.mobility, city.n_regions
    slots_per_matrix = np.bincount(mobility.slot_matrix, minlength=mobility.n_matrices)
    rows = np.repeat(np.arange(mobility.n_matrices * m), np.diff(mobility.indptr))
    origin = rows % m
    people = slots_per_matrix[rows // m] * city.population[origin].astype(np.float64) * mobility.prob
    one_way = np.zeros((m, m))
    np.add.at(one_way, (origin, mobility.dest), people)
    flow = one_way + one_way.T
    np.fill_diagonal(flow, 0.0)  # staying put is not an exchange between neighbours
    return flow


def path_strength(order: np.ndarray, flow: np.ndarray) -> float:
    """``sum_i C(r_i, r_{i+1})`` of the path visiting regions in ``order``."""
    order = np.asarray(order)
    return float(flow[order[:-1], order[1:]].sum())


def greedy_path(flow: np.ndarray, start: int) -> np.ndarray:
    """Nearest-neighbour path grown at both ends: from ``start``, repeatedly attach the unvisited
    region of largest flow to whichever end offers more.

    Growing both ends keeps a start in the middle of a corridor from stranding half of it. Ties
    (including regions with no flow left) go to the tail, then to the lowest index: deterministic.
    """
    m = flow.shape[0]
    slots = np.empty(2 * m - 1, dtype=np.int64)  # room to grow m - 1 regions either way
    head = tail = m - 1
    slots[head] = start
    open_flow = flow.astype(np.float64, copy=True)
    open_flow[:, start] = -np.inf  # -inf marks visited regions as candidates
    for _ in range(m - 1):
        tail_next = int(np.argmax(open_flow[slots[tail]]))
        head_next = int(np.argmax(open_flow[slots[head]]))
        if open_flow[slots[head], head_next] > open_flow[slots[tail], tail_next]:
            head -= 1
            slots[head] = head_next
            open_flow[:, head_next] = -np.inf
        else:
            tail += 1
            slots[tail] = tail_next
            open_flow[:, tail_next] = -np.inf
    return slots[head : tail + 1].copy()


def two_opt(order: np.ndarray, flow: np.ndarray, max_rounds: int = DEFAULT_MAX_ROUNDS) -> np.ndarray:
    """The path improved by segment reversals until none helps or ``max_rounds`` sweeps are done."""
    improved = np.array(order, dtype=np.int64, copy=True)
    # Gains below this are floating-point noise; accepting them could cycle forever.
    tolerance = 1e-9 * float(flow.max()) if flow.size else 0.0
    _two_opt_in_place(improved, np.ascontiguousarray(flow, dtype=np.float64), int(max_rounds), tolerance)
    return improved


@numba.njit(cache=True)
def _two_opt_in_place(order, flow, max_rounds, tolerance):
    """First-improvement 2-opt for a path: reverse ``order[i..j]``.

    Only the edges (r_{i-1}, r_i) and (r_j, r_{j+1}) change, since C is symmetric; at a path end the
    missing edge counts 0, so reversing a prefix or suffix moves an end region inward.
    """
    m = len(order)
    for _ in range(max_rounds):
        any_improved = False
        for i in range(m - 1):
            for j in range(i + 1, m):
                if i == 0 and j == m - 1:
                    continue  # reversing the whole path changes nothing
                first, last = order[i], order[j]
                gain = 0.0
                if i > 0:
                    before = order[i - 1]
                    gain += flow[before, last] - flow[before, first]
                if j < m - 1:
                    after = order[j + 1]
                    gain += flow[first, after] - flow[last, after]
                if gain > tolerance:
                    lo, hi = i, j
                    while lo < hi:
                        order[lo], order[hi] = order[hi], order[lo]
                        lo += 1
                        hi -= 1
                    any_improved = True
        if not any_improved:
            return


def flow_path_order(
    city: City, seed: int = 0, max_rounds: int = DEFAULT_MAX_ROUNDS, n_starts: int = DEFAULT_STARTS
) -> np.ndarray:
    """Permutation (int64) of ``0..M-1`` with high path strength; deterministic from ``seed``.

    Starts: the region with the largest total flow, then ``n_starts - 1`` others drawn from ``seed``.
    """
    flow = pairwise_flow(city)
    m = flow.shape[0]
    if m <= 2:
        return np.arange(m, dtype=np.int64)
    busiest = int(np.argmax(flow.sum(axis=1)))
    others = np.delete(np.arange(m), busiest)
    rng = np.random.default_rng(seed)
    starts = [busiest, *rng.permutation(others)[: max(n_starts - 1, 0)].tolist()]
    best_order, best_strength = None, -np.inf
    for start in starts:
        order = two_opt(greedy_path(flow, start), flow, max_rounds)
        strength = path_strength(order, flow)
        if strength > best_strength:  # strict: the earliest start wins ties
            best_order, best_strength = order, strength
    return best_order


def flow_order_cache_path(city: City, cache_dir: Path, seed: int = 0) -> Path:
    """Cache file named by a hash of everything the order depends on (population and mobility)."""
    digest = hashlib.sha1(f"flow-path v{ORDER_FORMAT_VERSION} seed {seed}".encode("utf-8"))
    mobility = city.mobility
    for array in (city.population, mobility.slot_matrix, mobility.stay, mobility.indptr, mobility.dest, mobility.prob):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode("utf-8"))
        digest.update(array.tobytes())
    safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", city.name) or "city"
    return Path(cache_dir) / f"{safe_name}-flow-path-{digest.hexdigest()[:16]}.npy"


def cached_flow_path_order(city: City, cache_dir: Path, seed: int = 0) -> np.ndarray:
    """``flow_path_order(city, seed)``, read from ``cache_dir`` when present, computed and saved otherwise."""
    path = flow_order_cache_path(city, Path(cache_dir).expanduser(), seed)
    cached = _read_order(path, city.n_regions)
    if cached is not None:
        return cached
    order = flow_path_order(city, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique temp name in the same folder, then an atomic rename: concurrent runs never see half a file.
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, order)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return order


def _read_order(path: Path, n_regions: int) -> np.ndarray | None:
    """The cached order, or None when missing, unreadable or not a permutation of the regions."""
    try:
        order = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    valid = order.shape == (n_regions,) and np.issubdtype(order.dtype, np.integer)
    if not valid or not np.array_equal(np.sort(order), np.arange(n_regions)):
        return None
    return order.astype(np.int64)
