"""Turn a composed run config into an environment and an agent."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from epictl.agents.base import Agent
from epictl.agents.baselines import BaselineAgentConfig, make_baseline
from epictl.envs.factory import make_metapop_env
from epictl.envs.metapop import MetapopEnv
from epictl.errors import EpictlError


def build_env(cfg: DictConfig, allocation: str = "ranked") -> MetapopEnv:
    env_config = OmegaConf.to_object(cfg.env)
    if env_config.family != "metapop":
        raise EpictlError(f"env.family={env_config.family!r} is not available yet")
    return make_metapop_env(env_config, OmegaConf.to_object(cfg.budget), OmegaConf.to_object(cfg.reward), allocation)


def build_env_and_agent(cfg: DictConfig) -> tuple[MetapopEnv, Agent]:
    agent_config = OmegaConf.to_object(cfg.agent)
    if isinstance(agent_config, BaselineAgentConfig):
        env = build_env(cfg, agent_config.allocation)
        return env, make_baseline(agent_config, env.action_space)
    raise EpictlError(f"agent {cfg.agent.name!r} has no builder")
