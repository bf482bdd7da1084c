"""Agent kinds: an agent config's ``kind`` names its config schema, its class and the action shapes it
produces. Classes are imported only when an agent is built (torch is slow to load), each by its own
small function so readers and tools can follow the import.

Every class is built as ``cls(config, observation_space, action_space, seed)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from epictl.agents.abm_schedules import AbmScheduleConfig
from epictl.agents.base import Agent
from epictl.agents.baselines import BaselineAgentConfig
from epictl.agents.cluster_dqn_config import ClusterDqnConfig, SlEncoderConfig
from epictl.agents.cluster_global_config import HierPpoConfig, QRankingConfig
from epictl.agents.cluster_rules import ClusterRuleConfig
from epictl.agents.ddpg_config import DdpgConfig
from epictl.agents.ddqn_lstm_config import DdqnLstmConfig
from epictl.agents.hrl_config import HRLAgentConfig
from epictl.agents.idrleca_config import IdrlecaConfig
from epictl.agents.lockdown_schedules import LockdownScheduleConfig
from epictl.agents.papw_rules import PapwRuleConfig
from epictl.errors import EpictlError


def _fixed_policy() -> type[Agent]:
    from epictl.agents.baselines import FixedPolicy

    return FixedPolicy


def _random_policy() -> type[Agent]:
    from epictl.agents.baselines import RandomPolicy

    return RandomPolicy


def _hierarchical_agent() -> type[Agent]:
    from epictl.agents.hrl import HierarchicalAgent

    return HierarchicalAgent


def _cluster_rule() -> type[Agent]:
    from epictl.agents.cluster_rules import ClusterRule

    return ClusterRule


def _sl_encoder() -> type[Agent]:
    from epictl.agents.sl_encoder import SlEncoderAgent

    return SlEncoderAgent


def _cluster_dqn() -> type[Agent]:
    from epictl.agents.cluster_dqn import ClusterDqnAgent

    return ClusterDqnAgent


def _q_ranking() -> type[Agent]:
    from epictl.agents.q_ranking import QRankingAgent

    return QRankingAgent


def _hier_ppo() -> type[Agent]:
    from epictl.agents.hier_ppo import HierPpoAgent

    return HierPpoAgent


def _papw_rule() -> type[Agent]:
    from epictl.agents.papw_rules import PapwRule

    return PapwRule


def _idrleca() -> type[Agent]:
    from epictl.agents.idrleca import IdrlecaAgent

    return IdrlecaAgent


def _ddpg() -> type[Agent]:
    from epictl.agents.ddpg import DdpgAgent

    return DdpgAgent


def _abm_schedule() -> type[Agent]:
    from epictl.agents.abm_schedules import AbmSchedule

    return AbmSchedule


def _lockdown_schedule() -> type[Agent]:
    from epictl.agents.lockdown_schedules import LockdownSchedule

    return LockdownSchedule


def _ddqn_lstm_agent() -> type[Agent]:
    from epictl.agents.ddqn_lstm import DdqnLstmAgent

    return DdqnLstmAgent


@dataclass(frozen=True)
class AgentKind:
    schema: str  # the name agent yamls of this kind put in their defaults list
    config: type  # that schema's dataclass
    agent_class: Callable[[], type[Agent]]
    actions: tuple[str, ...]  # the env families' action shapes (Family.action) it produces


KINDS: dict[str, AgentKind] = {
    "fixed": AgentKind("baseline_schema", BaselineAgentConfig, _fixed_policy, ("principle_and_factor",)),
    "random": AgentKind("baseline_schema", BaselineAgentConfig, _random_policy, ("principle_and_factor",)),
    "hrl": AgentKind("hrl_schema", HRLAgentConfig, _hierarchical_agent, ("principle_and_factor",)),
    "lockdown_schedule": AgentKind("lockdown_schedule_schema", LockdownScheduleConfig, _lockdown_schedule, ("movement_level",)),
    "ddqn_lstm": AgentKind("ddqn_lstm_schema", DdqnLstmConfig, _ddqn_lstm_agent, ("movement_level",)),
    "cluster_rule": AgentKind("cluster_rule_schema", ClusterRuleConfig, _cluster_rule, ("cluster_tests",)),
    "sl_encoder": AgentKind("sl_encoder_schema", SlEncoderConfig, _sl_encoder, ("cluster_tests",)),
    "cluster_dqn": AgentKind("cluster_dqn_schema", ClusterDqnConfig, _cluster_dqn, ("cluster_tests",)),
    "q_ranking": AgentKind("q_ranking_schema", QRankingConfig, _q_ranking, ("cluster_tests",)),
    "hier_ppo": AgentKind("hier_ppo_schema", HierPpoConfig, _hier_ppo, ("cluster_tests",)),
    "papw_rule": AgentKind("papw_rule_schema", PapwRuleConfig, _papw_rule, ("person_levels",)),
    "idrleca": AgentKind("idrleca_schema", IdrlecaConfig, _idrleca, ("person_levels",)),
    "ddpg": AgentKind("ddpg_schema", DdpgConfig, _ddpg, ("intervention_schedule",)),
    "abm_schedule": AgentKind("abm_schedule_schema", AbmScheduleConfig, _abm_schedule, ("intervention_schedule",)),
}


def agent_kind(kind: str) -> AgentKind:
    if kind not in KINDS:
        raise EpictlError(f"agent.kind={kind!r}; choose one of {', '.join(KINDS)}")
    return KINDS[kind]


def make_agent(config, observation_space, action_space, seed: int) -> Agent:
    return agent_kind(getattr(config, "kind", None)).agent_class()(config.validate(), observation_space, action_space, seed)
