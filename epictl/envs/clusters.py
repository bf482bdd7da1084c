"""Gymnasium env over the cluster simulator: every active cluster's tests and quarantines for one global day.

The agent decides tests and quarantines per person (spec §6): Q-ranking agents derive their tests from a cost
multiplier m_t and their quarantines from the shared belief-threshold rule, heuristics from their own rules, and
the env executes whatever is decided, refusing a test outside an active cluster or beyond the daily budget B.
Observation and action layout: the module constants below and ``observation_space`` (spec §5).

``global`` mode is the multi-cluster problem (Table 2); ``single`` is one cluster without a budget, where the
local DQN trains with a test cost alpha3 drawn per training episode (spec §7.2 [R]) and shown in the observation.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from epictl.envs.report import EpisodeReport
from epictl.errors import EpictlError
from epictl.rewards.peng2026 import ClusterReward
from epictl.sim.clusters import kernels
from epictl.sim.clusters.params import MAX_MEMBERS, ClusterParams
from epictl.sim.clusters.simulator import ClusterDay, ClusterSimulator, ClusterState
from epictl.sim.random_streams import keyed_stream

CLUSTER_FEATURES = 11  # per-cluster global features (spec §5.2)
GLOBAL_FEATURES = 3  # global day / horizon, active share, B / sum of active N
ALPHA3_STREAM = 11  # entropy word of a training episode's alpha3 draw, apart from the simulator's streams


class ClustersEnv(gym.Env):
    metadata = {"render_modes": []}
    family = "clusters"

    def __init__(self, params: ClusterParams, reward: ClusterReward, tests_per_day: int,
                 alpha3_train_range: list[float] | None = None, return_normalization: str = "per_cluster"):
        self.simulator = ClusterSimulator(params)
        self.params, self.reward_fn = self.simulator.params, reward.validate()
        self.budget = int(tests_per_day)  # 0: no budget
        self.alpha3_train_range = alpha3_train_range  # [low, high]: alpha3 ~ LogUniform per training episode
        self.return_normalization = return_normalization  # per_cluster [spec R] | per_person_day
        k, m, d = params.n_clusters, MAX_MEMBERS, params.horizon_days
        flags = gym.spaces.Box(0, 1, (k, m), np.int8)
        self.observation_space = gym.spaces.Dict({
            "history": gym.spaces.Box(-1.0, 1.0, (k, m, d, kernels.FEATURES), np.float32),
            "members": flags,
            "active": gym.spaces.Box(0, 1, (k,), np.int8),
            "day": gym.spaces.Box(0, d, (k,), np.int32),
            "size": gym.spaces.Box(0, MAX_MEMBERS, (k,), np.int32),
            "clusters": gym.spaces.Box(0.0, np.inf, (k, CLUSTER_FEATURES), np.float32),
            "globals": gym.spaces.Box(0.0, np.inf, (GLOBAL_FEATURES,), np.float32),
            "alpha2": gym.spaces.Box(0.0, np.inf, (1,), np.float32),
            "alpha3": gym.spaces.Box(0.0, np.inf, (1,), np.float32),
            "budget": gym.spaces.Box(0, np.iinfo(np.int32).max, (1,), np.int32),
        })
        self.action_space = gym.spaces.Dict({"test": flags, "quarantine": flags})
        self.state: ClusterState | None = None
        self.alpha3 = reward.alpha3
        self.records: list[dict] = []  # one per decision day
        self._active: np.ndarray | None = None  # the clusters deciding today, from decide() to outcome()

    # -- Gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """``options={"training": True}`` draws this episode's alpha3 from ``alpha3_train_range`` when it is set."""
        super().reset(seed=seed)
        episode_seed = int(seed if seed is not None else self.np_random.integers(2**31))
        self.alpha3 = self.reward_fn.alpha3
        if (options or {}).get("training") and self.alpha3_train_range is not None:
            low, high = (math.log(bound) for bound in self.alpha3_train_range)
            self.alpha3 = float(math.exp(keyed_stream(episode_seed, ALPHA3_STREAM).uniform(low, high)))
        self.state = self.simulator.reset(episode_seed)
        self.records = []
        self._skip_idle_days()
        return self._observe(), {"day": self.state.day, "alpha3": self.alpha3}

    def step(self, action):
        day = self.decide(action)
        self.simulator.step(self.state, day)
        return self.outcome(day)

    # -- the two halves of a step (the vector env steps many copies' simulators between them) ---------
    def decide(self, action) -> ClusterDay:
        """The day's tests and quarantines of ``action``; remembers which clusters decided."""
        if self.state is None:
            raise EpictlError("call reset() before step()")
        if self.simulator.finished(self.state):
            raise EpictlError("the episode has ended; call reset()")
        self._active = self.simulator.active(self.state)
        return ClusterDay(*self.executed_action(action, self._active))

    def outcome(self, day: ClusterDay):
        """The step's (observation, reward, terminated, truncated, info) once the simulator has run the day."""
        active, tests, quarantine = self._active, day.tests, day.quarantine
        cost = self.state.person_cost.astype(np.float32)
        per_person = -(cost[..., 0] + self.reward_fn.alpha2 * cost[..., 1] + self.alpha3 * cost[..., 2])
        split = (per_person / self.state.size[:, None]).astype(np.float32) * active[:, None]
        reward = float(split.sum())
        totals = cost.sum(axis=1)
        log = {"s1": float(totals[:, 0].sum()), "s2": float(totals[:, 1].sum()), "tests": float(totals[:, 2].sum()),
               "active_clusters": float(active.sum())}
        self.records.append({"day": self.state.day - 1, "reward": reward, **log})
        self._skip_idle_days()
        info = {"day": self.state.day, "action": {"test": tests, "quarantine": quarantine},
                "reward_split": split, "decided": active.astype(np.int8),
                "infectious_days": self.state.infectious, "log": log}
        return self._observe(), reward, self.simulator.finished(self.state), False, info

    def executed_action(self, action, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The day's tests and quarantines as 0/1 int8 arrays; a test off an active member or over B is an error."""
        if not isinstance(action, dict) or set(action) != {"test", "quarantine"}:
            raise EpictlError(f"cluster action must be a dict with 'test' and 'quarantine', got {type(action).__name__}")
        shape = self.action_space["test"].shape
        arrays = []
        for key in ("test", "quarantine"):
            value = np.asarray(action[key])
            if value.shape != shape or not np.isin(value, (0, 1)).all():
                raise EpictlError(f"action[{key!r}] must be 0/1 of shape {shape}, got shape {value.shape}")
            arrays.append(value.astype(np.int8) * self._members(active))
        tests, quarantine = arrays
        refused = int(np.asarray(action["test"]).astype(bool).sum()) - int(tests.sum())
        if refused:
            raise EpictlError(f"{refused} test(s) outside the members of active clusters")
        if self.budget and tests.sum() > self.budget:
            raise EpictlError(f"{int(tests.sum())} tests exceed the daily budget B={self.budget}")
        return tests, quarantine

    # -- episode outcome and snapshots ---------------------------------------------------------
    def episode_report(self) -> EpisodeReport:
        """The Table 2 return (per cluster, summed over its decision days, then averaged; per person-day: also
        divided by the decision days) and the cost shares."""
        state, alpha2 = self.state, self.reward_fn.alpha2
        s1, s2, s3 = state.totals.T
        returns = -(s1 + alpha2 * s2 + self.alpha3 * s3) / state.size
        if self.return_normalization == "per_person_day":
            returns = returns / self.params.decision_days
        outcome = self.simulator.metrics(state)
        decision_days = max(len(self.records), 1)
        metrics = {
            "return": float(returns.mean()),
            **{key: outcome[key] for key in ("attack_rate", "s1", "s2", "s3")},
            "tests_per_day": float(s3.sum()) / decision_days,
            "budget_used": float(s3.sum()) / (decision_days * self.budget) if self.budget else math.nan,
            "alpha3": self.alpha3,
        }
        columns = ("reward", "s1", "s2", "tests", "active_clusters")
        days = np.array([record["day"] for record in self.records])
        curves = {"global_day": days, **{key: np.array([r[key] for r in self.records]) for key in columns}}
        plots = {"costs": ["s1", "s2", "tests"], "reward": ["reward", "active_clusters"]}
        return EpisodeReport(self.family, metrics, curves, plots)

    def snapshot(self):
        return self.state.copy(), self.alpha3, [dict(record) for record in self.records]

    def restore(self, snapshot) -> None:
        state, alpha3, records = snapshot
        self.state, self.alpha3, self.records = state.copy(), float(alpha3), [dict(r) for r in records]

    # -- observations ----------------------------------------------------------------------------
    def _skip_idle_days(self) -> None:
        """Advance through global days on which no cluster decides (local days 0..2, gaps between clusters)."""
        none = np.zeros(self.action_space["test"].shape, np.int8)
        while not self.simulator.finished(self.state) and not self.simulator.active(self.state).any():
            self.simulator.step(self.state, ClusterDay(none, none))

    def _members(self, active: np.ndarray) -> np.ndarray:
        return ((np.arange(MAX_MEMBERS) < self.state.size[:, None]) & active[:, None]).astype(np.int8)

    def _observe(self) -> dict:
        state, p = self.state, self.params
        active = self.simulator.active(state)
        local = np.clip(self.simulator.local_days(state), 0, p.horizon_days - 1)
        history = state.history.copy()
        slots = np.arange(len(local))
        # cluster columns are equal across members: read member 0's rows t-3..t
        rows = np.stack([history[slots, 0, np.clip(local - back, 0, None)] * (local - back >= 0)[:, None]
                         for back in (3, 2, 1, 0)], axis=1)  # [K, 4, F]: days t-3..t
        clusters = np.concatenate([
            (state.size / MAX_MEMBERS)[:, None], (local / p.horizon_days)[:, None],
            rows[:, 1:, kernels.CLUSTER_TESTS],  # rows t-2..t: tests on t-3..t-1
            rows[:, :3, kernels.CLUSTER_SYMPTOMS],  # symptom prevalence t-3..t-1
            rows[:, 1:, kernels.CLUSTER_POSITIVES],  # positives visible t-2..t
        ], axis=1).astype(np.float32) * active[:, None]
        active_size = float(state.size[active].sum())
        globals_ = np.array([state.day / self.simulator.horizon, active.sum() / len(active),
                             self.budget / active_size if active_size else 0.0], np.float32)
        return {
            "history": history, "members": self._members(active), "active": active.astype(np.int8),
            "day": local.astype(np.int32), "size": state.size.astype(np.int32), "clusters": clusters,
            "globals": globals_, "alpha2": np.array([self.reward_fn.alpha2], np.float32),
            "alpha3": np.array([self.alpha3], np.float32), "budget": np.array([self.budget], np.int32),
        }
