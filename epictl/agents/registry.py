"""Agent kinds: an agent config's ``kind`` names the class, imported only when used (torch is slow to load).

Every class is built as ``cls(config, observation_space, action_space, seed)``; a config with a
``rebuild`` run folder gets the class wrapped so it acts on rebuilt information.
"""

from __future__ import annotations

from importlib import import_module

from epictl.agents.base import Agent
from epictl.errors import EpictlError

KINDS = {
    "fixed": "epictl.agents.baselines:FixedPolicy",
    "random": "epictl.agents.baselines:RandomPolicy",
    "hrl": "epictl.agents.hrl:HierarchicalAgent",
    "lockdown_schedule": "epictl.agents.lockdown_schedules:LockdownSchedule",
    "ddqn_lstm": "epictl.agents.ddqn_lstm:DdqnLstmAgent",
}


def make_agent(config, observation_space, action_space, seed: int) -> Agent:
    kind = getattr(config, "kind", None)
    if kind not in KINDS:
        raise EpictlError(f"agent.kind={kind!r}; choose one of {', '.join(KINDS)}")
    module, name = KINDS[kind].split(":")
    agent_class = getattr(import_module(module), name)
    if getattr(config, "rebuild", None):
        from epictl.agents.rebuilding import RebuildingAgent

        return RebuildingAgent(agent_class, config.validate(), observation_space, action_space, seed)
    return agent_class(config.validate(), observation_space, action_space, seed)
