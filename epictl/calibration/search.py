"""The optimiser: a seeded Latin-hypercube search of the unit box, then Nelder-Mead from its best point.

The loss of a stochastic model is a little rough even with common random numbers (the seed count
is a whole number), so the space-filling search picks the basin and the simplex only refines it.
The best evaluation seen anywhere is the answer, not just the simplex's last vertex.
"""

from __future__ import annotations

import numpy as np

from epictl.calibration.objective import Evaluation, Objective
from epictl.errors import EpictlError

SIMPLEX_STEP = 0.1  # initial simplex edge, as a share of each parameter's range (the unit box)
X_TOLERANCE = 1e-3  # stop when the simplex is this small (unit box) ...
F_TOLERANCE = 1e-5  # ... and its losses agree to this share of the window's total sum of squares


def minimise(objective: Objective, dimensions: int, search_points: int, max_evaluations: int, seed: int) -> Evaluation:
    """Best evaluation after ``search_points`` seeded points and at most ``max_evaluations`` simplex steps."""
    if dimensions == 0:  # nothing to simulate differently: one evaluation fits seed_day / ascertainment
        objective(np.zeros(0))
        return objective.best
    if search_points < 1 or max_evaluations < 0:
        raise EpictlError(f"search_points={search_points} must be >= 1 and max_evaluations={max_evaluations} >= 0")
    from scipy.optimize import minimize
    from scipy.stats import qmc

    points = qmc.LatinHypercube(d=dimensions, seed=seed).random(search_points)
    losses = [objective(point) for point in points]
    start = points[int(np.argmin(losses))]
    if max_evaluations > 0:
        objective.stage = "refine"
        minimize(objective, start, method="Nelder-Mead", bounds=[(0.0, 1.0)] * dimensions,
                 options={"initial_simplex": initial_simplex(start), "maxfev": max_evaluations,
                          "xatol": X_TOLERANCE, "fatol": F_TOLERANCE})
    return objective.best


def initial_simplex(start: np.ndarray) -> np.ndarray:
    """``start`` and one vertex a step along each axis, stepping inward where ``start`` is near the edge."""
    vertices = [start]
    for axis in range(len(start)):
        vertex = start.copy()
        vertex[axis] += SIMPLEX_STEP if start[axis] + SIMPLEX_STEP <= 1.0 else -SIMPLEX_STEP
        vertices.append(vertex)
    return np.asarray(vertices)
