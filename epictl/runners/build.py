"""Turn a composed run config into an environment and an agent (any family, any kind)."""

from __future__ import annotations

import gymnasium as gym
from omegaconf import DictConfig, OmegaConf

from epictl.agents.base import Agent
from epictl.agents.registry import make_agent
from epictl.envs.registry import make_env
from epictl.errors import EpictlError


def build_env(cfg: DictConfig, agent_config=None) -> gym.Env:
    agent_config = OmegaConf.to_object(cfg.agent) if agent_config is None else agent_config
    return make_env(OmegaConf.to_object(cfg.env), OmegaConf.to_object(cfg.budget), OmegaConf.to_object(cfg.reward),
                    agent_config)


def build_env_and_agent(cfg: DictConfig) -> tuple[gym.Env, Agent]:
    """The env and the agent to evaluate; a learning agent needs `checkpoint=<training run folder>`."""
    agent_config = OmegaConf.to_object(cfg.agent)
    env = build_env(cfg, agent_config)
    if getattr(agent_config, "trainable", False) and not cfg.get("checkpoint"):
        raise EpictlError(f"agent {agent_config.name!r} learns: pass checkpoint=<run folder of `epictl train`>")
    agent = make_agent(agent_config, env.observation_space, env.action_space, seed=cfg.seed)
    if cfg.get("checkpoint"):
        from epictl.runners.checkpoint import restore_agent

        restore_agent(agent, agent_config, cfg.checkpoint)
    return env, agent
