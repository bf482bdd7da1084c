"""The generalized Transformer DQN, the local policy of the multi-cluster family (spec §7.2, §8).

One network serves every cluster and every test cost: each member's token carries log alpha3 and the
network gives (Q_none, Q_test) per member. Acting: test member i iff dQ_i = Q_test - Q_none > 0
(epsilon-greedy per token while exploring); quarantine iff b_{i,t} > alpha2 / (1 + alpha2) (spec §6).

Training on env=cluster_single (one cluster, no budget, alpha3 drawn per episode; one env step = one
cluster-day), CleanRL-style DQN [spec §7.2 R, §8]:
    y_i  = r_i + gamma (1 - done) max_a Q_target(o_{i,t+1}, alpha3, a)       r_i = info["reward_split"]
    loss = Huber(Q(o_{i,t}, alpha3, a_i), y_i)
           + lambda_grad E_i[max(0, d dQ_i / d alpha3 - g_target)^2]       [S: cost-sensitivity regularizer]
           + lambda_SL BCE(encoder)                                         [P: encoder adapted jointly]
over member tokens. d dQ_i / d alpha3 is exact forward-mode autodiff (torch.func.jvp) with respect to the
cluster's alpha3, which enters every token as log alpha3 (so the derivative also follows alpha3 through
attention); `penalty_input: log_alpha3` takes it with respect to log alpha3 instead.

On n env copies (env.num_envs) a training step acts on all copies (one encoder and one Q pass) and records
n cluster-days. The config's step counts (learning_starts, train_every, lr_warmup_steps) count cluster-days of
all copies together, so a gradient step still comes every `train_every` of them (several in one training
step when n > train_every), and the epsilon and learning-rate schedules span the run's `updates` x n.

Replay keeps each finished cluster episode once: its last history as int8 codes (a cluster-day (episode, t)
reads its observation as the rows <= t, the next one as the rows <= t + 1), the beliefs act() decided with
(float16; like the stored observations of any DQN, they are not recomputed), tests, per-member rewards and
the true infectious days. Only the BCE on replayed histories trains the encoder, so beliefs stay probabilities
the quarantine threshold can read.
"""

from __future__ import annotations

import copy
import math

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from epictl.agents.base import Agent, Transition
from epictl.agents.cluster_dqn_config import ClusterDqnConfig
from epictl.agents.cluster_features import (DECISION_DAYS, SIZE, TODAY, ClusterRing, decode_history,
                                            history_codes, history_shape, split_slots, stack_slots,
                                            threshold_quarantine, tokens)
from epictl.agents.cluster_nets import (NONE, TEST, BeliefEncoder, QNetwork, as_device, beliefs_at, encoder_from_state,
                                        load_beliefs, observation_tensors)
from epictl.agents.sl_encoder import sl_batch
from epictl.agents.torch_device import resolve_device, use_torch_threads
from epictl.agents.torch_files import checkpoint_path, load_checkpoint
from epictl.errors import EpictlError, reason

NET_KEYS = ("d_model", "layers", "heads", "feedforward", "head_hidden")
EPISODE_KEYS = ("day", "belief", "test", "reward")


class LocalPolicy:
    """A trained local policy for the ranking agents: beliefs and dQ of every member of K clusters, each in
    one batched pass (no gradients)."""

    def __init__(self, encoder: BeliefEncoder, qnet: QNetwork, device):
        self.device = as_device(device)
        self.encoder, self.qnet = encoder.to(self.device), qnet.to(self.device)

    @torch.no_grad()
    def beliefs(self, observation: dict) -> np.ndarray:
        """float32 [K, M, 5]: P(infectious on t-2 .. t+2) per member at each slot's day t (0 elsewhere)."""
        return beliefs_at(self.encoder, *observation_tensors(observation, self.device)).cpu().numpy()

    @torch.no_grad()
    def delta_q(self, observation: dict, alpha3_active, beliefs: np.ndarray | None = None) -> np.ndarray:
        """float32 [K, M]: Q_test - Q_none at each slot's own alpha3_active [K]; -inf for non-members and
        inactive slots. ``beliefs`` (from beliefs()) saves the encoder pass when one day is probed at many costs."""
        history, day, members = observation_tensors(observation, self.device)
        belief = beliefs_at(self.encoder, history, day, members) if beliefs is None else \
            torch.as_tensor(beliefs, device=self.device)
        alpha3 = torch.as_tensor(np.asarray(alpha3_active, np.float32), device=self.device).reshape(-1).expand(len(day))
        out = torch.full(members.shape, -math.inf, device=self.device)
        live = members.any(dim=1)
        if live.any():
            q = self.qnet(tokens(history[live], day[live], members[live], belief[live], alpha3[live]), members[live])
            out[live] = torch.where(members[live], q[..., TEST] - q[..., NONE], -math.inf)
        return out.cpu().numpy()

    def beliefs_of(self, observations: list[dict]) -> list[np.ndarray]:
        """beliefs() of several observations (env copies), all in one encoder pass."""
        return split_slots(self.beliefs(stack_slots(observations)), observations)

    def delta_q_of(self, observations: list[dict], alpha3_active: list, beliefs: list[np.ndarray]) -> list[np.ndarray]:
        """delta_q() of several observations (env copies), each at its own alpha3_active (one value or one per
        slot) and with its beliefs (from beliefs_of()), all in one pass of the Q network."""
        alpha3 = [np.broadcast_to(np.asarray(a, np.float32).reshape(-1), len(observation["day"]))
                  for a, observation in zip(alpha3_active, observations)]
        stacked = self.delta_q(stack_slots(observations), np.concatenate(alpha3), np.concatenate(beliefs))
        return split_slots(stacked, observations)


def load_local_policy(run_dir, device="auto") -> LocalPolicy:
    """The local policy (encoder and online Q network) of a `cluster_dqn` training run's checkpoints/last.pt."""
    path = checkpoint_path(run_dir)
    state = load_checkpoint(run_dir)["agent"]
    shape = state.get("shape") if isinstance(state, dict) else None
    if not isinstance(shape, dict) or shape.get("kind") != "cluster_dqn":
        raise EpictlError(f"{path}: holds no cluster_dqn local policy (train agent=cluster_dqn on env=cluster_single)")
    try:
        qnet = QNetwork(*(int(shape[key]) for key in NET_KEYS))
        qnet.load_state_dict(state["online"])
    except Exception as exc:  # a hand-made or damaged file
        raise EpictlError(f"{path}: unreadable cluster_dqn network ({reason(exc)})") from None
    return LocalPolicy(encoder_from_state(state, path), qnet.eval(), device)


def new_episode() -> dict[str, list]:
    """The cluster-days of an episode in progress, one list per replay field."""
    return {key: [] for key in EPISODE_KEYS}


class ClusterDqnAgent(Agent):
    trainable = batched = True
    learning_memory = ("replay",)

    def __init__(self, config: ClusterDqnConfig, observation_space: gym.Space, action_space: gym.Space, seed: int = 0):
        self.config = c = config.validate()
        slots = history_shape(observation_space, c.name)[0]
        if slots != 1:
            raise EpictlError(f"agent {c.name}: trains and acts on one cluster at a time (env=cluster_single), "
                              f"got {slots}; on env=clusters rank its dQ with a Q-ranking agent")
        self.device = resolve_device(c.device)
        use_torch_threads(c.torch_threads)
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.encoder = BeliefEncoder(c.encoder_hidden).to(self.device)
        if c.encoder_from:
            self._load_encoder(c.encoder_from)
        self.online = QNetwork(*(getattr(c, key) for key in NET_KEYS)).to(self.device).eval()  # no dropout
        self.target = copy.deepcopy(self.online)
        self.policy = LocalPolicy(self.encoder, self.online, self.device)
        self.trained_parameters = [*self.online.parameters(), *self.encoder.parameters()]
        self.optimizer = torch.optim.Adam(self.trained_parameters, lr=c.lr)
        self.replay = ClusterRing(math.ceil(c.replay_capacity / DECISION_DAYS))  # episodes of 24 cluster-days
        # Per env copy (reset_copy adds copies): the cluster-days of its episode in progress (the episode
        # enters replay when it ends), and the beliefs its last act() decided with, for the replay.
        self.episodes: list[dict[str, list]] = [new_episode()]
        self.beliefs: list[np.ndarray | None] = [None]
        self.steps = self.gradient_steps = 0  # env steps (cluster-days of every copy) and gradient steps

    # -- acting ---------------------------------------------------------------------------------
    def reset(self, seed: int, info: dict | None = None) -> None:
        self.reset_copy(0, seed, info)

    def reset_copy(self, env_copy: int, seed: int, info: dict | None = None) -> None:
        while len(self.episodes) <= env_copy:
            self.episodes.append(new_episode())
            self.beliefs.append(None)
        self.episodes[env_copy], self.beliefs[env_copy] = new_episode(), None

    def epsilon(self) -> float:
        """Linear from epsilon_start to epsilon_end over `exploration_fraction` of the run's env steps
        (`updates` training steps of every copy)."""
        c = self.config
        fraction = min(self.steps / (c.exploration_fraction * c.updates * len(self.episodes)), 1.0)
        return c.epsilon_start + fraction * (c.epsilon_end - c.epsilon_start)

    def act(self, observation, explore: bool = False) -> dict:
        return self.act_batch([observation], explore)[0]

    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list[dict]:
        """Every copy's beliefs in one encoder pass and its dQ in one Q pass; exploration draws copy after copy."""
        copies = list(range(len(observations))) if copies is None else copies
        if max(copies) >= len(self.episodes):
            raise EpictlError(f"act on env copy {max(copies)} before reset_copy() started it")
        beliefs = self.policy.beliefs_of(observations)
        delta_q = self.policy.delta_q_of(observations, [o["alpha3"] for o in observations], beliefs)
        actions = []
        for env_copy, observation, belief, dq in zip(copies, observations, beliefs, delta_q):
            members = np.asarray(observation["members"]) > 0
            test = dq > 0
            if explore:  # per token: a coin flip with probability epsilon
                explored = self.rng.random(test.shape) < self.epsilon()
                test = np.where(explored, self.rng.random(test.shape) < 0.5, test)
            self.beliefs[env_copy] = belief
            actions.append({"test": (test & members).astype(np.int8),
                            "quarantine": threshold_quarantine(belief[..., TODAY], members, observation["alpha2"])})
        return actions

    # -- learning -------------------------------------------------------------------------------
    def observe(self, observation, action, reward, next_observation, terminated, truncated, info) -> dict[str, float]:
        return self.observe_batch([Transition(observation, action, reward, next_observation, terminated, truncated,
                                              info)])

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        """Record every copy's cluster-day (an episode enters replay when it ends); then a gradient step for
        every `train_every`-th env step past `learning_starts` among them (their mean losses)."""
        for env_copy, t in enumerate(transitions):
            if env_copy >= len(self.beliefs) or self.beliefs[env_copy] is None:
                raise EpictlError("observe() needs the act() that chose the action first")
            episode = self.episodes[env_copy]
            if len(episode["day"]) == DECISION_DAYS:  # the replay holds a cluster's days 3..26 [spec §2.1]
                raise EpictlError(f"agent {self.config.name}: a cluster decides on {DECISION_DAYS} days (local days "
                                  "3..26); this env's clusters decide on more "
                                  "(env.sim.first_decision_day/last_decision_day)")
            episode["day"].append(int(t.observation["day"][0]))
            episode["belief"].append(self.beliefs[env_copy][0].astype(np.float16))
            episode["test"].append(np.asarray(t.action["test"][0], np.int8))
            episode["reward"].append(np.asarray(t.info["reward_split"][0], np.float32))
            if t.terminated or t.truncated:
                # a truncated episode's last step bootstraps from the row its next observation adds
                self._store_episode(env_copy, t.observation if t.terminated else t.next_observation, t.info,
                                    t.terminated)
            self.beliefs[env_copy] = None
        c, before = self.config, self.steps
        self.steps += len(transitions)
        # the multiples of train_every past learning_starts that these steps passed
        due = max(self.steps // c.train_every - max(before, c.learning_starts) // c.train_every, 0)
        losses = {"epsilon": self.epsilon()}
        if due and len(self.replay):
            updates = [self.update() for _ in range(due)]
            losses.update({key: float(np.mean([u[key] for u in updates])) for key in updates[0]})
        return losses

    def _store_episode(self, env_copy: int, final_observation, info: dict, terminated: bool) -> None:
        """The finished episode of copy ``env_copy``, padded to 24 cluster-days; belief holds one more day: a
        truncated episode's last next observation."""
        episode = self.episodes[env_copy]
        length = len(episode["day"])
        if not terminated:
            episode["belief"].append(self.policy.beliefs(final_observation)[0].astype(np.float16))
        steps = {key: np.zeros((DECISION_DAYS + (key == "belief"), *np.shape(values[0])), np.asarray(values[0]).dtype)
                 for key, values in episode.items()}
        for key, values in episode.items():
            steps[key][: len(values)] = values
        self.replay.add(codes=history_codes(np.asarray(final_observation["history"][0])),
                        labels=np.asarray(info["infectious_days"][0], np.int8),
                        alpha3=np.float32(np.asarray(final_observation["alpha3"]).reshape(-1)[0]),
                        length=np.int16(length), terminal=np.bool_(terminated), **steps)
        self.episodes[env_copy] = new_episode()

    def learning_rate(self) -> float:
        """Linear warm-up from 0 to `lr` over the first `lr_warmup_steps` env steps, then cosine decay to 0 at
        the run's last env step (`updates` training steps of every copy) [P]."""
        c = self.config
        if self.steps < c.lr_warmup_steps:
            return c.lr * self.steps / c.lr_warmup_steps
        progress = (self.steps - c.lr_warmup_steps) / max(c.updates * len(self.episodes) - c.lr_warmup_steps, 1)
        return c.lr * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    def q_and_slope(self, history, day, members, beliefs, alpha3) -> tuple[torch.Tensor, torch.Tensor]:
        """Online Q [B, M, 2] and d dQ / d alpha3 [B, M] (of Q_test alone with penalty_output q_test; d / d log
        alpha3 with penalty_input log_alpha3; zeros without the penalty) by forward-mode autodiff: one pass gives
        both."""
        def q_values(a3: torch.Tensor) -> torch.Tensor:
            return self.online(tokens(history, day, members, beliefs, a3), members)

        c = self.config
        if c.gradient_penalty == 0:
            q = q_values(alpha3)
            return q, torch.zeros_like(q[..., TEST])
        direction = torch.ones_like(alpha3) if c.penalty_input == "alpha3" else alpha3  # d/dlog a = a d/da
        with sdpa_kernel(SDPBackend.MATH):  # the fused attention kernels have no forward-mode derivative
            q, q_tangent = torch.func.jvp(q_values, (alpha3,), (direction,))
        slope = q_tangent[..., TEST]
        return q, slope - q_tangent[..., NONE] if c.penalty_output == "delta_q" else slope

    def update(self) -> dict[str, float]:
        c, device = self.config, self.device
        batch = self.replay.take(self.rng.integers(len(self.replay), size=c.batch_size))
        step = (self.rng.random(c.batch_size) * batch["length"]).astype(np.int64)
        rows = np.arange(c.batch_size)
        pick = lambda key, at: torch.as_tensor(batch[key][rows, at], device=device)  # noqa: E731
        day, action, reward = pick("day", step).long(), pick("test", step).long(), pick("reward", step)
        beliefs, next_beliefs = pick("belief", step).float(), pick("belief", step + 1).float()
        done = torch.as_tensor(batch["terminal"] & (step == batch["length"] - 1), dtype=torch.float32, device=device)
        alpha3 = torch.as_tensor(batch["alpha3"], device=device)
        history = decode_history(torch.as_tensor(batch["codes"], device=device))
        members = history[..., SIZE].amax(dim=2) > 0  # a member's filled rows all carry N / 40

        q, q_slope = self.q_and_slope(history, day, members, beliefs, alpha3)
        with torch.no_grad():
            next_q = self.target(tokens(history, day + 1, members, next_beliefs, alpha3), members).amax(dim=-1)
            target = reward + c.discount * (1.0 - done[:, None]) * next_q
        taken = q.gather(-1, action[..., None]).squeeze(-1)[members]
        td_loss = nn.functional.smooth_l1_loss(taken, target[members])
        penalty = (q_slope[members] - c.gradient_target).clamp(min=0.0).square().mean()
        sl_loss = torch.zeros((), device=device)
        if c.sl_weight > 0:  # the first sl_batch_size replayed clusters (a random sample) train the encoder
            last_day = batch["day"][rows, batch["length"] - 1][: c.sl_batch_size]
            sl_loss = sl_batch(self.encoder, batch["codes"][: c.sl_batch_size], batch["labels"][: c.sl_batch_size],
                               last_day, device)
        loss = td_loss + c.gradient_penalty * penalty + c.sl_weight * sl_loss

        lr = self.learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.trained_parameters, c.grad_clip)
        self.optimizer.step()
        self.gradient_steps += 1
        if self.gradient_steps % c.target_update_every == 0:
            self.target.load_state_dict(self.online.state_dict())
        return {"td_loss": td_loss.item(), "gradient_penalty": penalty.item(), "sl_bce": sl_loss.item(),
                "q_mean": taken.mean().item(), "lr": lr}

    # -- persistence ----------------------------------------------------------------------------
    def shape(self) -> dict:
        return {"kind": "cluster_dqn", "encoder_hidden": self.config.encoder_hidden,
                **{key: getattr(self.config, key) for key in NET_KEYS}}

    def state_dict(self) -> dict:
        return {
            "shape": self.shape(), "encoder": self.encoder.state_dict(), "online": self.online.state_dict(),
            "target": self.target.state_dict(), "optimizer": self.optimizer.state_dict(),
            "replay": self.replay.state_dict(),
            "episodes": [{key: list(values) for key, values in episode.items()} for episode in self.episodes],
            "beliefs": list(self.beliefs),
            "steps": self.steps, "gradient_steps": self.gradient_steps,
            "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict, source: str) -> None:
        if state["shape"] != self.shape():
            raise EpictlError(f"{source}: trained as {state['shape']}, this agent is {self.shape()}")
        self.encoder.load_state_dict(state["encoder"])
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.replay.load_state_dict(state["replay"])
        self.episodes = [{key: list(episode[key]) for key in EPISODE_KEYS} for episode in state["episodes"]]
        self.beliefs = list(state["beliefs"])
        if len(self.beliefs) != len(self.episodes) or not self.episodes:
            raise EpictlError(f"{source}: {len(self.episodes)} episodes in progress for {len(self.beliefs)} env copies")
        self.steps, self.gradient_steps = state["steps"], state["gradient_steps"]
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])

    def _load_encoder(self, run_dir: str) -> None:
        """The encoder only (agent.encoder_from): an sl_encoder run's pre-training [spec §7.1 R]."""
        state = load_beliefs(run_dir, "cpu").encoder.state_dict()
        try:
            self.encoder.load_state_dict(state)
        except Exception as exc:  # another encoder size
            raise EpictlError(f"agent.encoder_from={run_dir}: its encoder does not fit agent.encoder_hidden="
                              f"{self.config.encoder_hidden} ({reason(exc)})") from None
