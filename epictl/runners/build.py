"""Turn a composed run config into an environment and an agent."""

from __future__ import annotations

from pathlib import Path

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
    """The env and the agent to evaluate; a learning agent needs `checkpoint=<training run folder>`."""
    agent_config = OmegaConf.to_object(cfg.agent)
    env = build_env(cfg, agent_config.allocation)
    if isinstance(agent_config, BaselineAgentConfig):
        return env, make_baseline(agent_config, env.action_space)
    if not cfg.get("checkpoint"):
        raise EpictlError(f"agent {agent_config.name!r} learns: pass checkpoint=<run folder of `epictl train`>")
    from epictl.agents.hrl import HierarchicalAgent
    from epictl.runners.train import CHECKPOINT, load_checkpoint

    agent = HierarchicalAgent(agent_config, env.observation_space, env.action_space, seed=cfg.seed)
    agent.load_state_dict(load_checkpoint(cfg.checkpoint, agent.device)["agent"], str(Path(cfg.checkpoint) / CHECKPOINT))
    return env, agent
