"""Agent kinds: an agent config's ``kind`` names the class, imported only when used (torch is slow to load).

Every class is built as ``cls(config, observation_space, action_space, seed)``.
"""

from __future__ import annotations

from importlib import import_module

from epictl.agents.base import Agent
from epictl.errors import EpictlError

KINDS = {
    "fixed": "epictl.agents.baselines:FixedPolicy",
    "random": "epictl.agents.baselines:RandomPolicy",
    "hrl": "epictl.agents.hrl:HierarchicalAgent",
}


def make_agent(config, observation_space, action_space, seed: int) -> Agent:
    kind = getattr(config, "kind", None)
    if kind not in KINDS:
        raise EpictlError(f"agent.kind={kind!r}; choose one of {', '.join(KINDS)}")
    module, name = KINDS[kind].split(":")
    return getattr(import_module(module), name)(config.validate(), observation_space, action_space, seed)
