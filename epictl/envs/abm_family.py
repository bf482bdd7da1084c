"""The age-stratified agent-based city family (Deshkar et al. 2023; spec abm-ddpg-lockdown-vaccination.md): env
config, builder, table units.

`conf/env/abm*.yaml` fill the config in (Exp 1 of the paper's Table 3 by default); `conf/experiment/abm/` holds the
four experiments x three kappa scenarios. The family picks reward=deshkar2023 and no budget
(conf/env/family/abm.yaml): lockdown costs through the household economy and vaccines are rationed by the sim's
daily availability, not by a budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from epictl.budgets.daily import DailyBudget
from epictl.envs.abm_schedule import MAX_REPEATS
from epictl.envs.family import EnvCopies, Family, Metric, require_no_budget, require_reward
from epictl.errors import EpictlError
from epictl.rewards.deshkar2023 import ScheduleReward
from epictl.sim.abm.params import AbmParams


@dataclass
class AbmEnvConfig(EnvCopies):
    """The city, its disease, vaccines and economy (``sim``) and how often each schedule is simulated."""

    family: str = "abm"
    name: str = "abm"
    sim: AbmParams = field(default_factory=AbmParams)
    repeats: int = 2  # simulations per schedule, their rewards averaged (n = 2) [paper §4.2]

    def validate(self) -> "AbmEnvConfig":
        if self.family != "abm":
            raise EpictlError(f"env.family={self.family!r}: an ABM env config builds only family abm")
        self.check_copies()
        if not 1 <= self.repeats <= MAX_REPEATS:
            raise EpictlError(f"env.repeats={self.repeats} must lie in 1..{MAX_REPEATS}")
        self.sim.validate()
        return self


def build(config: AbmEnvConfig, budget: DailyBudget, reward: ScheduleReward):
    """Interventions cost through the economy and vaccines are rationed by the sim, so the env takes no budget."""
    from epictl.envs.abm import AbmEnv

    config.validate()
    require_reward(config, reward, ScheduleReward, "deshkar2023 (paper §3.2)")
    require_no_budget(config, budget, "takes no budget: vaccines are rationed by env.sim's availability")
    return AbmEnv(config.sim, reward.validate(), config.repeats)


FAMILY = Family(
    name="abm",
    config=AbmEnvConfig,
    build=build,
    action="intervention_schedule",
    metrics={
        "below_poverty": Metric("below_poverty_pct", "Below poverty line, day 100 (%)", 1e2),
        "deceased": Metric("deceased_pct", "Deceased (%)", 1e2),
        "hospitalised": Metric("hospitalised_pct", "Ever hospitalised (%)", 1e2),
        "infected": Metric("infected_pct", "Infected (%)", 1e2),
        "vaccinated": Metric("vaccinated_pct", "Vaccinated (%)", 1e2),
        "total_reward": Metric("total_reward", "TRew = HRew + kappa ERew (agents)", 1),
        "health_reward": Metric("health_reward", "HRew (agents)", 1),
        "economy_reward": Metric("economy_reward", "ERew (agents)", 1),
    },
    table_metrics=("below_poverty_pct", "deceased_pct", "hospitalised_pct", "infected_pct", "total_reward"),
    example_agents="ddpg, abm_nothing, abm_full_lockdown, abm_vaccinate, abm_partial_lockdown, abm_paper_schedule",
)
