"""The grid simulator (the ``Simulator`` contract of epictl/sim/contract.py): state arrays, reset
(placement, initial cases, warm-up), one day at a movement level, the daily state.

One day (spec §3): moves with contacts, economy, disease clock, daily statistics. Each person's
disease course (latent days, infectious days, death) is drawn at reset from the disease stream, so
anyone infected under two policies runs the same course (common random numbers, spec §13.12).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.contract import DAYS, SHARE
from epictl.sim.copy_lists import CopyLists
from epictl.sim.grid import kernels
from epictl.sim.grid.compartments import (
    EMPTY,
    INFECTED_WHO_INFECTED,
    NEW_DEATHS,
    NEW_EXPOSED,
    NEW_INFECTIOUS,
    NEW_RECOVERED,
    SECONDARY_OF_INFECTIOUS,
    TALLY_SIZE,
    WALL,
    I,
    S,
)
from epictl.sim.grid.params import GridParams
from epictl.sim.grid.xoshiro import new_stream
from epictl.sim.random_streams import random_streams

CONTACT_MODELS = {
    "collision": kernels.COLLISION,
    "collision_released": kernels.COLLISION_RELEASED,
    "moore_neighbourhood": kernels.MOORE_NEIGHBOURHOOD,
}
STATE_SIZE = 7  # values in the daily state vector (spec §8)
# a GridState's arrays that one day changes or reads per copy, in the order run_day_many takes them
COPY_ARRAYS = ("cell", "grid", "status", "infected_day", "stage_end", "exposed_days", "infectious_days", "dies",
               "secondary", "infected_by", "order", "moves_today", "rng_move", "rng_contact", "rng_economy")


@dataclass(frozen=True)
class DayStats:
    """Counts at the end of one day and what happened during it (spec §8)."""

    day: int
    level: int
    population: int  # N0, the denominator of every share
    economy: float  # E_t (spec §7)
    susceptible: int
    exposed: int
    infectious: int
    recovered: int
    dead: int
    new_exposed: int  # infections today
    new_infectious: int  # people who became infectious today
    new_recovered: int
    new_deaths: int
    reproduction: float  # [paper] secondary cases per currently infectious person
    reproduction_released: float  # [released] (E + I) / (E + I people who infected someone)

    def active(self, kind: str = "paper") -> int:
        """Active cases: infectious people [paper], or everyone infected incl. the exposed [released]."""
        return self.infectious if kind == "paper" else self.exposed + self.infectious

    def vector(self, kind: str = "paper") -> np.ndarray:
        """The 7 daily values the agent sees (spec §8 table); exposed counts stay hidden [paper]."""
        n = self.population
        if kind == "paper":
            head = (self.infectious / n, self.new_infectious / n)
            reproduction = self.reproduction
        else:
            head = ((self.exposed + self.infectious) / n, self.new_exposed / n)
            reproduction = self.reproduction_released
        values = (*head, self.recovered / n, self.dead / n, self.economy, reproduction, float(self.level))
        return np.array(values, dtype=np.float32)


@dataclass
class GridState:
    """People as a struct of arrays, the occupancy index, the day and the random streams."""

    cell: np.ndarray  # int32 [N] flat cell (y + 1)·width + x + 1 of the padded grid; NO_CELL once dead
    grid: np.ndarray  # int32 [width²], width = side + 2: person id, EMPTY, or WALL on the border
    side: int
    status: np.ndarray  # int8 [N] S, E, I, R, D
    infected_day: np.ndarray  # int32 [N] day of infection, 0 for the initial cases, -1 never
    stage_end: np.ndarray  # int32 [N] day whose check ends the current E or I stage
    exposed_days: np.ndarray  # int32 [N] latent days if infected (drawn at reset)
    infectious_days: np.ndarray  # int32 [N] infectious days if infected (drawn at reset)
    dies: np.ndarray  # bool [N] outcome at the end of the infectious stage (drawn at reset)
    secondary: np.ndarray  # int32 [N] people each person infected
    infected_by: np.ndarray  # int32 [N] who infected each person (the infector -> infectee pairs); -1 none
    order: np.ndarray  # int32 [N] living ids first (order[:n_alive]); the move order
    n_alive: int
    moves_today: np.ndarray  # int32 [N] moves of the last day
    rng_move: np.ndarray  # xoshiro state: move order and offsets
    rng_contact: np.ndarray  # xoshiro state: contact outcomes
    rng_economy: np.ndarray  # xoshiro state: earnings
    day: int  # days simulated so far (warm-up included)
    last: DayStats  # statistics of the last day (day 0: the placement)

    @property
    def population(self) -> int:
        return len(self.status)

    @property
    def width(self) -> int:
        return self.side + 2

    @property
    def x(self) -> np.ndarray:
        """Column 0..side-1 of each person, -1 for the dead."""
        return np.where(self.cell >= 0, self.cell % self.width - 1, -1)

    @property
    def y(self) -> np.ndarray:
        """Row 0..side-1 of each person, -1 for the dead."""
        return np.where(self.cell >= 0, self.cell // self.width - 1, -1)

    @property
    def occupancy(self) -> np.ndarray:
        """[side, side] view (row y, column x) of the occupancy index: person id or EMPTY."""
        return self.grid.reshape(self.width, self.width)[1:-1, 1:-1]

    def copy(self) -> "GridState":
        return copy.deepcopy(self)


class GridSimulator:
    """Runs the grid world of spec §1-§10 for one ``GridParams``; the day action is a movement level."""

    metric_units = {"infected": SHARE, "deaths": SHARE, "recovered": SHARE, "days": DAYS}

    def __init__(self, params: GridParams):
        self.params = params.validate()
        self._contact_model = CONTACT_MODELS[params.contact_model]
        self._offsets = kernels.moore_offsets(params.side + 2)
        self._copy_lists = CopyLists(COPY_ARRAYS)

    def reset(self, seed: int, initial: int | None = None) -> GridState:
        """Place everyone, infect ``initial`` people (None: ``params.initial_infectious``; infectious at once),
        run the warm-up days at level 0."""
        p = self.params
        n, side = p.n_people, p.side
        cases = p.initial_infectious if initial is None else int(initial)
        if not 0 <= cases <= n:
            raise EpictlError(f"initial_infectious={cases} must lie in 0..{n}")
        placement, movement, disease, economy = random_streams(seed)
        grid = np.full((side + 2, side + 2), WALL, dtype=np.int32)
        grid[1:-1, 1:-1] = EMPTY
        grid = grid.ravel()
        cell = np.empty(n, dtype=np.int32)
        kernels.place_people(grid, side, cell, new_stream(placement))
        seeds = placement.choice(n, size=cases, replace=False)
        exposed_days = disease.integers(p.exposed_min, p.exposed_max + 1, size=n, dtype=np.int32)
        infectious_days = disease.integers(p.infectious_min, p.infectious_max + 1, size=n, dtype=np.int32)
        dies = disease.random(n) < p.death_probability
        status = np.full(n, S, dtype=np.int8)
        status[seeds] = I
        infected_day = np.full(n, -1, dtype=np.int32)
        infected_day[seeds] = 0
        stage_end = np.zeros(n, dtype=np.int32)
        stage_end[seeds] = infectious_days[seeds]
        state = GridState(
            cell, grid, side, status, infected_day, stage_end, exposed_days, infectious_days, dies,
            np.zeros(n, dtype=np.int32), np.full(n, -1, dtype=np.int32), np.arange(n, dtype=np.int32), n,
            np.zeros(n, dtype=np.int32),
            new_stream(movement), new_stream(disease), new_stream(economy), 0,
            _stats(0, 0, n, 0.0, np.bincount(status, minlength=5), np.zeros(TALLY_SIZE, np.int64)),
        )
        for _ in range(p.warmup_days):
            self.step(state, 0)
        return state

    def step(self, state: GridState, level: int) -> None:
        """Advance ``state`` by one day at movement ``level`` (spec §3) in place; ``state.last``: its statistics."""
        p, level = self.params, int(level)
        expected = self._expected_moves(level)
        today = state.day + 1
        tally = np.zeros(TALLY_SIZE, dtype=np.int64)
        earnings, state.n_alive = kernels.run_day(
            state.cell, state.grid, self._offsets, state.status, state.infected_day, state.stage_end,
            state.exposed_days, state.infectious_days, state.dies, state.secondary, state.infected_by, state.order,
            state.n_alive,
            state.moves_today, expected, p.moves_rounding == "stochastic", p.order == "random", self._contact_model,
            p.p_contact, today, p.economy_low, p.economy_high, p.economy_draw == "move", state.rng_move,
            state.rng_contact, state.rng_economy, tally,
        )
        self._finish_day(state, level, earnings, tally)

    def step_many(self, states: list[GridState], levels: list[int]) -> None:
        """Advance every state by one day at its own movement level, in place: exactly what
        ``for state, level in zip(states, levels): self.step(state, level)`` does, in one kernel call
        that runs the copies in parallel."""
        if len(states) != len(levels):
            raise EpictlError(f"step_many: {len(states)} states but {len(levels)} movement levels")
        levels = [int(level) for level in levels]
        expected = np.array([self._expected_moves(level) for level in levels], dtype=np.float64)
        if not states:
            return
        (cell, grid, status, infected_day, stage_end, exposed_days, infectious_days, dies, secondary, infected_by,
         order, moves_today, rng_move, rng_contact, rng_economy) = self._copy_lists(states)
        p = self.params
        n_alive = np.array([state.n_alive for state in states], dtype=np.int64)
        tallies = np.zeros((len(states), TALLY_SIZE), dtype=np.int64)
        earnings = np.empty(len(states), dtype=np.float64)
        kernels.run_day_many(
            cell, grid, self._offsets, status, infected_day, stage_end, exposed_days, infectious_days, dies,
            secondary, infected_by, order, n_alive, moves_today, expected, p.moves_rounding == "stochastic",
            p.order == "random", self._contact_model, p.p_contact,
            np.array([state.day + 1 for state in states], dtype=np.int64), p.economy_low, p.economy_high,
            p.economy_draw == "move", rng_move, rng_contact, rng_economy, tallies, earnings,
        )
        for state, level, alive, day_earnings, tally in zip(states, levels, n_alive, earnings, tallies):
            state.n_alive = int(alive)
            self._finish_day(state, level, float(day_earnings), tally)

    def _expected_moves(self, level: int) -> float:
        """Moves per person at ``level`` as the kernel takes them: the exact mean for stochastic rounding,
        else the whole number of moves; an unknown level is one clear error."""
        p = self.params
        expected = p.expected_moves(level)  # also rejects an unknown level
        return expected if p.moves_rounding == "stochastic" else float(p.moves_per_level[level])

    def _finish_day(self, state: GridState, level: int, earnings: float, tally: np.ndarray) -> None:
        """The day counter and the day's statistics after the kernel ran ``state``'s day."""
        state.day += 1
        state.last = _stats(state.day, level, state.population, earnings / self.params.economy_normaliser,
                            tally[:5], tally)

    def observe(self, state: GridState) -> np.ndarray:
        """The 7-value daily state of the last day, in the definitions chosen by ``params.state``."""
        return state.last.vector(self.params.state)

    def done(self, state: GridState) -> bool:
        """The epidemic is over: nobody exposed or infectious [paper]; released's active == 0 is the same."""
        return state.last.exposed + state.last.infectious == 0

    def truncated(self, state: GridState) -> bool:
        return not self.done(state) and state.day >= self.params.max_days

    def metrics(self, state: GridState) -> dict[str, float]:
        """End-of-run shares of the population: ever infected, dead, recovered, and days simulated."""
        last, n = state.last, state.population
        return {"infected": (n - last.susceptible) / n, "deaths": last.dead / n,
                "recovered": last.recovered / n, "days": float(state.day)}


def _stats(day: int, level: int, population: int, economy: float, counts, tally) -> DayStats:
    s, e, i, r, d = (int(c) for c in counts)
    infected_who_infected = int(tally[INFECTED_WHO_INFECTED])
    return DayStats(
        day=day, level=level, population=population, economy=float(economy),
        susceptible=s, exposed=e, infectious=i, recovered=r, dead=d,
        new_exposed=int(tally[NEW_EXPOSED]), new_infectious=int(tally[NEW_INFECTIOUS]),
        new_recovered=int(tally[NEW_RECOVERED]), new_deaths=int(tally[NEW_DEATHS]),
        reproduction=float(tally[SECONDARY_OF_INFECTIOUS]) / i if i else 0.0,
        reproduction_released=(e + i) / infected_who_infected if infected_who_infected else 0.0,
    )
