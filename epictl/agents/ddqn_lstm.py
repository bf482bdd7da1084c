"""Memory DQN of Ohi et al. 2020 (paper Fig. 6, spec §11): a window of the last L days through three
bidirectional LSTMs and a dense head to one Q-value per restriction level, trained by double DQN.

Target [paper "DDQN", van Hasselt et al. 2016]: y = r + gamma (1 - done) Q_target(s', argmax_a Q_online(s', a));
``target: dqn`` gives the released y = r + gamma (1 - done) max_a Q_target(s', a). The target network
is only ever a copy of the online one (every few episodes or steps). Transitions are (window, level,
reward, next window, done), windows built from the agent's own episode memory (DayWindow).
"""

from __future__ import annotations

import copy
import math

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from epictl.agents.base import Agent, Transition
from epictl.agents.day_window import DayWindow
from epictl.agents.ddqn_lstm_config import DdqnLstmConfig
from epictl.agents.replay import ReplayBuffer
from epictl.agents.torch_device import resolve_device, use_torch_threads
from epictl.agents.torch_files import load_checkpoint
from epictl.errors import EpictlError, reason
from epictl.paths import CHECKPOINT

# Network shape: a checkpoint only loads into an agent that agrees on all of these.
SHAPE_KEYS = ("memory", "lstm_units", "dense_units")


class BiLstmQNet(nn.Module):
    """[B, L, features] -> [B, actions]: BiLSTM layers (all but the last return sequences), ReLU dense layers."""

    def __init__(self, features: int, n_actions: int, lstm_units: list[int], dense_units: list[int], dropout: float):
        super().__init__()
        self.lstms = nn.ModuleList()
        size = features
        for units in lstm_units:
            self.lstms.append(nn.LSTM(size, units, batch_first=True, bidirectional=True))
            size = 2 * units
        self.dropout = nn.Dropout(dropout)  # on each LSTM's inputs [released: dropout inside the LSTMs]
        dense: list[nn.Module] = []
        for units in dense_units:
            dense += [nn.Linear(size, units), nn.ReLU(), nn.Dropout(dropout)]
            size = units
        self.head = nn.Sequential(*dense, nn.Linear(size, n_actions))
        for layer in self.head:
            if isinstance(layer, nn.Linear):  # he-uniform kernels and biases [released Keras he_uniform]
                nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
                bound = math.sqrt(6.0 / layer.bias.numel())
                nn.init.uniform_(layer.bias, -bound, bound)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        x = windows
        for lstm in self.lstms:
            x, _ = lstm(self.dropout(x))
        units = self.lstms[-1].hidden_size
        # The last layer's single output, as Keras' Bidirectional without sequences: the forward
        # direction after the decision day, the backward direction after the window's first day.
        return self.head(torch.cat([x[:, -1, :units], x[:, 0, units:]], dim=1))


@torch.no_grad()
def bootstrap_values(online: nn.Module, target: nn.Module, next_windows: torch.Tensor, rule: str) -> torch.Tensor:
    """Value of each next state: the target's Q at the online argmax (double) or the target's max (dqn)."""
    target_q = target(next_windows)
    if rule == "dqn":
        return target_q.max(dim=1).values
    chosen = online(next_windows).argmax(dim=1, keepdim=True)
    return target_q.gather(1, chosen).squeeze(1)


class DdqnLstmAgent(Agent):
    trainable = batched = True
    learning_memory = ("replay",)

    def __init__(self, config: DdqnLstmConfig, observation_space: gym.Space, action_space: gym.Space, seed: int = 0):
        if not isinstance(action_space, gym.spaces.Discrete) or len(observation_space.shape) != 1:
            raise EpictlError(f"agent {config.name}: needs a daily vector observation and a Discrete action, "
                              f"got {observation_space} and {action_space}")
        self.config = config.validate()
        self.n_actions, features = int(action_space.n), int(observation_space.shape[0])
        self.device = resolve_device(config.device)
        use_torch_threads(config.torch_threads)
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.online = BiLstmQNet(features, self.n_actions, config.lstm_units, config.dense_units, config.dropout)
        self.online = self.online.to(self.device).eval()  # train mode only inside the gradient step
        if config.init_from:
            self._load_weights(config.init_from)
        self.target = copy.deepcopy(self.online).eval()
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=config.lr)
        self.replay = ReplayBuffer(config.replay_capacity, seed=seed)
        self.features = features
        # Per env copy: its episode's day window and the window its last act() decided on.
        self.windows: list[DayWindow] = []
        self.current: list[np.ndarray | None] = []
        self.epsilon = config.epsilon_start
        self.steps = self.episodes = 0

    # -- acting ---------------------------------------------------------------------------------
    def reset(self, seed: int, info: dict | None = None) -> None:
        self.reset_copy(0, seed, info)

    def reset_copy(self, env_copy: int, seed: int, info: dict | None = None) -> None:
        while len(self.windows) <= env_copy:
            self.windows.append(DayWindow(self.config.memory, self.features))
            self.current.append(None)
        history = (info or {}).get("history")
        self.windows[env_copy].start(None if history is None else history[:-1])  # the last day comes with act()
        self.current[env_copy] = None

    def act(self, observation, explore: bool = False) -> int:
        return self.act_batch([observation], explore)[0]

    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list[int]:
        """Epsilon-greedy per copy (draws copy after copy); the greedy copies share one forward pass."""
        copies = list(range(len(observations))) if copies is None else copies
        if max(copies) >= len(self.windows):
            raise EpictlError(f"act on env copy {max(copies)} before reset_copy() started it")
        actions: list[int | None] = []
        for env_copy, observation in zip(copies, observations):
            self.current[env_copy] = self.windows[env_copy].window(observation)
            self.windows[env_copy].push(observation)
            explored = explore and self.rng.random() < self.epsilon
            actions.append(int(self.rng.integers(self.n_actions)) if explored else None)
        greedy = [i for i, action in enumerate(actions) if action is None]
        if greedy:
            windows = np.stack([self.current[copies[i]] for i in greedy])
            with torch.no_grad():
                best = self.online(torch.as_tensor(windows, device=self.device)).argmax(dim=1).cpu().numpy()
            for i, action in zip(greedy, best):
                actions[i] = int(action)
        return actions

    # -- learning -------------------------------------------------------------------------------
    def observe(self, observation, action, reward, next_observation, terminated, truncated,
                info: dict | None = None) -> dict[str, float]:
        return self.observe_batch([Transition(observation, action, reward, next_observation, terminated, truncated)])

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        """Store every copy's transition (done only when the epidemic ended), one gradient step, then the
        schedules advance by each env step and each ended episode."""
        for env_copy, t in enumerate(transitions):
            if env_copy >= len(self.current) or self.current[env_copy] is None:
                raise EpictlError("observe() needs the act() that chose the action first")
            self.replay.add(window=self.current[env_copy], action=np.int64(t.action), reward=np.float32(t.reward),
                            next_window=self.windows[env_copy].window(t.next_observation), done=np.float32(t.terminated))
        losses = {"epsilon": self.epsilon}
        if len(self.replay) >= self.config.batch_size:
            losses.update(self.update(self.replay.sample(self.config.batch_size)))
        c = self.config
        for t in transitions:
            self.steps += 1
            ended = t.terminated or t.truncated
            self.episodes += int(ended)
            if c.epsilon_decay_per == "step" or ended:
                self.epsilon = max(self.epsilon - self.epsilon / c.epsilon_decay, c.epsilon_min)
            if c.target_sync_per == "step" or ended:
                finished = self.steps if c.target_sync_per == "step" else self.episodes
                if finished % c.target_sync_every == 0:
                    self.target.load_state_dict(self.online.state_dict())
        return losses

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One Adam step on the MSE between Q(s, a) and the bootstrapped target [paper]."""
        device, c = self.device, self.config
        windows = torch.as_tensor(batch["window"], device=device)
        actions = torch.as_tensor(batch["action"], device=device)
        reward = torch.as_tensor(batch["reward"], device=device)
        done = torch.as_tensor(batch["done"], device=device)
        next_value = bootstrap_values(self.online, self.target, torch.as_tensor(batch["next_window"], device=device),
                                      c.target)
        target = reward + c.discount * (1.0 - done) * next_value
        self.online.train()
        q = self.online(windows).gather(1, actions[:, None]).squeeze(1)
        self.online.eval()
        loss = nn.functional.mse_loss(q, target)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {"q_loss": loss.item(), "q_mean": q.mean().item()}

    # -- persistence ----------------------------------------------------------------------------
    def shape(self) -> dict:
        return {key: getattr(self.config, key) for key in SHAPE_KEYS} | {"actions": self.n_actions}

    def state_dict(self) -> dict:
        return {
            "shape": self.shape(), "online": self.online.state_dict(), "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(), "replay": self.replay.state_dict(),
            "epsilon": self.epsilon, "steps": self.steps, "episodes": self.episodes,
            "windows": [window.state_dict() for window in self.windows], "current": self.current,
            "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict, source: str) -> None:
        if state["shape"] != self.shape():
            raise EpictlError(f"{source}: trained as {state['shape']}, this agent is {self.shape()}")
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.replay.load_state_dict(state["replay"])
        self.epsilon, self.steps, self.episodes = state["epsilon"], state["steps"], state["episodes"]
        self.windows = [DayWindow(self.config.memory, self.features) for _ in state["windows"]]
        for window, saved in zip(self.windows, state["windows"]):
            window.load_state_dict(saved)
        self.current = list(state["current"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])

    def _load_weights(self, run_dir: str) -> None:
        """Network weights only (no replay, no schedules) of another run [paper: M7-M60 start from M30]."""

        state = load_checkpoint(run_dir)["agent"]
        try:
            self.online.load_state_dict(state["online"])
        except Exception as exc:  # another agent's state, or other layer sizes
            raise EpictlError(f"agent.init_from={run_dir}: {CHECKPOINT} holds no matching ddqn_lstm network "
                              f"({reason(exc)})") from None
