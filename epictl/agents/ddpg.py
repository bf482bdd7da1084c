"""DDPG (Lillicrap et al. 2015) as Deshkar et al. 2023 use it to pick lockdown and vaccination windows (spec §9),
in the style of sfujim/TD3's OurDDPG: ReLU MLPs, a tanh actor, a critic on (state, action), Polyak targets.

Works on any Box observation (flattened) and any Box action with finite bounds: the actor's tanh output in
[-1, 1] maps linearly onto [low, high] (for the ABM, days). Replay and critic hold actions in those
normalised units, recovered from the executed action the env reports. Critic target:
y = r + gamma (1 - terminated) Q'(s', mu'(s')); on the ABM every step ends its episode, so y = r.
"""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from epictl.agents.base import Agent, Transition
from epictl.agents.ddpg_config import DdpgConfig
from epictl.agents.replay import ReplayBuffer
from epictl.agents.torch_device import resolve_device, use_torch_threads
from epictl.errors import EpictlError

LOSS_KEYS = ("critic_loss", "actor_loss", "q")


def mlp(inputs: int, hidden: list[int], outputs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for units in hidden:
        layers += [nn.Linear(inputs, units), nn.ReLU()]
        inputs = units
    return nn.Sequential(*layers, nn.Linear(inputs, outputs))


class Critic(nn.Module):
    """Q(state, normalised action) -> [B]."""

    def __init__(self, observation_size: int, action_size: int, hidden: list[int]):
        super().__init__()
        self.net = mlp(observation_size + action_size, hidden, 1)

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([state, action], dim=1)).squeeze(1)


class DdpgAgent(Agent):
    trainable = batched = True
    learning_memory = ("replay",)

    def __init__(self, config: DdpgConfig, observation_space: gym.Space, action_space: gym.Space, seed: int = 0):
        if not isinstance(observation_space, gym.spaces.Box) or not isinstance(action_space, gym.spaces.Box):
            raise EpictlError(f"agent {config.name}: needs a Box observation and a Box action, got {observation_space} "
                              f"and {action_space}")
        low, high = action_space.low.astype(np.float64).ravel(), action_space.high.astype(np.float64).ravel()
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
            raise EpictlError(f"agent {config.name}: needs an action with finite bounds, low < high, "
                              f"got {action_space}")
        self.config = config.validate()
        self.action_low, self.action_high = low, high
        self.action_shape, self.action_dtype = action_space.shape, action_space.dtype
        self.observation_size, self.action_size = int(np.prod(observation_space.shape)), low.size
        self.device = resolve_device(config.device)
        use_torch_threads(config.torch_threads)
        torch.manual_seed(seed)
        exploration_seed, replay_seed = np.random.SeedSequence(seed).spawn(2)  # independent streams
        self.rng = np.random.default_rng(exploration_seed)
        self.replay = ReplayBuffer(config.replay_capacity, seed=replay_seed)
        hidden = list(config.hidden)
        self.actor = nn.Sequential(mlp(self.observation_size, hidden, self.action_size), nn.Tanh()).to(self.device)
        self.critic = Critic(self.observation_size, self.action_size, hidden).to(self.device)
        self.actor_target, self.critic_target = copy.deepcopy(self.actor), copy.deepcopy(self.critic)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr)
        self.steps = 0  # transitions observed: burn-in ends after config.burn_in of them

    # -- action units ---------------------------------------------------------------------------
    def to_env_units(self, normalised: np.ndarray) -> np.ndarray:
        action = self.action_low + (normalised + 1.0) / 2.0 * (self.action_high - self.action_low)
        return np.clip(action, self.action_low, self.action_high).reshape(self.action_shape).astype(self.action_dtype)

    def to_normalised(self, action) -> np.ndarray:
        action = np.asarray(action, dtype=np.float64).ravel()
        normalised = 2.0 * (action - self.action_low) / (self.action_high - self.action_low) - 1.0
        return np.clip(normalised, -1.0, 1.0).astype(np.float32)

    def states(self, observations) -> torch.Tensor:
        """Observations -> [B, observation_size] float32 on the agent's device."""
        x = torch.as_tensor(np.asarray(observations, dtype=np.float32), device=self.device)
        return x.reshape(-1, self.observation_size)

    # -- acting ---------------------------------------------------------------------------------
    def act(self, observation, explore: bool = False) -> np.ndarray:
        return self.act_batch([observation], explore)[0]

    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list[np.ndarray]:
        """Explore: uniform during burn-in, then mu(s) plus Gaussian noise; else mu(s). One actor pass for all
        copies; the draws go copy after copy."""
        if explore and self.steps < self.config.burn_in:
            return [self.to_env_units(self.rng.uniform(-1.0, 1.0, self.action_size)) for _ in observations]
        with torch.no_grad():
            normalised = self.actor(self.states(np.stack([np.asarray(o) for o in observations])))
        normalised = normalised.cpu().numpy().astype(np.float64)
        if explore:
            for row in normalised:
                row[:] = np.clip(row + self.rng.normal(0.0, self.config.exploration_noise, self.action_size), -1.0, 1.0)
        return [self.to_env_units(row) for row in normalised]

    # -- learning -------------------------------------------------------------------------------
    def observe(self, observation, action, reward, next_observation, terminated, truncated,
                info: dict | None = None) -> dict[str, float]:
        return self.observe_batch([Transition(observation, action, reward, next_observation, terminated, truncated)])

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        """Store every copy's executed transition; once the steps before them pass burn-in, ``updates_per_step``
        updates (their mean losses)."""
        for t in transitions:
            self.replay.add(observation=np.asarray(t.observation, np.float32).ravel(),
                            action=self.to_normalised(t.action), reward=np.float32(t.reward * self.config.reward_scale),
                            next_observation=np.asarray(t.next_observation, np.float32).ravel(),
                            terminated=np.float32(t.terminated))
        learning = self.steps >= self.config.burn_in  # the step that acted with mu(s) learns [sfujim/TD3]
        self.steps += len(transitions)
        if not learning:
            return {}
        losses = [self.update(self.replay.sample(self.config.batch_size)) for _ in range(self.config.updates_per_step)]
        return {key: float(np.mean([step[key] for step in losses])) for key in LOSS_KEYS}

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One critic step on the TD error, one actor step up the critic, then the Polyak target step."""
        c, device = self.config, self.device
        state, next_state = self.states(batch["observation"]), self.states(batch["next_observation"])
        action = torch.as_tensor(batch["action"], device=device)
        reward = torch.as_tensor(batch["reward"], device=device)
        terminated = torch.as_tensor(batch["terminated"], device=device)
        with torch.no_grad():
            next_value = self.critic_target(next_state, self.actor_target(next_state))
            target = reward + c.gamma * (1.0 - terminated) * next_value
        q = self.critic(state, action)
        critic_loss = nn.functional.mse_loss(q, target)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        actor_loss = -self.critic(state, self.actor(state)).mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        with torch.no_grad():
            for target_net, online in ((self.actor_target, self.actor), (self.critic_target, self.critic)):
                for target_parameter, parameter in zip(target_net.parameters(), online.parameters()):
                    target_parameter.lerp_(parameter, c.tau)
        return {"critic_loss": critic_loss.item(), "actor_loss": actor_loss.item(), "q": q.mean().item()}

    # -- persistence ----------------------------------------------------------------------------
    def shape(self) -> dict:
        """What a checkpoint must agree on to load."""
        return {"observation_size": self.observation_size, "action_low": self.action_low.tolist(),
                "action_high": self.action_high.tolist(), "hidden": list(self.config.hidden)}

    def state_dict(self) -> dict:
        return {
            "shape": self.shape(), "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(), "critic_target": self.critic_target.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "replay": self.replay.state_dict(), "steps": self.steps,
            "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict, source: str) -> None:
        if state["shape"] != self.shape():
            raise EpictlError(f"{source}: trained as {state['shape']}, this agent is {self.shape()}")
        for name in ("actor", "critic", "actor_target", "critic_target", "actor_optimizer", "critic_optimizer"):
            getattr(self, name).load_state_dict(state[name])
        self.replay.load_state_dict(state["replay"])
        self.steps = state["steps"]
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
