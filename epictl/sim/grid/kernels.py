"""Numba kernels of the grid world: placement, one day of moves with contacts, economy, disease clock.

People are a struct of arrays indexed by id. ``grid`` is the occupancy index of a (side + 2)² grid
whose border cells hold WALL, so a move needs no bounds test: person p stands in flat cell
``cell[p] = (y + 1) · width + x + 1`` and ``grid[cell[p]] == p``. A move reads and writes one or two
cells, so a day costs O(N · moves), never O(N²) (spec §14). Every random number comes from an
explicit xoshiro stream: one for placement, ``rng_move`` for the order and the offsets,
``rng_contact`` for contact outcomes, ``rng_economy`` for earnings (spec §13.12).

``run_day_many`` advances independent copies (a vector env's worlds) in one call, in parallel over
copies: each copy touches only its own arrays and streams, so results do not depend on the thread count.
"""

from __future__ import annotations


import numba
import numpy as np

from epictl.sim.grid.compartments import (
    EMPTY,
    INFECTED_WHO_INFECTED,
    INFECTIOUS_WHO_INFECTED,
    NEW_DEATHS,
    NEW_EXPOSED,
    NEW_INFECTIOUS,
    NEW_RECOVERED,
    NO_CELL,
    SECONDARY_OF_INFECTIOUS,
    D,
    E,
    I,
    R,
    S,
)
from epictl.sim.grid.prefetch import prefetch
from epictl.sim.grid.xoshiro import below, fill_below, shuffle, uniform
from epictl.sim.threads import use_workqueue_threads

# Option codes shared with simulator.py (Numba needs plain integers).
COLLISION, COLLISION_RELEASED, MOORE_NEIGHBOURHOOD = 0, 1, 2
STAY = 4  # index of the (0, 0) offset among the 9 Moore offsets (spec §4)
AHEAD = 32  # people between prefetching a move's cells and making it (tuned at N = 1e6)

use_workqueue_threads()  # not OpenMP, which torch shares (epictl/sim/threads.py)


def moore_offsets(width: int) -> np.ndarray:
    """Flat-index offsets of the 9 Moore moves (dx, dy in -1..1), (0, 0) at index STAY."""
    return np.array([dy * width + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)], dtype=np.int64)


@numba.njit(cache=True)
def place_people(grid, side, cell, rng):
    """Everyone in a distinct cell, uniformly at random (rejection sampling; spec §1 [released])."""
    width = side + 2
    for p in range(len(cell)):
        while True:
            r = below(rng, side * side)
            c = (r // side + 1) * width + r % side + 1
            if grid[c] == EMPTY:
                grid[c] = p
                cell[p] = c
                break


@numba.njit(cache=True)
def infect(target, infector, status, infected_day, stage_end, exposed_days, infectious_days, secondary,
           infected_by, p_contact, today, rng_contact, tally):
    """One contact of an infectious ``infector`` with a susceptible ``target`` (spec §5-§6)."""
    if p_contact < 1.0 and uniform(rng_contact) >= p_contact:
        return False
    secondary[infector] += 1
    infected_by[target] = infector
    infected_day[target] = today
    tally[NEW_EXPOSED] += 1
    if exposed_days[target] == 0:  # no latency (released preset): infectious at once
        status[target] = I
        stage_end[target] = today + infectious_days[target]
        tally[NEW_INFECTIOUS] += 1
    else:
        status[target] = E
        stage_end[target] = today + exposed_days[target]
    return True


@numba.njit(cache=True)
def assign_moves(order, n_alive, moves_today, expected_moves, stochastic, rng_move):
    """Moves of each living person today: floor(m) [released], or floor(m) + Bernoulli(frac) (§2)."""
    base = int(np.floor(expected_moves))
    extra = expected_moves - base
    for k in range(n_alive):
        p = order[k]
        moves_today[p] = base + 1 if stochastic and uniform(rng_move) < extra else base


@numba.njit(cache=True)
def move_day(cell, grid, offsets, status, infected_day, stage_end, exposed_days, infectious_days, secondary,
             infected_by, order, n_alive, moves_today, rounds, everyone_moves, random_order, contact_model,
             p_contact, today, rng_move, rng_contact, tally):
    """All rounds of one day: each round every living person moves once (spec §3.1, §4, §5).

    ``order[:n_alive]`` holds the living ids; in the first ``everyone_moves`` rounds all of them
    move, later only those with ``moves_today`` left. [epictl] a fresh uniform permutation per round;
    [released] id order. Everyone's first offset is drawn at the start of the round, so that the
    two cells of the move AHEAD people later can be prefetched.

    A move draws Moore offsets until the person stays or steps into an empty cell; a wall is
    redrawn. An occupied target is a collision: [epictl] a contact check between the two, then a
    redraw, never an overwrite; [released] only an infectious mover checks and redraws, anyone
    else steps in and overwrites the occupant (spec §13.1). [pseudocode] after its move a
    susceptible person meets every infectious person in its 3 × 3 block. The move is written out
    here rather than in a helper: a call passing a dozen arrays costs more than the move itself.
    """
    first_offset = np.empty(n_alive, dtype=np.int64)
    for r in range(rounds):
        all_move = r < everyone_moves
        if random_order:
            shuffle(order, n_alive, rng_move)
        fill_below(first_offset, n_alive, 9, rng_move)
        for k in range(-2 * AHEAD, n_alive):
            if k + 2 * AHEAD < n_alive:
                prefetch(cell, order[k + 2 * AHEAD])
            h = k + AHEAD
            if 0 <= h < n_alive:
                c = cell[order[h]]
                prefetch(grid, c + offsets[first_offset[h]])
                prefetch(grid, c)
            if k < 0:
                continue
            p = order[k]
            if not (all_move or moves_today[p] > r):
                continue
            c = cell[p]
            d = first_offset[k]
            while d != STAY:
                t = c + offsets[d]
                q = grid[t]
                if q == EMPTY or (q >= 0 and contact_model == COLLISION_RELEASED and status[p] != I):
                    grid[c] = EMPTY  # unconditional, as released: may erase an overwriter standing here
                    grid[t] = p
                    cell[p] = t
                    break
                if q >= 0 and contact_model != MOORE_NEIGHBOURHOOD:
                    if status[p] == I and status[q] == S:
                        infect(q, p, status, infected_day, stage_end, exposed_days, infectious_days, secondary,
                               infected_by, p_contact, today, rng_contact, tally)
                    elif contact_model == COLLISION and status[q] == I and status[p] == S:
                        infect(p, q, status, infected_day, stage_end, exposed_days, infectious_days, secondary,
                               infected_by, p_contact, today, rng_contact, tally)
                d = below(rng_move, 9)
            if contact_model == MOORE_NEIGHBOURHOOD and status[p] == S:
                c = cell[p]
                for d in range(9):
                    q = grid[c + offsets[d]]
                    if d != STAY and q >= 0 and status[q] == I:
                        if infect(p, q, status, infected_day, stage_end, exposed_days, infectious_days, secondary,
                                  infected_by, p_contact, today, rng_contact, tally):
                            break


@numba.njit(cache=True)
def economy_day(status, infected_day, moves_today, today, low, high, per_move, rng_economy):
    """Raw earnings of the day (spec §7): living people not infectious at the start of the day earn
    moves × U[low, high]. Per day, every person consumes one draw, earner or not, so the stream
    stays aligned across policies; per move, each earner draws once per move.
    """
    total = 0.0
    span = high - low
    for p in range(len(status)):
        s = status[p]
        earns = s != D and (s != I or infected_day[p] == today)
        if not per_move:
            u = uniform(rng_economy)
            if earns:
                total += moves_today[p] * (low + span * u)
        elif earns:
            for _ in range(moves_today[p]):
                total += low + span * uniform(rng_economy)
    return total


@numba.njit(cache=True)
def disease_day(status, stage_end, infectious_days, dies, secondary, cell, grid, today, tally):
    """Daily clock after the moves (spec §6): E -> I and I -> R or D when their stage ends today.

    The dead leave the grid. Also counts S..D and the reproduction sums of spec §8 into ``tally``.
    """
    for p in range(len(status)):
        s = status[p]
        if s == E and stage_end[p] <= today:
            s = I
            stage_end[p] = today + infectious_days[p]
            tally[NEW_INFECTIOUS] += 1
        elif s == I and stage_end[p] <= today:
            if dies[p]:
                s = D
                grid[cell[p]] = EMPTY  # unconditional, as released
                cell[p] = NO_CELL
                tally[NEW_DEATHS] += 1
            else:
                s = R
                tally[NEW_RECOVERED] += 1
        status[p] = s
        tally[s] += 1
        if secondary[p] > 0 and (s == E or s == I):
            tally[INFECTED_WHO_INFECTED] += 1
            if s == I:
                tally[INFECTIOUS_WHO_INFECTED] += 1
                tally[SECONDARY_OF_INFECTIOUS] += secondary[p]


@numba.njit(cache=True)
def drop_dead(order, n_alive, status):
    """Remove the dead from ``order[:n_alive]`` keeping the others' order; returns the new count."""
    kept = 0
    for k in range(n_alive):
        p = order[k]
        if status[p] != D:
            order[kept] = p
            kept += 1
    return kept


@numba.njit(cache=True)
def run_day(cell, grid, offsets, status, infected_day, stage_end, exposed_days, infectious_days, dies, secondary,
            infected_by, order, n_alive, moves_today, expected_moves, stochastic, random_order, contact_model,
            p_contact, today, economy_low, economy_high, economy_per_move, rng_move, rng_contact, rng_economy, tally):
    """One day in spec §3 order: moves with contacts, economy, disease clock. One call per day keeps
    the Python dispatch cost out of the ~1 ms budget of N = 10,000.

    Returns the day's raw earnings and the number of people still alive.
    """
    assign_moves(order, n_alive, moves_today, expected_moves, stochastic, rng_move)
    everyone_moves = int(np.floor(expected_moves))
    rounds = everyone_moves + 1 if expected_moves > everyone_moves else everyone_moves
    move_day(cell, grid, offsets, status, infected_day, stage_end, exposed_days, infectious_days, secondary,
             infected_by, order, n_alive, moves_today, rounds, everyone_moves, random_order, contact_model,
             p_contact, today, rng_move, rng_contact, tally)
    earnings = economy_day(status, infected_day, moves_today, today, economy_low, economy_high, economy_per_move,
                           rng_economy)
    disease_day(status, stage_end, infectious_days, dies, secondary, cell, grid, today, tally)
    if tally[NEW_DEATHS] > 0:
        n_alive = drop_dead(order, n_alive, status)
    return earnings, n_alive


@numba.njit(cache=True, parallel=True)
def run_day_many(cells, grids, offsets, statuses, infected_days, stage_ends, exposed_days, infectious_days, dies,
                 secondaries, infected_by, orders, n_alive, moves_today, expected_moves, stochastic, random_order,
                 contact_model, p_contact, today, economy_low, economy_high, economy_per_move, rngs_move,
                 rngs_contact, rngs_economy, tallies, earnings):
    """``run_day`` for every copy k: the per-copy arrays come as typed lists indexed by k, the per-copy
    numbers as arrays (``n_alive``, ``expected_moves``, ``today``), the tallies as rows of ``tallies``.

    Writes each copy's raw earnings to ``earnings[k]`` and its living count to ``n_alive[k]``.
    """
    for index in numba.prange(len(cells)):
        k = np.int64(index)  # prange counts in uint64, which typed lists take only with a warning
        day_earnings, alive = run_day(
            cells[k], grids[k], offsets, statuses[k], infected_days[k], stage_ends[k], exposed_days[k],
            infectious_days[k], dies[k], secondaries[k], infected_by[k], orders[k], n_alive[k], moves_today[k],
            expected_moves[k], stochastic, random_order, contact_model, p_contact, today[k], economy_low,
            economy_high, economy_per_move, rngs_move[k], rngs_contact[k], rngs_economy[k], tallies[k])
        earnings[k] = day_earnings
        n_alive[k] = alive
