"""The multi-cluster family (Peng & Perrault, Hier-PPO; spec multi-cluster-npi.md): env config, builder, table units.

`conf/env/clusters*.yaml` (the global problem) and `conf/env/cluster_single*.yaml` (one cluster, for training the
local DQN) fill the config in; the family picks reward=peng2026 and a test budget (conf/env/family/clusters.yaml).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from epictl.budgets.daily import DailyBudget
from epictl.envs.family import EnvCopies, Family, Metric, require_reward
from epictl.errors import EpictlError
from epictl.rewards.peng2026 import ClusterReward
from epictl.sim.clusters.params import ClusterParams

NORMALIZATIONS = ("per_cluster", "per_person_day")


@dataclass
class ClusterEnvConfig(EnvCopies):
    """The clusters and their disease (``sim``) and how training episodes set the test cost."""

    family: str = "clusters"
    name: str = "clusters"
    sim: ClusterParams = field(default_factory=ClusterParams)
    # Training episodes draw alpha3 ~ LogUniform[low, high] (the local DQN, spec §7.2 [R]); it must cover
    # m * alpha3_true for every multiplier m in [1, m_max]. None: always reward.alpha3.
    alpha3_train_range: Optional[list[float]] = None
    # The reported return: per cluster, summed over its decision days [spec R] | per_person_day: that sum / days
    return_normalization: str = "per_cluster"

    def validate(self) -> "ClusterEnvConfig":
        if self.family != "clusters":
            raise EpictlError(f"env.family={self.family!r}: a cluster env config builds only family clusters")
        self.check_copies()
        share = self.alpha3_train_range
        if share is not None and (len(share) != 2 or not all(math.isfinite(x) for x in share)
                                  or not 0.0 < share[0] <= share[1]):
            raise EpictlError(f"env.alpha3_train_range={list(share)} needs [low, high] with 0 < low <= high")
        if self.return_normalization not in NORMALIZATIONS:
            raise EpictlError(f"env.return_normalization={self.return_normalization!r}; choose one of "
                              f"{', '.join(NORMALIZATIONS)}")
        self.sim.validate()
        return self


def build(config: ClusterEnvConfig, budget: DailyBudget, reward: ClusterReward):
    """Tests are the only budgeted resource; kernels load only here."""
    from epictl.envs.clusters import ClustersEnv

    config.validate()
    require_reward(config, reward, ClusterReward, "peng2026 (Hier-PPO eq. 1)")
    if getattr(budget, "beds", 0) or getattr(budget, "masks_per_day", 0):
        raise EpictlError(f"env {config.name} allocates tests only; set budget.beds=0 and budget.masks_per_day=0")
    tests = int(getattr(budget, "tests_per_day", 0))
    if config.sim.n_clusters > 1 and tests < 1:
        raise EpictlError(f"env {config.name}: {config.sim.n_clusters} clusters share a daily test budget; set "
                          "budget.tests_per_day >= 1 (e.g. budget=tests)")
    range_ = None if config.alpha3_train_range is None else [float(x) for x in config.alpha3_train_range]
    return ClustersEnv(config.sim, reward.validate(), tests, range_, config.return_normalization)


FAMILY = Family(
    name="clusters",
    config=ClusterEnvConfig,
    build=build,
    action="cluster_tests",
    metrics={
        "return": Metric("return", "Average cumulative return", 1),
        "s1": Metric("s1_per_person", "Missed infectious days per contact (S1/N)", 1),
        "s2": Metric("s2_per_person", "Unnecessary quarantine days per contact (S2/N)", 1),
        "s3": Metric("s3_per_person", "Tests per contact (S3/N)", 1),
        "attack_rate": Metric("attack_rate_pct", "Attack rate (%)", 1e2),
        "tests_per_day": Metric("tests_per_day", "Tests per decision day", 1),
        "budget_used": Metric("budget_used_pct", "Budget used (%)", 1e2),
        "alpha3": Metric("alpha3", "Test cost alpha3", 1),
    },
    table_metrics=("return", "s1_per_person", "s2_per_person", "s3_per_person"),
    example_agents="symp_avgrand, thres_avgrand, bin_m_qr, hier_ppo",
)
