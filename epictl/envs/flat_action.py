"""The metapop action as one Box, for libraries whose continuous policies act in a single Box (Stable-Baselines3's
PPO, SAC, TD3): ``gymnasium.make("epictl/Beijing-v0", flat_action=True)`` or ``FlatMetapopAction(env)``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from epictl.errors import EpictlError


class FlatMetapopAction(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Box(-1, 1, (4,)) -> ``{"principle": [beds, masks], "factor": [beds, masks]}`` of the metapop env.

    The first two numbers pick the ranking principles: [-1, 1] cut into 7 equal bins, principles 0..6 from left
    to right. The last two scale linearly onto the factor's [delta, 1] (-1: delta, 1: full satisfaction).
    Numbers outside [-1, 1] count as the nearest bound, as a clipping policy sends them.
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)  # so that gymnasium.make(env.spec) wraps the copy too
        gym.ActionWrapper.__init__(self, env)
        space = env.action_space
        if not (isinstance(space, gym.spaces.Dict) and set(space.spaces) == {"principle", "factor"}):
            raise EpictlError(f"FlatMetapopAction flattens the metapop action {{principle, factor}}, not {space}")
        self.principles = space["principle"].nvec.astype(np.int64)  # 7 per resource
        self.factor_low = space["factor"].low.astype(np.float64)  # delta per resource
        self.factor_high = space["factor"].high.astype(np.float64)
        size = len(self.principles) + len(self.factor_low)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (size,), np.float32)

    def action(self, action) -> dict[str, np.ndarray]:
        values = np.asarray(action, dtype=np.float64).reshape(-1)
        if values.shape != self.action_space.shape or not np.all(np.isfinite(values)):
            raise EpictlError(f"a flat metapop action is {self.action_space.shape[0]} finite numbers in [-1, 1], "
                              f"got {np.asarray(action).tolist()}")
        share = (np.clip(values, -1.0, 1.0) + 1.0) / 2.0  # [0, 1]
        n = len(self.principles)
        principles = np.minimum((share[:n] * self.principles).astype(np.int64), self.principles - 1)
        factors = self.factor_low + share[n:] * (self.factor_high - self.factor_low)
        return {"principle": principles, "factor": factors.astype(np.float32)}
