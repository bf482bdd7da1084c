"""Build an environment from validated config objects (one builder per simulator family)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from epictl.budgets.daily import DailyBudget
from epictl.envs.metapop import MetapopEnv, Scenario
from epictl.errors import EpictlError
from epictl.rewards.kdd21 import Kdd21Reward
from epictl.sim.metapop.params import DiseaseParams
from epictl.sim.metapop.region_order import cached_flow_path_order
from epictl.sim.metapop.simulator import MetapopSimulator, SimOptions
from epictl.sim.metapop.sources import CityConfig, load_city
from epictl.sim.metapop.synthetic import check_spec


@dataclass
class MetapopEnvConfig:
    """Everything that defines a metapopulation environment; `conf/env/*.yaml` fill it in."""

    family: str = "metapop"
    name: str = "tiny"
    city: CityConfig = field(default_factory=CityConfig)
    disease: DiseaseParams = field(default_factory=DiseaseParams)
    sim: SimOptions = field(default_factory=SimOptions)
    scenario: Scenario = field(default_factory=Scenario)
    observation: str = "perfect"  # perfect: all 8 compartments | imperfect: It, Ih, D
    reorder: str = "flow_path"  # observation rows in a high-flow path order [paper reorder layer] | none
    delta: list[float] = field(default_factory=lambda: [0.1, 0.1])  # factor lower bound (beds, masks)
    metric_window: str = "whole"  # whole run [paper] | controlled days only [code]
    record_regions: bool = False  # keep per-region daily counts (curves_regions.parquet)

    def validate(self) -> "MetapopEnvConfig":
        if self.metric_window not in ("whole", "controlled"):
            raise EpictlError(f"env.metric_window={self.metric_window!r}; choose whole or controlled")
        if self.reorder not in ("flow_path", "none"):
            raise EpictlError(f"env.reorder={self.reorder!r}; choose flow_path or none")
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


def make_metapop_env(config: MetapopEnvConfig, budget: DailyBudget, reward: Kdd21Reward,
                     allocation: str = "ranked") -> MetapopEnv:
    """``allocation`` is how the agent's action is decoded: ranked [paper], proportional, none (blank control)."""
    config.validate()
    city = load_city(config.city)
    simulator = MetapopSimulator(city, config.disease, config.sim)
    order = cached_flow_path_order(city, Path(config.city.cache_dir).expanduser()) if config.reorder == "flow_path" else None
    return MetapopEnv(city, simulator, config.scenario, budget, reward, config.observation,
                      tuple(config.delta), allocation, config.record_regions, order, config.metric_window_start)


def build_metapop_env(config: MetapopEnvConfig, budget: DailyBudget, reward: Kdd21Reward, agent_config) -> MetapopEnv:
    """The registry's builder: the agent config says how its actions are decoded (``allocation``)."""
    return make_metapop_env(config, budget, reward, getattr(agent_config, "allocation", "ranked"))
