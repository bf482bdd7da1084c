"""Structured-config schemas: every yaml under conf/ is validated against one of these.

Group schemas (env, agent, rebuild, budget, reward) are the components' own dataclasses, taken from the family
and agent-kind registries, so a typo or a bad value fails at composition with the component's field names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from epictl.agents.registry import KINDS
from epictl.budgets.daily import DailyBudget
from epictl.calibration.parameters import FitParameters
from epictl.calibration.row_config import TableRowFit
from epictl.envs.registry import FAMILIES
from epictl.rebuild.config import RebuildConfig
from epictl.rewards.deshkar2023 import ScheduleReward
from epictl.rewards.feng2021 import ContactReward
from epictl.rewards.kdd21 import Kdd21Reward
from epictl.rewards.ohi2020 import Ohi2020Reward
from epictl.rewards.peng2026 import ClusterReward


@dataclass
class EvalConfig:
    env: Any = MISSING
    agent: Any = MISSING
    reward: Any = MISSING
    budget: Any = MISSING
    seed: int = 0  # first episode seed; episodes use seed, seed + 1, ...
    seeds: int = 10  # episodes (the paper repeats each cell 10 times)
    progress: bool = True
    plots: bool = True
    checkpoint: Optional[str] = None  # run folder of a trained agent
    checkpoint_pick: str = "last"  # last: where training stopped | best: its best held-out evaluation
    # Run folder of `epictl rebuild`: the agent acts on E, Iu, R rebuilt from the observed It, Ih, D.
    rebuild_from: Optional[str] = None


@dataclass
class ValidationConfig:
    """Held-out evaluation during training (conf/train.yaml says more)."""

    every: int = 2000  # training steps between held-out evaluations (0: none)
    episodes: int = 5  # greedy episodes per evaluation, on the same held-out seeds every time
    seed_offset: int = 200_000  # their seeds: seed_offset, seed_offset + 1, ... (apart from training and test seeds)


@dataclass
class TrainConfig(EvalConfig):
    resume: Optional[str] = None  # run folder to continue from its checkpoints/last.pt
    train_seed_offset: int = 100_000  # training episodes use seeds far from the evaluation seeds
    validation: ValidationConfig = field(default_factory=ValidationConfig)


@dataclass
class RebuildCommandConfig:
    env: Any = MISSING
    reward: Any = MISSING  # the env's own reward and budget come with it (they shape the simulated episodes)
    budget: Any = MISSING
    rebuild: Any = MISSING  # the network and its training (conf/rebuild/)
    seed: int = 0  # torch and shuffling seed; trajectories start at train_seed_offset + seed (scoring: at seed)
    train_seed_offset: int = 100_000  # training trajectories use seeds far from the evaluation seeds
    resume: Optional[str] = None  # run folder to continue from its checkpoints/last.pt
    checkpoint: Optional[str] = None  # run folder of a trained network: score it instead of training
    seeds: int = 10  # with checkpoint=: fresh test trajectories scored, seeds from seed (split offset added)
    progress: bool = True
    plots: bool = True


@dataclass
class TableConfig:
    runs: list[str] = field(default_factory=list)  # run folders or glob patterns
    name: str = "table"  # output file stem
    output_dir: str = "outputs/tables"
    compare: Optional[str] = None  # published table to set beside ours: table3 or table4 (conf/published/)
    reference_agent: str = "hrl"  # the method whose gain over the strongest baseline is reported


@dataclass
class BenchConfig:
    env: Any = MISSING
    agent: Any = MISSING  # a fixed policy: it acts in the timed episodes
    reward: Any = MISSING
    budget: Any = MISSING
    modes: list[str] = field(default_factory=lambda: ["fast", "exact"])
    days: int = 120  # simulated days per mode and episode
    reference_days: int = 1  # days the NumPy reference simulates (it is slow)
    seed: int = 0


@dataclass
class CalibrateConfig:
    env: Any = MISSING
    reward: Any = MISSING  # the env's own reward and budget come with it; calibrate uses neither
    budget: Any = MISSING
    target: str = "xinfadi"  # a named target (conf/targets/<name>.yaml) or a CSV: date,new_confirmed[,region]
    table_rows: TableRowFit = field(default_factory=TableRowFit)  # what a table-row target (rows: in its yaml) fits
    window_days: Optional[int] = None  # days fitted from the first; later days are scored out of sample (None: the target's, else all)
    seed_district: Optional[str] = None  # district holding the seed regions (None: the target's, else the whole city)
    seed_regions: int = 4  # regions the seeds are split over, drawn in proportion to population with `seed`
    seed_compartment: str = "E"  # seeds are people just infected (E) or already infectious (Iu)
    beds: int = 10_000  # beds admitting every confirmed case at once (isolation); 0: cases stay infectious in It
    parameters: FitParameters = field(default_factory=FitParameters)  # free or fixed, with bounds
    loss: str = "cumulative"  # sum of squared errors of cumulative or daily cases over the window
    runs: int = 10  # simulations averaged per evaluation, seeds seed .. seed + runs - 1 for every candidate
    seed: int = 0
    search_points: int = 24  # seeded Latin-hypercube points before the simplex refines the best
    max_evaluations: int = 120  # Nelder-Mead evaluations at most
    progress: bool = True
    plots: bool = True


def register() -> None:
    store = ConfigStore.instance()
    store.store(name="eval_schema", node=EvalConfig)
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="rebuild_schema", node=RebuildCommandConfig)
    store.store(name="table_schema", node=TableConfig)
    store.store(name="bench_schema", node=BenchConfig)
    store.store(name="calibrate_schema", node=CalibrateConfig)
    for family in FAMILIES.values():
        store.store(group="env", name=f"{family.name}_schema", node=family.config)
    for kind in KINDS.values():
        store.store(group="agent", name=kind.schema, node=kind.config)
    store.store(group="rebuild", name="network_schema", node=RebuildConfig)
    store.store(group="budget", name="daily_schema", node=DailyBudget)
    store.store(group="reward", name="kdd21_schema", node=Kdd21Reward)
    store.store(group="reward", name="ohi2020_schema", node=Ohi2020Reward)
    store.store(group="reward", name="peng2026_schema", node=ClusterReward)
    store.store(group="reward", name="feng2021_schema", node=ContactReward)
    store.store(group="reward", name="deshkar2023_schema", node=ScheduleReward)
