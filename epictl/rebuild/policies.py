"""The baseline policies whose episodes train and test the rebuild network, named like `agent=<name>`.

A policy is a conf/agent yaml: either the agent node itself, or a `# @package _global_` file that sets
`agent:` and the env keys it needs (`env.allocation`: how the env decodes the policy's actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import OmegaConf

from epictl.agents.baselines import BaselineAgentConfig
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR


@dataclass(frozen=True)
class Policy:
    agent: BaselineAgentConfig
    allocation: Optional[str]  # the policy's env.allocation; None: the run's env decides


def load_policy(name: str) -> Policy:
    """A baseline policy by its conf/agent name (only fixed and random policies generate data)."""
    path = CONF_DIR / "agent" / f"{name}.yaml"
    if not path.is_file():
        raise EpictlError(f"policy {name!r}: no conf/agent/{name}.yaml")
    node = OmegaConf.load(path)
    node.pop("defaults", None)
    is_global = "agent" in node
    env = (node.get("env") or {}) if is_global else {}
    if set(env) - {"allocation"}:
        raise EpictlError(f"policy {name!r} sets env keys other than env.allocation ({', '.join(sorted(env))}); "
                          "a data policy may only choose how its actions are decoded")
    try:
        agent = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(BaselineAgentConfig),
                                                    node.agent if is_global else node))
    except Exception:  # a learning agent's keys do not fit the baseline schema
        raise EpictlError(f"policy {name!r} is not a baseline; data comes from baselines only") from None
    return Policy(agent.validate(), env.get("allocation"))
