"""The random streams of every simulator family, from one episode seed.

Each family draws each kind of randomness (movement, infection, allocation lotteries, the outbreak)
from its own stream, so a policy that changes one kind of event leaves the others untouched: two
policies on the same seed see the same epidemic until their actions differ (common random numbers).
"""

from __future__ import annotations

import numpy as np

STREAMS = 4  # streams each family splits its seed into (their roles are the family's own)


def random_streams(seed: int, count: int = STREAMS) -> tuple[np.random.Generator, ...]:
    """``count`` independent generators spawned from ``seed``; the i-th is the same whatever ``count`` is."""
    return tuple(np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(count))


def keyed_stream(seed: int, key: int) -> np.random.Generator:
    """A generator apart from the spawned streams, for one scenario draw identified by ``key``."""
    return np.random.default_rng((seed, key))
