"""The SL belief encoder trained on its own (spec §7.1 [R]): pre-training data for the local DQN.

Acts as the predecessor's data generator did [C: each contact tested on 9 random days of 24]: every member
is tested with probability `test_probability` per day, and quarantined by the shared threshold rule on the
agent's own current beliefs. Every finished cluster is kept with its true infectious days (the env's
info["infectious_days"], read only here, never to act); each gradient step is a BCE step of the encoder on
a random batch of kept clusters, at every decision row t for the days t-2 .. t+2 inside 0 .. 29 [pred: BCE,
Adam 1e-3, batch 30]. On n env copies a training step takes n env steps: a gradient step still comes every
`train_every` of them.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from epictl.agents.base import Agent, Transition
from epictl.agents.cluster_dqn_config import SlEncoderConfig
from epictl.agents.cluster_features import (FIRST_DECISION_DAY, LAST_DECISION_DAY, SIZE, TODAY, ClusterRing,
                                            decode_history, history_codes, history_shape, threshold_quarantine)
from epictl.agents.cluster_nets import BeliefEncoder, BeliefModel, belief_loss, member_logits
from epictl.agents.torch_device import resolve_device, use_torch_threads
from epictl.errors import EpictlError


def finished_clusters(observation, info: dict, ended: bool) -> np.ndarray:
    """Slots decided on in this step for the last time: on their last decision day, or as the episode ended."""
    day = np.asarray(observation["day"])
    return np.flatnonzero((np.asarray(info["decided"]) > 0) & ((day >= LAST_DECISION_DAY) | ended))


def random_tests(members: np.ndarray, probability: float, budget: int, rng: np.random.Generator) -> np.ndarray:
    """int8 [K, M]: each member tested with ``probability``; under a budget (env=clusters), a random ``budget``
    of those."""
    test = members & (rng.random(members.shape) < probability)
    if budget and test.sum() > budget:
        kept = rng.choice(np.flatnonzero(test), budget, replace=False)
        test = np.zeros_like(test)
        test.flat[kept] = True
    return test.astype(np.int8)


def sl_batch(encoder: BeliefEncoder, codes: np.ndarray, labels: np.ndarray, last_day: np.ndarray,
             device: torch.device) -> torch.Tensor:
    """BCE of the encoder on finished clusters: codes [B, M, D, F], labels [B, M, D], rows 3 .. last_day."""
    history = decode_history(torch.as_tensor(codes, device=device))
    members = history[..., SIZE].amax(dim=2) > 0  # a member's filled rows all carry N / 40
    last_day = torch.as_tensor(last_day, dtype=torch.long, device=device)
    logits, slot, person = member_logits(encoder, history, members, int(last_day.max()))
    t = torch.arange(logits.shape[1], device=device)
    rows = (t >= FIRST_DECISION_DAY) & (t <= last_day[slot][:, None])
    return belief_loss(logits, torch.as_tensor(labels, device=device)[slot, person], rows)


class SlEncoderAgent(Agent):
    """No memory per episode: any number of env copies share everything (steps count every copy's env steps)."""

    trainable = batched = True
    learning_memory = ("clusters",)

    def __init__(self, config: SlEncoderConfig, observation_space: gym.Space, action_space: gym.Space, seed: int = 0):
        self.config = config.validate()
        history_shape(observation_space, config.name)
        self.device = resolve_device(config.device)
        use_torch_threads(config.torch_threads)
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.encoder = BeliefEncoder(config.encoder_hidden).to(self.device)
        self.model = BeliefModel(self.encoder, self.device)
        self.optimizer = torch.optim.Adam(self.encoder.parameters(), lr=config.lr)
        self.clusters = ClusterRing(config.dataset_clusters)
        self.steps = 0

    def act(self, observation, explore: bool = False) -> dict:
        return self.act_batch([observation], explore)[0]

    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list[dict]:
        """Every copy's beliefs in one encoder pass; the random tests drawn copy after copy."""
        actions = []
        for observation, beliefs in zip(observations, self.model.beliefs_of(observations)):
            members = np.asarray(observation["members"]) > 0
            budget = int(np.asarray(observation["budget"]).reshape(-1)[0])
            actions.append({"test": random_tests(members, self.config.test_probability, budget, self.rng),
                            "quarantine": threshold_quarantine(beliefs[..., TODAY], members, observation["alpha2"])})
        return actions

    def observe(self, observation, action, reward, next_observation, terminated, truncated, info) -> dict[str, float]:
        return self.observe_batch([Transition(observation, action, reward, next_observation, terminated, truncated,
                                              info)])

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        """Keep the clusters that finished in this step of every copy; then a gradient step for every
        `train_every`-th env step among them (their mean loss)."""
        for t in transitions:
            for k in finished_clusters(t.observation, t.info, t.terminated or t.truncated):
                self.clusters.add(codes=history_codes(np.asarray(t.observation["history"][k])),
                                  labels=np.asarray(t.info["infectious_days"][k], np.int8),
                                  last_day=np.int16(t.observation["day"][k]))
        every, before = self.config.train_every, self.steps
        self.steps += len(transitions)
        due = self.steps // every - before // every  # multiples of train_every passed by these steps
        if len(self.clusters) < self.config.batch_size or not due:
            return {}
        return {"bce": float(np.mean([self.update() for _ in range(due)]))}

    def update(self) -> float:
        """One BCE step of the encoder on a random batch of kept clusters."""
        c = self.config
        batch = self.clusters.take(self.rng.integers(len(self.clusters), size=c.batch_size))
        loss = sl_batch(self.encoder, batch["codes"], batch["labels"], batch["last_day"], self.device)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    # -- persistence ----------------------------------------------------------------------------
    def shape(self) -> dict:
        return {"kind": "sl_encoder", "encoder_hidden": self.config.encoder_hidden}

    def state_dict(self) -> dict:
        return {"shape": self.shape(), "encoder": self.encoder.state_dict(), "optimizer": self.optimizer.state_dict(),
                "clusters": self.clusters.state_dict(), "steps": self.steps,
                "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state()}

    def load_state_dict(self, state: dict, source: str) -> None:
        if state["shape"] != self.shape():
            raise EpictlError(f"{source}: trained as {state['shape']}, this agent is {self.shape()}")
        self.encoder.load_state_dict(state["encoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.clusters.load_state_dict(state["clusters"])
        self.steps = state["steps"]
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
