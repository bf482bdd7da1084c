"""The grid family (Ohi et al. 2020): its env config, builder and table units, in one place.

`conf/env/grid*.yaml` fill the config in and pick their reward (ohi2020) and budget (none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from epictl.budgets.daily import DailyBudget
from epictl.envs.family import EnvCopies, Family, Metric, require_no_budget, require_reward
from epictl.errors import EpictlError
from epictl.rewards.ohi2020 import Ohi2020Reward
from epictl.sim.grid.params import GridParams


@dataclass
class GridEnvConfig(EnvCopies):
    """The world and disease (``sim``, spec §1-§8) and the outbreak of each episode (spec §10)."""

    family: str = "grid"
    name: str = "grid"
    sim: GridParams = field(default_factory=GridParams)  # evaluation starts with sim.initial_infectious
    # Training episodes (`epictl train`) start with a uniform share of N infectious [paper: 1-20 %;
    # released: 0.4-4 %]; None: the evaluation count every time.
    train_initial_share: Optional[list[float]] = field(default_factory=lambda: [0.01, 0.2])

    def validate(self) -> "GridEnvConfig":
        if self.family != "grid":
            raise EpictlError(f"env.family={self.family!r}: a grid env config builds only family grid")
        self.check_copies()
        check_initial_share(self.train_initial_share)
        self.sim.validate()
        return self


def check_initial_share(share: list[float] | None) -> None:
    if share is not None and (len(share) != 2 or not 0.0 <= share[0] <= share[1] <= 1.0):
        raise EpictlError(f"env.train_initial_share={list(share)} needs [low, high] with 0 <= low <= high <= 1")


def build(config: GridEnvConfig, budget: DailyBudget, reward: Ohi2020Reward):
    """The grid world allocates no resources, so only an empty budget fits; kernels load only here."""
    from epictl.envs.grid import GridEnv

    config.validate()
    require_reward(config, reward, Ohi2020Reward, "ohi2020 (paper eq. 1)")
    require_no_budget(config, budget, "allocates no beds, masks or tests")
    share = None if config.train_initial_share is None else [float(bound) for bound in config.train_initial_share]
    return GridEnv(config.sim, reward, share)


# Ohi et al. 2020 grid world (Table 1, Table 2, Fig. 22), from fractions of the initial population.
FAMILY = Family(
    name="grid",
    config=GridEnvConfig,
    build=build,
    action="movement_level",
    metrics={
        "days": Metric("days", "Epidemic length (days)", 1),
        "infected": Metric("infected_pct", "Infected (%)", 1e2),
        "deaths": Metric("deaths_pct", "Deaths (%)", 1e2),
        "peak_active": Metric("peak_active_pct", "Peak active cases (%)", 1e2),
        "peak_day": Metric("peak_day", "Day of the peak", 1),
        "economy_mean": Metric("economy_mean", "Economy per day (E_t)", 1),
        "economy_total": Metric("economy_total", "Economy per episode (sum of E_t)", 1),
        "reward_mean": Metric("reward_mean", "Reward per day", 1),
        "reward_total": Metric("reward_total", "Reward per episode", 1),
        "reproduction_mean": Metric("reproduction_mean", "Reproduction rate, mean (paper's definition)", 1),
        "reproduction_median": Metric("reproduction_median", "Reproduction rate, median (paper's definition)", 1),
        "reproduction_released_mean": Metric("reproduction_released_mean", "Reproduction rate, mean (released code's)", 1),
        "reproduction_released_median": Metric("reproduction_released_median",
                                               "Reproduction rate, median (released code's)", 1),
        "initial_case_secondary": Metric("initial_case_secondary", "Secondary cases per initial case", 1),
        **{f"level{k}": Metric(f"level{k}_pct", f"Days at level {k} (%)", 1e2) for k in range(3)},
    },
    table_metrics=("days", "infected_pct", "deaths_pct", "peak_active_pct", "economy_mean", "reward_total"),
    example_agents="no_lockdown, n_work_m_lockdown, ddqn_lstm",
)
