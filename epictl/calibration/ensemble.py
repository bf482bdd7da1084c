"""The model side of a calibration: confirmed cases of ``runs`` simulations at one parameter point.

Confirmed cases are the simulator's Iu -> It moves (``State.ever_tested``). Every candidate point
replays the same run seeds (common random numbers), so two candidates differ by their parameters,
not by luck, and the mean over runs is smooth enough for a simplex search.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.metapop.city import City
from epictl.sim.metapop.compartments import TICKS_PER_DAY
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.simulator import DayPlan, MetapopSimulator, outbreak_counts


@dataclass(frozen=True)
class Seeding:
    """Where and as what the outbreak starts; fixed through a calibration (only the count is fitted)."""

    regions: np.ndarray  # int64 [K] seed regions, the seeds split evenly over them
    compartment: int  # column of the state the seeds start in


def choose_seed_regions(city: City, district: str | None, n_regions: int, rng: np.random.Generator) -> np.ndarray:
    """``n_regions`` regions of ``district`` (the whole city if None), drawn in proportion to population."""
    if district is None:
        candidates = np.arange(city.n_regions)
    elif district in city.district_names:
        candidates = np.flatnonzero(city.district == city.district_names.index(district))
    else:
        raise EpictlError(f"seed_district={district!r}: {city.name} has districts {', '.join(city.district_names) or 'none'}")
    populated = int(np.count_nonzero(city.population[candidates]))  # the draw never picks an empty region
    if not 1 <= n_regions <= populated:
        raise EpictlError(f"seed_regions={n_regions} must be 1..{populated} (regions of {district or city.name} with people)")
    weights = city.population[candidates] / city.population[candidates].sum()
    return np.sort(rng.choice(candidates, size=n_regions, replace=False, p=weights)).astype(np.int64)


class ConfirmedEnsemble:
    """Cumulative confirmed cases per group of regions, at every day boundary, for each of ``runs`` runs.

    ``beds`` admit every confirmed case at once while they last: isolation, as in Beijing in 2020.
    """

    def __init__(self, city: City, disease: DiseaseParams, options: SimOptions, seeding: Seeding,
                 groups: np.ndarray, beds: int, runs: int, first_seed: int):
        if runs < 1 or beds < 0:
            raise EpictlError(f"calibrate needs runs >= 1 and beds >= 0, got runs={runs}, beds={beds}")
        self.city, self.disease, self.options, self.seeding = city, disease, options, seeding
        self.groups = np.asarray(groups, dtype=np.float64)  # [G, M]
        self.seeds = list(range(first_seed, first_seed + runs))
        m = city.n_regions
        # Admission by region index: with beds to spare the order never matters.
        self.plan = DayPlan(np.zeros(m, np.int64), beds, np.arange(m, dtype=np.int64), 1.0)

    def cumulative(self, values: dict[str, float], days: int) -> np.ndarray:
        """[runs, G, days + 1]: confirmed cases since the seed time, at 00:00 of every simulated day."""
        disease = replace(self.disease, R0=values["R0"], theta_ticks=values["test_delay"] * TICKS_PER_DAY)
        simulator = MetapopSimulator(self.city, disease, self.options)
        start = outbreak_counts(self.city, int(values["seed_cases"]), len(self.seeding.regions), None,
                                self.seeding.compartment, self.seeding.regions.tolist())
        out = np.zeros((len(self.seeds), self.groups.shape[0], days + 1))
        for r, seed in enumerate(self.seeds):
            state = simulator.reset(seed=seed, initial=start)
            for day in range(1, days + 1):
                simulator.step(state, self.plan)
                out[r, :, day] = self.groups @ state.ever_tested
        return out
