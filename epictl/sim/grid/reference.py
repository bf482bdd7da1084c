"""A plain-Python grid world, one ``Person`` object per person, written the way the released code is.

Same structure as the released ``Env`` (spec §4, §14): a list-of-lists graph of person ids, list
positions, ``_is_valid`` per draw, ``randint`` for the 9 offsets, methods on ``Person``; but with
epictl's rules (spec §3-§7): symmetric collision contacts, no overwriting, a fresh random order per
round, latent and infectious days drawn per infection, earnings of the non-infectious. It shares no
code with the Numba kernels and serves only as the speed baseline of ``scripts/bench_grid.py``:
the same model, so the speed ratio is honest, not the same random numbers.
"""

from __future__ import annotations

from random import Random

from epictl.errors import EpictlError
from epictl.sim.grid.compartments import D, E, EMPTY, I, R, S
from epictl.sim.grid.params import GridParams


class Person:
    def __init__(self, pos: list[int]):
        self.pos = pos
        self.status = S
        self.infection_day = -1
        self.stage_end = 0

    def is_infectious(self) -> bool:
        return self.status == I

    def can_be_infected(self) -> bool:
        return self.status == S

    def earns(self, today: int) -> bool:
        return self.status != D and (self.status != I or self.infection_day == today)


class ReferenceGrid:
    """The grid world of ``params`` from ``seed``: placement, initial cases and warm-up on creation."""

    moves = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 0], [0, 1], [1, -1], [1, 0], [1, 1]]

    def __init__(self, params: GridParams, seed: int):
        p = self.params = params.validate()
        if p.contact_model != "collision" or p.moves_rounding != "floor" or p.economy_draw != "day":
            raise EpictlError("the reference grid implements contact_model=collision, floor moves, daily earnings")
        self.random = Random(seed)
        self.side = p.side
        self.graph = [[EMPTY] * self.side for _ in range(self.side)]
        self.person: list[Person] = []
        while len(self.person) < p.n_people:
            x, y = self.random.randint(0, self.side - 1), self.random.randint(0, self.side - 1)
            if self.graph[x][y] == EMPTY:
                self.graph[x][y] = len(self.person)
                self.person.append(Person([x, y]))
        for it in self.random.sample(range(p.n_people), p.initial_infectious):
            self.person[it].status, self.person[it].infection_day = I, 0
            self.person[it].stage_end = self.random.randint(p.infectious_min, p.infectious_max)
        self.day = 0
        for _ in range(p.warmup_days):
            self.step_day(0)

    def step_day(self, level: int) -> dict[str, float]:
        """Moves, economy, disease clock (spec §3); returns the day's counts and E_t."""
        p, today = self.params, self.day + 1
        steps = p.moves_per_level[level]
        alive = [it for it in range(len(self.person)) if self.person[it].status != D]
        for _ in range(steps):
            if p.order == "random":
                self.random.shuffle(alive)
            for it in alive:
                self._move_person(it, today)
        economy = 0.0
        for it in alive:
            if self.person[it].earns(today):
                economy += steps * self.random.uniform(p.economy_low, p.economy_high)
        for it in alive:
            self._daily_process(it, today)
        self.day = today
        counts = {name: 0 for name in "SEIRD"}
        for person in self.person:
            counts["SEIRD"[person.status]] += 1
        return {**counts, "economy": economy / p.economy_normaliser}

    def _is_valid(self, pos: list[int]) -> bool:
        return 0 <= pos[0] < self.side and 0 <= pos[1] < self.side

    def _move_person(self, it: int, today: int) -> None:
        """Draw one of the 9 Moore offsets until staying or stepping into an empty cell (spec §4)."""
        while True:
            d = self.random.randint(0, len(self.moves) - 1)
            if d == 4:
                return
            new_pos = list(map(sum, zip(self.person[it].pos, self.moves[d])))
            if not self._is_valid(new_pos):
                continue
            other = self.graph[new_pos[0]][new_pos[1]]
            if other >= 0:
                self._contact(it, other, today)
                continue
            self.graph[self.person[it].pos[0]][self.person[it].pos[1]] = EMPTY
            self.person[it].pos = new_pos
            self.graph[new_pos[0]][new_pos[1]] = it
            return

    def _contact(self, a: int, b: int, today: int) -> None:
        """Symmetric collision: an infectious person exposes a susceptible one (spec §5)."""
        for infector, target in ((a, b), (b, a)):
            if self.person[infector].is_infectious() and self.person[target].can_be_infected():
                if self.random.random() < self.params.p_contact:
                    self._infect(self.person[target], today)

    def _infect(self, person: Person, today: int) -> None:
        p = self.params
        person.status, person.infection_day = E, today
        person.stage_end = today + self.random.randint(p.exposed_min, p.exposed_max)
        if person.stage_end == today:  # no latency
            person.status = I
            person.stage_end = today + self.random.randint(p.infectious_min, p.infectious_max)

    def _daily_process(self, it: int, today: int) -> None:
        """E -> I, then I -> R or D at the end of their stages; the dead leave the graph (spec §6)."""
        person, p = self.person[it], self.params
        if person.status == E and person.stage_end <= today:
            person.status = I
            person.stage_end = today + self.random.randint(p.infectious_min, p.infectious_max)
        elif person.status == I and person.stage_end <= today:
            if self.random.random() < p.death_probability:
                person.status = D
                self.graph[person.pos[0]][person.pos[1]] = EMPTY
            else:
                person.status = R
