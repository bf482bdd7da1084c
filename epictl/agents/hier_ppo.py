"""Hier-PPO (spec §7.3, §8): a PPO controller picks one cost multiplier m_t a global day; the frozen local
DQN prices tests at alpha3_active = m_t * alpha3_true and Global Q-ranking runs the top-B tests with dQ > 0.

Policy [spec §6 R]: z ~ Normal(mu_theta(o), sigma_theta) with a learned, state-free log-std;
m_t = 1 + (m_max - 1) sigmoid(z) (or min(1 + e^z, m_max), `squash: lognormal`). PPO learns on z.
Input [spec §5.2]: DeepSets pooling (per-cluster MLP, masked mean and max) of the active clusters' 11
features, beside 5 global scalars (day/H, #active/#C, B/sum N, demand(m=1)/B, m_{t-1}).
Learning [P; spec §8]: one step = one global day with reward r^G_t = sum over the active clusters of
R_{n,t}(alpha3_true); after `rollout` days, GAE(gamma, lambda) advantages normalised by a running mean and
variance, then `epochs` passes of `minibatches` clipped-surrogate AdamW steps (CleanRL ppo_continuous_action):
    L = E[max(-A r, -A clip(r, 1 - eps, 1 + eps))] + c_v E[(V - R)^2] / 2 - c_e H,   r = pi(z|o) / pi_old(z|o).
On n env copies the `rollout` days are those of all copies together: the update comes at the end of the
training step that fills it, every ceil(rollout / n) steps, on that many days of each copy (rollout rounded up
to a multiple of n); each copy's days form their own trajectory for GAE, cut at its own episode ends.
The local DQN and its encoder are not trained and not saved here: they come from `dqn_from` each time.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from epictl.agents.advantages import gae
from epictl.agents.base import Agent, Transition
from epictl.agents.cluster_features import history_shape
from epictl.agents.cluster_global_config import HierPpoConfig
from epictl.agents.cluster_ranking import (CLUSTER_FEATURES, GLOBAL_SCALARS, alpha3_active, demand, frozen_local_policy,
                                           global_observation, policy_fingerprint, ranked_action)
from epictl.agents.torch_device import resolve_device, use_torch_threads
from epictl.errors import EpictlError

# Network shape: a checkpoint only loads into an agent that agrees on all of these.
SHAPE_KEYS = ("pooling", "cluster_units", "hidden")


def layer(inputs: int, outputs: int, std: float = math.sqrt(2.0)) -> nn.Linear:
    """Orthogonal weights, zero bias (CleanRL's layer_init)."""
    linear = nn.Linear(inputs, outputs)
    nn.init.orthogonal_(linear.weight, std)
    nn.init.zeros_(linear.bias)
    return linear


def tanh_mlp(inputs: int, units: list[int], outputs: int | None = None, last_std: float = 1.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in units:
        layers += [layer(inputs, width), nn.Tanh()]
        inputs = width
    if outputs is not None:
        layers.append(layer(inputs, outputs, last_std))
    return nn.Sequential(*layers)


class GlobalEncoder(nn.Module):
    """(clusters [B, K, 11], active [B, K], scalars [B, 5]) -> [B, width]. deepsets: per-cluster MLP, then the mean
    and the max over the active clusters (a set: no order, any number); flat: the zero-padded table as one vector."""

    def __init__(self, capacity: int, pooling: str, cluster_units: list[int]):
        super().__init__()
        self.pooling = pooling
        if pooling == "deepsets":
            self.per_cluster = tanh_mlp(CLUSTER_FEATURES, cluster_units)
            self.width = 2 * cluster_units[-1] + GLOBAL_SCALARS
        else:
            self.width = capacity * CLUSTER_FEATURES + GLOBAL_SCALARS

    def forward(self, clusters: torch.Tensor, active: torch.Tensor, scalars: torch.Tensor) -> torch.Tensor:
        if self.pooling == "flat":
            return torch.cat([clusters.flatten(1), scalars], dim=1)
        h = self.per_cluster(clusters)
        mask = active.unsqueeze(-1)
        count = mask.sum(dim=1)
        mean = (h * mask).sum(dim=1) / count.clamp(min=1)
        # no active cluster (never on a decision day, but a padded batch may hold one): 0 instead of -inf
        top = h.masked_fill(~mask, -torch.inf).max(dim=1).values
        top = torch.where(count > 0, top, torch.zeros_like(top))
        return torch.cat([mean, top, scalars], dim=1)


class Head(nn.Module):
    """Encoder then a tanh MLP to one number: the actor's mean of z, or the critic's value."""

    def __init__(self, capacity: int, config: HierPpoConfig, last_std: float):
        super().__init__()
        self.encoder = GlobalEncoder(capacity, config.pooling, config.cluster_units)
        self.mlp = tanh_mlp(self.encoder.width, config.hidden, 1, last_std)

    def forward(self, clusters, active, scalars) -> torch.Tensor:
        return self.mlp(self.encoder(clusters, active, scalars)).squeeze(-1)


class RunningMeanStd:
    """Running mean and variance of every advantage seen (Chan et al.'s parallel update, as OpenAI baselines)."""

    def __init__(self):
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def update(self, values: np.ndarray) -> None:
        n, mean, var = len(values), float(values.mean()), float(values.var())
        total = self.count + n
        delta = mean - self.mean
        self.var = (self.var * self.count + var * n + delta ** 2 * self.count * n / total) / total
        self.mean += delta * n / total
        self.count = total

    def normalize(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / math.sqrt(self.var + 1e-8)


def squash(z: float, m_max: float, kind: str) -> float:
    """m_t >= 1 from the Gaussian z (spec §6 [R]); the lognormal form is capped at m_max."""
    if kind == "sigmoid":
        return 1.0 + (m_max - 1.0) / (1.0 + math.exp(-min(max(z, -60.0), 60.0)))
    return min(1.0 + math.exp(min(z, 60.0)), m_max)


class Rollout:
    """The days since the last update, as numpy arrays (saved with the agent): one row per env step of a copy,
    in the order they came; ``copy`` names each row's copy. Holds `size` rows, or up to one training step's
    copies beyond that (the update waits for the end of the step)."""

    def __init__(self, size: int, capacity: int):
        self.arrays = {
            "clusters": np.zeros((size, capacity, CLUSTER_FEATURES), np.float32),
            "active": np.zeros((size, capacity), bool), "scalars": np.zeros((size, GLOBAL_SCALARS), np.float32),
            **{key: np.zeros(size, np.float32) for key in ("z", "log_prob", "value", "reward")},
            "terminated": np.zeros(size, bool), "ended": np.zeros(size, bool),
            "bootstrap": np.zeros(size, np.float32),  # V(next observation) where the trace stops
            "copy": np.zeros(size, np.int64),
        }
        self.size, self.filled = size, 0

    def add(self, **values) -> None:
        if self.filled == len(self.arrays["z"]):  # a step of several copies goes past `size`
            self.arrays = {key: np.concatenate([value, np.zeros_like(value[:1])])
                           for key, value in self.arrays.items()}
        for key, value in values.items():
            self.arrays[key][self.filled] = value
        self.filled += 1

    def full(self) -> bool:
        return self.filled >= self.size

    def state_dict(self) -> dict:
        return {"arrays": {key: value[: self.filled].copy() for key, value in self.arrays.items()},
                "filled": self.filled}

    def load_state_dict(self, state: dict) -> None:
        self.filled = state["filled"]
        rows = max(self.size, self.filled)
        self.arrays = {key: np.zeros((rows, *value.shape[1:]), value.dtype) for key, value in state["arrays"].items()}
        for key, value in state["arrays"].items():
            self.arrays[key][: self.filled] = value


class HierPpoAgent(Agent):
    trainable = batched = True
    learning_memory = ("rollout",)

    def __init__(self, config: HierPpoConfig, observation_space: gym.spaces.Dict, action_space: gym.spaces.Dict,
                 seed: int = 0):
        self.config = config.validate()
        self.capacity = history_shape(observation_space, config.name)[0]  # K cluster slots
        self.device = resolve_device(config.device)
        use_torch_threads(config.torch_threads)
        self.policy = frozen_local_policy(config.dqn_from, self.device)
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)  # z samples and minibatches (training)
        self.actor = Head(self.capacity, config, last_std=0.01).to(self.device)
        self.log_std = nn.Parameter(torch.full((1,), float(config.log_std_init), device=self.device))
        self.critic = Head(self.capacity, config, last_std=1.0).to(self.device)
        self.optimizer = torch.optim.AdamW([*self.actor.parameters(), self.log_std, *self.critic.parameters()],
                                           lr=config.lr, weight_decay=config.weight_decay)
        self.rollout = Rollout(config.rollout, self.capacity)
        self.advantage_stats = RunningMeanStd()
        # Per env copy (reset_copy adds copies): ranking tie-breaks, reseeded by every episode; m_{t-1}, the true
        # cost before an episode's first day; what its last act() decided on, stored by observe().
        self.tie_rngs = [np.random.default_rng(seed)]
        self.previous_m = [1.0]
        self.pending: list[dict | None] = [None]
        self.last_multiplier = 1.0  # mean m of the last act over its copies, for logs (the env never sees it)

    # -- acting ---------------------------------------------------------------------------------
    def reset(self, seed: int, info: dict | None = None) -> None:
        self.reset_copy(0, seed, info)

    def reset_copy(self, env_copy: int, seed: int, info: dict | None = None) -> None:
        while len(self.pending) <= env_copy:
            self.tie_rngs.append(np.random.default_rng(seed))
            self.previous_m.append(1.0)
            self.pending.append(None)
        self.tie_rngs[env_copy] = np.random.default_rng(seed)
        self.previous_m[env_copy], self.pending[env_copy] = 1.0, None

    def features(self, observation, beliefs: np.ndarray, env_copy: int = 0) -> tuple[dict, np.ndarray]:
        """The global observation of copy ``env_copy`` and the local policy's dQ at the true cost (its demand is an
        input)."""
        (features,), (delta_q,) = self.features_of([observation], [beliefs], [env_copy])
        return features, delta_q

    def features_of(self, observations: list, beliefs: list, copies: list[int]) -> tuple[list[dict], list]:
        """features() of several copies, their dQ at the true cost in one pass of the local Q network."""
        delta_q = self.policy.delta_q_of(observations, [alpha3_active(o, 1.0) for o in observations], beliefs)
        features = [global_observation(o, demand(dq), self.previous_m[env_copy], self.config.m_max)
                    for o, dq, env_copy in zip(observations, delta_q, copies)]
        return features, delta_q

    def batch(self, arrays: dict, index=slice(None)) -> tuple[torch.Tensor, ...]:
        """The encoder's inputs (clusters, active, scalars) of the days ``index`` of ``arrays``."""
        return tuple(torch.as_tensor(arrays[key][index], device=self.device) for key in ("clusters", "active", "scalars"))

    def stacked(self, features: list[dict]) -> tuple[torch.Tensor, ...]:
        """The encoder's inputs of several copies' global observations."""
        return self.batch({key: np.stack([f[key] for f in features]) for key in ("clusters", "active", "scalars")})

    def act(self, observation, explore: bool = False) -> dict:
        return self.act_batch([observation], explore)[0]

    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list[dict]:
        """Every copy's beliefs, dQ, actor and critic each in one pass (the dQ at the copies' own m in one more);
        z draws copy after copy."""
        copies = list(range(len(observations))) if copies is None else copies
        if max(copies) >= len(self.pending):
            raise EpictlError(f"act on env copy {max(copies)} before reset_copy() started it")
        beliefs = self.policy.beliefs_of(observations)  # independent of m: one encoder pass a day
        features, delta_q = self.features_of(observations, beliefs, copies)
        with torch.no_grad():
            inputs = self.stacked(features)
            mean, value = self.actor(*inputs), self.critic(*inputs)
            std = self.log_std.exp()
            z = torch.cat([mean[i: i + 1] + std * float(self.rng.standard_normal()) for i in range(len(copies))]) \
                if explore else mean
            log_prob = torch.distributions.Normal(mean, std).log_prob(z)
        ms = [squash(float(z_i), self.config.m_max, self.config.squash) for z_i in z]
        repriced = [i for i, m in enumerate(ms) if m != 1.0]  # at m = 1 the dQ at the true cost serves
        if repriced:
            at_m = self.policy.delta_q_of([observations[i] for i in repriced],
                                          [alpha3_active(observations[i], ms[i]) for i in repriced],
                                          [beliefs[i] for i in repriced])
            for i, dq in zip(repriced, at_m):
                delta_q[i] = dq
        actions = []
        for i, env_copy in enumerate(copies):
            self.pending[env_copy] = {**features[i], "z": float(z[i]), "log_prob": float(log_prob[i]),
                                      "value": float(value[i])}
            self.previous_m[env_copy] = ms[i]
            actions.append(ranked_action(observations[i], delta_q[i], beliefs[i], self.tie_rngs[env_copy],
                                         self.config.tie_break))
        self.last_multiplier = float(np.mean(ms))
        return actions

    # -- learning -------------------------------------------------------------------------------
    def observe(self, observation, action, reward, next_observation, terminated, truncated,
                info: dict | None = None) -> dict[str, float]:
        return self.observe_batch([Transition(observation, action, reward, next_observation, terminated, truncated,
                                              info)])

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        """Store every copy's day (r^G_t with alpha3_true: the env's reward); a PPO update at the end of the step
        that fills the rollout (with n copies: every ceil(rollout / n) steps, on that many days of each copy)."""
        rows = []
        for env_copy, t in enumerate(transitions):
            if env_copy >= len(self.pending) or self.pending[env_copy] is None:
                raise EpictlError("observe() needs the act() that chose the action first")
            reward = t.reward
            if self.config.reward == "mean":
                if t.info is None or "decided" not in t.info:
                    raise EpictlError("agent.reward=mean needs the env's info['decided'] in observe()")
                reward = reward / max(int(np.count_nonzero(t.info["decided"])), 1)
            self.rollout.add(**self.pending[env_copy], reward=reward, terminated=bool(t.terminated),
                             ended=bool(t.terminated or t.truncated), bootstrap=0.0, copy=env_copy)
            rows.append(self.rollout.filled - 1)
            self.pending[env_copy] = None
        losses = {"multiplier": self.last_multiplier}
        full = self.rollout.full()
        # Where a copy's trace stops at a live state: its episode was truncated, or the rollout ends here.
        live = [env_copy for env_copy, t in enumerate(transitions) if (t.truncated or full) and not t.terminated]
        if live:
            values = self.values_of([transitions[env_copy].next_observation for env_copy in live], live)
            self.rollout.arrays["bootstrap"][[rows[env_copy] for env_copy in live]] = values
        if full:
            losses.update(self.update())
            self.rollout.filled = 0
        return losses

    def values_of(self, observations: list, copies: list[int]) -> np.ndarray:
        """The critic's V of several copies' observations (each with its copy's m_{t-1}), in one pass."""
        features, _ = self.features_of(observations, self.policy.beliefs_of(observations), copies)
        with torch.no_grad():
            return self.critic(*self.stacked(features)).cpu().numpy()

    def update(self) -> dict[str, float]:
        """PPO on the full rollout [P: GAE (per copy), running advantage normalisation, AdamW, clip; R: epochs,
        minibatches]."""
        c, filled = self.config, self.rollout.filled
        data = {key: value[:filled] for key, value in self.rollout.arrays.items()}
        advantages = np.zeros(filled, np.float32)
        for env_copy in np.unique(data["copy"]):  # each copy's trajectory on its own
            rows = np.flatnonzero(data["copy"] == env_copy)
            trajectory = (data[key][rows] for key in ("reward", "value", "terminated", "ended", "bootstrap"))
            advantages[rows] = gae(*trajectory, c.gamma, c.gae_lambda)
        returns = torch.as_tensor(advantages + data["value"], device=self.device)
        self.advantage_stats.update(advantages)
        normalized = torch.as_tensor(self.advantage_stats.normalize(advantages).astype(np.float32), device=self.device)
        z, old_log_prob = (torch.as_tensor(data[key], device=self.device) for key in ("z", "log_prob"))
        parameters = [p for group in self.optimizer.param_groups for p in group["params"]]
        stats: dict[str, list[float]] = {"policy_loss": [], "value_loss": [], "entropy": [], "approx_kl": [],
                                         "clip_fraction": []}
        for _ in range(c.epochs):
            for index in np.array_split(self.rng.permutation(filled), c.minibatches):
                inputs = self.batch(data, index)
                distribution = torch.distributions.Normal(self.actor(*inputs), self.log_std.exp())
                log_ratio = distribution.log_prob(z[index]) - old_log_prob[index]
                ratio = log_ratio.exp()
                advantage = normalized[index]
                policy_loss = torch.max(-advantage * ratio,
                                        -advantage * ratio.clamp(1.0 - c.clip_coef, 1.0 + c.clip_coef)).mean()
                value_loss = 0.5 * (self.critic(*inputs) - returns[index]).pow(2).mean()
                entropy = distribution.entropy().mean()
                loss = policy_loss + c.value_coef * value_loss - c.entropy_coef * entropy
                self.optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(parameters, c.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():  # CleanRL's diagnostics: http://joschu.net/blog/kl-approx.html
                    stats["approx_kl"].append(((ratio - 1.0) - log_ratio).mean().item())
                    stats["clip_fraction"].append(((ratio - 1.0).abs() > c.clip_coef).float().mean().item())
                stats["policy_loss"].append(policy_loss.item())
                stats["value_loss"].append(value_loss.item())
                stats["entropy"].append(entropy.item())
        return {key: float(np.mean(values)) for key, values in stats.items()} | {"log_std": self.log_std.item()}

    # -- persistence ----------------------------------------------------------------------------
    def shape(self) -> dict:
        return {key: getattr(self.config, key) for key in SHAPE_KEYS} | {"capacity": self.capacity}

    def state_dict(self) -> dict:
        return {
            "shape": self.shape(), "local_policy": policy_fingerprint(self.policy),
            "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "log_std": self.log_std.detach().clone(), "optimizer": self.optimizer.state_dict(),
            "rollout": self.rollout.state_dict(),
            "advantage_stats": vars(self.advantage_stats).copy(), "previous_m": list(self.previous_m),
            "rng": self.rng.bit_generator.state, "tie_rngs": [rng.bit_generator.state for rng in self.tie_rngs],
            "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict, source: str) -> None:
        if state["shape"] != self.shape():
            raise EpictlError(f"{source}: trained as {state['shape']}, this agent is {self.shape()}")
        if state["local_policy"] != policy_fingerprint(self.policy):
            raise EpictlError(f"{source}: trained over another local DQN than agent.dqn_from={self.config.dqn_from}; "
                              "pass the dqn_from it was trained with")
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        with torch.no_grad():
            self.log_std.copy_(state["log_std"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rollout.load_state_dict(state["rollout"])
        vars(self.advantage_stats).update(state["advantage_stats"])
        self.previous_m = list(state["previous_m"])
        self.tie_rngs = [np.random.default_rng() for _ in state["tie_rngs"]]
        for rng, saved in zip(self.tie_rngs, state["tie_rngs"]):
            rng.bit_generator.state = saved
        self.pending = [None] * len(self.tie_rngs)  # checkpoints fall between training steps
        if len(self.previous_m) != len(self.tie_rngs) or not self.tie_rngs:
            raise EpictlError(f"{source}: {len(self.previous_m)} multipliers for {len(self.tie_rngs)} env copies")
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
