"""KDD'21 networks (paper Fig. 4, spec §9): a 1-D convolution trunk along the region axis, then heads.

Shapes work for any region count M; cities with fewer than MIN_REGIONS regions are zero-padded so
the two stride-2 convolutions still have something to convolve.
"""

from __future__ import annotations

import torch
from torch import nn

MIN_REGIONS = 13  # the smallest M for which the last convolution has an output


def conv_output_size(n_regions: int) -> int:
    """Flattened trunk size 4 * L4 (spec §9: 664 for M = 673, 648 for M = 657)."""
    m = max(n_regions, MIN_REGIONS)
    l3 = (m - 5) // 2 + 1
    l4 = (l3 - 5) // 2 + 1
    return 4 * l4


class Trunk(nn.Module):
    """[B, C, M] -> [B, 4 * L4]: Conv1d 16, 32 (k5, s1, p2), then 16, 4 (k5, s2), LeakyReLU each."""

    def __init__(self, channels: int, n_regions: int, slope: float):
        super().__init__()
        self.pad = max(MIN_REGIONS - n_regions, 0)
        self.layers = nn.Sequential(
            nn.Conv1d(channels, 16, 5, 1, 2), nn.LeakyReLU(slope),
            nn.Conv1d(16, 32, 5, 1, 2), nn.LeakyReLU(slope),
            nn.Conv1d(32, 16, 5, 2, 0), nn.LeakyReLU(slope),
            nn.Conv1d(16, 4, 5, 2, 0), nn.LeakyReLU(slope),
            nn.Flatten(),
        )
        self.out_features = conv_output_size(n_regions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(nn.functional.pad(x, (0, self.pad)) if self.pad else x)


class QNet(nn.Module):
    """State -> one Q-value per ranking principle (flatten -> 128 -> n_actions)."""

    def __init__(self, channels: int, n_regions: int, n_actions: int, hidden: int, slope: float):
        super().__init__()
        self.trunk = Trunk(channels, n_regions, slope)
        self.head = nn.Sequential(nn.Linear(self.trunk.out_features, hidden), nn.LeakyReLU(slope), nn.Linear(hidden, n_actions))

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(state))


class Actor(nn.Module):
    """State -> satisfaction factor F(x) = max(delta, sigmoid(x)) [paper eq. 5]."""

    def __init__(self, channels: int, n_regions: int, hidden: int, slope: float, delta: float):
        super().__init__()
        self.delta = delta
        self.trunk = Trunk(channels, n_regions, slope)
        self.head = nn.Sequential(nn.Linear(self.trunk.out_features, hidden), nn.LeakyReLU(slope),
                                  nn.Linear(hidden, 16), nn.LeakyReLU(slope), nn.Linear(16, 1))

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return torch.clamp(torch.sigmoid(self.head(self.trunk(state))), min=self.delta)


class Critic(nn.Module):
    """(state, factor) -> value: the factor is expanded to one value per region (1 -> 128 -> 256 -> M)
    and appended to the state as an extra channel before the shared trunk."""

    def __init__(self, channels: int, n_regions: int, hidden: int, slope: float):
        super().__init__()
        self.expand = nn.Sequential(nn.Linear(1, 128), nn.LeakyReLU(slope), nn.Linear(128, 256), nn.LeakyReLU(slope),
                                    nn.Linear(256, n_regions), nn.LeakyReLU(slope))
        self.trunk = Trunk(channels + 1, n_regions, slope)
        self.head = nn.Sequential(nn.Linear(self.trunk.out_features, hidden), nn.LeakyReLU(slope),
                                  nn.Linear(hidden, 16), nn.LeakyReLU(slope), nn.Linear(16, 1))

    def forward(self, state: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
        factor_channel = self.expand(factor.reshape(-1, 1)).unsqueeze(1)
        return self.head(self.trunk(torch.cat([state, factor_channel], dim=1))).squeeze(-1)
