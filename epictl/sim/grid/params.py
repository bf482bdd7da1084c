"""Every number of the grid world (Ohi et al. 2020; spec grid-lockdown.md), with its source tag.

[paper] the paper or its pseudocode, [released] the authors' code, [epictl] our default where the
two disagree or say nothing. ``GridParams.released()`` reproduces the released code's behaviour
(spec §13) for regression runs; the default follows the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Optional

from epictl.errors import EpictlError

CHOICES = {
    "moves_rounding": ("floor", "stochastic"),
    "order": ("random", "id"),
    "contact_model": ("collision", "collision_released", "moore_neighbourhood"),
    "economy_draw": ("day", "move"),
    "economy_norm": ("epictl", "paper", "released"),
    "state": ("paper", "released"),
}
# Grid sides of the released presets for N = 10,000, by density [released dashboard logs, spec §1].
RELEASED_SIDES = {0.01: 1000, 0.02: 708, 0.03: 577}
RELEASED_ECONOMY_MEAN = 0.9  # normaliser 15 · N · 0.9 although draws are U(0.7, 0.9) [released, §13.5]
MAX_CELLS = 2**31 - 1  # cell ids are int32


@dataclass
class GridParams:
    """The world, the disease clock, the economy and the options of spec §1-§10."""

    population: int = 10_000  # N [paper §Results]
    density: float = 0.02  # N / cells; 0.02 and 0.03 track the ODE [paper Fig. 8]
    grid_side: Optional[int] = None  # cells per side; None: round(sqrt(N / density)) [epictl §1]
    population_multiple: int = 1  # N rounded down to a multiple of this [epictl]; 5 [released §13.15]
    moves_per_day: int = 15  # moves per person at level 0 [paper, released]
    level_movement: list[float] = field(default_factory=lambda: [1.0, 0.75, 0.25])  # share of moves [paper §2]
    moves_rounding: str = "floor"  # floor: 15/11/3 [released] | stochastic: 15/11.25/3.75 on average
    order: str = "random"  # fresh permutation every round [epictl] | id [released §13.14]
    contact_model: str = "collision"  # symmetric [epictl] | collision_released | moore_neighbourhood [pseudocode]
    p_contact: float = 1.0  # infection probability per contact [paper, released]
    exposed_min: int = 1  # latent days, uniform on min..max [paper]; 0 = infectious at once [released]
    exposed_max: int = 2  # [paper; the preprint says 3]
    infectious_min: int = 21  # infectious days, uniform on min..max [paper]
    infectious_max: int = 27  # [paper]; 28 reads the pseudocode's U{0..7}
    death_probability: float = 0.2  # at the end of the infectious stage [paper "roughly 20 %", released]
    economy_low: float = 0.8  # earnings per move ~ U[low, high] [paper]
    economy_high: float = 1.0  # [paper]
    economy_draw: str = "day"  # one draw per person per day [epictl, released] | per move [paper]
    economy_norm: str = "epictl"  # N0·15·mean draw, 1.0 at level 0 [epictl] | N0·15 [paper] | N0·15·0.9 [released]
    state: str = "paper"  # definitions of the 7-value daily state [paper §8] | released
    initial_infectious: int = 70  # infectious at reset [paper Fig. 15 evaluation scenario]
    warmup_days: int = 1  # days at level 0 run by reset [released]
    max_days: int = 2000  # truncation [epictl]; the paper has no horizon

    def validate(self) -> "GridParams":
        for item in fields(self):
            value = getattr(self, item.name)
            numbers = value if isinstance(value, list) else [value]
            # NaN slips through every range check below (all its comparisons are false).
            if any(isinstance(x, float) and not math.isfinite(x) for x in numbers):
                raise EpictlError(f"env.sim.{item.name}={value} must be finite")
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)!r}; choose one of {', '.join(choices)}")
        # moves_per_day: the economy E_t is divided by a full day's moves (spec §7)
        for name in ("population", "population_multiple", "max_days", "moves_per_day"):
            if getattr(self, name) < 1:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must be >= 1")
        for name in ("exposed_min", "initial_infectious", "warmup_days"):
            if getattr(self, name) < 0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must be >= 0")
        for name in ("p_contact", "death_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must lie in [0, 1]")
        if not 0.0 < self.density <= 1.0:
            raise EpictlError(f"env.sim.density={self.density} must lie in (0, 1]")
        if self.grid_side is not None and self.grid_side < 1:
            raise EpictlError(f"env.sim.grid_side={self.grid_side} must be >= 1")
        if self.n_people < 1:
            raise EpictlError(f"env.sim.population={self.population} rounds down to no one")
        if (self.side + 2) ** 2 > MAX_CELLS:  # the kernels add a wall border
            raise EpictlError(f"env.sim: a {self.side}² grid exceeds {MAX_CELLS} cells; lower env.sim.population "
                              "or raise env.sim.density")
        if self.n_people > self.side**2:
            raise EpictlError(f"env.sim: {self.n_people} people do not fit a {self.side}² grid")
        if not self.level_movement or any(not 0.0 <= share <= 1.0 for share in self.level_movement):
            raise EpictlError(f"env.sim.level_movement={list(self.level_movement)} needs shares in [0, 1]")
        if self.exposed_max < self.exposed_min:
            raise EpictlError(f"env.sim: exposed_max={self.exposed_max} is below exposed_min={self.exposed_min}")
        if self.infectious_min < 1:
            raise EpictlError(f"env.sim.infectious_min={self.infectious_min} must be >= 1")
        if self.infectious_max < self.infectious_min:
            raise EpictlError(f"env.sim: infectious_max={self.infectious_max} is below infectious_min={self.infectious_min}")
        if not 0.0 <= self.economy_low <= self.economy_high:
            raise EpictlError(f"env.sim: economy draws U[{self.economy_low}, {self.economy_high}] need 0 <= low <= high")
        if self.economy_norm == "epictl" and self.economy_high == 0:
            raise EpictlError("env.sim.economy_high=0: economy_norm=epictl divides by the mean earning; "
                              "make economy_high > 0 or choose another economy_norm")
        if self.initial_infectious > self.n_people:
            raise EpictlError(f"env.sim.initial_infectious={self.initial_infectious} exceeds the population {self.n_people}")
        return self

    @property
    def n_people(self) -> int:
        """N after the optional rounding to a multiple [released §13.15]."""
        return self.population - self.population % self.population_multiple

    @property
    def side(self) -> int:
        """Cells per side of the square grid: density = N / side² [epictl §1]."""
        return self.grid_side if self.grid_side is not None else max(1, round(math.sqrt(self.n_people / self.density)))

    @property
    def n_levels(self) -> int:
        return len(self.level_movement)

    def expected_moves(self, level: int) -> float:
        """Moves per person on a day at ``level`` before rounding: 15 · share [paper §2]."""
        if not 0 <= level < self.n_levels:
            raise EpictlError(f"movement level {level} outside 0..{self.n_levels - 1}")
        return self.moves_per_day * self.level_movement[level]

    @property
    def moves_per_level(self) -> list[int]:
        """Moves of the floor rounding: [15, 11, 3] by default [released int(share · 15)]."""
        # the epsilon keeps products such as 100 · 0.29 = 28.999... from losing a whole move
        return [math.floor(self.expected_moves(level) + 1e-9) for level in range(self.n_levels)]

    @property
    def economy_normaliser(self) -> float:
        """Denominator of E_t (spec §7); the numerator is the day's summed earnings."""
        full_day = self.n_people * self.moves_per_day
        if self.economy_norm == "paper":
            return full_day
        if self.economy_norm == "released":
            return full_day * RELEASED_ECONOMY_MEAN
        return full_day * (self.economy_low + self.economy_high) / 2.0

    @classmethod
    def released(cls, **overrides) -> "GridParams":
        """The released code's behaviour as spec §13 lists it (items 1-5, 7, 8, 14, 15).

        Overwriting, asymmetric collisions; no latency and a deterministic clock (resolution 19 days
        after the infection day: 20 daily checks, 19 for the initial cases); U(0.7, 0.9) earnings;
        released state; id order; N rounded to a multiple of 5; the released grid sides for
        N = 10,000. The reward's daily death term (§13.6) belongs to the reward, not the simulator.
        """
        params = cls(
            population_multiple=5, order="id", contact_model="collision_released",
            exposed_min=0, exposed_max=0, infectious_min=19, infectious_max=19,
            economy_low=0.7, economy_high=0.9, economy_norm="released", state="released",
        )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise EpictlError(f"env.sim: unknown parameter(s) {', '.join(unknown)}")
        params = replace(params, **overrides)
        if params.grid_side is None and params.population == 10_000:
            params.grid_side = RELEASED_SIDES.get(params.density)
        return params.validate()
