"""Turn a composed run config into an environment and an agent (any family, any kind)."""

from __future__ import annotations

import gymnasium as gym
from omegaconf import DictConfig, OmegaConf

from epictl.agents.base import Agent
from epictl.agents.registry import make_agent
from epictl.envs.registry import make_env, make_vector_env
from epictl.errors import EpictlError


def build_env(cfg: DictConfig) -> gym.Env:
    return make_env(OmegaConf.to_object(cfg.env), OmegaConf.to_object(cfg.budget), OmegaConf.to_object(cfg.reward))


def build_vector_env(cfg: DictConfig):
    """``env.num_envs`` copies of the run's env, stepped together (envs/vector.py)."""
    return make_vector_env(OmegaConf.to_object(cfg.env), OmegaConf.to_object(cfg.budget),
                           OmegaConf.to_object(cfg.reward))


def build_agent(cfg: DictConfig, agent_config, env: gym.Env) -> Agent:
    """The run's agent for ``env``; with `rebuild_from`, it acts on E, Iu, R rebuilt by that run's network."""
    if cfg.get("rebuild_from"):
        from epictl.rebuild.rebuilding import RebuildingAgent  # torch: only when used

        return RebuildingAgent(cfg.rebuild_from, agent_config, env.observation_space, env.action_space, seed=cfg.seed)
    return make_agent(agent_config, env.observation_space, env.action_space, seed=cfg.seed)


def build_envs_and_agent(cfg: DictConfig) -> tuple[gym.vector.VectorEnv, Agent, int | None]:
    """The vector env of the run's ``env.num_envs`` copies, the agent to evaluate and, for a trained one, its
    training run's seed; a learning agent needs `checkpoint=<training run folder>` (checkpoint_pick: last or
    best)."""
    agent_config = OmegaConf.to_object(cfg.agent)
    envs = build_vector_env(cfg)
    if getattr(agent_config, "trainable", False) and not cfg.get("checkpoint"):
        raise EpictlError(f"agent {agent_config.name!r} learns: pass checkpoint=<run folder of `epictl train`>")
    agent = build_agent(cfg, agent_config, envs.envs[0])
    train_seed = None
    if cfg.get("checkpoint"):
        from epictl.runners.checkpoint import restore_agent

        train_seed = restore_agent(agent, agent_config, cfg.checkpoint, cfg.checkpoint_pick)
    return envs, agent, train_seed
