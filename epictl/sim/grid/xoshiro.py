"""xoshiro256** (Blackman & Vigna 2018) inside Numba: a few nanoseconds per draw, state in a uint64[4].

The kernels draw hundreds of thousands of numbers per simulated day, so each draw must be inline
arithmetic rather than a call through NumPy's bit generator. Streams are seeded from a
``np.random.Generator`` (hence from one ``SeedSequence``), and the state array lives in the
simulation state, so copying the state copies the stream.
"""

from __future__ import annotations

import numba
import numpy as np

_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = np.uint64(1 << 32)
_UNIT53 = 1.0 / 9007199254740992.0  # 2**-53


def new_stream(rng: np.random.Generator) -> np.ndarray:
    """A fresh xoshiro state drawn from ``rng`` (all-zero, the one invalid state, is redrawn)."""
    while True:
        state = rng.integers(0, 2**64, size=4, dtype=np.uint64)
        if state.any():
            return state


@numba.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, inline="always")
def next_u64(s):
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@numba.njit(cache=True, inline="always")
def uniform(s):
    """A float64 in [0, 1) from the top 53 bits."""
    return np.float64(next_u64(s) >> np.uint64(11)) * _UNIT53


@numba.njit(cache=True, inline="always")
def _bounded(s, bits32, bound):
    """Lemire's multiply-and-reject: 32 random bits -> an exactly uniform integer in 0..bound-1."""
    product = bits32 * bound
    if (product & _LOW32) < bound:
        threshold = (_TWO32 - bound) % bound
        while (product & _LOW32) < threshold:
            product = (next_u64(s) >> np.uint64(32)) * bound
    return np.int64(product >> np.uint64(32))


@numba.njit(cache=True, inline="always")
def below(s, n):
    """An integer uniform on 0..n-1 (1 <= n < 2**32), exactly."""
    return _bounded(s, next_u64(s) >> np.uint64(32), np.uint64(n))


@numba.njit(cache=True)
def fill_below(out, count, n, s):
    """``out[:count]`` uniform on 0..n-1, two per 64-bit draw (one per 32-bit half)."""
    bound = np.uint64(n)
    for k in range(0, count - 1, 2):
        bits = next_u64(s)
        out[k] = _bounded(s, bits >> np.uint64(32), bound)
        out[k + 1] = _bounded(s, bits & _LOW32, bound)
    if count % 2:
        out[count - 1] = below(s, n)


@numba.njit(cache=True)
def shuffle(values, n, s):
    """Fisher-Yates on ``values[:n]`` in place: a uniform permutation whatever the previous order.

    Two swaps per 64-bit draw (one per 32-bit half).
    """
    i = n - 1
    while i >= 2:
        bits = next_u64(s)
        j = _bounded(s, bits >> np.uint64(32), np.uint64(i + 1))
        values[i], values[j] = values[j], values[i]
        j = _bounded(s, bits & _LOW32, np.uint64(i))
        values[i - 1], values[j] = values[j], values[i - 1]
        i -= 2
    if i == 1:
        j = below(s, 2)
        values[1], values[j] = values[j], values[1]
