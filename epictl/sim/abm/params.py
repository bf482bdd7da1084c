"""Every number of the lockdown-and-vaccination city (spec abm-ddpg-lockdown-vaccination.md §1-§8), with its source
tag.

[paper] Deshkar et al. 2023, [bharatsim] BharatSim's tenCompartmentalModel example (same group; fills in what the
paper omits), [epictl] our choice where both are silent (spec §12). No Numba here: the config schemas load this
module on every command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from epictl.errors import EpictlError

COMPARTMENTS = ("susceptible", "exposed", "presymptomatic", "asymptomatic", "mild", "severe", "hospitalised",
                "recovered", "deceased")  # index order = compartment codes 0..8 (int8) [paper Fig. 1]
S, E, P, A, IM, IS, H, R, D = range(9)
INFECTIOUS = (P, A, IM, IS, H)  # exposed agents do not infect [paper, bharatsim]
SICK = (IM, IS, H)  # known to be ill: not vaccinated, the head earns nothing [epictl, spec §6-§7]
AGE_BANDS = 10  # 0-9 .. 90-99; 90-99 also serves ages >= 100 [paper Table 1]
AGE_GROUPS = ("0-17", "18-59", "60-99")  # vaccination target groups [paper]
AGE_GROUP_STARTS = (0, 18, 60)  # [paper]
VACCINES = 2  # [paper]
TICKS_PER_DAY = 2  # tick 0 = night (home), tick 1 = day (office or school) [paper, bharatsim]
DT = 1.0 / TICKS_PER_DAY  # days per tick [paper, bharatsim]
STAGES = ("exposed", "asymptomatic", "presymptomatic", "mild", "severe", "hospitalised")  # durations [paper Table 2]
INITIAL_STATES = ("asymptomatic", "exposed")  # seeded infections start in [bharatsim] | [epictl option]
PLACE_FRACTIONS = ("present", "members")  # who counts in f_X [epictl] | [bharatsim]
PRIORITIES = ("uniform", "oldest")  # vaccine recipients among the eligible [epictl]
MAX_AGENTS = 10_000_000  # agent ids fit the 32-bit field of the counter-based draws (kernels.py) [epictl]
MAX_DAYS = 16_000  # ticks fit int16 (kernels.NEVER = 32767) [epictl]

# The daily log, one row per day boundary: row d is the city after d simulated days (row 0: day 0 before any tick).
# Counts are of agents; the flows (doses, new infections, locked down) are those of the day just simulated (0 in
# row 0).
LOG_COLUMNS = (
    "day",
    *COMPARTMENTS,  # agents in each compartment
    "cumulative_infected",  # ever infected, the seeded infections included
    "cumulative_hospitalised",  # ever hospitalised
    "below_poverty",  # living agents whose household's savings are below the poverty line [paper]
    "locked_down",  # agents the lockdown kept home on the day tick (they would have gone to office or school)
    "vaccinated",  # ever vaccinated (cumulative)
    *(f"doses_v{vaccine + 1}_{group}" for vaccine in range(VACCINES) for group in AGE_GROUPS),  # given that day
    "new_infections",  # infected that day
)


def india_age_shares() -> list[float]:
    """10-year age bands 0-9 .. 90-99 [epictl]: India 2020 (UN World Population Prospects 2019, as tabulated by
    neherlab/covid19_scenarios and shipped in Covasim's country_age_data, Kerr et al. 2021, which the paper cites),
    the source's 80+ band split into 80-89 and 90-99 by continuing its decline from 70-79 (80+ / 70-79 = 0.339)."""
    return [0.17019, 0.18275, 0.17384, 0.15626, 0.12294, 0.09285, 0.06315, 0.02839, 0.00719, 0.00244]


@dataclass
class VaccineParams:
    """One vaccine [paper Table 3]."""

    effectiveness: float = 0.8  # VE_k: susceptibility x (1 - VE_k) [paper]
    doses_per_day: int = 450  # A_k, read as doses per day [epictl, spec §6]


@dataclass
class AbmParams:
    """City, disease course, infection, lockdown, vaccination and economy."""

    n_agents: int = 100_000  # N [paper]
    days: int = 100  # horizon; always run whole [paper; epictl]
    population_seed: int = 0  # the synthetic city is drawn from this, not from the episode seed [epictl]
    age_band_shares: list[float] = field(default_factory=india_age_shares)  # [epictl] see india_age_shares
    beta: float = 0.5  # base transmission rate per day [paper Table 1 note]
    # per 10-year age band 0-9 .. 90-99 [paper Table 1]
    beta_multiplier: list[float] = field(default_factory=lambda: [0.34, 0.67, 1.0, 1.0, 1.0, 1.0, 1.0, 1.24, 1.47,
                                                                  1.47])
    p_symptomatic: list[float] = field(default_factory=lambda: [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9,
                                                                0.9])  # 1 - gamma
    p_severe: list[float] = field(default_factory=lambda: [0.0005, 0.00165, 0.0072, 0.0208, 0.0343, 0.0765, 0.1328,
                                                           0.20655, 0.2457, 0.2457])  # 1 - delta, given symptoms
    p_death: list[float] = field(default_factory=lambda: [0.00002, 0.00002, 0.0001, 0.00032, 0.00098, 0.00265,
                                                          0.00766, 0.02439, 0.08292, 0.1619])  # sigma, if hospitalised
    # log-normal stage durations in days: mean and sd of the variable itself [paper Table 2, bharatsim]
    exposed_mean: float = 4.5
    exposed_sd: float = 1.5
    asymptomatic_mean: float = 8.0
    asymptomatic_sd: float = 2.0
    presymptomatic_mean: float = 1.1
    presymptomatic_sd: float = 0.9
    mild_mean: float = 8.0
    mild_sd: float = 2.0
    severe_mean: float = 1.5
    severe_sd: float = 2.0
    hospitalised_mean: float = 18.1
    hospitalised_sd: float = 6.3
    initial_infected: float = 0.15  # share infected at day 0 [paper Table 3: 0.15 or 0.01]
    initial_state: str = "asymptomatic"  # [bharatsim] | exposed [epictl option]
    household_size_min: int = 1  # [epictl]
    household_size_max: int = 8  # [epictl]
    household_size_mean: float = 4.0  # "about 4 people" [paper]
    office_size_mean: float = 20.0  # geometric sizes [epictl]
    school_size_mean: float = 500.0  # equal sizes [epictl]
    n_hospitals: int = 10  # [epictl]
    employed_min_age: int = 30  # "older than 30" employed, the rest students [paper; epictl: >= 30]
    essential_share: float = 0.2  # of the population, drawn among the employed [paper; epictl]
    violator_share: float = 0.1  # of the population, drawn independently [paper; epictl]
    mild_stays_home: bool = False  # mild cases keep their schedule [bharatsim]
    place_fraction: str = "present"  # [epictl] | members [bharatsim]
    vaccines: list[VaccineParams] = field(default_factory=lambda: [
        VaccineParams(0.8, 450), VaccineParams(0.6, 450)])  # [paper Table 3, Exp 1]
    vaccination_cap: float = 0.9  # share of N vaccinated at most [paper]
    vaccinated_infectiousness: float = 0.8  # "reduced by 20 %" [paper]
    vaccinated_asymptomatic_factor: float = 1.8  # gamma "increased by 80 %", capped at 1 [paper; epictl]
    vaccine_priority: str = "uniform"  # [epictl] | oldest
    savings_mean: float = 500.0  # initial household savings ~ N(500, 350), clipped at 0 [paper; epictl]
    savings_sd: float = 350.0
    income_mean: float = 100.0  # daily household income ~ N(100, 30), drawn once, clipped at 0 [paper; epictl]
    income_sd: float = 30.0
    expense_per_person: float = 10.0  # per living member per day [paper; epictl]
    poverty_line: float = 100.0  # [paper]

    def validate(self) -> "AbmParams":
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise EpictlError(f"env.sim.{item.name}={value} must be finite")
        if not 1 <= self.n_agents <= MAX_AGENTS:
            raise EpictlError(f"env.sim.n_agents={self.n_agents} must lie in 1..{MAX_AGENTS}")
        if not 1 <= self.days <= MAX_DAYS:
            raise EpictlError(f"env.sim.days={self.days} must lie in 1..{MAX_DAYS}")
        if self.population_seed < 0:
            raise EpictlError(f"env.sim.population_seed={self.population_seed} must be >= 0")
        self._check_table("age_band_shares", 0.0, 1.0)
        if abs(sum(self.age_band_shares) - 1.0) > 1e-3:
            raise EpictlError(f"env.sim.age_band_shares must sum to 1, got {sum(self.age_band_shares):.6g}")
        self._check_table("beta_multiplier", 0.0, math.inf)
        for name in ("p_symptomatic", "p_severe", "p_death"):
            self._check_table(name, 0.0, 1.0)
        if self.beta < 0:
            raise EpictlError(f"env.sim.beta={self.beta} must be >= 0")
        for stage in STAGES:
            if not getattr(self, f"{stage}_mean") > 0:
                raise EpictlError(f"env.sim.{stage}_mean={getattr(self, f'{stage}_mean')} must be > 0")
            if getattr(self, f"{stage}_sd") < 0:
                raise EpictlError(f"env.sim.{stage}_sd={getattr(self, f'{stage}_sd')} must be >= 0")
        self._check_choice("initial_state", INITIAL_STATES)
        self._check_choice("place_fraction", PLACE_FRACTIONS)
        self._check_choice("vaccine_priority", PRIORITIES)
        low, high, mean = self.household_size_min, self.household_size_max, self.household_size_mean
        if low < 1:
            raise EpictlError(f"env.sim.household_size_min={low} must be >= 1")
        if high < low:
            raise EpictlError(f"env.sim.household_size_max={high} must be >= household_size_min ({low})")
        if not low <= mean <= high:
            raise EpictlError(f"env.sim.household_size_mean={mean} must lie in [household_size_min, "
                              f"household_size_max] = [{low}, {high}]")
        for name in ("office_size_mean", "school_size_mean"):
            if not getattr(self, name) >= 1:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must be >= 1")
        if self.n_hospitals < 1:
            raise EpictlError(f"env.sim.n_hospitals={self.n_hospitals} must be >= 1")
        if not 0 <= self.employed_min_age <= 100:
            raise EpictlError(f"env.sim.employed_min_age={self.employed_min_age} must lie in 0..100")
        for name in ("initial_infected", "essential_share", "violator_share", "vaccination_cap",
                     "vaccinated_infectiousness"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must lie in [0, 1]")
        if self.vaccinated_asymptomatic_factor < 0:
            raise EpictlError(f"env.sim.vaccinated_asymptomatic_factor={self.vaccinated_asymptomatic_factor} "
                              "must be >= 0")
        if len(self.vaccines) != VACCINES:
            raise EpictlError(f"env.sim.vaccines has {len(self.vaccines)} entries; the model has {VACCINES}")
        for index, vaccine in enumerate(self.vaccines):
            if not (math.isfinite(vaccine.effectiveness) and 0.0 <= vaccine.effectiveness <= 1.0):
                raise EpictlError(f"env.sim.vaccines.{index}.effectiveness={vaccine.effectiveness} "
                                  "must lie in [0, 1]")
            if not 0 <= vaccine.doses_per_day <= MAX_AGENTS:
                raise EpictlError(f"env.sim.vaccines.{index}.doses_per_day={vaccine.doses_per_day} "
                                  f"must lie in 0..{MAX_AGENTS}")
        for name in ("savings_sd", "income_sd", "expense_per_person"):
            if getattr(self, name) < 0:
                raise EpictlError(f"env.sim.{name}={getattr(self, name)} must be >= 0")
        return self

    def _check_table(self, name: str, low: float, high: float) -> None:
        """An age table: AGE_BANDS finite entries within [low, high]."""
        values = list(getattr(self, name))
        if len(values) != AGE_BANDS:
            raise EpictlError(f"env.sim.{name} has {len(values)} entries; it needs {AGE_BANDS} (ages 0-9 .. 90-99)")
        bad = [value for value in values if not (math.isfinite(value) and low <= value <= high)]
        if bad:
            raise EpictlError(f"env.sim.{name} entry {bad[0]} must lie in [{low:g}, {high:g}]")

    def _check_choice(self, name: str, choices: tuple[str, ...]) -> None:
        if getattr(self, name) not in choices:
            raise EpictlError(f"env.sim.{name}={getattr(self, name)!r}; choose one of {', '.join(choices)}")
