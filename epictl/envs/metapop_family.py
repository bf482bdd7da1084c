"""The metapopulation family (KDD'21): its env config, scenario, builder and table units, in one place.

`conf/env/{beijing,shanghai,tiny,...}.yaml` fill the config in and pick their reward and budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional
from pathlib import Path

from omegaconf import MISSING

from epictl.budgets.daily import DailyBudget
from epictl.envs.allocation import ALLOCATIONS
from epictl.envs.family import EnvCopies, Family, Metric, require_reward
from epictl.errors import EpictlError
from epictl.rewards.kdd21 import Kdd21Reward
from epictl.sim.metapop.city import MAX_PEOPLE
from epictl.sim.metapop.compartments import NAMES
from epictl.sim.metapop.params import DiseaseParams, SimOptions
from epictl.sim.metapop.sources import CityConfig
from epictl.sim.metapop.synthetic import check_spec

MAX_DAYS = 36_500  # a century of simulated days per phase: beyond it a typo, not a scenario


@dataclass
class Scenario:
    """The outbreak and the horizon of one episode (KDD'21 §4.1-4.2, spec §13); each env yaml's ``scenario:``
    gives every value (conf/env/beijing.yaml: KDD'21 experiment 1)."""

    initial_cases: int = MISSING  # I0, split evenly over the seeded regions
    initial_regions: int = MISSING  # K, drawn in proportion to population unless `regions` is given
    regions: list[int] = MISSING  # the seeded regions by index ([]: draw K)
    initial_compartment: str = MISSING  # where seeds start
    use_city_start: bool = MISSING  # start from the city's supplied start state instead
    free_days: int = MISSING  # blank-control days before decisions start
    controlled_days: int = MISSING
    # None: every episode runs its own free phase. A seed: every episode starts from that seed's day-`free_days`
    # state (one shared snapshot, as the original code's tests start from one supplied state) and draws its
    # controlled days from its own seed.
    free_phase_seed: Optional[int] = MISSING

    def validate(self) -> "Scenario":
        if self.initial_compartment not in NAMES:
            raise EpictlError(f"scenario.initial_compartment={self.initial_compartment!r}; choose one of {', '.join(NAMES)}")
        for name, low, high in (("initial_cases", 0, MAX_PEOPLE), ("free_days", 0, MAX_DAYS),
                                ("controlled_days", 1, MAX_DAYS)):
            if not low <= getattr(self, name) <= high:
                raise EpictlError(f"env.scenario.{name}={getattr(self, name)} must lie in {low}..{high}")
        if not self.regions and self.initial_regions < 1:
            raise EpictlError(f"scenario.initial_regions={self.initial_regions} must be >= 1")
        if self.regions and min(self.regions) < 0:
            raise EpictlError(f"scenario.regions={list(self.regions)}: region indices start at 0")
        if self.free_phase_seed is not None and self.free_phase_seed < 0:
            raise EpictlError(f"scenario.free_phase_seed={self.free_phase_seed} must be >= 0 (null: each episode's own)")
        if len(set(self.regions)) < len(self.regions):
            # a repeated region would be seeded once, silently losing the other share of the cases
            raise EpictlError(f"scenario.regions={list(self.regions)} lists a region twice")
        return self


@dataclass
class MetapopEnvConfig(EnvCopies):
    """Everything that defines a metapopulation environment. The env's settings and scenario are written in
    its yaml (conf/env/); the model's params (city, disease, sim) carry their sourced defaults in their
    dataclasses (epictl/sim/metapop/), which the yaml overrides where a city differs."""

    family: str = "metapop"
    name: str = MISSING
    city: CityConfig = field(default_factory=CityConfig)
    disease: DiseaseParams = field(default_factory=DiseaseParams)
    sim: SimOptions = field(default_factory=SimOptions)
    scenario: Scenario = MISSING
    observation: str = MISSING  # perfect: all 8 compartments | imperfect: It, Ih, D
    reorder: str = MISSING  # observation rows in a high-flow path order [paper reorder layer] | none
    allocation: str = MISSING  # how actions become resources: ranked [paper] | proportional | none
    delta: list[float] = MISSING  # factor lower bound (beds, masks)
    metric_window: str = MISSING  # whole run [paper] | controlled days only [code]
    record_regions: bool = MISSING  # keep per-region daily counts (curves_regions.parquet)

    def validate(self) -> "MetapopEnvConfig":
        if self.family != "metapop":
            raise EpictlError(f"env.family={self.family!r}: a metapop env config builds only family metapop")
        self.check_copies()
        if self.metric_window not in ("whole", "controlled"):
            raise EpictlError(f"env.metric_window={self.metric_window!r}; choose whole or controlled")
        if self.reorder not in ("flow_path", "none"):
            raise EpictlError(f"env.reorder={self.reorder!r}; choose flow_path or none")
        if self.observation not in ("perfect", "imperfect"):
            raise EpictlError(f"env.observation={self.observation!r}; choose perfect or imperfect")
        if self.allocation not in ALLOCATIONS:
            raise EpictlError(f"env.allocation={self.allocation!r}; choose one of {', '.join(ALLOCATIONS)}")
        if len(self.delta) != 2 or not all(0.0 <= bound <= 1.0 for bound in self.delta):
            raise EpictlError(f"env.delta={list(self.delta)} needs one bound in [0, 1] per resource (beds, masks)")
        if self.city.source != "synthetic" and not (self.city.path and Path(self.city.path).expanduser().exists()):
            raise EpictlError(f"env.city.path={self.city.path!r}: no such file or folder")
        if self.city.source == "synthetic":
            check_spec(self.city.synthetic)
        self.disease.validate()
        self.sim.validate()
        self.scenario.validate()
        return self

    @property
    def metric_window_start(self) -> int:
        return self.scenario.free_days if self.metric_window == "controlled" else 0


def build(config: MetapopEnvConfig, budget: DailyBudget, reward: Kdd21Reward):
    """The city (cached), its simulator and the env; imports the kernels only when an env is built."""
    from epictl.envs.metapop import MetapopEnv
    from epictl.sim.metapop.region_order import cached_flow_path_order
    from epictl.sim.metapop.simulator import MetapopSimulator
    from epictl.sim.metapop.sources import load_city

    config.validate()
    require_reward(config, reward, Kdd21Reward, "kdd21 (KDD'21 eq. 3)")
    if not isinstance(budget, DailyBudget):
        raise EpictlError(f"env {config.name} needs a daily bed and mask budget (conf/budget/), got {budget!r}")
    if budget.tests_per_day:
        raise EpictlError(f"env {config.name} runs no tests; set budget.tests_per_day=0 or pick a city budget")
    city = load_city(config.city)
    simulator = MetapopSimulator(city, config.disease, config.sim)
    order = cached_flow_path_order(city, Path(config.city.cache_dir).expanduser()) if config.reorder == "flow_path" else None
    return MetapopEnv(city, simulator, config.scenario, budget, reward, config.observation, tuple(config.delta),
                      config.allocation, config.record_regions, order, config.metric_window_start)


# KDD'21 tables (spec §12), from fractions of the city population.
FAMILY = Family(
    name="metapop",
    config=MetapopEnvConfig,
    build=build,
    action="principle_and_factor",
    metrics={
        "infected": Metric("infected_pct", "Infected (%)", 1e2),
        "deaths": Metric("deaths_permille", "Deaths (‰)", 1e3),
        "max_daily_infection": Metric("max_daily_infection_permille", "Max daily infection (‰)", 1e3),
        "max_daily_death": Metric("max_daily_death_per10k", "Max daily death (1e-4)", 1e4),
    },
    table_metrics=("infected_pct", "deaths_permille", "max_daily_infection_permille", "max_daily_death_per10k"),
    example_agents="expert_seriousness, no_medical, hrl",
)
