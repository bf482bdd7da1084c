"""Generalised advantage estimation (Schulman et al. 2016), shared by the PPO learners (Hier-PPO, IDRLECA)."""

from __future__ import annotations

import numpy as np


def gae(reward: np.ndarray, value: np.ndarray, terminated: np.ndarray, ended: np.ndarray, bootstrap: np.ndarray,
        gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates of one rollout. After a step that ends an episode, or the rollout's last
    step, the next state's value is ``bootstrap`` (0 when the episode terminated) and the trace stops there."""
    advantages = np.zeros_like(reward)
    carry = 0.0
    for t in reversed(range(len(reward))):
        cut = ended[t] or t == len(reward) - 1
        next_value = (0.0 if terminated[t] else bootstrap[t]) if cut else value[t + 1]
        carry = 0.0 if cut else carry
        delta = reward[t] + gamma * next_value - value[t]
        carry = delta + gamma * lam * carry
        advantages[t] = carry
    return advantages
