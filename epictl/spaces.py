"""Observation spaces that name their channels, so agents pick their inputs by compartment name."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class ChannelBox(gym.spaces.Box):
    """Non-negative counts [regions, channels]; ``channels`` names the last axis (e.g. It, Ih, D)."""

    def __init__(self, n_regions: int, channels: tuple[str, ...]):
        super().__init__(0.0, np.inf, (n_regions, len(channels)), np.float32)
        self.channels = tuple(channels)

    def __repr__(self) -> str:
        return f"ChannelBox({self.shape[0]} regions, channels {', '.join(self.channels)})"
