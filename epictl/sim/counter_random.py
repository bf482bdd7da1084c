"""Counter-based random numbers of the agent-level families (contacts, abm).

The draw at (step, index, slot) of a stream key is the splitmix64 finaliser (Steele, Lea & Flood 2014) of
key + (counter + 1) x the golden-ratio increment, counter = step (16 bits) | index (32) | slot (16). A draw depends on
nothing but its coordinates, so states copy without a generator, results do not depend on the thread count, and two
policies on one seed share every draw their runs agree on. ``draw`` (Numba, inlined into the kernels) and ``draws``
(NumPy, many indices at once, for the references) give the same bits.

Numba's cache does not see edits to this file from the kernels that inline ``draw``: clear their __pycache__ after one.
"""

from __future__ import annotations

import numba as nb
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment and finaliser multipliers [Steele et al. 2014]
MIX_A = np.uint64(0xBF58476D1CE4E5B9)
MIX_B = np.uint64(0x94D049BB133111EB)
STEP_SHIFT, INDEX_SHIFT = np.uint64(48), np.uint64(16)  # counter = step (16 bits) | index (32) | slot (16)
UNIT32 = 2.0**-32  # 32 bits of a draw -> a float64 in [0, 1)
LOW32 = np.uint64(0xFFFFFFFF)


@nb.njit(cache=True, inline="always")
def draw(key, step, index, slot):
    """The 64 random bits at (step, index, slot) of the stream ``key`` (uint64)."""
    counter = (np.uint64(step) << STEP_SHIFT) | (np.uint64(index) << INDEX_SHIFT) | np.uint64(slot)
    z = key + (counter + np.uint64(1)) * GOLDEN
    z = (z ^ (z >> np.uint64(30))) * MIX_A
    z = (z ^ (z >> np.uint64(27))) * MIX_B
    return z ^ (z >> np.uint64(31))


def draws(key: np.uint64, step: int, indices: np.ndarray, slot: int) -> np.ndarray:
    """``draw`` for many indices at once, in uint64 NumPy arithmetic."""
    counter = (np.uint64(step) << STEP_SHIFT) | (np.asarray(indices).astype(np.uint64) << INDEX_SHIFT) | np.uint64(slot)
    z = key + (counter + np.uint64(1)) * GOLDEN
    z = (z ^ (z >> np.uint64(30))) * MIX_A
    z = (z ^ (z >> np.uint64(27))) * MIX_B
    return z ^ (z >> np.uint64(31))
