"""Hierarchical agent of KDD'21 (Algorithm 1, eq. 6-7): per resource a DQN over the ranking
principles and, where the factor is learned, a DDPG actor-critic pair for the satisfaction factor.

DQN greedy / DQN expert are the same agent with fixed factors. All value heads share one joint
TD loss (a value decomposition): y = r + kappa * (1 - done) * (sum_i max Q'_i + sum_j Critic'_j(s', Actor'_j(s'))).
"""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import torch

from epictl.agents.base import Agent, Transition
from epictl.agents.hrl_config import HRLAgentConfig
from epictl.agents.networks import Actor, Critic, QNet
from epictl.agents.replay import ReplayBuffer
from epictl.agents.torch_device import resolve_device, use_torch_threads
from epictl.errors import EpictlError


class HierarchicalAgent(Agent):
    trainable = batched = True
    learning_memory = ("replay",)

    def __init__(self, config: HRLAgentConfig, observation_space: gym.spaces.Box, action_space: gym.spaces.Dict,
                 seed: int = 0):
        self.config = config.validate()
        if not isinstance(action_space, gym.spaces.Dict) or len(observation_space.shape) != 2:
            raise EpictlError(f"agent {config.name}: needs a city's [regions, channels] observation and (principle, "
                              f"factor) action, got {observation_space} and {action_space}")
        n_regions, _ = observation_space.shape
        channels = list(getattr(observation_space, "channels", ()))
        inputs = [name for name in config.input_scale if name in channels]
        if not inputs:
            raise EpictlError(f"agent.input_scale names {list(config.input_scale)}, the observation offers {channels}")
        self.input_names = inputs
        self._input_index = [channels.index(name) for name in inputs]
        self.n_regions = n_regions
        self.device = resolve_device(config.device)
        use_torch_threads(config.torch_threads)
        self.delta = action_space["factor"].low.astype(np.float64)
        self.n_principles = int(action_space["principle"].nvec[0])
        self.learned = [j for j, learn in enumerate(config.learn_factors) if learn]
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.replay = ReplayBuffer(config.replay_capacity, seed=seed)
        c, h, s = len(inputs), config.hidden, config.leaky_slope
        self.q_nets = torch.nn.ModuleList(QNet(c, n_regions, self.n_principles, h, s) for _ in range(2)).to(self.device)
        self.actors = torch.nn.ModuleList(Actor(c, n_regions, h, s, float(self.delta[j])) for j in self.learned).to(self.device)
        self.critics = torch.nn.ModuleList(Critic(c, n_regions, h, s) for _ in self.learned).to(self.device)
        self.targets = copy.deepcopy(torch.nn.ModuleDict({"q": self.q_nets, "actor": self.actors, "critic": self.critics}))
        self.value_optimizer = torch.optim.Adam([
            {"params": self.q_nets.parameters(), "lr": config.lr_q},
            {"params": self.critics.parameters(), "lr": config.lr_critic},
        ])
        self.actor_optimizer = torch.optim.Adam(self.actors.parameters(), lr=config.lr_actor) if self.learned else None
        scale = [config.input_scale[name] for name in inputs]
        self._scale = torch.tensor(scale, dtype=torch.float32, device=self.device).view(1, -1, 1)

    # -- acting ---------------------------------------------------------------------------------
    def features(self, observations) -> torch.Tensor:
        """[B, M, channels] observations -> scaled [B, C, M] network input."""
        x = torch.as_tensor(np.asarray(observations), dtype=torch.float32, device=self.device)
        x = x.reshape(-1, self.n_regions, x.shape[-1])[:, :, self._input_index]
        return x.transpose(1, 2) * self._scale

    def act(self, observation, explore: bool = False):
        return self.act_batch([observation], explore)[0]

    @torch.no_grad()
    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list:
        """Every copy's principles and factors from one forward pass of each network; exploration per copy."""
        state = self.features(np.stack([np.asarray(o) for o in observations]))
        principles = torch.stack([q(state).argmax(dim=1) for q in self.q_nets], dim=1).cpu().numpy().astype(np.int64)
        factors = np.tile(np.asarray(self.config.fixed_factors, dtype=np.float64), (len(observations), 1))
        for actor, j in zip(self.actors, self.learned):
            factors[:, j] = actor(state).reshape(-1).cpu().numpy()
        actions = []
        for env_copy in range(len(observations)):
            if explore:  # draws in the single-copy order, copy after copy
                random_pick = self.rng.random(2) < self.config.epsilon
                principles[env_copy, random_pick] = self.rng.integers(self.n_principles, size=int(random_pick.sum()))
                for j in self.learned:
                    factors[env_copy, j] += self.rng.normal(0.0, self.config.actor_noise)
            factors[env_copy, self.learned] = np.clip(factors[env_copy, self.learned], self.delta[self.learned], 1.0)
            actions.append({"principle": principles[env_copy], "factor": factors[env_copy].astype(np.float32)})
        return actions

    # -- learning -------------------------------------------------------------------------------
    def observe(self, observation, action, reward, next_observation, terminated, truncated,
                info: dict | None = None) -> dict[str, float]:
        return self.observe_batch([Transition(observation, action, reward, next_observation, terminated, truncated)])

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        """Store every copy's executed transition (done only at the horizon), then one update once a batch is there."""
        for t in transitions:
            self.replay.add(observation=t.observation, principle=t.action["principle"], factor=t.action["factor"],
                            reward=np.float32(t.reward), next_observation=t.next_observation,
                            done=np.float32(t.terminated))
        if len(self.replay) < self.config.batch_size:
            return {}
        return self.update(self.replay.sample(self.config.batch_size))

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One joint TD step on all value heads, one actor step, then soft target updates."""
        device = self.device
        state, next_state = self.features(batch["observation"]), self.features(batch["next_observation"])
        principles = torch.as_tensor(batch["principle"], dtype=torch.int64, device=device)
        factors = torch.as_tensor(batch["factor"], dtype=torch.float32, device=device)
        reward = torch.as_tensor(batch["reward"], dtype=torch.float32, device=device)
        done = torch.as_tensor(batch["done"], dtype=torch.float32, device=device)
        with torch.no_grad():
            next_value = sum(q(next_state).max(dim=1).values for q in self.targets["q"])
            for actor, critic in zip(self.targets["actor"], self.targets["critic"]):
                next_value = next_value + critic(next_state, actor(next_state))
            target = reward + self.config.discount * (1.0 - done) * next_value
        value = sum(q(state).gather(1, principles[:, i:i + 1]).squeeze(1) for i, q in enumerate(self.q_nets))
        for critic, j in zip(self.critics, self.learned):
            value = value + critic(state, factors[:, j])
        value_loss = torch.nn.functional.mse_loss(value, target)
        self.value_optimizer.zero_grad()
        value_loss.backward()
        self.value_optimizer.step()
        losses = {"value_loss": value_loss.item()}
        if self.learned:
            actor_objective = sum(critic(state, actor(state)) for actor, critic in zip(self.actors, self.critics))
            actor_loss = -actor_objective.mean()
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            losses["actor_loss"] = actor_loss.item()
        self.soft_update()
        return losses

    @torch.no_grad()
    def soft_update(self) -> None:
        online = torch.nn.ModuleDict({"q": self.q_nets, "actor": self.actors, "critic": self.critics})
        for target, source in zip(self.targets.parameters(), online.parameters()):
            target.lerp_(source, self.config.tau)

    # -- persistence ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "n_regions": self.n_regions, "learned": self.learned, "inputs": self.input_names,
            "q_nets": self.q_nets.state_dict(), "actors": self.actors.state_dict(),
            "critics": self.critics.state_dict(), "targets": self.targets.state_dict(),
            "value_optimizer": self.value_optimizer.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict() if self.actor_optimizer else None,
            "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "replay": self.replay.state_dict(),
        }

    def load_state_dict(self, state: dict, source: str) -> None:
        if state["n_regions"] != self.n_regions or state["learned"] != self.learned:
            raise EpictlError(f"{source}: trained for {state['n_regions']} regions and learned factors "
                              f"{state['learned']}, this run has {self.n_regions} and {self.learned}")
        if state["inputs"] != self.input_names:
            raise EpictlError(f"{source}: trained on inputs {state['inputs']}, this run observes {self.input_names}")
        for name in ("q_nets", "actors", "critics", "targets", "value_optimizer"):
            getattr(self, name).load_state_dict(state[name])
        if self.actor_optimizer:
            self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.replay.load_state_dict(state["replay"])
