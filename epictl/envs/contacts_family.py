"""The contact-tracing city family (PAPW 2020 challenge rules, IDRLECA; spec papw-contact-tracing.md): env config,
builder, table units.

`conf/env/papw*.yaml` fill the config in (the scenarios of spec §10 and the round-1 preset); the family picks
reward=feng2021 and no budget (conf/env/family/contacts.yaml): interventions cost through the Score, not a budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from epictl.budgets.daily import DailyBudget
from epictl.envs.family import EnvCopies, Family, Metric, require_no_budget, require_reward
from epictl.errors import EpictlError
from epictl.rewards.feng2021 import ContactReward, exp_or_inf
from epictl.sim.contacts.params import ContactParams


@dataclass
class ScoreSettings:
    """The challenge Score, exp(I / theta_infected) + cost_weight exp(Q / theta_cost) (spec §9; lower is better)."""

    theta_infected: float = 500.0  # theta_I [doc final round; round 1: 1000]
    theta_cost: float = 10_000.0  # theta_Q [doc final round; round 1: 100,000]
    cost_weight: float = 1.0  # Q_w [doc]

    def validate(self) -> "ScoreSettings":
        for key in ("theta_infected", "theta_cost"):
            if not 0.0 < getattr(self, key) < math.inf:
                raise EpictlError(f"env.score.{key}={getattr(self, key)} must be a finite number > 0")
        if not 0.0 <= self.cost_weight < math.inf:
            raise EpictlError(f"env.score.cost_weight={self.cost_weight} must be a finite number >= 0")
        return self

    def of(self, infected: float, cost: float) -> float:
        """The Score of ``infected`` people ever infected (I) and intervention cost ``cost`` (Q, person-days)."""
        return exp_or_inf(infected / self.theta_infected) + self.cost_weight * exp_or_inf(cost / self.theta_cost)


@dataclass
class ContactEnvConfig(EnvCopies):
    """The city and its disease (``sim``), when interventions may start, and the Score."""

    family: str = "contacts"
    name: str = "papw"
    sim: ContactParams = field(default_factory=ContactParams)
    # t_start: interventions open this many days after the first symptomatic case is seen [paper]; until then
    # only the hospital rule acts. None: open from day 0 (the challenge).
    intervention_start: Optional[int] = 1
    score: ScoreSettings = field(default_factory=ScoreSettings)

    def validate(self) -> "ContactEnvConfig":
        if self.family != "contacts":
            raise EpictlError(f"env.family={self.family!r}: a contact-city env config builds only family contacts")
        self.check_copies()
        if self.intervention_start is not None and not 0 <= self.intervention_start < self.sim.days:
            raise EpictlError(f"env.intervention_start={self.intervention_start} must lie in 0..{self.sim.days - 1} "
                              "or be null (from day 0)")
        self.sim.validate()
        self.score.validate()
        return self


def build(config: ContactEnvConfig, budget: DailyBudget, reward: ContactReward):
    """Interventions are priced by the Score, so the env takes no budget; kernels load only here."""
    from epictl.envs.contacts import ContactsEnv

    config.validate()
    require_reward(config, reward, ContactReward, "feng2021 (IDRLECA §3.2)")
    require_no_budget(config, budget, "takes no budget: interventions cost through the Score")
    return ContactsEnv(config.sim, reward.validate(), config.score, config.intervention_start)


FAMILY = Family(
    name="contacts",
    config=ContactEnvConfig,
    build=build,
    action="person_levels",
    metrics={
        "score": Metric("score", "Score (lower is better)", 1),
        "infected": Metric("infected", "Infected I", 1),
        "cost": Metric("cost", "Intervention cost Q", 1),
        "mobility_retained": Metric("mobility_retained_pct", "Mobility retained (%)", 1e2),
        "peak_hospitalised": Metric("peak_hospitalised", "Peak hospitalised", 1),
        "infected_share": Metric("infected_pct", "Infected (%)", 1e2),
    },
    table_metrics=("score", "infected", "cost", "mobility_retained_pct"),
    example_agents="none, lockdown, trace_contacts, prob_threshold, idrleca",
)
