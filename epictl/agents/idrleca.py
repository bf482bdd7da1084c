"""IDRLECA (spec papw-contact-tracing.md §11): one PPO policy orders a level for every person each day.

Each day: p_inf, every person's estimated infection probability from the visit history (§11.1, contact_risk.py);
per-person features (§11.2); the Individual Contact GNN (contact_gnn.py) gives each person four probabilities q,
whose cumulative sums are ordered thresholds P1 <= P2 <= P3 (§11.4); the level is the inverse CDF of q at
u = p_inf: none below P1, confine below P2, quarantine below P3, else isolate. A higher p_inf never gets a milder
level for the same thresholds. In training u_i = sigmoid(logit(p_inf_i) + eps_i), eps_i ~ N(0, sigma^2) [epictl].
Only people with API code 1 who are not in hospital and have p_inf > 0 are decided (the others get level 0 from
any thresholds, so their q is no part of the likelihood [epictl]); code 3/4 people not yet in hospital are sent
there (the hospital rule, §7), code 5 get nothing. Orders last one day [idr].

Learning [§11.6; idr: Adam, gamma, clip, rollout 32 / minibatch 16 / epochs 2; epictl: GAE, value coefficient]:
one transition = one day; the policy's log-probability is sum_i log q_{i,a_i} over the decided people (option
mean, as idr); the entropy bonus is a decided person's mean entropy (per person, whatever the log-probability).
Against idr's sign (§14.4) the entropy is maximised:
    L = E[max(-A r, -A clip(r, 1 - eps, 1 + eps))] - c_e H + c_v E[(V - R)^2] / 2,   r = pi(a|s) / pi_old(a|s).
The extreme-experience stop (§11.5) is the env's; the agent asks for it in ``training_options``.

Env copies [epictl]: ``act_batch`` runs the actor and the critic once on the days of all copies (graphs of one
city, stacked along the day axis; each day is normalised by its own statistics), the exploration noise drawn copy
after copy. The rollout keeps every day with its copy's number and GAE runs along each copy's own days, cut at
its own episode ends. ``rollout`` counts the days of all copies together: with n copies the update follows the
training step at which they reach it, every ceil(rollout / n) steps on n ceil(rollout / n) days (``rollout``
itself when n divides it), in minibatches of ``minibatch`` days (the last one shorter when they do not divide).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from scipy.special import expit, logit
from torch import nn

from epictl.agents.advantages import gae
from epictl.agents.base import Agent, Transition
from epictl.agents.contact_gnn import HOURS_PER_SLICE, Actor, Critic, SliceEdges, collate, encoder, slice_edges
from epictl.agents.contact_risk import HOSPITAL_LEVEL, RECOVERED_CODE, SYMPTOMATIC_CODES, infection_probability
from epictl.agents.idrleca_config import IdrlecaConfig
from epictl.agents.torch_device import resolve_device, use_torch_threads
from epictl.errors import EpictlError

HEALTHY_CODE = 1  # API code of susceptible and pre-symptomatic people, the only ones the agent decides [doc]
API_CODES = (HEALTHY_CODE, *SYMPTOMATIC_CODES, RECOVERED_CODE)  # code 2 never occurs (spec §6)
LEVELS = 5  # standing levels 0 none .. 4 hospitalised
FEATURE_WIDTH = {"epictl": len(API_CODES) + LEVELS + 1, "idr": 4}
SHAPE_KEYS = ("encoder", "features", "slices", "hidden")  # a checkpoint loads only into an agent with these
RATIO_LOG_LIMIT = 20.0  # |log pi/pi_old| beyond which the PPO ratio stops growing [epictl]


def person_features(observation: dict, p_inf: np.ndarray, kind: str) -> np.ndarray:
    """[N, 10] one-hot API code, one-hot standing level and p_inf (epictl), or idr's [N, 4]: code 1, code 3 or 4,
    code 5, p_inf (§11.2, §14.2)."""
    code, level = observation["code"], observation["level"]
    if kind == "idr":
        columns = [code == HEALTHY_CODE, np.isin(code, SYMPTOMATIC_CODES), code == RECOVERED_CODE]
    else:
        columns = [code == value for value in API_CODES] + [level == value for value in range(LEVELS)]
    return np.column_stack([*columns, p_inf]).astype(np.float32)


def decided_people(observation: dict, p_inf: np.ndarray) -> np.ndarray:
    """The people whose level the thresholds choose: API code 1, not in hospital, and p_inf > 0. At p_inf = 0 the
    inverse CDF gives level 0 whatever q is, so those people's q is no part of the action's likelihood [epictl]."""
    return (observation["code"] == HEALTHY_CODE) & (observation["level"] != HOSPITAL_LEVEL) & (p_inf > 0)


def thresholds(log_q: np.ndarray) -> np.ndarray:
    """[N, 3] ordered thresholds P1 <= P2 <= P3: the cumulative sums of q (§11.4)."""
    return np.cumsum(np.exp(log_q.astype(np.float64)), axis=-1)[..., :3]


def inverse_cdf(u: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Level 0..3 of each person: how many of their thresholds u reaches."""
    return (u[:, None] >= ordered).sum(axis=1).astype(np.int8)


def explored(p_inf: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """u = sigmoid(logit(p_inf) + N(0, sigma^2)): p_inf = 0 stays 0 (no order without a contact), 1 stays 1."""
    return expit(logit(p_inf) + sigma * rng.standard_normal(len(p_inf)))


def joint(values: torch.Tensor, decided: torch.Tensor, how: str) -> torch.Tensor:
    """Per day, the sum (or mean) of per-person ``values`` [days, N] over the decided people, in float64: a sum
    over ten thousand people needs more than float32's digits for exp(new - old) to be a ratio."""
    total = torch.where(decided, values, torch.zeros_like(values)).double().sum(dim=1)
    return total if how == "sum" else total / decided.sum(dim=1).clamp(min=1)


class Rollout:
    """The days since the last update, of every env copy in the order they came (``copy`` says whose): per-person
    arrays (features, decided mask, chosen level), each day's visit-graph entries (none for the MLP encoder) and
    per-day numbers. Saved whole with the agent."""

    def __init__(self, size: int, people: int, features: int):
        self.arrays = {
            "features": np.zeros((size, people, features), np.float32), "decided": np.zeros((size, people), bool),
            "choice": np.zeros((size, people), np.int8), "log_prob": np.zeros(size, np.float64),
            "value": np.zeros(size, np.float32), "reward": np.zeros(size, np.float64),
            "terminated": np.zeros(size, bool), "ended": np.zeros(size, bool),
            "bootstrap": np.zeros(size, np.float32),  # V(next observation) where the trace stops
            "copy": np.zeros(size, np.int64),
        }
        self.edges: list[SliceEdges | None] = []
        self.size, self.filled = size, 0

    def add(self, edges: SliceEdges | None, **values) -> None:
        if self.filled == len(self.arrays["copy"]):  # n copies pass `size` by up to n - 1 days
            self.arrays = {key: np.concatenate([value, np.zeros_like(value)]) for key, value in self.arrays.items()}
        for key, value in values.items():
            self.arrays[key][self.filled] = value
        self.edges.append(edges)
        self.filled += 1

    def clear(self) -> None:
        self.edges, self.filled = [], 0

    def full(self) -> bool:
        return self.filled >= self.size

    def advantages(self, gamma: float, lam: float) -> np.ndarray:
        """GAE of every stored day, along its own copy's days."""
        data = {key: value[:self.filled] for key, value in self.arrays.items()}
        advantages = np.zeros(self.filled)
        for env_copy in np.unique(data["copy"]):
            days = np.flatnonzero(data["copy"] == env_copy)
            advantages[days] = gae(data["reward"][days], data["value"][days], data["terminated"][days],
                                   data["ended"][days], data["bootstrap"][days], gamma, lam)
        return advantages


class IdrlecaAgent(Agent):
    trainable = batched = True
    learning_memory = ("rollout",)

    def __init__(self, config: IdrlecaConfig, observation_space: gym.spaces.Dict, action_space: gym.spaces.Dict,
                 seed: int = 0):
        self.config = c = config.validate()
        self.people = observation_space["code"].shape[0]
        self.areas = observation_space["area_category"].shape[0]
        hours = observation_space["visits"].shape[1]
        if c.slices * HOURS_PER_SLICE > hours:
            raise EpictlError(f"agent.slices={c.slices} needs {c.slices * HOURS_PER_SLICE} hours of visit history; "
                              f"the env observes {hours}")
        self.device = resolve_device(c.device)
        use_torch_threads(c.torch_threads)
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)  # exploration noise and minibatch order
        width = FEATURE_WIDTH[c.features]
        self.actor = Actor(encoder(c.encoder, width, c.hidden, c.slices), c.hidden).to(self.device)
        self.critic = Critic(encoder(c.encoder, width, c.hidden, c.slices), c.hidden).to(self.device)
        self.optimizer = torch.optim.Adam([*self.actor.parameters(), *self.critic.parameters()], lr=c.lr,
                                          weight_decay=c.weight_decay)
        self.rollout = Rollout(c.rollout, self.people, width)
        self.pending: list[dict | None] = []  # per env copy: what its last act() decided, stored by observe()
        self.diagnostics: dict[str, float] = {}  # of the last act_batch(), all its copies, for the training log

    def training_options(self) -> dict:
        """The extreme-experience stop (§11.5), unless switched off (RL-NoEP)."""
        c = self.config
        if c.stop_new_infections is None:
            return {}
        return {"stop_new_infections": c.stop_new_infections, "stop_penalty_factor": c.stop_penalty_factor}

    # -- acting ---------------------------------------------------------------------------------
    def reset(self, seed: int, info: dict | None = None) -> None:
        self.reset_copy(0, seed, info)

    def reset_copy(self, env_copy: int, seed: int, info: dict | None = None) -> None:
        self.track_copies(env_copy + 1)
        self.pending[env_copy] = None

    def track_copies(self, count: int) -> None:
        """A copy is known from its first reset or act: IDRLECA keeps no episode memory, only each copy's decision
        awaiting observe()."""
        self.pending.extend([None] * (count - len(self.pending)))

    def state_of(self, observation: dict) -> tuple[np.ndarray, np.ndarray, SliceEdges | None]:
        """(p_inf, features, graph entries) of a day."""
        c = self.config
        p_inf = infection_probability(observation, c.p_acquaintance, c.p_stranger, c.terms, c.history_days)
        edges = slice_edges(observation["visits"], self.areas, c.slices) if c.encoder == "graph" else None
        return p_inf, person_features(observation, p_inf, c.features), edges

    def inputs(self, features: np.ndarray, edges: list[SliceEdges | None]):
        """Network inputs of a batch of days: features [days, N, F] and the slice graphs (None for the MLP)."""
        x = torch.as_tensor(features, device=self.device)
        if self.config.encoder != "graph":
            return x, None
        return x, collate(edges, self.people, self.areas + 1, self.config.person_aggregation, self.device)

    def inputs_of(self, states: list[tuple]) -> tuple:
        """Network inputs of the days whose ``state_of`` are ``states``, one day each."""
        return self.inputs(np.stack([features for _, features, _ in states]), [edges for *_, edges in states])

    def act(self, observation, explore: bool = False) -> dict:
        return self.act_batch([observation], explore)[0]

    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list[dict]:
        """Every copy's levels from one actor and one critic pass over all their days; noise copy after copy."""
        c = self.config
        copies = list(range(len(observations))) if copies is None else copies
        self.track_copies(max(copies) + 1)
        states = [self.state_of(observation) for observation in observations]
        x, graphs = self.inputs_of(states)
        with torch.no_grad():
            log_q, values = self.actor(x, graphs), self.critic(x, graphs)
        ordered = thresholds(log_q.cpu().numpy())
        decided = np.stack([decided_people(observation, p_inf)
                            for observation, (p_inf, *_) in zip(observations, states)])
        choice = np.zeros(decided.shape, np.int8)
        for i, (p_inf, *_) in enumerate(states):
            u = explored(p_inf, c.sigma, self.rng) if explore else p_inf
            choice[i] = np.where(decided[i], inverse_cdf(u, ordered[i]), 0)
        chosen = log_q.gather(2, torch.as_tensor(choice, dtype=torch.long, device=self.device)[..., None])[..., 0]
        log_prob = joint(chosen, torch.as_tensor(decided, device=self.device), c.log_prob)
        actions = []
        for i, (env_copy, observation, (_, features, edges)) in enumerate(zip(copies, observations, states)):
            self.pending[env_copy] = {"features": features, "decided": decided[i], "choice": choice[i],
                                      "log_prob": float(log_prob[i]), "value": float(values[i]), "edges": edges}
            to_hospital = np.isin(observation["code"], SYMPTOMATIC_CODES) & (observation["level"] != HOSPITAL_LEVEL)
            actions.append({"level": np.where(to_hospital, HOSPITAL_LEVEL, choice[i]).astype(np.int8),
                            "days": np.ones(self.people, np.int16)})
        risks = np.stack([p_inf for p_inf, *_ in states])[decided]
        shown = ordered[decided] if decided.any() else np.zeros((1, 3))
        self.diagnostics = {"p_inf_mean": float(risks.mean()) if decided.any() else 0.0,
                            **{f"threshold_{k + 1}_mean": float(shown[:, k].mean()) for k in range(3)}}
        return actions

    # -- learning -------------------------------------------------------------------------------
    def observe(self, observation, action, reward, next_observation, terminated, truncated,
                info: dict | None = None) -> dict[str, float]:
        return self.observe_batch([Transition(observation, action, reward, next_observation, terminated, truncated)])

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        """Store every copy's day; a PPO update once the rollout is full."""
        if len(transitions) != len(self.pending) or any(pending is None for pending in self.pending):
            raise EpictlError("observe() needs the act() that chose the action first, in every env copy")
        for env_copy, t in enumerate(transitions):
            pending, self.pending[env_copy] = self.pending[env_copy], None
            edges = pending.pop("edges")
            self.rollout.add(edges, **pending, copy=env_copy, reward=t.reward, terminated=bool(t.terminated),
                             ended=bool(t.terminated or t.truncated), bootstrap=0.0)
        update = self.rollout.full()
        # the traces that stop at a live state: a truncated episode, and before an update every copy's last day
        stops = [env_copy for env_copy, t in enumerate(transitions) if (t.truncated or update) and not t.terminated]
        if stops:
            first_day = self.rollout.filled - len(transitions)
            values = self.values_of([transitions[env_copy].next_observation for env_copy in stops])
            self.rollout.arrays["bootstrap"][[first_day + env_copy for env_copy in stops]] = values
        losses = dict(self.diagnostics)
        if update:
            losses.update(self.update())
            self.rollout.clear()
        return losses

    def values_of(self, observations: list) -> np.ndarray:
        """V of each observation, in one critic pass."""
        states = [self.state_of(observation) for observation in observations]
        with torch.no_grad():
            return self.critic(*self.inputs_of(states)).cpu().numpy()

    def update(self) -> dict[str, float]:
        """PPO on the full rollout: GAE per copy, advantages normalised over the rollout, `epochs` passes of
        minibatches."""
        c, days = self.config, self.rollout.filled
        data = {key: value[:days] for key, value in self.rollout.arrays.items()}
        advantages = self.rollout.advantages(c.gamma, c.gae_lambda)
        returns = torch.as_tensor(advantages + data["value"], dtype=torch.float32, device=self.device)
        normalized = torch.as_tensor((advantages - advantages.mean()) / (advantages.std() + 1e-8), device=self.device)
        old_log_prob = torch.as_tensor(data["log_prob"], device=self.device)
        stats: dict[str, list[float]] = {"policy_loss": [], "value_loss": [], "entropy": [], "approx_kl": [],
                                         "clip_fraction": []}
        for _ in range(c.epochs):
            order = self.rng.permutation(days)
            for start in range(0, days, c.minibatch):
                index = order[start:start + c.minibatch]
                x, graphs = self.inputs(data["features"][index], [self.rollout.edges[i] for i in index])
                decided = torch.as_tensor(data["decided"][index], device=self.device)
                choice = torch.as_tensor(data["choice"][index], dtype=torch.long, device=self.device)
                log_q = self.actor(x, graphs)
                log_prob = joint(log_q.gather(2, choice[..., None])[..., 0], decided, c.log_prob)
                # one person's entropy, averaged: summed over ~10,000 people the 0.1 bonus outweighed every reward
                # difference and held q uniform (thresholds 0.25/0.5/0.75 through 4,096 training days) [epictl]
                entropy = joint(-(log_q.exp() * log_q).sum(dim=-1), decided, "mean").mean()
                log_ratio = log_prob - old_log_prob[index]
                # a joint action over thousands of people moves its log-likelihood by hundreds in one step: e^20
                # bounds the ratio well before float64 overflows; a day beyond it gives no gradient [epictl]
                ratio = log_ratio.clamp(-RATIO_LOG_LIMIT, RATIO_LOG_LIMIT).exp()
                advantage = normalized[index]
                policy_loss = torch.max(-advantage * ratio,
                                        -advantage * ratio.clamp(1.0 - c.clip_coef, 1.0 + c.clip_coef)).mean()
                value_loss = 0.5 * (self.critic(x, graphs) - returns[index]).pow(2).mean()
                loss = policy_loss - c.entropy_coef * entropy + c.value_coef * value_loss
                self.optimizer.zero_grad()
                loss.backward()
                # each net on its own: the critic's large early errors must not shrink the actor's step
                nn.utils.clip_grad_norm_(self.actor.parameters(), c.max_grad_norm)
                nn.utils.clip_grad_norm_(self.critic.parameters(), c.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():  # CleanRL's diagnostics: http://joschu.net/blog/kl-approx.html
                    stats["approx_kl"].append(((ratio - 1.0) - log_ratio).mean().item())
                    stats["clip_fraction"].append(((ratio - 1.0).abs() > c.clip_coef).double().mean().item())
                stats["policy_loss"].append(policy_loss.item())
                stats["value_loss"].append(value_loss.item())
                stats["entropy"].append(entropy.item())
        return {key: float(np.mean(values)) for key, values in stats.items()}

    # -- persistence ----------------------------------------------------------------------------
    def shape(self) -> dict:
        return {key: getattr(self.config, key) for key in SHAPE_KEYS}

    def state_dict(self) -> dict:
        filled = self.rollout.filled
        return {
            "shape": self.shape(), "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "optimizer": self.optimizer.state_dict(), "rollout_size": self.rollout.size,
            "rollout": {key: value[:filled].copy() for key, value in self.rollout.arrays.items()},
            "rollout_edges": [None if edges is None else edges._asdict() for edges in self.rollout.edges],
            "pending": [None if pending is None else {**pending, "edges": None if pending["edges"] is None
                                                      else pending["edges"]._asdict()}
                        for pending in self.pending],
            "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict, source: str) -> None:
        if state["shape"] != self.shape():
            raise EpictlError(f"{source}: trained as {state['shape']}, this agent is {self.shape()}")
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        # as saved: a resumed run has the same agent.rollout, an evaluation never fills it
        self.rollout = Rollout(state["rollout_size"], self.people, FEATURE_WIDTH[self.config.features])
        for day, edges in enumerate(state["rollout_edges"]):
            self.rollout.add(None if edges is None else SliceEdges(**edges),
                             **{key: value[day] for key, value in state["rollout"].items()})
        self.pending = [None if pending is None else {**pending, "edges": None if pending["edges"] is None
                                                      else SliceEdges(**pending["edges"])}
                        for pending in state["pending"]]
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
