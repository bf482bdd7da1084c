"""Numba kernels of the metapopulation model: one 30-minute tick = transitions, beds, mobility.

All state is an int64 count array ``[M, 8]`` (column order in compartments.py), changed in place.
Every random draw comes from an explicit ``np.random.Generator`` (one stream each for transitions,
mobility and allocation lotteries), so a run is reproducible from its seed and two policies share
the same epidemic until their actions differ (KDD'21 spec §15.2).
"""

from __future__ import annotations


import numba
import numpy as np

from epictl.sim.metapop.compartments import IA, IH, IT, IU, SLOTS_PER_WEEK, TICKS_PER_DAY, D, E, R, S
from epictl.sim.metapop.params import GAMMA_MASK, P_AR, P_BETA, P_EA, P_EI, P_HD, P_HR, P_ID, P_IR, P_TEST, R_A, R_E
from epictl.sim.threads import use_workqueue_threads

use_workqueue_threads()  # not OpenMP, which torch shares (epictl/sim/threads.py)

# Option codes shared with simulator.py (Numba needs plain integers).
ROUND_STOCHASTIC, ROUND_FLOOR, ROUND_CEIL = 0, 1, 2
BEDS_RANKED, BEDS_PROPORTIONAL = 0, 1
MOBILITY_EXACT, MOBILITY_FAST = 0, 1
SLOTS_WEEKLY, SLOTS_FIRST_DAY_ONLY = 0, 1
# Below this many people left to place, drawing each person's destination (binary search on the
# row's cumulative probabilities) is cheaper than one binomial per remaining destination.
PER_PERSON_LIMIT = 16


@numba.njit(cache=True)
def _binomial(rng, n, p):
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    return rng.binomial(n, p)


@numba.njit(cache=True)
def _split3(rng, n, pa, pb):
    """(a, b) of Multinomial(n, [pa, pb, rest]) by conditional binomials (exact)."""
    a = _binomial(rng, n, pa)
    b = _binomial(rng, n - a, pb / (1.0 - pa)) if pa < 1.0 else 0
    return a, b


@numba.njit(cache=True)
def _die_or_recover(rng, c, column, p_die, p_recover):
    died, recovered = _split3(rng, c[column], p_die, p_recover)
    c[column] -= died + recovered
    c[D] += died
    c[R] += recovered


@numba.njit(cache=True)
def transitions(counts, ever_tested, masks, mask_base_static, coverage_on_present, p, rng):
    """Disease transitions of one tick in every region, sequential as in KDD'21 spec §3.2.

    ``ever_tested[j]`` accumulates the Iu -> It moves in region j: the model's confirmed cases, which the
    counts alone cannot give back once tested cases recover, die or enter hospital.
    """
    for j in range(counts.shape[0]):
        c = counts[j]
        present = c[S] + c[E] + c[IU] + c[IT] + c[IA] + c[IH] + c[R]
        if present == 0:
            continue
        if c[S] > 0:
            infectious = c[IU] + c[IT] + p[R_A] * c[IA] + p[R_E] * c[E]
            if infectious > 0.0:
                base = present if coverage_on_present else mask_base_static[j]
                coverage = min(max(masks[j] / base, 0.0), 1.0) if base > 0 else 0.0
                lam = p[P_BETA] * (1.0 - p[GAMMA_MASK] * coverage) * infectious / present
                new_exposed = _binomial(rng, c[S], lam)
                c[S] -= new_exposed
                c[E] += new_exposed
        if c[E] > 0:
            to_iu, to_ia = _split3(rng, c[E], p[P_EI], p[P_EA])
            c[E] -= to_iu + to_ia
            c[IU] += to_iu
            c[IA] += to_ia
        if c[IU] > 0:
            tested = _binomial(rng, c[IU], p[P_TEST])
            c[IU] -= tested
            c[IT] += tested
            ever_tested[j] += tested
            _die_or_recover(rng, c, IU, p[P_ID], p[P_IR])
        if c[IT] > 0:
            _die_or_recover(rng, c, IT, p[P_ID], p[P_IR])
        if c[IA] > 0:
            recovered = _binomial(rng, c[IA], p[P_AR])
            c[IA] -= recovered
            c[R] += recovered
        if c[IH] > 0:
            _die_or_recover(rng, c, IH, p[P_HD], p[P_HR])


@numba.njit(cache=True)
def _round(rng, x, rounding):
    whole = np.floor(x)
    if rounding == ROUND_FLOOR or x == whole:
        return np.int64(whole)
    if rounding == ROUND_CEIL:
        return np.int64(whole) + 1
    return np.int64(whole) + (1 if rng.random() < x - whole else 0)


@numba.njit(cache=True)
def admit_to_beds(counts, n_beds, bed_rule, order, factor, rounding, rng):
    """Move waiting It into free beds (spec §6); returns True if patients wait and no bed is free.

    Ranked: walk ``order``, each region admitting round(factor * It_i) capped by beds left.
    Proportional: every region wants round(factor * It_i); if the free beds fall short they are
    shared in proportion to the wants by systematic rounding (unbiased, sums exactly).
    """
    m = counts.shape[0]
    free = n_beds - counts[:, IH].sum()
    if free <= 0:
        return counts[:, IT].sum() > 0
    if bed_rule == BEDS_RANKED:
        for idx in range(m):
            if free == 0:
                break
            i = order[idx]
            waiting = counts[i, IT]
            if waiting == 0:
                continue
            admit = min(_round(rng, factor * waiting, rounding), waiting, free)
            counts[i, IT] -= admit
            counts[i, IH] += admit
            free -= admit
    else:
        wants = np.zeros(m, dtype=np.int64)
        for i in range(m):
            if counts[i, IT] > 0:
                wants[i] = min(_round(rng, factor * counts[i, IT], rounding), counts[i, IT])
        total = wants.sum()
        if total > free:
            shares = np.empty(m)
            for i in range(m):
                shares[i] = free * wants[i] / total
            wants = systematic_round(shares, free, rng)
        for i in range(m):
            counts[i, IT] -= wants[i]
            counts[i, IH] += wants[i]
        free -= wants.sum()
    return free == 0 and counts[:, IT].sum() > 0


@numba.njit(cache=True)
def systematic_round(values, total, rng):
    """Integers with sum ``total``, each floor or ceil of ``values[i]``, unbiased (one uniform)."""
    out = np.zeros(len(values), dtype=np.int64)
    u = rng.random()
    acc = 0.0
    previous = 0
    for i in range(len(values)):
        acc += values[i]
        current = min(np.int64(np.floor(acc + u)), total)
        out[i] = max(current - previous, 0)
        previous += out[i]
    if len(values) > 0:
        out[len(values) - 1] += total - previous
    return out


@numba.njit(cache=True)
def _place_per_person(rng, n, lo, hi, start, cumulative, dest, column, out):
    """Send n people to destinations start..hi-1 of a CSR row, each drawn independently."""
    base = cumulative[start - 1] if start > lo else 0.0
    span = cumulative[hi - 1] - base
    for _ in range(n):
        x = base + rng.random() * span
        a, b = start, hi - 1
        while a < b:
            mid = (a + b) // 2
            if cumulative[mid] > x:
                b = mid
            else:
                a = mid + 1
        out[dest[a], column] += 1


@numba.njit(cache=True)
def _split_exact(rng, n, origin, column, stay_p, lo, hi, dest, prob, cumulative, out):
    """Multinomial(n, [stay, destinations...]) by conditional binomials, exact in distribution."""
    stayed = _binomial(rng, n, stay_p) if hi > lo else n
    out[origin, column] += stayed
    left = n - stayed
    mass = cumulative[hi - 1] if hi > lo else 0.0  # cumulative restarts at each row
    for j in range(lo, hi):
        if left == 0:
            return
        if left <= PER_PERSON_LIMIT and hi - j > 2:
            _place_per_person(rng, left, lo, hi, j, cumulative, dest, column, out)
            return
        moved = left if j == hi - 1 else _binomial(rng, left, prob[j] / mass)
        out[dest[j], column] += moved
        left -= moved
        mass -= prob[j]


@numba.njit(cache=True)
def _split_expected(rng, n, origin, column, stay_p, lo, hi, dest, prob, out):
    """Expected flows n*p with systematic randomized rounding: unbiased, sums exactly to n."""
    u = rng.random()
    acc = n * stay_p
    placed = min(np.int64(np.floor(acc + u)), n)
    out[origin, column] += placed
    for j in range(lo, hi):
        acc += n * prob[j]
        current = min(np.int64(np.floor(acc + u)), n)
        if j == hi - 1:
            current = n
        if current > placed:
            out[dest[j], column] += current - placed
            placed = current
    if placed < n:
        out[origin, column] += n - placed


@numba.njit(cache=True)
def move(counts, moving_columns, matrix, stay, indptr, dest, prob, cumulative, mode, fast_threshold, rng, out):
    """One half-hour of Markov mobility with matrix ``matrix`` (spec §3.4); result in ``out``."""
    m = counts.shape[0]
    out[:, :] = counts
    for column in moving_columns:
        out[:, column] = 0
    for k in range(m):
        row = matrix * m + k
        lo, hi = indptr[row], indptr[row + 1]
        stay_p = stay[matrix, k]
        for column in moving_columns:
            n = counts[k, column]
            if n == 0:
                continue
            if mode == MOBILITY_FAST and n >= fast_threshold:
                _split_expected(rng, n, k, column, stay_p, lo, hi, dest, prob, out)
            else:
                _split_exact(rng, n, k, column, stay_p, lo, hi, dest, prob, cumulative, out)


@numba.njit(cache=True)
def slot_of(tick, start_slot, slot_mode):
    if slot_mode == SLOTS_FIRST_DAY_ONLY:
        return (start_slot + tick % TICKS_PER_DAY) % SLOTS_PER_WEEK
    return (start_slot + tick) % SLOTS_PER_WEEK


@numba.njit(cache=True)
def run_ticks(
    counts, ever_tested, first_tick, n_ticks, p, masks, mask_base_static, coverage_on_present,
    n_beds, bed_rule, bed_order, bed_factor, rounding,
    moving_columns, slot_matrix, stay, indptr, dest, prob, cumulative, start_slot, slot_mode,
    mobility_mode, fast_threshold, rng_transitions, rng_mobility, rng_allocation,
):
    """Advance ``n_ticks`` ticks in place (``counts`` and the ``ever_tested`` counter); returns the number of
    ticks that ended with beds saturated."""
    scratch = np.empty_like(counts)
    saturated_ticks = 0
    for t in range(first_tick, first_tick + n_ticks):
        transitions(counts, ever_tested, masks, mask_base_static, coverage_on_present, p, rng_transitions)
        if admit_to_beds(counts, n_beds, bed_rule, bed_order, bed_factor, rounding, rng_allocation):
            saturated_ticks += 1
        matrix = slot_matrix[slot_of(t, start_slot, slot_mode)]
        move(counts, moving_columns, matrix, stay, indptr, dest, prob, cumulative,
             mobility_mode, fast_threshold, rng_mobility, scratch)
        counts[:, :] = scratch
    return saturated_ticks


@numba.njit(cache=True, parallel=True)
def run_ticks_many(
    counts, ever_tested, first_ticks, n_ticks, p, masks, mask_base_static, coverage_on_present,
    n_beds, bed_rules, bed_orders, bed_factors, rounding,
    moving_columns, slot_matrix, stay, indptr, dest, prob, cumulative, start_slot, slot_mode,
    mobility_mode, fast_threshold, rngs_transitions, rngs_mobility, rngs_allocation, saturated_ticks,
):
    """``run_ticks`` on independent copies, one per thread at a time: copy c owns ``counts[c]``, ``ever_tested[c]``
    (typed lists of its own arrays, changed in place) and its own three generators, so each copy's result and
    random streams are those of a lone ``run_ticks`` call whatever the thread count. Row c of ``first_ticks``,
    ``masks``, ``n_beds``, ``bed_rules``, ``bed_orders`` and ``bed_factors`` is copy c's; its number of saturated
    ticks goes to ``saturated_ticks[c]``."""
    for index in numba.prange(len(counts)):
        c = np.int64(index)  # prange counts in uint64, which typed lists take only with a warning
        saturated_ticks[c] = run_ticks(
            counts[c], ever_tested[c], first_ticks[c], n_ticks, p, masks[c], mask_base_static, coverage_on_present,
            n_beds[c], bed_rules[c], bed_orders[c], bed_factors[c], rounding,
            moving_columns, slot_matrix, stay, indptr, dest, prob, cumulative, start_slot, slot_mode,
            mobility_mode, fast_threshold, rngs_transitions[c], rngs_mobility[c], rngs_allocation[c],
        )
