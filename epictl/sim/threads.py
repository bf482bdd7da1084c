"""The threads of the simulators' parallel kernels (``parallel=True``): Numba's workqueue layer, not OpenMP.

Torch runs on the same OpenMP runtime, and an OpenMP region Numba opens for a kernel that loops over env copies
resets torch's thread count (``agent.torch_threads``) to Numba's, so an agent's float results would differ
between a run and its resumption. Workqueue threads also sleep between calls rather than spin on the cores the
agent needs. A kernel module calls ``use_workqueue_threads()`` at import; a user's NUMBA_THREADING_LAYER wins.
Measured on the 100,000-agent city: a 100-day schedule, twice, 0.71-0.96 s with OpenMP, 0.86-0.89 s with workqueue.
"""

from __future__ import annotations

import os

import numba


def use_workqueue_threads() -> None:
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"
