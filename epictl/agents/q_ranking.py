"""The RMAB-inspired baselines of the multi-cluster family (spec §9): the frozen local DQN prices tests at
alpha3_active = m * alpha3_true, Global Q-ranking runs the top-B tests with dQ > 0, quarantine follows the
belief threshold.

Fixed-M-QR: m = fixed_m every day (1.0: the true cost). Bin-M-QR: m = 1 when the demand #{dQ > 0} at the
true cost fits the budget, else the bisection of spec §9 on [1, m_max] finds the smallest m that fits.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from epictl.agents.base import Agent
from epictl.agents.cluster_features import history_shape
from epictl.agents.cluster_global_config import QRankingConfig
from epictl.agents.cluster_ranking import alpha3_active, bisect_multiplier, demand, frozen_local_policy, ranked_action
from epictl.agents.torch_device import resolve_device, use_torch_threads


class QRankingAgent(Agent):
    def __init__(self, config: QRankingConfig, observation_space: gym.spaces.Dict, action_space: gym.spaces.Dict,
                 seed: int = 0):
        self.config = config.validate()
        history_shape(observation_space, config.name)  # a one-line error off the cluster envs
        use_torch_threads(config.torch_threads)
        self.policy = frozen_local_policy(config.dqn_from, resolve_device(config.device))
        self.rng = np.random.default_rng(seed)  # tie-breaks, reseeded by every episode
        self.last_multiplier = 1.0  # m of the last act(), for logs (the env never sees it)
        self.last_probes = 0  # local-policy Q passes of the last act()

    def reset(self, seed: int, info: dict | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, observation, explore: bool = False) -> dict:
        # The beliefs do not depend on m: one encoder pass a day, so each bisection probe is one pass of
        # the Q network over every active cluster (what spec Table A.3 compares with Hier-PPO).
        beliefs = self.policy.beliefs(observation)
        delta_q = {}

        def demand_at(m: float) -> int:
            delta_q[m] = self.policy.delta_q(observation, alpha3_active(observation, m), beliefs=beliefs)
            return demand(delta_q[m])

        c = self.config
        if c.multiplier == "fixed":
            m = c.fixed_m
        else:
            m = bisect_multiplier(demand_at, int(observation["budget"][0]), c.m_max, c.probes)
        if m not in delta_q:  # hi of the bisection is always a probed point unless no probe fitted (m_max)
            demand_at(m)
        self.last_multiplier, self.last_probes = m, len(delta_q)
        return ranked_action(observation, delta_q[m], beliefs, self.rng, c.tie_break)
